// common/clock.h - time: a monotonic clock in microseconds for measuring,
// the wall clock in seconds for timestamps that cross the wire.
#ifndef APEX_CLOCK_H
#define APEX_CLOCK_H

#include <stdint.h>

#define APEX_USEC_PER_MSEC 1000ULL
#define APEX_USEC_PER_SEC 1000000ULL

// Microseconds on CLOCK_MONOTONIC: only differences are meaningful.
uint64_t apex_now_us(void);

// Unix time in seconds, with microsecond resolution (time.time()).
double apex_wall_time(void);

#endif
