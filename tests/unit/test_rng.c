// tests/unit/test_rng.c - the PRNG: seeds replay, never a zero state,
// uniform enough for think times and task choice (chi-square on buckets),
// apex_rng_below() unbiased and in range, apex_rng_unit() in [0, 1).
#include "tests/unit/tests.h"

#include "common/rng.h"

#define S_DRAWS 200000  // draws per distribution check
#define S_BUCKETS 10    // buckets of the chi-square check
#define S_CHI2_MAX 40.0 // 9 degrees of freedom: p < 1e-5 above this

void test_rng(bool verbose)
{
    // A seed replays its sequence; different seeds differ; 0 is a seed.
    uint64_t a = apex_rng_seed(42), b = apex_rng_seed(42);
    uint64_t c = apex_rng_seed(43), z = apex_rng_seed(0);
    CHECK(a != 0 && c != 0 && z != 0);
    CHECK(a != c);
    for (int i = 0; i < 1000; i++)
        CHECK_EQ(apex_rng_next(&a), apex_rng_next(&b));
    CHECK(apex_rng_next(&a) != apex_rng_next(&c));
    CHECK(z != 0 && apex_rng_next(&z) != 0);

    // below(n): in range, every bucket as likely (chi-square).
    uint64_t rng = apex_rng_seed(2026);
    uint64_t counts[S_BUCKETS] = {0};
    for (int i = 0; i < S_DRAWS; i++) {
        uint64_t v = apex_rng_below(&rng, S_BUCKETS);
        CHECK(v < S_BUCKETS);
        counts[v]++;
    }
    double expected = (double)S_DRAWS / S_BUCKETS, chi2 = 0;
    for (int i = 0; i < S_BUCKETS; i++)
        chi2 += ((double)counts[i] - expected) *
                ((double)counts[i] - expected) / expected;
    if (verbose)
        printf("  below(10): chi2 %.2f\n", chi2);
    CHECK(chi2 < S_CHI2_MAX);
    CHECK_EQ(apex_rng_below(&rng, 0), 0);
    CHECK_EQ(apex_rng_below(&rng, 1), 0);
    // A range near 2^64 needs the rejection loop: still in range.
    for (int i = 0; i < 1000; i++)
        CHECK(apex_rng_below(&rng, UINT64_MAX - 1) < UINT64_MAX - 1);

    // unit(): [0, 1), mean near 1/2.
    double sum = 0;
    for (int i = 0; i < S_DRAWS; i++) {
        double u = apex_rng_unit(&rng);
        CHECK(u >= 0.0 && u < 1.0);
        sum += u;
    }
    CHECK(sum / S_DRAWS > 0.49 && sum / S_DRAWS < 0.51);

    // xorshift64*: the first value from state 1, worked out by hand.
    uint64_t state = 1;
    CHECK(apex_rng_next(&state) == 0x47e4ce4b896cdd1dULL);
    CHECK(state == 0x2000001ULL);
}
