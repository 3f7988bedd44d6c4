// master/report.c - see report.h. Formats follow Locust 2.12.1's
// stats.py (console, STATS_NAME_WIDTH 80 as when not on a terminal) and
// its StatsCSVFileWriter (CSV: \r\n line ends, minimal quoting, floats as
// Python's repr), so tools that read Locust's output read ours. Where
// Locust's figures come from its 2-significant-digit histogram, ours come
// from the microsecond histogram, rounded to whole milliseconds.
#include "master/report.h"
#include "master/trends.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/pyfmt.h"
#include "master/report_json.h"

#define REPORT_TYPE_WIDTH 8
#define REPORT_NAME_WIDTH 80
#define REPORT_DECIMALS_BELOW_MS 10.0 // two decimals below this

const double master_report_percentile_list[MASTER_REPORT_PERCENTILES] = {
    0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0};

static const char *const s_percentile_labels[MASTER_REPORT_PERCENTILES] = {
    "50%", "66%", "75%",   "80%",    "90%", "95%",
    "98%", "99%", "99.9%", "99.99%", "100%"};

// ---------------------------------------------------------------------
// Console

static void s_dashes(FILE *out, int n)
{
    for (int i = 0; i < n; i++)
        fputc('-', out);
}

// A response time for the console: below 10 ms with two decimals (whole
// milliseconds would show 0 for a fast API; the JSON and the web UI have
// the same figures), above as Locust prints it: whole, truncated (its
// %d of a float) or rounded (its median and percentiles).
static const char *s_console_ms(char *buf, size_t size, double ms, bool round)
{
    if (ms < REPORT_DECIMALS_BELOW_MS)
        snprintf(buf, size, "%.2f", ms);
    else
        snprintf(buf, size, "%llu",
                 (unsigned long long)(round ? nearbyint(ms) : floor(ms)));
    return buf;
}

// The median at microsecond precision, clamped to [min, max] as Locust's.
static double s_median_ms(const apex_stats_entry_t *e)
{
    if (apex_histogram_count(e->hist) == 0)
        return 0;
    double ms = (double)apex_histogram_median(e->hist) / 1000.0;
    return fmin(fmax(ms, apex_stats_entry_min_ms(e)),
                apex_stats_entry_max_ms(e));
}

static void s_table_row(FILE *out, const apex_stats_t *stats,
                        const apex_stats_entry_t *e, bool current)
{
    int name_width = REPORT_NAME_WIDTH - REPORT_TYPE_WIDTH + 4;
    char type[64];
    snprintf(type, sizeof type, "%s%s", e->method, e->method[0] ? " " : "");
    char fails[64];
    snprintf(fails, sizeof fails, "%llu(%.2f%%)",
             (unsigned long long)e->num_failures,
             apex_stats_entry_fail_ratio(e) * 100);
    double rps = current ? apex_stats_current_rps(stats, e, false)
                         : apex_stats_total_rps(stats, e, false);
    double fps = current ? apex_stats_current_rps(stats, e, true)
                         : apex_stats_total_rps(stats, e, true);
    char avg[32], min[32], max[32], med[32];
    fprintf(out, "%-*s %-*s %7llu %12s |%7s %7s %7s%7s | %7.2f %11.2f\n",
            REPORT_TYPE_WIDTH, type, name_width, e->name,
            (unsigned long long)e->num_requests, fails,
            s_console_ms(avg, sizeof avg, apex_stats_entry_avg_ms(e), false),
            s_console_ms(min, sizeof min, apex_stats_entry_min_ms(e), false),
            s_console_ms(max, sizeof max, apex_stats_entry_max_ms(e), false),
            s_console_ms(med, sizeof med, s_median_ms(e), true), rps, fps);
}

void master_report_table(FILE *out, const apex_stats_t *stats, bool current)
{
    int name_width = REPORT_NAME_WIDTH - REPORT_TYPE_WIDTH + 4;
    fprintf(out, "%-*s %-*s %7s %12s |%7s %7s %7s%7s | %7s %11s\n",
            REPORT_TYPE_WIDTH, "Type", name_width, "Name", "# reqs", "# fails",
            "Avg", "Min", "Max", "Med", "req/s", "failures/s");
    int widths[] = {REPORT_TYPE_WIDTH, name_width, 7, 13, 7, 7, 7, 7, 8, 11};
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++) {
            if (i)
                fputc('|', out);
            s_dashes(out, widths[i]);
        }
        fputc('\n', out);
        if (pass == 1)
            break;
        apex_stats_entry_t **sorted = apex_stats_sorted(stats);
        for (size_t i = 0; i < apex_stats_size(stats); i++)
            s_table_row(out, stats, sorted[i], current);
        free(sorted);
    }
    s_table_row(out, stats, apex_stats_total_const(stats), current);
    fputc('\n', out);
}

static void s_percentile_row(FILE *out, const apex_stats_entry_t *e)
{
    fprintf(out, "%-*s %-*s", REPORT_TYPE_WIDTH, e->method, REPORT_NAME_WIDTH,
            e->name);
    for (int i = 0; i < MASTER_REPORT_PERCENTILES; i++) {
        double us = (double)apex_histogram_percentile(
            e->hist, master_report_percentile_list[i]);
        char text[32];
        fprintf(out, i == 0 ? " %8s" : " %6s",
                s_console_ms(text, sizeof text, us / 1000.0, true));
    }
    fprintf(out, " %6llu\n", (unsigned long long)e->num_requests);
}

void master_report_percentiles(FILE *out, const apex_stats_t *stats)
{
    fprintf(out, "Response time percentiles (approximated)\n");
    fprintf(out, "%-*s %-*s", REPORT_TYPE_WIDTH, "Type", REPORT_NAME_WIDTH,
            "Name");
    for (int i = 0; i < MASTER_REPORT_PERCENTILES; i++)
        fprintf(out, i == 0 ? " %8s" : " %6s", s_percentile_labels[i]);
    fprintf(out, " %6s\n", "# reqs");
    for (int pass = 0; pass < 2; pass++) {
        s_dashes(out, REPORT_TYPE_WIDTH);
        fputc('|', out);
        s_dashes(out, REPORT_NAME_WIDTH);
        fputc('|', out);
        s_dashes(out, 8);
        for (int i = 0; i < MASTER_REPORT_PERCENTILES; i++) {
            fputc('|', out);
            s_dashes(out, 6);
        }
        fputc('\n', out);
        if (pass == 1)
            break;
        apex_stats_entry_t **sorted = apex_stats_sorted(stats);
        for (size_t i = 0; i < apex_stats_size(stats); i++)
            if (apex_histogram_count(sorted[i]->hist))
                s_percentile_row(out, sorted[i]);
        free(sorted);
    }
    const apex_stats_entry_t *total = apex_stats_total_const(stats);
    if (apex_histogram_count(total->hist))
        s_percentile_row(out, total);
    fputc('\n', out);
}

void master_report_errors(FILE *out, const apex_stats_t *stats)
{
    fprintf(out, "Error report\n");
    fprintf(out, "%-18s %-100s\n", "# occurrences", "Error");
    s_dashes(out, 18);
    fputc('|', out);
    s_dashes(out, 80 + REPORT_NAME_WIDTH - 19);
    fputc('\n', out);
    for (size_t i = 0; i < apex_stats_error_count(stats); i++) {
        const apex_stats_error_t *e = apex_stats_error_at(stats, i);
        char line[1024];
        snprintf(line, sizeof line, "%s %s: %s", e->method, e->name, e->error);
        fprintf(out, "%-18llu %-100s\n", (unsigned long long)e->occurrences,
                line);
    }
    s_dashes(out, 18);
    fputc('|', out);
    s_dashes(out, 80 + REPORT_NAME_WIDTH - 19);
    fprintf(out, "\n\n");
}

// ---------------------------------------------------------------------
// CSV

// One field with Python csv's minimal quoting.
static void s_field(apex_buf_t *out, const char *text, bool first)
{
    if (!first)
        apex_buf_putc(out, ',');
    if (!strpbrk(text, ",\"\r\n")) {
        apex_buf_puts(out, text);
        return;
    }
    apex_buf_putc(out, '"');
    for (const char *p = text; *p; p++) {
        if (*p == '"')
            apex_buf_putc(out, '"');
        apex_buf_putc(out, *p);
    }
    apex_buf_putc(out, '"');
}

static void s_float(apex_buf_t *out, double v)
{
    char text[APEX_PY_FLOAT_MAX];
    apex_py_float_repr(v, text);
    s_field(out, text, false);
}

static void s_uint(apex_buf_t *out, uint64_t v)
{
    char text[32];
    snprintf(text, sizeof text, "%llu", (unsigned long long)v);
    s_field(out, text, false);
}

// A response time in ms the way Locust's entries hold it: an int when
// whole (an empty entry's 0), else a float.
static void s_ms(apex_buf_t *out, double ms)
{
    if (ms == floor(ms) && fabs(ms) < 1e15)
        s_uint(out, (uint64_t)ms);
    else
        s_float(out, ms);
}

static void s_eol(apex_buf_t *out)
{
    apex_buf_puts(out, "\r\n");
}

static void s_stats_row(apex_buf_t *out, const apex_stats_t *stats,
                        const apex_stats_entry_t *e)
{
    s_field(out, e->method, true);
    s_field(out, e->name, false);
    s_uint(out, e->num_requests);
    s_uint(out, e->num_failures);
    s_ms(out, apex_stats_entry_median_ms(e));
    s_float(out, apex_stats_entry_avg_ms(e));
    s_ms(out, apex_stats_entry_min_ms(e));
    s_ms(out, apex_stats_entry_max_ms(e));
    if (e->num_requests)
        s_float(out, apex_stats_entry_avg_content_length(e));
    else
        s_uint(out, 0); // Locust's int 0 for an empty entry
    s_float(out, apex_stats_total_rps(stats, e, false));
    s_float(out, apex_stats_total_rps(stats, e, true));
    for (int i = 0; i < MASTER_REPORT_PERCENTILES; i++) {
        if (e->num_requests == 0)
            s_field(out, "N/A", false);
        else
            s_uint(out, apex_stats_entry_percentile_ms(
                            e, master_report_percentile_list[i]));
    }
    s_eol(out);
}

static int s_write_file(const char *path, const apex_buf_t *data,
                        apex_error_t *err)
{
    return master_write_file(path, apex_buf_str(data), err);
}

static void s_utc(apex_buf_t *out, double t)
{
    if (t <= 0) {
        s_field(out, "", false);
        return;
    }
    struct tm tm;
    time_t secs = t < 1e11 ? (time_t)t : 0;
    char text[32] = "";
    if (secs && gmtime_r(&secs, &tm))
        strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    s_field(out, text, false);
}

static int s_cmp_errors(const void *a, const void *b)
{
    const apex_stats_error_t *x = *(const apex_stats_error_t *const *)a;
    const apex_stats_error_t *y = *(const apex_stats_error_t *const *)b;
    return strcmp(x->key, y->key);
}

void master_csv_stats(apex_buf_t *out, const apex_stats_t *stats)
{
    apex_buf_puts(out, "Type,Name,Request Count,Failure Count,Median "
                       "Response Time,Average Response Time,Min Response "
                       "Time,Max Response Time,Average Content Size,"
                       "Requests/s,Failures/s");
    for (int i = 0; i < MASTER_REPORT_PERCENTILES; i++)
        s_field(out, s_percentile_labels[i], false);
    s_eol(out);
    apex_stats_entry_t **sorted = apex_stats_sorted(stats);
    for (size_t i = 0; i < apex_stats_size(stats); i++)
        s_stats_row(out, stats, sorted[i]);
    free(sorted);
    s_stats_row(out, stats, apex_stats_total_const(stats));
}

void master_csv_failures(apex_buf_t *out, const apex_stats_t *stats)
{
    // Sorted by Locust's key, as Locust sorts them.
    apex_buf_puts(out, "Method,Name,Error,Occurrences,First Seen,Last Seen");
    s_eol(out);
    size_t n = apex_stats_error_count(stats);
    const apex_stats_error_t **errors = apex_calloc(n ? n : 1, sizeof *errors);
    for (size_t i = 0; i < n; i++)
        errors[i] = apex_stats_error_at(stats, i);
    qsort(errors, n, sizeof *errors, s_cmp_errors);
    for (size_t i = 0; i < n; i++) {
        s_field(out, errors[i]->method, true);
        s_field(out, errors[i]->name, false);
        s_field(out, errors[i]->error, false);
        s_uint(out, errors[i]->occurrences);
        s_utc(out, errors[i]->first_seen);
        s_utc(out, errors[i]->last_seen);
        s_eol(out);
    }
    free(errors);
}

void master_csv_exceptions(apex_buf_t *out,
                           const master_exception_t *exceptions,
                           size_t nexceptions)
{
    apex_buf_puts(out, "Count,Message,Traceback,Nodes");
    s_eol(out);
    for (size_t i = 0; i < nexceptions; i++) {
        char count[32];
        snprintf(count, sizeof count, "%llu",
                 (unsigned long long)exceptions[i].count);
        s_field(out, count, true);
        s_field(out, exceptions[i].msg, false);
        s_field(out, exceptions[i].traceback, false);
        s_field(out, exceptions[i].nodes, false);
        s_eol(out);
    }
}

int master_csv_write(const char *prefix, const apex_stats_t *stats,
                     const master_exception_t *exceptions, size_t nexceptions,
                     apex_error_t *err)
{
    apex_buf_t out;
    apex_buf_init(&out);
    master_csv_stats(&out, stats);
    char *path = apex_sprintf("%s_stats.csv", prefix);
    int rc = s_write_file(path, &out, err);
    free(path);

    apex_buf_reset(&out);
    master_csv_failures(&out, stats);
    path = apex_sprintf("%s_failures.csv", prefix);
    if (rc == 0)
        rc = s_write_file(path, &out, err);
    free(path);

    apex_buf_reset(&out);
    master_csv_exceptions(&out, exceptions, nexceptions);
    path = apex_sprintf("%s_exceptions.csv", prefix);
    if (rc == 0)
        rc = s_write_file(path, &out, err);
    free(path);
    apex_buf_fini(&out);
    return rc;
}

int master_csv_trends(const char *prefix, const apex_stats_t *trends,
                      apex_error_t *err)
{
    apex_buf_t out;
    apex_buf_init(&out);
    master_trends_csv(&out, trends);
    char *path = apex_sprintf("%s_trends.csv", prefix);
    int rc = s_write_file(path, &out, err);
    free(path);
    apex_buf_fini(&out);
    return rc;
}

FILE *master_csv_history_open(const char *prefix, bool shaped,
                              apex_error_t *err)
{
    char *path = apex_sprintf("%s_stats_history.csv", prefix);
    FILE *f = fopen(path, "wb");
    if (!f) {
        apex_error_set(err, "%s: cannot write: %s", path, strerror(errno));
        free(path);
        return NULL;
    }
    free(path);
    fputs("Timestamp,User Count,Type,Name,Requests/s,Failures/s", f);
    for (int i = 0; i < MASTER_REPORT_PERCENTILES; i++)
        fprintf(f, ",%s", s_percentile_labels[i]);
    fputs(",Total Request Count,Total Failure Count,Total Median Response "
          "Time,Total Average Response Time,Total Min Response Time,Total "
          "Max Response Time,Total Average Content Size",
          f);
    fputs(shaped ? ",Stage,Target Users,Target Rate\r\n" : "\r\n", f);
    fflush(f);
    return f;
}

static void s_history_row(apex_buf_t *out, const apex_stats_t *stats,
                          const apex_stats_entry_t *e, int64_t users,
                          int64_t now, const master_csv_shape_t *shape)
{
    char text[64];
    snprintf(text, sizeof text, "%lld", (long long)now);
    s_field(out, text, true);
    snprintf(text, sizeof text, "%lld", (long long)users);
    s_field(out, text, false);
    s_field(out, e->method, false);
    s_field(out, e->name, false);
    snprintf(text, sizeof text, "%f", apex_stats_current_rps(stats, e, false));
    s_field(out, text, false);
    snprintf(text, sizeof text, "%f", apex_stats_current_rps(stats, e, true));
    s_field(out, text, false);
    for (int i = 0; i < MASTER_REPORT_PERCENTILES; i++) {
        if (e->num_requests == 0)
            s_field(out, "N/A", false);
        else
            s_uint(out, apex_stats_entry_percentile_ms(
                            e, master_report_percentile_list[i]));
    }
    s_uint(out, e->num_requests);
    s_uint(out, e->num_failures);
    s_ms(out, apex_stats_entry_median_ms(e));
    s_float(out, apex_stats_entry_avg_ms(e));
    s_ms(out, apex_stats_entry_min_ms(e));
    s_ms(out, apex_stats_entry_max_ms(e));
    if (e->num_requests)
        s_float(out, apex_stats_entry_avg_content_length(e));
    else
        s_uint(out, 0);
    if (shape) {
        s_uint(out, (uint64_t)shape->stage);
        if (isfinite(shape->target_users))
            s_float(out, shape->target_users);
        else
            s_field(out, "", false);
        if (isfinite(shape->target_rate))
            s_float(out, shape->target_rate);
        else
            s_field(out, "", false);
    }
    s_eol(out);
}

void master_csv_history_append(FILE *file, const apex_stats_t *stats,
                               int64_t user_count, bool full, int64_t now,
                               const master_csv_shape_t *shape)
{
    apex_buf_t out;
    apex_buf_init(&out);
    if (full) {
        apex_stats_entry_t **sorted = apex_stats_sorted(stats);
        for (size_t i = 0; i < apex_stats_size(stats); i++)
            s_history_row(&out, stats, sorted[i], user_count, now, shape);
        free(sorted);
    }
    s_history_row(&out, stats, apex_stats_total_const(stats), user_count, now,
                  shape);
    fwrite(out.data, 1, out.len, file);
    fflush(file);
    apex_buf_fini(&out);
}

void master_report_checks(FILE *out, const master_checks_t *checks)
{
    if (!checks->n)
        return;
    fprintf(out, "Checks\n");
    for (size_t i = 0; i < checks->n; i++) {
        const master_check_t *c = &checks->items[i];
        uint64_t total = c->passes + c->fails;
        fprintf(out, "  %s %-40s %llu/%llu passed (%.2f%%)\n",
                c->fails ? "x" : "+", c->name, (unsigned long long)c->passes,
                (unsigned long long)total,
                total ? 100.0 * (double)c->passes / (double)total : 0.0);
    }
    fprintf(out, "\n");
}

void master_report_figures(FILE *out, const master_figures_t *counters,
                           const master_figures_t *gauges,
                           const master_figures_t *peaks)
{
    if (!counters->n && !gauges->n)
        return;
    fprintf(out, "Run-wide figures\n");
    for (size_t i = 0; i < counters->n; i++)
        fprintf(out, "  %-28s %lld\n", counters->items[i].name,
                (long long)counters->items[i].value);
    for (size_t i = 0; i < gauges->n; i++)
        fprintf(out, "  %-28s %lld now, %lld at the peak\n",
                gauges->items[i].name, (long long)gauges->items[i].value,
                (long long)master_figures_get(peaks, gauges->items[i].name));
    int64_t sessions = master_figures_get(counters, "ws_sessions");
    if (sessions > 0)
        fprintf(out, "  %-28s %.3f%%\n", "ws_drop_rate",
                100.0 * (double)master_figures_get(counters, "ws_drops") /
                    (double)sessions);
    fprintf(out, "\n");
}
