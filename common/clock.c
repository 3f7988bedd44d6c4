// common/clock.c - see clock.h.
#include "common/clock.h"

#include <time.h>

uint64_t apex_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * APEX_USEC_PER_SEC +
           (uint64_t)ts.tv_nsec / 1000;
}

double apex_wall_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
