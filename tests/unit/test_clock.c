// tests/unit/test_clock.c - the monotonic clock never goes back and
// advances across a short sleep; the wall clock agrees with time() and
// has sub-second resolution. No assertion depends on how fast the
// machine is.
#include "tests/unit/tests.h"

#include <math.h>
#include <time.h>

#include "common/clock.h"

#define S_READS 100000           // back-to-back reads of each clock
#define S_NAP_NS 2000000L        // 2 ms
#define S_YEAR_2020 1577836800.0 // 2020-01-01T00:00:00Z
#define S_YEAR_2200 7258118400.0 // 2200-01-01T00:00:00Z

void test_clock(bool verbose)
{
    CHECK_EQ(APEX_USEC_PER_SEC, 1000 * APEX_USEC_PER_MSEC);

    // Unit conversions: truncation, and hostile values bounded.
    CHECK_EQ(apex_us_from_s(1.5), 1500000);
    CHECK_EQ(apex_us_from_s(0.0000019), 1);
    CHECK_EQ(apex_us_from_s(0), 0);
    CHECK_EQ(apex_us_from_s(-3), 0);
    CHECK_EQ(apex_us_from_s(NAN), 0);
    CHECK_EQ(apex_us_from_s(1e300), UINT64_MAX);
    CHECK_EQ(apex_us_from_s(INFINITY), UINT64_MAX);
    CHECK(apex_s_from_us(2500000) == 2.5);
    CHECK(apex_ms_from_us(269) == 0.269);

    // Monotonic: non-decreasing over many reads.
    uint64_t prev = apex_now_us();
    for (int i = 0; i < S_READS; i++) {
        uint64_t now = apex_now_us();
        CHECK(now >= prev);
        prev = now;
    }
    // ... and it moves: a 2 ms sleep is at least 2000 us on this clock.
    uint64_t before = apex_now_us();
    struct timespec nap = {0, S_NAP_NS};
    while (nanosleep(&nap, &nap) != 0)
        ;
    uint64_t after = apex_now_us();
    CHECK(after - before >= (uint64_t)S_NAP_NS / 1000);

    // Wall time: plausible, and within a second or two of time() (which
    // may read a coarser clock, so allow a second either way).
    time_t t0 = time(NULL);
    double wall = apex_wall_time();
    time_t t1 = time(NULL);
    if (verbose)
        printf("  wall %.6f, monotonic %" PRIu64 " us\n", wall, after);
    CHECK(wall > S_YEAR_2020 && wall < S_YEAR_2200);
    CHECK(wall >= (double)t0 - 1.0 && wall < (double)t1 + 2.0);
    // Sub-second resolution: reads over a few ms are not all whole.
    bool fractional = false;
    for (int i = 0; i < S_READS && !fractional; i++) {
        double w = apex_wall_time();
        fractional = w != (double)(int64_t)w;
    }
    CHECK(fractional);
}
