// tests/unit/test_procstat.c - resident memory is reported and grows
// when memory is touched; CPU use rises above zero after a busy loop.
// Only directions are asserted, never amounts (machines are noisy).
#include "tests/unit/tests.h"

#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/procstat.h"

#define S_TOUCH_BYTES (64u * 1024u * 1024u) // memory touched to grow RSS
#define S_BUSY_CPU_S 0.2                    // CPU time to burn
#define S_BUSY_DEADLINE_US (20 * APEX_USEC_PER_SEC)

// Process CPU time in seconds (precise, unlike /proc's ticks).
static double s_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void test_procstat(bool verbose)
{
    uint64_t rss = apex_procstat_rss();
    CHECK(rss > 0);
    // What the system has available, as sysinfo(2) sees it roughly: more
    // than nothing, less than all of its memory.
    uint64_t avail = apex_procstat_mem_available();
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    CHECK(avail > 0);
    CHECK(avail <= (uint64_t)pages * (uint64_t)page);

    // Touching 64 MiB makes the resident set grow by most of it.
    unsigned char *block = malloc(S_TOUCH_BYTES);
    CHECK(block != NULL);
    memset(block, 1, S_TOUCH_BYTES);
    uint64_t grown = apex_procstat_rss();
    CHECK(grown > rss + S_TOUCH_BYTES / 2);

    // A first sample reports nothing yet.
    apex_procstat_t ps;
    apex_procstat_init(&ps);
    CHECK(ps.cpu_percent == 0.0);
    CHECK(ps.wall_us > 0);
    uint64_t ticks0 = ps.cpu_ticks;

    // Burn CPU (measured by the precise clock, bounded by a deadline),
    // then sample: utime + stime moved and the percentage is above 0.
    double start = s_cpu_seconds();
    uint64_t deadline = apex_now_us() + S_BUSY_DEADLINE_US;
    volatile uint64_t sink = 0;
    while (s_cpu_seconds() - start < S_BUSY_CPU_S && apex_now_us() < deadline)
        for (int i = 0; i < 10000; i++)
            sink += block[(size_t)i * 4096 % S_TOUCH_BYTES];
    apex_procstat_sample(&ps);
    if (verbose)
        printf("  rss %" PRIu64 " -> %" PRIu64 " bytes, cpu %.1f%%, ticks "
               "%" PRIu64 " -> %" PRIu64 "\n",
               rss, grown, ps.cpu_percent, ticks0, ps.cpu_ticks);
    CHECK(ps.cpu_ticks > ticks0);
    CHECK(ps.cpu_percent > 0.0);
    free(block);

    // Samples keep working: the new baseline is the last sample.
    uint64_t ticks1 = ps.cpu_ticks;
    apex_procstat_sample(&ps);
    CHECK(ps.cpu_ticks >= ticks1);
    CHECK(ps.cpu_percent >= 0.0);
}
