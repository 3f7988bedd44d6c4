// common/sat.h - saturating sums for counts that peers report. A master
// merging 2,100 reports of 2^53 - 1 requests must not print a small
// number: a sum that does not fit stays at APEX_COUNT_MAX instead.
// APEX_COUNT_MAX is INT64_MAX, not UINT64_MAX, because it is the largest
// count every output shows exactly: jansson's json_int_t (the JSON report
// and the web API), the CSV files and Prometheus' text. Header-only: each
// function is one compiler builtin and a compare.
#ifndef APEX_SAT_H
#define APEX_SAT_H

#include <stdint.h>

#define APEX_COUNT_MAX ((uint64_t)INT64_MAX) // where counts saturate

// a + b, at most APEX_COUNT_MAX (either one above it counts as it).
static inline uint64_t apex_count_add(uint64_t a, uint64_t b)
{
    uint64_t sum;
    if (__builtin_add_overflow(a, b, &sum) || sum > APEX_COUNT_MAX)
        return APEX_COUNT_MAX;
    return sum;
}

// v, at most APEX_COUNT_MAX.
static inline uint64_t apex_count_clamp(uint64_t v)
{
    return v > APEX_COUNT_MAX ? APEX_COUNT_MAX : v;
}

#endif
