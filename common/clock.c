// common/clock.c - see clock.h.
#include "common/clock.h"

#include <math.h>
#include <time.h>

// 2^64 as a double: the first value apex_us_from_s() cannot represent.
#define APEX_CLOCK_U64_LIMIT 18446744073709551616.0

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

uint64_t apex_us_from_s(double seconds)
{
    double us = seconds * (double)APEX_USEC_PER_SEC;
    if (!(us > 0)) // negative, zero or NaN
        return 0;
    if (us >= APEX_CLOCK_U64_LIMIT)
        return UINT64_MAX;
    return (uint64_t)us;
}

double apex_s_from_us(uint64_t us)
{
    return (double)us / (double)APEX_USEC_PER_SEC;
}

double apex_ms_from_us(uint64_t us)
{
    return (double)us / (double)APEX_USEC_PER_MSEC;
}
