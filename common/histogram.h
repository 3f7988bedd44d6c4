// common/histogram.h - log-linear latency histogram in microseconds:
// fixed memory, bounded relative error, O(1) record, exact merge across
// workers by adding counts, and a compact wire encoding.
//
// Layout (the same for every histogram, so merging is adding arrays):
// values 0..127 us have one bucket each; above that every power of two
// is split into 64 equal buckets, up to APEX_HISTOGRAM_MAX_US (2^32-1 us,
// about 71.6 minutes; larger values are clamped to it). A bucket's width
// is at most 1/64 of its lower bound and values are reported at the
// bucket's midpoint, so any reported value is within 1/128 (0.78 %) of
// the true one. 1728 buckets of uint64 counts: 13.5 KiB per histogram.
#ifndef APEX_HISTOGRAM_H
#define APEX_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define APEX_HISTOGRAM_SUB_BITS 6           // 64 buckets per octave
#define APEX_HISTOGRAM_MAX_US 4294967295ULL // 2^32 - 1 us
#define APEX_HISTOGRAM_BUCKETS 1728         // 128 + 25 octaves * 64
#define APEX_HISTOGRAM_ENCODE_MAX (3 + 2 * 10 + APEX_HISTOGRAM_BUCKETS * 20)

typedef struct apex_histogram apex_histogram_t; // opaque

// Create an empty histogram. Never returns NULL.
apex_histogram_t *apex_histogram_new(void);

// Free *self_p and set it to NULL; does nothing if *self_p is NULL.
void apex_histogram_destroy(apex_histogram_t **self_p);

// A new histogram with the same contents; the caller owns it.
apex_histogram_t *apex_histogram_dup(const apex_histogram_t *self);

// Record one value in microseconds (clamped to APEX_HISTOGRAM_MAX_US).
void apex_histogram_record(apex_histogram_t *self, uint64_t us);

// Record count occurrences of a value.
void apex_histogram_record_n(apex_histogram_t *self, uint64_t us,
                             uint64_t count);

// Add every count of other into self (exact; other is unchanged).
void apex_histogram_merge(apex_histogram_t *self,
                          const apex_histogram_t *other);

// Subtract other from self bucket by bucket, flooring at zero: the
// histogram of the values recorded since snapshot `other` was taken.
// min and max stay those of self.
void apex_histogram_subtract(apex_histogram_t *self,
                             const apex_histogram_t *other);

// Forget every value.
void apex_histogram_reset(apex_histogram_t *self);

// Number of values recorded.
uint64_t apex_histogram_count(const apex_histogram_t *self);

// Exact smallest and largest values recorded (0 when empty).
uint64_t apex_histogram_min(const apex_histogram_t *self);
uint64_t apex_histogram_max(const apex_histogram_t *self);

// The value of 0-based rank `rank` in sorted order (rank >= count gives
// the largest), as its bucket's midpoint clamped to [min, max]; 0 when
// empty.
uint64_t apex_histogram_value_at_rank(const apex_histogram_t *self,
                                      uint64_t rank);

// Percentile with Locust's rank rule: p in [0, 1], the value at rank
// min(floor(count * p), count - 1). 0 when empty.
uint64_t apex_histogram_percentile(const apex_histogram_t *self, double p);

// Median with Locust's rule: the value at rank (count - 1) / 2.
uint64_t apex_histogram_median(const apex_histogram_t *self);

// Call fn for every non-empty bucket in ascending order with the bucket's
// representative value (midpoint clamped to [min, max]) and its count.
void apex_histogram_foreach(const apex_histogram_t *self,
                            void (*fn)(uint64_t value_us, uint64_t count,
                                       void *arg),
                            void *arg);

// Encode into buf (at least APEX_HISTOGRAM_ENCODE_MAX bytes) and return
// the number of bytes written. Format: version byte 1, sub-bucket bits,
// varint min, varint max, varint number of non-empty buckets, then for
// each one varint (index - previous index - 1) and varint count.
size_t apex_histogram_encode(const apex_histogram_t *self, uint8_t *buf);

// Build from bytes a peer sent: a new histogram the caller owns, or NULL
// with err set ("histogram: ..."). Bad input never aborts.
apex_histogram_t *apex_histogram_decode(const void *data, size_t size,
                                        apex_error_t *err);

// Locust's rounded-millisecond bucket key for a response time in ms:
// below 100 round to 1 ms, below 1000 to 10 ms, below 10000 to 100 ms,
// else to 1000 ms, rounding half to even like Python's round().
int64_t apex_locust_bucket_ms(double ms);

typedef struct {
    int64_t ms;     // Locust bucket key in milliseconds
    uint64_t count; // values in that bucket
} apex_locust_bucket_t;

// Convert to Locust's `response_times` map: fills out (capacity cap, at
// least APEX_HISTOGRAM_BUCKETS suffices) with keys in ascending order,
// each key once, and returns how many were written.
size_t apex_histogram_to_locust(const apex_histogram_t *self,
                                apex_locust_bucket_t *out, size_t cap);

#endif
