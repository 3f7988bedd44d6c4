// tests/unit/test_histogram.c - the latency histogram through its public
// API: percentiles against exact sorted data, merge, subtract, dup,
// reset, the wire encoding (and hostile input to its decoder), and the
// conversion to Locust's rounded-millisecond buckets.
//
// Memory cannot be observed through the opaque type; by construction it
// is one block of 1731 uint64 (13.5 KiB) per histogram, allocated in
// apex_histogram_new() and nowhere else, which ASan runs confirm.
#include "tests/unit/tests.h"

#include <math.h>

#include "common/rng.h"
#include "common/histogram.h"

#define S_VALUES 100000        // values per random data set
#define S_MAX_REL_ERROR 0.01   // allowed relative error of any percentile
#define S_HOUR_US 3600000000.0 // the top of the log-uniform data
#define S_FUZZ_ROUNDS 20000    // random inputs for the decoder

static int s_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t s_clamp(uint64_t us)
{
    return us > APEX_HISTOGRAM_MAX_US ? APEX_HISTOGRAM_MAX_US : us;
}

static void s_check_close(uint64_t got, uint64_t exact)
{
    double error = fabs((double)got - (double)exact);
    if (error > S_MAX_REL_ERROR * (double)exact) {
        fprintf(stderr, "reported %" PRIu64 " for %" PRIu64 "\n", got, exact);
        CHECK(error <= S_MAX_REL_ERROR * (double)exact);
    }
}

// Record values[0 .. n) and compare every percentile Locust shows, the
// median and a spread of ranks with the exact values of the sorted data.
static void s_check_percentiles(const char *what, uint64_t *values, size_t n,
                                bool verbose)
{
    static const double ps[] = {0,   .5,  .66, .75,  .8,    .9,
                                .95, .98, .99, .999, .9999, 1};
    apex_histogram_t *h = apex_histogram_new();
    for (size_t i = 0; i < n; i++)
        apex_histogram_record(h, values[i]);
    for (size_t i = 0; i < n; i++)
        values[i] = s_clamp(values[i]);
    qsort(values, n, sizeof values[0], s_cmp_u64);

    CHECK_EQ(apex_histogram_count(h), n);
    CHECK_EQ(apex_histogram_min(h), values[0]);
    CHECK_EQ(apex_histogram_max(h), values[n - 1]);
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        double rank = floor((double)n * ps[i]);
        size_t r = rank >= (double)n ? n - 1 : (size_t)rank;
        uint64_t got = apex_histogram_percentile(h, ps[i]);
        if (verbose)
            printf("  %s p%g: %" PRIu64 " exact %" PRIu64 "\n", what,
                   ps[i] * 100, got, values[r]);
        s_check_close(got, values[r]);
    }
    s_check_close(apex_histogram_median(h), values[(n - 1) / 2]);
    for (size_t r = 0; r < n; r += 1 + n / 97)
        s_check_close(apex_histogram_value_at_rank(h, r), values[r]);
    // Ranks past the end give the largest value.
    uint64_t last = apex_histogram_value_at_rank(h, n - 1);
    CHECK_EQ(apex_histogram_percentile(h, 1), last);
    CHECK_EQ(apex_histogram_value_at_rank(h, n), last);
    CHECK_EQ(apex_histogram_value_at_rank(h, UINT64_MAX), last);
    // Reported values never leave [min, max].
    CHECK(apex_histogram_value_at_rank(h, 0) >= values[0]);
    CHECK(last <= values[n - 1]);
    apex_histogram_destroy(&h);
}

static void s_test_percentiles(bool verbose)
{
    uint64_t *values = calloc(S_VALUES, sizeof *values);
    CHECK(values != NULL);
    static const uint64_t seeds[] = {1, 42, 20261127};
    for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
        uint64_t rng = apex_rng_seed(seeds[s]);
        for (size_t i = 0; i < S_VALUES; i++)
            values[i] = apex_rng_next(&rng) % 2000000; // 0 .. 2 s
        s_check_percentiles("uniform", values, S_VALUES, verbose);
        for (size_t i = 0; i < S_VALUES; i++)
            values[i] = (uint64_t)exp(apex_rng_unit(&rng) * log(S_HOUR_US));
        s_check_percentiles("log-uniform", values, S_VALUES, verbose);
    }

    // All equal: every answer is exact.
    for (size_t i = 0; i < S_VALUES; i++)
        values[i] = 1234567;
    s_check_percentiles("equal", values, S_VALUES, verbose);

    // Two spikes far apart, unevenly weighted.
    for (size_t i = 0; i < S_VALUES; i++)
        values[i] = i % 3 ? 3 : 3000000000ULL;
    s_check_percentiles("spikes", values, S_VALUES, verbose);

    // Bucket edges: the linear range's end and every power of two.
    size_t n = 0;
    values[n++] = 0;
    values[n++] = 127;
    values[n++] = 128;
    values[n++] = 129;
    for (int k = 7; k <= 32; k++) {
        values[n++] = (1ULL << k) - 1;
        values[n++] = 1ULL << k;
        values[n++] = (1ULL << k) + 1;
    }
    size_t edges = n;
    for (size_t i = edges; i < 10 * edges; i++)
        values[n++] = values[i % edges];
    s_check_percentiles("edges", values, n, verbose);

    // Above the maximum: clamped to APEX_HISTOGRAM_MAX_US.
    n = 0;
    for (int i = 0; i < 100; i++) {
        values[n++] = 1ULL << 40;
        values[n++] = UINT64_MAX;
        values[n++] = APEX_HISTOGRAM_MAX_US;
        values[n++] = 1000;
    }
    s_check_percentiles("above max", values, n, verbose);

    // Zero only.
    for (size_t i = 0; i < 1000; i++)
        values[i] = 0;
    s_check_percentiles("zero", values, 1000, verbose);

    // Every value of the linear range and a bit beyond, one of each.
    for (size_t i = 0; i < 5000; i++)
        values[i] = i;
    s_check_percentiles("ramp", values, 5000, verbose);
    free(values);

    // Locust's worked example (docs/protocol.md, "Stats reports"), in
    // microseconds.
    apex_histogram_t *h = apex_histogram_new();
    apex_histogram_record_n(h, 3000, 10);
    apex_histogram_record_n(h, 150000, 2);
    apex_histogram_record(h, 1200000);
    CHECK_EQ(apex_histogram_percentile(h, .5), 3000);
    CHECK_EQ(apex_histogram_percentile(h, .75), 3000);
    s_check_close(apex_histogram_percentile(h, .8), 150000);
    s_check_close(apex_histogram_percentile(h, .9), 150000);
    CHECK_EQ(apex_histogram_percentile(h, .95), 1200000);
    CHECK_EQ(apex_histogram_percentile(h, .99), 1200000);
    CHECK_EQ(apex_histogram_median(h), 3000);
    // Out-of-range p is treated as 0 or 1.
    CHECK_EQ(apex_histogram_percentile(h, -1), 3000);
    CHECK_EQ(apex_histogram_percentile(h, 2), 1200000);
    CHECK_EQ(apex_histogram_percentile(h, NAN), 3000);
    apex_histogram_destroy(&h);
}

typedef struct {
    uint64_t values[APEX_HISTOGRAM_BUCKETS]; // representatives, ascending
    uint64_t counts[APEX_HISTOGRAM_BUCKETS]; // their counts
    size_t n;                                // non-empty buckets
} s_dump_t;

static void s_dump_one(uint64_t value_us, uint64_t count, void *arg)
{
    s_dump_t *dump = arg;
    CHECK(dump->n < APEX_HISTOGRAM_BUCKETS);
    CHECK(count > 0);
    CHECK(dump->n == 0 || value_us >= dump->values[dump->n - 1]);
    dump->values[dump->n] = value_us;
    dump->counts[dump->n] = count;
    dump->n++;
}

static void s_dump(const apex_histogram_t *h, s_dump_t *dump)
{
    memset(dump, 0, sizeof *dump);
    apex_histogram_foreach(h, s_dump_one, dump);
}

// Two histograms are the same: same buckets and counts, min and max, and
// the same bytes on the wire.
static void s_check_same(const apex_histogram_t *a, const apex_histogram_t *b)
{
    s_dump_t da, db;
    s_dump(a, &da);
    s_dump(b, &db);
    CHECK_EQ(da.n, db.n);
    CHECK(memcmp(da.values, db.values, da.n * sizeof da.values[0]) == 0);
    CHECK(memcmp(da.counts, db.counts, da.n * sizeof da.counts[0]) == 0);
    CHECK_EQ(apex_histogram_count(a), apex_histogram_count(b));
    CHECK_EQ(apex_histogram_min(a), apex_histogram_min(b));
    CHECK_EQ(apex_histogram_max(a), apex_histogram_max(b));
    uint8_t ea[APEX_HISTOGRAM_ENCODE_MAX], eb[APEX_HISTOGRAM_ENCODE_MAX];
    size_t la = apex_histogram_encode(a, ea);
    size_t lb = apex_histogram_encode(b, eb);
    CHECK_EQ(la, lb);
    CHECK(memcmp(ea, eb, la) == 0);
}

static void s_fill_random(apex_histogram_t *h, uint64_t *rng, size_t n)
{
    for (size_t i = 0; i < n; i++)
        apex_histogram_record(
            h, (uint64_t)exp(apex_rng_unit(rng) * log(S_HOUR_US)));
}

static apex_histogram_t *s_roundtrip(const apex_histogram_t *h, size_t *size)
{
    uint8_t buf[APEX_HISTOGRAM_ENCODE_MAX];
    *size = apex_histogram_encode(h, buf);
    CHECK(*size <= APEX_HISTOGRAM_ENCODE_MAX);
    apex_error_t err = {""};
    apex_histogram_t *back = apex_histogram_decode(buf, *size, &err);
    CHECK_STR(err.msg, "");
    CHECK(back != NULL);
    s_check_same(back, h);
    return back;
}

static void s_test_merge_subtract(void)
{
    uint64_t rng = apex_rng_seed(7);
    apex_histogram_t *first = apex_histogram_new();
    apex_histogram_t *second = apex_histogram_new();
    apex_histogram_t *all = apex_histogram_new();
    for (size_t i = 0; i < S_VALUES; i++) {
        uint64_t v = (uint64_t)exp(apex_rng_unit(&rng) * log(S_HOUR_US));
        apex_histogram_record(i % 2 ? first : second, v);
        apex_histogram_record(all, v);
    }

    // dup is an exact copy, independent of the original.
    apex_histogram_t *copy = apex_histogram_dup(first);
    s_check_same(copy, first);
    apex_histogram_record(copy, 5);
    CHECK_EQ(apex_histogram_count(copy), apex_histogram_count(first) + 1);

    // Merging the halves is the same as recording everything in one.
    apex_histogram_t *merged = apex_histogram_dup(first);
    apex_histogram_merge(merged, second);
    s_check_same(merged, all);
    apex_histogram_t *empty = apex_histogram_new();
    apex_histogram_merge(merged, empty); // merging nothing changes nothing
    s_check_same(merged, all);
    apex_histogram_merge(empty, all); // into nothing: a copy
    s_check_same(empty, all);

    // Subtracting a snapshot leaves what came after it, bucket by
    // bucket; min and max stay those of the whole.
    apex_histogram_subtract(merged, first);
    CHECK_EQ(apex_histogram_count(merged), apex_histogram_count(second));
    CHECK_EQ(apex_histogram_min(merged), apex_histogram_min(all));
    CHECK_EQ(apex_histogram_max(merged), apex_histogram_max(all));
    s_dump_t diff, expected;
    s_dump(merged, &diff);
    s_dump(second, &expected);
    CHECK_EQ(diff.n, expected.n);
    for (size_t i = 0; i < diff.n; i++) {
        CHECK_EQ(diff.counts[i], expected.counts[i]);
        s_check_close(diff.values[i], expected.values[i]);
    }
    size_t size;
    apex_histogram_t *back = s_roundtrip(merged, &size); // still valid
    apex_histogram_destroy(&back);
    // Subtraction floors at zero, and an emptied histogram is empty.
    apex_histogram_t *small = apex_histogram_new();
    apex_histogram_record_n(small, 1000, 3);
    apex_histogram_record(small, 77);
    apex_histogram_subtract(small, all);
    CHECK_EQ(apex_histogram_count(small), 0);
    CHECK_EQ(apex_histogram_min(small), 0);
    CHECK_EQ(apex_histogram_max(small), 0);
    CHECK_EQ(apex_histogram_percentile(small, .5), 0);
    apex_histogram_record(small, 500);
    CHECK_EQ(apex_histogram_min(small), 500);
    CHECK_EQ(apex_histogram_max(small), 500);
    apex_histogram_subtract(merged, merged); // itself: nothing left
    CHECK_EQ(apex_histogram_count(merged), 0);

    // reset forgets everything and the histogram is usable again.
    apex_histogram_reset(copy);
    apex_histogram_t *fresh = apex_histogram_new();
    s_check_same(copy, fresh);
    CHECK_EQ(apex_histogram_percentile(copy, .99), 0);
    CHECK_EQ(apex_histogram_median(copy), 0);
    CHECK_EQ(apex_histogram_value_at_rank(copy, 0), 0);
    apex_histogram_record(copy, 42);
    CHECK_EQ(apex_histogram_median(copy), 42);

    // record_n is n records, and a count of 0 records nothing.
    apex_histogram_t *one_by_one = apex_histogram_new();
    apex_histogram_t *at_once = apex_histogram_new();
    for (int i = 0; i < 1000; i++)
        apex_histogram_record(one_by_one, 31337);
    apex_histogram_record_n(at_once, 31337, 1000);
    apex_histogram_record_n(at_once, 99, 0);
    s_check_same(one_by_one, at_once);

    apex_histogram_t *all_ptrs[] = {first, second, all,   copy,       merged,
                                    empty, small,  fresh, one_by_one, at_once};
    for (size_t i = 0; i < sizeof all_ptrs / sizeof all_ptrs[0]; i++)
        apex_histogram_destroy(&all_ptrs[i]);
}

// Decoding must fail, with "histogram: <size> bytes: ..." naming what.
static void s_check_bad(const void *data, size_t size, const char *what)
{
    apex_error_t err = {""};
    apex_histogram_t *h = apex_histogram_decode(data, size, &err);
    if (h != NULL || strncmp(err.msg, "histogram: ", 11) != 0 ||
        (what && !strstr(err.msg, what)))
        fprintf(stderr, "decode of %zu bytes: \"%s\", expected \"%s\"\n", size,
                err.msg, what ? what : "");
    CHECK(h == NULL);
    CHECK(strncmp(err.msg, "histogram: ", 11) == 0);
    char size_text[32];
    snprintf(size_text, sizeof size_text, "%zu bytes", size);
    CHECK(strstr(err.msg, size_text) != NULL);
    if (what)
        CHECK(strstr(err.msg, what) != NULL);
}

static void s_test_encoding(void)
{
    // Empty: version, sub-bucket bits, min 0, max 0, no buckets.
    apex_histogram_t *h = apex_histogram_new();
    uint8_t buf[APEX_HISTOGRAM_ENCODE_MAX];
    size_t size = apex_histogram_encode(h, buf);
    CHECK_EQ(size, 5);
    CHECK(memcmp(buf, "\x01\x06\x00\x00\x00", 5) == 0);
    apex_histogram_t *back = s_roundtrip(h, &size);
    CHECK_EQ(apex_histogram_count(back), 0);
    apex_histogram_destroy(&back);

    // One value: its bucket index is the gap from 0.
    apex_histogram_record(h, 100);
    size = apex_histogram_encode(h, buf);
    CHECK_EQ(size, 7);
    CHECK(memcmp(buf, "\x01\x06\x64\x64\x01\x64\x01", 7) == 0);

    // Random data, and every bucket at once with the largest counts.
    uint64_t rng = apex_rng_seed(99);
    s_fill_random(h, &rng, S_VALUES);
    back = s_roundtrip(h, &size);
    apex_histogram_destroy(&back);
    apex_histogram_t *full = apex_histogram_new();
    for (uint64_t v = 0; v <= APEX_HISTOGRAM_MAX_US; v += 1 + v / 128)
        apex_histogram_record(full, v);
    apex_histogram_record(full, APEX_HISTOGRAM_MAX_US);
    back = s_roundtrip(full, &size);
    apex_histogram_destroy(&back);
    apex_histogram_record_n(full, 7, UINT64_MAX - apex_histogram_count(full));
    CHECK_EQ(apex_histogram_count(full), UINT64_MAX);
    back = s_roundtrip(full, &size);
    CHECK(size <= APEX_HISTOGRAM_ENCODE_MAX);
    apex_histogram_destroy(&back);
    apex_histogram_destroy(&full);

    // Every proper prefix of a valid encoding is truncated.
    size = apex_histogram_encode(h, buf);
    for (size_t len = 0; len < size; len++)
        s_check_bad(buf, len, len < 2 ? "truncated" : NULL);
    s_check_bad(NULL, 0, "truncated");
    s_check_bad(buf, 4, "4 bytes: truncated");
    // One byte too many.
    uint8_t longer[APEX_HISTOGRAM_ENCODE_MAX + 1];
    memcpy(longer, buf, size);
    longer[size] = 0;
    s_check_bad(longer, size + 1, "trailing");
    apex_histogram_destroy(&h);

    s_check_bad("junk", 4, "version");
    s_check_bad("\x02\x06\x00\x00\x00", 5, "version 2");
    s_check_bad("\x01\x05\x00\x00\x00", 5, "sub-bucket bits 5");
    // Varints: 11 bytes, and 10 bytes holding more than 64 bits.
    s_check_bad("\x01\x06\xff\xff\xff\xff\xff\xff\xff\xff\xff\x81\x00\x00"
                "\x00",
                15, "longer than 10 bytes");
    s_check_bad("\x01\x06\x80\x80\x80\x80\x80\x80\x80\x80\x80\x02\x00\x00", 14,
                "overflows 64 bits");
    s_check_bad("\x01\x06\xff", 3, "truncated");
    // min, max and the bucket count are checked before anything else.
    s_check_bad("\x01\x06\x05\x03\x00", 5, "min 5 > max 3");
    s_check_bad("\x01\x06\x00\x80\x80\x80\x80\x10\x00", 9, "max 4294967296");
    s_check_bad("\x01\x06\x00\x00\xc1\x0d", 6, "1729 buckets");
    // Bucket indices: a gap past the end, and a second bucket past it.
    s_check_bad("\x01\x06\x00\x00\x01\xc0\x0d\x01", 8, "past");
    s_check_bad("\x01\x06\x00\xff\xff\xff\xff\x0f\x02\xbf\x0d\x01\x00\x01", 14,
                "past");
    // A zero count, and counts that overflow when added.
    s_check_bad("\x01\x06\x01\x01\x01\x01\x00", 7, "count 0");
    s_check_bad("\x01\x06\x01\x02\x02\x01\x80\x80\x80\x80\x80\x80\x80\x80\x80"
                "\x01\x00\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",
                27, "overflows");
    // min and max that cannot belong to the buckets.
    s_check_bad("\x01\x06\x05\x05\x01\x64\x01", 7, "bracket");
    s_check_bad("\x01\x06\x65\xc8\x01\x01\x64\x01", 8, "bracket");
    // Two buckets whose min and max bracket them decode fine.
    apex_error_t err = {""};
    back =
        apex_histogram_decode("\x01\x06\x01\x02\x02\x01\x05\x00\x07", 9, &err);
    CHECK(back != NULL);
    CHECK_EQ(apex_histogram_count(back), 12);
    CHECK_EQ(apex_histogram_median(back), 2);
    apex_histogram_destroy(&back);
    // A NULL err is allowed: the message is dropped.
    CHECK(apex_histogram_decode("junk", 4, NULL) == NULL);

    // Random bytes and random damage to a valid encoding never crash;
    // whatever decodes makes a round trip.
    h = apex_histogram_new();
    s_fill_random(h, &rng, 1000);
    size_t valid = apex_histogram_encode(h, buf);
    apex_histogram_destroy(&h);
    uint8_t junk[64];
    for (int round = 0; round < S_FUZZ_ROUNDS; round++) {
        const uint8_t *data = junk;
        size_t len = apex_rng_next(&rng) % sizeof junk;
        for (size_t i = 0; i < len; i++)
            junk[i] = (uint8_t)apex_rng_next(&rng);
        if (round % 2) {
            memcpy(longer, buf, valid);
            longer[apex_rng_next(&rng) % valid] = (uint8_t)apex_rng_next(&rng);
            data = longer;
            len = valid;
        } else if (len >= 2) {
            junk[0] = 1;
            junk[1] = APEX_HISTOGRAM_SUB_BITS;
        }
        err.msg[0] = '\0';
        h = apex_histogram_decode(data, len, &err);
        if (h) {
            size_t again;
            apex_histogram_t *copy = s_roundtrip(h, &again);
            apex_histogram_destroy(&copy);
            apex_histogram_destroy(&h);
        } else {
            CHECK(strncmp(err.msg, "histogram: ", 11) == 0);
        }
    }
}

typedef struct {
    double ms;   // a response time
    int64_t key; // Python's key for it
} s_bucket_case_t;

// Printed by /usr/bin/python3 with Locust's rule (docs/protocol.md,
// "Stats reports").
static const s_bucket_case_t s_bucket_cases[] = {
    {2.5, 2},
    {3.5, 4},
    {145.0, 140},
    {155.0, 160},
    {1250, 1200},
    {1350.0, 1400},
    {123.4, 120},
    {4567.8, 4600},
    {12345.6, 12000},
    {99.5, 100},
    {0.4, 0},
    {0.5, 0},
    {1.5, 2},
    {99.4, 99},
    {999.4, 1000},
    {9950.0, 10000},
    {9850.0, 9800},
    {10500.0, 10000},
    {11500.0, 12000},
    {0.5000000000000001, 1},
    {2.675, 3},
    {14.999999999999998, 15},
    {-2.5, -2},
    {0.0, 0},
    {105.0, 100},
    {115.0, 120},
    {125.00000000000001, 130},
    {124.99999999999999, 120},
    {1050.0, 1000},
    {2050.0, 2000},
    {99999.5, 100000},
    {123456789.0, 123457000},
    {0.49999999999999994, 0},
    {434.99999999999994, 430}, // 4.35 * 100: below the tie in binary
    {1.207, 1},
    {2.511, 3},
    {144.383, 140},
    {154.623, 150},
};

typedef struct {
    apex_locust_bucket_t keys[APEX_HISTOGRAM_BUCKETS]; // expected, merged
    size_t n;                                          // how many
} s_keys_t;

// Build the expected Locust keys the slow way, from foreach.
static void s_key_one(uint64_t value_us, uint64_t count, void *arg)
{
    s_keys_t *keys = arg;
    int64_t key = apex_locust_bucket_ms((double)value_us / 1000.0);
    if (keys->n > 0 && keys->keys[keys->n - 1].ms == key) {
        keys->keys[keys->n - 1].count += count;
        return;
    }
    keys->keys[keys->n].ms = key;
    keys->keys[keys->n].count = count;
    keys->n++;
}

static void s_check_locust(const apex_histogram_t *h)
{
    s_keys_t expected;
    apex_locust_bucket_t out[APEX_HISTOGRAM_BUCKETS];
    memset(&expected, 0, sizeof expected);
    apex_histogram_foreach(h, s_key_one, &expected);
    size_t n = apex_histogram_to_locust(h, out, APEX_HISTOGRAM_BUCKETS);
    CHECK_EQ(n, expected.n);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ(out[i].ms, expected.keys[i].ms);
        CHECK_EQ(out[i].count, expected.keys[i].count);
        CHECK(i == 0 || out[i].ms > out[i - 1].ms);
        total += out[i].count;
    }
    CHECK_EQ(total, apex_histogram_count(h));
}

static void s_test_locust(void)
{
    size_t ncases = sizeof s_bucket_cases / sizeof s_bucket_cases[0];
    for (size_t i = 0; i < ncases; i++) {
        if (apex_locust_bucket_ms(s_bucket_cases[i].ms) !=
            s_bucket_cases[i].key)
            fprintf(stderr, "bucket of %.17g\n", s_bucket_cases[i].ms);
        CHECK_EQ(apex_locust_bucket_ms(s_bucket_cases[i].ms),
                 s_bucket_cases[i].key);
    }
    CHECK_EQ(apex_locust_bucket_ms(NAN), 0);
    CHECK_EQ(apex_locust_bucket_ms(INFINITY), INT64_MAX);
    CHECK_EQ(apex_locust_bucket_ms(-INFINITY), INT64_MIN);
    CHECK_EQ(apex_locust_bucket_ms(1e17), 100000000000000000LL);

    apex_histogram_t *h = apex_histogram_new();
    apex_locust_bucket_t out[APEX_HISTOGRAM_BUCKETS];
    CHECK_EQ(apex_histogram_to_locust(h, out, APEX_HISTOGRAM_BUCKETS), 0);
    apex_histogram_record_n(h, 1200, 3); // 1.2 ms
    apex_histogram_record(h, 2500);      // 2.5 ms
    apex_histogram_record(h, 145000);    // 145 ms
    apex_histogram_record(h, 155000);    // 155 ms
    apex_histogram_record(h, 12345600);  // 12345.6 ms
    s_check_locust(h);
    size_t n = apex_histogram_to_locust(h, out, APEX_HISTOGRAM_BUCKETS);
    CHECK_EQ(n, 5);
    CHECK_EQ(out[0].ms, 1); // 1.2 ms is reported as 1.2 ms (the min)
    CHECK_EQ(out[0].count, 3);
    // 2.5 ms sits in bucket 2496 .. 2527 us, reported at 2.511 ms.
    CHECK_EQ(out[1].ms, apex_locust_bucket_ms(2.511));
    CHECK_EQ(out[2].ms, 140);
    // 155 ms is a tie that Python sends to 160, but its bucket 153600 ..
    // 155647 us is reported at 154.623 ms, which rounds to 150: keys near
    // a rounding edge can move by one step, within the 1/128 bound.
    CHECK(out[3].ms == 150 || out[3].ms == 160);
    CHECK_EQ(out[4].ms, 12000); // the max is exact
    CHECK_EQ(out[4].count, 1);

    // Many buckets into one key: 100 .. 105 ms all round to 100.
    apex_histogram_reset(h);
    for (uint64_t us = 100000; us < 105000; us += 7)
        apex_histogram_record(h, us);
    n = apex_histogram_to_locust(h, out, APEX_HISTOGRAM_BUCKETS);
    CHECK_EQ(n, 1);
    CHECK_EQ(out[0].ms, 100);
    CHECK_EQ(out[0].count, apex_histogram_count(h));

    // Random data over the whole range.
    uint64_t rng = apex_rng_seed(5);
    s_fill_random(h, &rng, S_VALUES);
    s_check_locust(h);

    // A short output array is filled and never overrun.
    apex_locust_bucket_t few[4];
    memset(few, 0xa5, sizeof few);
    n = apex_histogram_to_locust(h, few, 3);
    CHECK_EQ(n, 3);
    CHECK_EQ(few[3].ms, (int64_t)0xa5a5a5a5a5a5a5a5ULL);
    CHECK(few[0].ms < few[1].ms && few[1].ms < few[2].ms);
    CHECK_EQ(apex_histogram_to_locust(h, NULL, 0), 0);
    apex_histogram_destroy(&h);
}

void test_histogram(bool verbose)
{
    s_test_percentiles(verbose);
    s_test_merge_subtract();
    s_test_encoding();
    s_test_locust();

    apex_histogram_t *h = apex_histogram_new();
    apex_histogram_record(h, 1);
    apex_histogram_destroy(&h);
    CHECK(h == NULL);
    apex_histogram_destroy(&h); // safe twice
    CHECK(h == NULL);
}
