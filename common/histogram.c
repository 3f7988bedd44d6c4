// common/histogram.c - see histogram.h.
//
// Algorithm. A value v (in microseconds, clamped to APEX_HISTOGRAM_MAX_US)
// goes to bucket v when v < 128. Above that, with e = 63 - clz(v) (e >= 7),
// the power of two [2^e, 2^(e+1)) is split into 64 buckets of width
// 2^(e-6), and v goes to bucket 128 + (e - 7) * 64 + ((v >> (e - 6)) - 64).
// Both cases fold into one branch-free formula: with s = 57 - clz(v | 64)
// (s = e - 6 for v >= 128 and s = 0 for v < 128, where the OR with 64 only
// keeps clz defined and pins small values to s = 0), the index is
// (s << 6) + (v >> s). So record() is a clamp, a count-leading-zeros, a
// shift, an add and two conditional moves for min and max.
//
// The inverse: bucket i >= 64 has shift s = (i >> 6) - 1 and covers the
// 2^s integers starting at ((i & 63) | 64) << s; bucket i < 64 is {i}.
// A bucket is reported at the midpoint of its integers, lo + (2^s - 1) / 2
// rounded down, then clamped into [min, max] so a reported value never
// lies outside what was recorded. The width is at most lo / 64, so the
// reported value is within 1/128 of every value in the bucket.
//
// Values above APEX_HISTOGRAM_MAX_US are clamped before anything else, so
// min and max are those of the clamped values.
//
// Invariants: count is the sum of counts[] (counts saturate at UINT64_MAX,
// which only a hostile peer could reach); when count is 0, min is
// UINT64_MAX and max is 0, so the first record sets both without a branch;
// when count > 0, min lies in or below the first non-empty bucket and max
// in or above the last (equality unless apex_histogram_subtract() removed
// the extreme values).
//
// Memory: one fixed block of 3 + 1728 uint64 (13.5 KiB), allocated once by
// apex_histogram_new(); nothing else is ever allocated.
//
// Encoding: see histogram.h. Varints are unsigned LEB128, at most 10 bytes.
// The decoder checks everything a peer could get wrong and says what it
// was, prefixed with the input size.
#include "common/histogram.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/clock.h"

#define APEX_HISTOGRAM_VERSION 1
#define APEX_HISTOGRAM_LINEAR 128 // values below this have their own bucket
#define APEX_HISTOGRAM_SUB_COUNT (1u << APEX_HISTOGRAM_SUB_BITS)
#define APEX_VARINT_MAX 10       // bytes in the longest 64-bit LEB128 varint
#define APEX_VARINT_BITS 7       // value bits per varint byte
#define APEX_VARINT_MORE 0x80    // continuation bit of a varint byte
#define APEX_VARINT_PAYLOAD 0x7f // the 7 value bits of a varint byte
#define APEX_VARINT_LAST_MAX 1   // the 10th byte may only carry bit 63
#define APEX_LOCUST_EXACT_LIMIT 1e15 // |ms| below this rounds exactly
#define APEX_LOCUST_DIGITS 100       // keys keep about 2 significant digits
#define APEX_LOCUST_STEP 10          // each decade rounds 10 times coarser
#define APEX_LOCUST_UNIT_MAX 1000    // ... up to whole seconds

_Static_assert(APEX_HISTOGRAM_SUB_BITS == 6, "the index formula assumes 6");
_Static_assert(APEX_HISTOGRAM_BUCKETS ==
                   APEX_HISTOGRAM_LINEAR + (32 - 7) * APEX_HISTOGRAM_SUB_COUNT,
               "1728 buckets cover 0 .. 2^32 - 1");

struct apex_histogram {
    uint64_t count;                          // values recorded
    uint64_t min;                            // smallest; UINT64_MAX if empty
    uint64_t max;                            // largest; 0 if empty
    uint64_t counts[APEX_HISTOGRAM_BUCKETS]; // values per bucket
};

static inline size_t s_index(uint64_t v)
{
    unsigned shift = (63u - APEX_HISTOGRAM_SUB_BITS) -
                     (unsigned)__builtin_clzll(v | APEX_HISTOGRAM_SUB_COUNT);
    return ((size_t)shift << APEX_HISTOGRAM_SUB_BITS) + (size_t)(v >> shift);
}

static inline uint64_t s_clamp_value(uint64_t us)
{
    return us < APEX_HISTOGRAM_MAX_US ? us : APEX_HISTOGRAM_MAX_US;
}

static inline uint64_t s_add_sat(uint64_t a, uint64_t b)
{
    uint64_t sum;
    if (__builtin_add_overflow(a, b, &sum))
        return UINT64_MAX;
    return sum;
}

// The midpoint of bucket i, clamped into [min, max].
static uint64_t s_representative(const apex_histogram_t *self, size_t i)
{
    uint64_t value = i;
    if (i >= APEX_HISTOGRAM_SUB_COUNT) {
        unsigned shift = (unsigned)(i >> APEX_HISTOGRAM_SUB_BITS) - 1;
        uint64_t low = (uint64_t)((i & (APEX_HISTOGRAM_SUB_COUNT - 1)) |
                                  APEX_HISTOGRAM_SUB_COUNT)
                       << shift;
        value = low + ((((uint64_t)1 << shift) - 1) >> 1);
    }
    if (value < self->min)
        value = self->min;
    if (value > self->max)
        value = self->max;
    return value;
}

static void s_clear(apex_histogram_t *self)
{
    memset(self->counts, 0, sizeof self->counts);
    self->count = 0;
    self->min = UINT64_MAX;
    self->max = 0;
}

apex_histogram_t *apex_histogram_new(void)
{
    apex_histogram_t *self = apex_calloc(1, sizeof *self);
    self->min = UINT64_MAX;
    return self;
}

void apex_histogram_destroy(apex_histogram_t **self_p)
{
    assert(self_p);
    if (*self_p) {
        free(*self_p);
        *self_p = NULL;
    }
}

apex_histogram_t *apex_histogram_dup(const apex_histogram_t *self)
{
    assert(self);
    apex_histogram_t *copy = apex_calloc(1, sizeof *copy);
    memcpy(copy, self, sizeof *copy);
    return copy;
}

void apex_histogram_record(apex_histogram_t *self, uint64_t us)
{
    assert(self);
    uint64_t v = s_clamp_value(us);
    self->counts[s_index(v)]++;
    self->count++;
    self->min = v < self->min ? v : self->min;
    self->max = v > self->max ? v : self->max;
}

void apex_histogram_record_n(apex_histogram_t *self, uint64_t us,
                             uint64_t count)
{
    assert(self);
    if (count == 0)
        return;
    uint64_t v = s_clamp_value(us);
    size_t i = s_index(v);
    self->counts[i] = s_add_sat(self->counts[i], count);
    self->count = s_add_sat(self->count, count);
    if (v < self->min)
        self->min = v;
    if (v > self->max)
        self->max = v;
}

void apex_histogram_merge(apex_histogram_t *self, const apex_histogram_t *other)
{
    assert(self);
    assert(other);
    if (other->count == 0)
        return;
    for (size_t i = 0; i < APEX_HISTOGRAM_BUCKETS; i++)
        self->counts[i] = s_add_sat(self->counts[i], other->counts[i]);
    self->count = s_add_sat(self->count, other->count);
    if (other->min < self->min)
        self->min = other->min;
    if (other->max > self->max)
        self->max = other->max;
}

void apex_histogram_subtract(apex_histogram_t *self,
                             const apex_histogram_t *other)
{
    assert(self);
    assert(other);
    uint64_t count = 0;
    for (size_t i = 0; i < APEX_HISTOGRAM_BUCKETS; i++) {
        uint64_t c = self->counts[i];
        c = c > other->counts[i] ? c - other->counts[i] : 0;
        self->counts[i] = c;
        count = s_add_sat(count, c);
    }
    self->count = count;
    // Nothing is left, so there is no min or max to keep; going back to
    // the empty state lets the next record() set them again.
    if (count == 0)
        s_clear(self);
}

void apex_histogram_reset(apex_histogram_t *self)
{
    assert(self);
    s_clear(self);
}

uint64_t apex_histogram_count(const apex_histogram_t *self)
{
    assert(self);
    return self->count;
}

uint64_t apex_histogram_min(const apex_histogram_t *self)
{
    assert(self);
    return self->count ? self->min : 0;
}

uint64_t apex_histogram_max(const apex_histogram_t *self)
{
    assert(self);
    return self->count ? self->max : 0;
}

uint64_t apex_histogram_value_at_rank(const apex_histogram_t *self,
                                      uint64_t rank)
{
    assert(self);
    if (self->count == 0)
        return 0;
    size_t last = 0;
    for (size_t i = 0; i < APEX_HISTOGRAM_BUCKETS; i++) {
        uint64_t c = self->counts[i];
        if (c == 0)
            continue;
        if (rank < c)
            return s_representative(self, i);
        rank -= c;
        last = i;
    }
    return s_representative(self, last);
}

uint64_t apex_histogram_percentile(const apex_histogram_t *self, double p)
{
    assert(self);
    if (self->count == 0)
        return 0;
    if (!(p > 0)) // also catches NaN
        p = 0;
    if (p > 1)
        p = 1;
    // Locust computes int(N * p) in double precision; so do we.
    double rank = (double)self->count * p;
    if (rank >= (double)self->count)
        return apex_histogram_value_at_rank(self, self->count - 1);
    return apex_histogram_value_at_rank(self, (uint64_t)rank);
}

uint64_t apex_histogram_median(const apex_histogram_t *self)
{
    assert(self);
    if (self->count == 0)
        return 0;
    return apex_histogram_value_at_rank(self, (self->count - 1) / 2);
}

void apex_histogram_foreach(const apex_histogram_t *self,
                            void (*fn)(uint64_t value_us, uint64_t count,
                                       void *arg),
                            void *arg)
{
    assert(self);
    assert(fn);
    for (size_t i = 0; i < APEX_HISTOGRAM_BUCKETS; i++)
        if (self->counts[i])
            fn(s_representative(self, i), self->counts[i], arg);
}

static uint8_t *s_put_varint(uint8_t *p, uint64_t v)
{
    while (v >= APEX_VARINT_MORE) {
        *p++ = (uint8_t)(v | APEX_VARINT_MORE);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

size_t apex_histogram_encode(const apex_histogram_t *self, uint8_t *buf)
{
    assert(self);
    assert(buf);
    uint8_t *p = buf;
    *p++ = APEX_HISTOGRAM_VERSION;
    *p++ = APEX_HISTOGRAM_SUB_BITS;
    p = s_put_varint(p, apex_histogram_min(self));
    p = s_put_varint(p, apex_histogram_max(self));
    uint64_t nonempty = 0;
    for (size_t i = 0; i < APEX_HISTOGRAM_BUCKETS; i++)
        nonempty += self->counts[i] != 0;
    p = s_put_varint(p, nonempty);
    size_t next = 0; // the index a gap of 0 would point at
    for (size_t i = 0; i < APEX_HISTOGRAM_BUCKETS; i++) {
        if (self->counts[i] == 0)
            continue;
        p = s_put_varint(p, i - next);
        p = s_put_varint(p, self->counts[i]);
        next = i + 1;
    }
    assert((size_t)(p - buf) <= APEX_HISTOGRAM_ENCODE_MAX);
    return (size_t)(p - buf);
}

typedef struct {
    const uint8_t *data; // the peer's bytes
    size_t size;         // how many
    size_t pos;          // next byte to read
    apex_error_t *err;   // where a failure is described
} s_reader_t;

// Read one varint named `what` into *out, or describe what was wrong.
static int s_read_varint(s_reader_t *r, const char *what, uint64_t *out)
{
    size_t start = r->pos;
    uint64_t v = 0;
    for (unsigned n = 0; n < APEX_VARINT_MAX; n++) {
        if (r->pos >= r->size)
            return apex_error_set(r->err,
                                  "histogram: %zu bytes: truncated at "
                                  "offset %zu reading %s",
                                  r->size, r->pos, what);
        uint8_t byte = r->data[r->pos++];
        // The 10th byte holds bit 63 only; anything more does not fit.
        if (n == APEX_VARINT_MAX - 1 &&
            (byte & APEX_VARINT_PAYLOAD) > APEX_VARINT_LAST_MAX)
            return apex_error_set(r->err,
                                  "histogram: %zu bytes: %s at offset %zu "
                                  "overflows 64 bits",
                                  r->size, what, start);
        v |= (uint64_t)(byte & APEX_VARINT_PAYLOAD) << (APEX_VARINT_BITS * n);
        if (!(byte & APEX_VARINT_MORE)) {
            *out = v;
            return 0;
        }
    }
    return apex_error_set(r->err,
                          "histogram: %zu bytes: %s at offset %zu is a "
                          "varint longer than %d bytes",
                          r->size, what, start, APEX_VARINT_MAX);
}

// The header: version, sub-bucket bits, min, max and the number of
// non-empty buckets, each checked. Returns 0, or -1 with r->err set.
static int s_read_header(s_reader_t *r, uint64_t *min, uint64_t *max,
                         uint64_t *nonempty)
{
    size_t size = r->size;
    if (size < 2)
        return apex_error_set(r->err, "histogram: %zu bytes: truncated header",
                              size);
    if (r->data[0] != APEX_HISTOGRAM_VERSION)
        return apex_error_set(r->err,
                              "histogram: %zu bytes: version %u, expected %d",
                              size, r->data[0], APEX_HISTOGRAM_VERSION);
    if (r->data[1] != APEX_HISTOGRAM_SUB_BITS)
        return apex_error_set(
            r->err, "histogram: %zu bytes: sub-bucket bits %u, expected %d",
            size, r->data[1], APEX_HISTOGRAM_SUB_BITS);
    r->pos = 2;
    if (s_read_varint(r, "min", min) < 0 || s_read_varint(r, "max", max) < 0 ||
        s_read_varint(r, "bucket count", nonempty) < 0)
        return -1;
    if (*max > APEX_HISTOGRAM_MAX_US)
        return apex_error_set(
            r->err, "histogram: %zu bytes: max %" PRIu64 " above %llu", size,
            *max, APEX_HISTOGRAM_MAX_US);
    if (*min > *max)
        return apex_error_set(
            r->err, "histogram: %zu bytes: min %" PRIu64 " > max %" PRIu64,
            size, *min, *max);
    if (*nonempty > APEX_HISTOGRAM_BUCKETS)
        return apex_error_set(
            r->err, "histogram: %zu bytes: %" PRIu64 " buckets, at most %d",
            size, *nonempty, APEX_HISTOGRAM_BUCKETS);
    return 0;
}

// The buckets into self; *first and *last get the first and last index.
// Returns 0, or -1 with r->err set.
static int s_read_buckets(s_reader_t *r, apex_histogram_t *self,
                          uint64_t nonempty, size_t *first, size_t *last)
{
    size_t next = 0, size = r->size;
    for (uint64_t k = 0; k < nonempty; k++) {
        uint64_t gap, count;
        if (s_read_varint(r, "bucket gap", &gap) < 0 ||
            s_read_varint(r, "bucket count", &count) < 0)
            return -1;
        if (gap >= APEX_HISTOGRAM_BUCKETS - next)
            return apex_error_set(r->err,
                                  "histogram: %zu bytes: bucket %" PRIu64
                                  " index %zu + %" PRIu64 " past %d",
                                  size, k, next, gap, APEX_HISTOGRAM_BUCKETS);
        size_t i = next + (size_t)gap;
        if (count == 0)
            return apex_error_set(
                r->err, "histogram: %zu bytes: bucket %zu has count 0", size,
                i);
        if (__builtin_add_overflow(self->count, count, &self->count))
            return apex_error_set(r->err,
                                  "histogram: %zu bytes: total count overflows "
                                  "64 bits at bucket %zu",
                                  size, i);
        self->counts[i] = count;
        if (k == 0)
            *first = i;
        *last = i;
        next = i + 1;
    }
    if (r->pos != size)
        return apex_error_set(r->err,
                              "histogram: %zu bytes: %zu trailing bytes after "
                              "offset %zu",
                              size, size - r->pos, r->pos);
    return 0;
}

apex_histogram_t *apex_histogram_decode(const void *data, size_t size,
                                        apex_error_t *err)
{
    s_reader_t r = {data, size, 0, err};
    uint64_t min, max, nonempty;
    if (s_read_header(&r, &min, &max, &nonempty) != 0)
        return NULL;
    apex_histogram_t *self = apex_histogram_new();
    size_t first = 0, last = 0;
    if (s_read_buckets(&r, self, nonempty, &first, &last) != 0)
        goto fail;
    // An empty histogram carries no min or max; a non-empty one must have
    // them bracketing its buckets, as record() and merge() guarantee.
    if (self->count > 0) {
        if (s_index(min) > first || s_index(max) < last) {
            apex_error_set(err,
                           "histogram: %zu bytes: min %" PRIu64
                           " and max %" PRIu64
                           " do not bracket buckets %zu .. %zu",
                           size, min, max, first, last);
            goto fail;
        }
        self->min = min;
        self->max = max;
    }
    return self;
fail:
    apex_histogram_destroy(&self);
    return NULL;
}

int64_t apex_locust_bucket_ms(double ms)
{
    if (isnan(ms))
        return 0;
    // Below 10^(k+2) ms Locust rounds to 10^k ms, for k = 0 .. 3.
    double unit = 1;
    while (unit < APEX_LOCUST_UNIT_MAX && ms >= unit * APEX_LOCUST_DIGITS)
        unit *= APEX_LOCUST_STEP;
    if (!(fabs(ms) < APEX_LOCUST_EXACT_LIMIT)) {
        // Far beyond any response time: only keep the result in range.
        if (ms >= 0x1p63)
            return INT64_MAX;
        if (ms <= -0x1p63)
            return INT64_MIN;
        return (int64_t)(nearbyint(ms / unit) * unit);
    }
    // Python rounds the exact binary value half to even. The division may
    // round, so fix c to floor(ms / unit) exactly, then compare ms with the
    // midpoint c * unit + unit / 2: all of these are exact in a double
    // because |c * unit| < 2^52.
    double c = floor(ms / unit);
    if (c * unit > ms)
        c -= 1;
    else if ((c + 1) * unit <= ms)
        c += 1;
    double half = c * unit + unit / 2;
    if (ms > half || (ms == half && fmod(c, 2) != 0))
        c += 1;
    return (int64_t)(c * unit);
}

size_t apex_histogram_to_locust(const apex_histogram_t *self,
                                apex_locust_bucket_t *out, size_t cap)
{
    assert(self);
    assert(out || cap == 0);
    size_t n = 0;
    // Representatives ascend and the Locust rounding never decreases, so
    // equal keys are adjacent and merging them is a look at the last one.
    for (size_t i = 0; i < APEX_HISTOGRAM_BUCKETS; i++) {
        if (self->counts[i] == 0)
            continue;
        double ms =
            (double)s_representative(self, i) / (double)APEX_USEC_PER_MSEC;
        int64_t key = apex_locust_bucket_ms(ms);
        if (n > 0 && out[n - 1].ms == key) {
            out[n - 1].count = s_add_sat(out[n - 1].count, self->counts[i]);
            continue;
        }
        if (n == cap)
            break;
        out[n].ms = key;
        out[n].count = self->counts[i];
        n++;
    }
    return n;
}
