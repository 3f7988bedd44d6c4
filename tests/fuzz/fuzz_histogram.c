// tests/fuzz/fuzz_histogram.c - apex_histogram_decode() on any bytes (the
// "apex_hist" a worker sends in a stats entry). A decoded histogram must
// survive every query, merge and subtract, and encode back to bytes that
// decode to the same histogram and encode the same again.
#include "common/histogram.h"
#include "tests/fuzz/fuzz.h"

typedef struct {
    uint64_t count; // values seen by foreach
    uint64_t last;  // the previous value (ascending order)
    size_t buckets; // calls
    uint64_t min;   // the histogram's min
    uint64_t max;   // the histogram's max
} s_walk_t;

static void s_walk(uint64_t value_us, uint64_t count, void *arg)
{
    s_walk_t *w = arg;
    FUZZ_CHECK(count > 0, "empty bucket at %llu", (unsigned long long)value_us);
    FUZZ_CHECK(w->buckets == 0 || value_us >= w->last,
               "foreach not ascending: %llu after %llu",
               (unsigned long long)value_us, (unsigned long long)w->last);
    FUZZ_CHECK(value_us >= w->min && value_us <= w->max,
               "value %llu outside [%llu, %llu]", (unsigned long long)value_us,
               (unsigned long long)w->min, (unsigned long long)w->max);
    // Counts saturate rather than wrap (only a hostile peer gets there).
    w->count = w->count + count < w->count ? UINT64_MAX : w->count + count;
    w->last = value_us;
    w->buckets++;
}

static void s_queries(const apex_histogram_t *h)
{
    uint64_t n = apex_histogram_count(h);
    uint64_t min = apex_histogram_min(h), max = apex_histogram_max(h);
    FUZZ_CHECK(n == 0 || min <= max, "min %llu > max %llu",
               (unsigned long long)min, (unsigned long long)max);
    FUZZ_CHECK(max <= APEX_HISTOGRAM_MAX_US, "max %llu",
               (unsigned long long)max);
    static const double ps[] = {0, 0.001, 0.5, 0.9, 0.99, 0.999, 1};
    uint64_t prev = 0;
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        uint64_t v = apex_histogram_percentile(h, ps[i]);
        FUZZ_CHECK(n == 0 || (v >= min && v <= max),
                   "p%g = %llu outside [%llu, %llu]", ps[i] * 100,
                   (unsigned long long)v, (unsigned long long)min,
                   (unsigned long long)max);
        FUZZ_CHECK(v >= prev, "percentiles not monotonic at p%g", ps[i] * 100);
        prev = v;
    }
    (void)apex_histogram_median(h);
    (void)apex_histogram_value_at_rank(h, 0);
    (void)apex_histogram_value_at_rank(h, n ? n - 1 : 0);
    (void)apex_histogram_value_at_rank(h, UINT64_MAX);
    s_walk_t w = {.min = min, .max = max};
    apex_histogram_foreach(h, s_walk, &w);
    FUZZ_CHECK(w.count == n || (w.count == UINT64_MAX && n == UINT64_MAX),
               "foreach saw %llu values, count is %llu",
               (unsigned long long)w.count, (unsigned long long)n);
    apex_locust_bucket_t *buckets =
        apex_calloc(APEX_HISTOGRAM_BUCKETS, sizeof *buckets);
    size_t nb = apex_histogram_to_locust(h, buckets, APEX_HISTOGRAM_BUCKETS);
    for (size_t i = 1; i < nb; i++)
        FUZZ_CHECK(buckets[i - 1].ms < buckets[i].ms,
                   "Locust keys out of order at %zu", i);
    free(buckets);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apex_error_t err = {""};
    apex_histogram_t *h = apex_histogram_decode(data, size, &err);
    if (!h) {
        FUZZ_CHECK(apex_error_is_set(&err), "NULL without an error");
        return 0;
    }
    s_queries(h);

    // Round trip: encode, decode, encode again: the same bytes.
    uint8_t *a = apex_calloc(1, APEX_HISTOGRAM_ENCODE_MAX);
    uint8_t *b = apex_calloc(1, APEX_HISTOGRAM_ENCODE_MAX);
    size_t na = apex_histogram_encode(h, a);
    apex_error_t err2 = {""};
    apex_histogram_t *h2 = apex_histogram_decode(a, na, &err2);
    FUZZ_CHECK(h2, "re-encoded histogram does not decode: %s", err2.msg);
    size_t nb = apex_histogram_encode(h2, b);
    FUZZ_CHECK(na == nb && memcmp(a, b, na) == 0,
               "encoding not stable (%zu vs %zu bytes)", na, nb);
    FUZZ_CHECK(apex_histogram_count(h2) == apex_histogram_count(h) &&
                   apex_histogram_min(h2) == apex_histogram_min(h) &&
                   apex_histogram_max(h2) == apex_histogram_max(h),
               "round trip changed count, min or max");

    // What the master does with workers' histograms: merge, dup, subtract.
    apex_histogram_t *sum = apex_histogram_new();
    apex_histogram_record(sum, 1000);
    apex_histogram_merge(sum, h);
    apex_histogram_merge(sum, h2);
    s_queries(sum);
    apex_histogram_t *dup = apex_histogram_dup(sum);
    apex_histogram_subtract(dup, h);
    s_queries(dup);
    apex_histogram_subtract(dup, sum);
    FUZZ_CHECK(apex_histogram_count(dup) == 0,
               "subtracting everything left %llu values",
               (unsigned long long)apex_histogram_count(dup));
    apex_histogram_reset(sum);
    FUZZ_CHECK(apex_histogram_count(sum) == 0, "reset left values");

    apex_histogram_destroy(&dup);
    apex_histogram_destroy(&sum);
    apex_histogram_destroy(&h2);
    apex_histogram_destroy(&h);
    apex_histogram_destroy(&h); // a second destroy is a no-op
    free(a);
    free(b);
    return 0;
}
