// tests/unit/test_report.c - what the master writes from what peers
// report (master/report.c): the console table keeps huge times (a peer's
// 1e12 ms) to their column's width.
#include "tests/unit/tests.h"

#include <stdlib.h>
#include <string.h>

#include "common/stats.h"
#include "master/report.h"

#define S_T0 1795737094.25

// A peer may report a response time of 1e12 ms: the console prints it
// in the width of its column, never as a wrapped or negative number.
static void s_test_console_bounds(void)
{
    apex_stats_t *stats = apex_stats_new(S_T0);
    apex_stats_entry_t *e = apex_stats_get(stats, "GET", "/slow", S_T0);
    apex_stats_record(stats, e, 1000000000000000ULL, 0, S_T0 + 1);
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    master_report_table(f, stats, false);
    master_report_percentiles(f, stats);
    fclose(f);
    CHECK(strstr(text, "1.0e+12"));
    CHECK(!strstr(text, "1000000000000"));
    CHECK(!strstr(text, "-2147483648"));
    // Every row of the stats table is as wide as its header.
    const char *header = text;
    size_t width = strcspn(header, "\n");
    const char *row = strstr(text, "GET      /slow");
    CHECK(row && strcspn(row, "\n") == width);
    free(text);
    apex_stats_destroy(&stats);
}

void test_report(bool verbose)
{
    (void)verbose;
    s_test_console_bounds();
}
