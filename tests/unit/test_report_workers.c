// tests/unit/test_report_workers.c - the console's Workers table
// (master/report_workers.c): a row per worker up to 20, beyond that a
// summary by host, kind and state with totals and the five workers worth
// a look, short at any scale (100 workers: under 40 lines).
#include "tests/unit/tests.h"

#include <stdlib.h>
#include <string.h>

#include "master/report.h"

#define S_MAX 500

// Print n rows into a new string the caller frees; *lines gets its count.
static char *s_print(const master_worker_row_t *rows, size_t n, size_t *lines)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    CHECK(f != NULL);
    master_report_workers(f, rows, n);
    CHECK(fclose(f) == 0);
    *lines = 0;
    for (const char *p = text; *p; p++)
        *lines += *p == '\n';
    return text;
}

// n workers on 4 hosts; worker 7 failed 9 requests, worker 3 failed 2,
// worker 11 runs at 99 % CPU.
static void s_rows(master_worker_row_t *rows, char ids[][64], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(ids[i], 64, "host%zu_%032zx", i % 4, i);
        rows[i] = (master_worker_row_t){ids[i],
                                        "apex 0.1.0",
                                        i == 5 ? "missing" : "running",
                                        10,
                                        i == 11 ? 99.0 : 20.0 + (double)i / 100,
                                        16 * 1024 * 1024,
                                        1000,
                                        i == 7   ? 9
                                        : i == 3 ? 2
                                                 : 0};
    }
}

void test_report_workers(bool verbose)
{
    static master_worker_row_t rows[S_MAX];
    static char ids[S_MAX][64];
    s_rows(rows, ids, S_MAX);
    size_t lines = 0;

    // 20 workers: one row each (title, header, rule, rows, blank).
    char *text = s_print(rows, 20, &lines);
    CHECK_EQ(lines, 20 + 4);
    CHECK(strstr(text, ids[19]) != NULL);
    free(text);

    // 100: a summary.
    text = s_print(rows, 100, &lines);
    if (verbose)
        printf("%s", text);
    CHECK(lines < 40);
    CHECK(strstr(text, "Workers: 100 (one row per host") != NULL);
    // host0 has 25 workers; host1's worker 5 is missing: its own row.
    CHECK(strstr(text, "host0 (25) ") != NULL);
    CHECK(strstr(text, "host1 (24) ") != NULL);
    CHECK(strstr(text, "host1 (1) ") != NULL);
    const char *missing = strstr(text, "host1 (1) ");
    CHECK(strstr(missing, "missing") < strchr(missing, '\n'));
    // Totals: 1000 users, 100000 requests, 11 failures.
    const char *total = strstr(text, "Total (100)");
    CHECK(total != NULL);
    CHECK(strstr(total, "1000") != NULL);
    CHECK(strstr(total, "100000") != NULL);
    CHECK(strstr(total, "       11\n") != NULL);
    // Worth a look: 7 (9 failures), 3 (2), then 11 (99 % CPU).
    const char *look = strstr(text, "Worth a look");
    CHECK(look != NULL);
    const char *w7 = strstr(look, ids[7]), *w3 = strstr(look, ids[3]);
    const char *w11 = strstr(look, ids[11]);
    CHECK(w7 && w3 && w11 && w7 < w3 && w3 < w11);
    free(text);

    // 500: no longer.
    text = s_print(rows, S_MAX, &lines);
    CHECK(lines < 40);
    CHECK(strstr(text, "Total (500)") != NULL);
    free(text);
}
