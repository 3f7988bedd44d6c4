// tests/unit/test_report.c - what the master writes from text that peers
// and servers chose (master/report.c): CSV fields that a spreadsheet
// would evaluate as formulas are neutralised as OWASP advises, in the
// stats, failures, exceptions and history files; and the console table
// keeps huge times (a peer's 1e12 ms) to their column's width.
#include "tests/unit/tests.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/stats.h"
#include "master/report.h"

#define S_T0 1795737094.25

static const char *const s_hostile[] = {
    "=HYPERLINK(\"http://x\")", "+1+2", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"};
#define S_NHOSTILE (sizeof s_hostile / sizeof s_hostile[0])

static apex_stats_t *s_stats(void)
{
    apex_stats_t *stats = apex_stats_new(S_T0);
    for (size_t i = 0; i < S_NHOSTILE; i++) {
        apex_stats_entry_t *e =
            apex_stats_get(stats, "GET", s_hostile[i], S_T0);
        apex_stats_record(stats, e, 1000, 10, S_T0 + 1);
        apex_stats_record_failure(stats, e, s_hostile[i], S_T0 + 1);
    }
    apex_stats_entry_t *plain = apex_stats_get(stats, "GET", "/plain", S_T0);
    apex_stats_record(stats, plain, 1000, 10, S_T0 + 1);
    return stats;
}

// No line of text starts a field with a formula character: each field
// (after a comma or at the start of a line, after an opening quote) that
// held one now starts with a quote mark.
static void s_check_neutral(const char *csv)
{
    const char *p = csv;
    bool at_field = true, quoted = false;
    for (; *p; p++) {
        if (at_field) {
            const char *c = p;
            if (*c == '"')
                c++;
            CHECK(!strchr("=+@\t", *c) || *c == '\0');
            if (*c == '-')
                CHECK(c[1] >= '0' && c[1] <= '9' && strstr(csv, "'-2+3"));
            at_field = false;
        }
        if (*p == '"')
            quoted = !quoted;
        else if (!quoted && (*p == ',' || *p == '\n'))
            at_field = true;
    }
}

static void s_test_csv(void)
{
    apex_stats_t *stats = s_stats();
    apex_buf_t out;
    apex_buf_init(&out);
    master_csv_stats(&out, stats);
    for (size_t i = 1; i < S_NHOSTILE; i++) { // [0] has quotes: below
        char *want = apex_sprintf("'%s", s_hostile[i]);
        CHECK(strstr(apex_buf_str(&out), want));
        free(want);
    }
    CHECK(strstr(apex_buf_str(&out), ",/plain,"));
    CHECK(strstr(apex_buf_str(&out), "GET,\"'=HYPERLINK(\"\"http://x\"\")\","));
    s_check_neutral(apex_buf_str(&out));

    apex_buf_reset(&out);
    master_csv_failures(&out, stats);
    CHECK(strstr(apex_buf_str(&out), "'@SUM(A1),'@SUM(A1),1,"));
    s_check_neutral(apex_buf_str(&out));

    apex_buf_reset(&out);
    master_exception_t ex = {"=cmd|' /C calc'!A0", "+tb", 3, "-node"};
    master_csv_exceptions(&out, &ex, 1);
    CHECK(strstr(apex_buf_str(&out), "3,'=cmd|' /C calc'!A0,'+tb,'-node"));

    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    master_csv_history_append(f, stats, 1, true, 1795737095, NULL);
    fclose(f);
    CHECK(strstr(text, ",GET,'+1+2,"));
    free(text);
    apex_buf_fini(&out);
    apex_stats_destroy(&stats);
}

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
    s_test_csv();
    s_test_console_bounds();
}
