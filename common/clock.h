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

// Seconds (a duration from a scenario, an option or the wire) to
// microseconds, truncated: negative or NaN gives 0, too large saturates
// at UINT64_MAX.
uint64_t apex_us_from_s(double seconds);

// Microseconds to seconds and to milliseconds, as doubles.
double apex_s_from_us(uint64_t us);
double apex_ms_from_us(uint64_t us);

#endif
