// master/metrics.c - see metrics.h. Names follow Prometheus' conventions
// (base units: seconds and bytes; counters end in _total). Per-entry
// series carry Locust's (method, name) as labels; the Aggregated entry is
// left out, since Prometheus sums series itself. Response times are a
// summary whose quantiles come from the exact merged histogram, the same
// numbers as the CSV and the UI.
//
// Every sample ends its labels with the run's id (run_id), so the series
// of two runs never mix. Counters and the summary are followed by a
// NAME_created gauge family (when the counter started: the test's start
// or the last reset), as Prometheus' own Python client writes them in
// this format; a Prometheus that ingests created timestamps uses them to
// place the counter's zero.
#include "master/metrics.h"
#include "master/trends.h"

#include <stdio.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/histogram.h"
#include "common/version.h"

// Quantiles of apex_response_time_seconds.
static const double s_quantiles[] = {0.5, 0.75, 0.9, 0.95, 0.99, 0.999};

#define S_COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define S_NAME_MAX (PROTO_METRIC_NAME_MAX + sizeof "apex__created")

// Where samples go, and the label every sample ends with.
typedef struct {
    apex_buf_t *out;    // the text
    const char *run_id; // the run_id label's value, or NULL: none
    size_t nlabels;     // labels of the sample being written
} s_writer_t;

// HELP text with \ and newline escaped, as the format requires.
static void s_family(s_writer_t *w, const char *name, const char *type,
                     const char *help)
{
    apex_buf_printf(w->out, "# HELP %s ", name);
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            apex_buf_puts(w->out, "\\\\");
        else if (*p == '\n')
            apex_buf_puts(w->out, "\\n");
        else
            apex_buf_putc(w->out, *p);
    }
    apex_buf_printf(w->out, "\n# TYPE %s %s\n", name, type);
}

// A label value with \, " and newline escaped as the format requires.
static void s_label_value(apex_buf_t *out, const char *value)
{
    apex_buf_putc(out, '"');
    for (const char *p = value ? value : ""; *p; p++) {
        if (*p == '\\')
            apex_buf_puts(out, "\\\\");
        else if (*p == '"')
            apex_buf_puts(out, "\\\"");
        else if (*p == '\n')
            apex_buf_puts(out, "\\n");
        else
            apex_buf_putc(out, *p);
    }
    apex_buf_putc(out, '"');
}

// Start a sample of name; labels follow, then s_close().
static void s_open(s_writer_t *w, const char *name)
{
    apex_buf_puts(w->out, name);
    w->nlabels = 0;
}

static void s_label(s_writer_t *w, const char *key, const char *value)
{
    apex_buf_putc(w->out, w->nlabels++ ? ',' : '{');
    apex_buf_printf(w->out, "%s=", key);
    s_label_value(w->out, value);
}

// End the sample with the run_id label and a float as Prometheus reads it
// (Go's ParseFloat): NaN and ±Inf by name.
static void s_close(s_writer_t *w, double v)
{
    if (w->run_id)
        s_label(w, "run_id", w->run_id);
    if (w->nlabels)
        apex_buf_putc(w->out, '}');
    if (isnan(v))
        apex_buf_puts(w->out, " NaN\n");
    else if (isinf(v))
        apex_buf_puts(w->out, v > 0 ? " +Inf\n" : " -Inf\n");
    else
        apex_buf_printf(w->out, " %.15g\n", v);
}

// A sample without labels of its own.
static void s_sample(s_writer_t *w, const char *name, double v)
{
    s_open(w, name);
    s_close(w, v);
}

// name{method="GET",name="/x",run_id="..."} value
static void s_entry_sample(s_writer_t *w, const char *name,
                           const apex_stats_entry_t *e, double v)
{
    s_open(w, name);
    s_label(w, "method", e->method);
    s_label(w, "name", e->name);
    s_close(w, v);
}

// The NAME_created family of a per-entry counter or summary: when each
// entry's counts started (its creation or the last reset).
static void s_entries_created(s_writer_t *w, const char *name,
                              apex_stats_entry_t **entries, size_t n)
{
    s_family(w, name, "gauge",
             "Unix time the counter started (test start or last reset).");
    for (size_t i = 0; i < n; i++)
        s_entry_sample(w, name, entries[i], entries[i]->start_time);
}

static uint64_t s_requests(const apex_stats_entry_t *e)
{
    return e->num_requests;
}

static uint64_t s_failures(const apex_stats_entry_t *e)
{
    return e->num_failures;
}

static uint64_t s_bytes(const apex_stats_entry_t *e)
{
    return e->total_content_length;
}

// BASE_total per entry (the count get() reads), then BASE_created.
static void s_counter_per_entry(s_writer_t *w, const char *base,
                                const char *help, apex_stats_entry_t **entries,
                                size_t n,
                                uint64_t (*get)(const apex_stats_entry_t *))
{
    char name[S_NAME_MAX];
    snprintf(name, sizeof name, "%s_total", base);
    s_family(w, name, "counter", help);
    for (size_t i = 0; i < n; i++)
        s_entry_sample(w, name, entries[i], (double)get(entries[i]));
    snprintf(name, sizeof name, "%s_created", base);
    s_entries_created(w, name, entries, n);
}

static void s_response_times(s_writer_t *w, apex_stats_entry_t **entries,
                             size_t n)
{
    s_family(w, "apex_response_time_seconds", "summary",
             "Response times; quantiles from the merged histogram "
             "(relative error under 1 %).");
    for (size_t i = 0; i < n; i++) {
        const apex_stats_entry_t *e = entries[i];
        uint64_t count = apex_histogram_count(e->hist);
        for (size_t q = 0; q < S_COUNT(s_quantiles); q++) {
            char quantile[32];
            snprintf(quantile, sizeof quantile, "%g", s_quantiles[q]);
            s_open(w, "apex_response_time_seconds");
            s_label(w, "method", e->method);
            s_label(w, "name", e->name);
            s_label(w, "quantile", quantile);
            s_close(w, count ? (double)apex_histogram_percentile(
                                   e->hist, s_quantiles[q]) /
                                   APEX_USEC_PER_SEC
                             : NAN);
        }
        s_entry_sample(w, "apex_response_time_seconds_sum", e,
                       (double)e->total_response_us / APEX_USEC_PER_SEC);
        s_entry_sample(w, "apex_response_time_seconds_count", e, (double)count);
    }
    s_entries_created(w, "apex_response_time_seconds_created", entries, n);
}

static void s_per_entry(s_writer_t *w, apex_stats_entry_t **entries, size_t n)
{
    s_counter_per_entry(w, "apex_requests",
                        "Requests completed, failures included.", entries, n,
                        s_requests);
    s_counter_per_entry(w, "apex_request_failures", "Requests that failed.",
                        entries, n, s_failures);
    s_counter_per_entry(w, "apex_response_size_bytes",
                        "Response body bytes received.", entries, n, s_bytes);
    s_response_times(w, entries, n);
}

static void s_errors(s_writer_t *w, const apex_stats_t *stats)
{
    size_t n = apex_stats_error_count(stats);
    double start = apex_stats_total_const(stats)->start_time;
    s_family(w, "apex_errors_total", "counter",
             "Failures by error, grouped as Locust groups them.");
    for (int created = 0; created < 2; created++) {
        if (created)
            s_family(w, "apex_errors_created", "gauge",
                     "Unix time the error was first seen.");
        for (size_t i = 0; i < n; i++) {
            const apex_stats_error_t *e = apex_stats_error_at(stats, i);
            s_open(w, created ? "apex_errors_created" : "apex_errors_total");
            s_label(w, "method", e->method);
            s_label(w, "name", e->name);
            s_label(w, "error", e->error);
            double first = e->first_seen > 0 ? e->first_seen : start;
            s_close(w, created ? first : (double)e->occurrences);
        }
    }
}

static void s_runner(s_writer_t *w, const master_api_input_t *in)
{
    s_family(w, "apex_info", "gauge", "The master's version.");
    s_open(w, "apex_info");
    s_label(w, "version", APEX_VERSION);
    s_close(w, 1);

    // Every state is listed, so an alert can test any of them.
    s_family(w, "apex_runner_state", "gauge",
             "1 for the test's current state, 0 for the others.");
    for (size_t i = 0; i < in->nstate_names; i++) {
        s_open(w, "apex_runner_state");
        s_label(w, "state", in->state_names[i]);
        s_close(w, in->state && strcmp(in->state, in->state_names[i]) == 0);
    }

    s_family(w, "apex_users", "gauge", "Users the workers run.");
    s_sample(w, "apex_users", (double)in->user_count);

    s_family(w, "apex_workers", "gauge", "Workers by state.");
    for (size_t s = 0; s < in->nworker_state_names; s++) {
        const char *name = in->worker_state_names[s];
        size_t count = 0;
        for (size_t i = 0; i < in->nworkers; i++)
            if (strcmp(in->workers[i].state, name) == 0)
                count++;
        s_open(w, "apex_workers");
        s_label(w, "state", name);
        s_close(w, (double)count);
    }

    if (in->shape && in->point) {
        bool arrival = in->shape->kind == MASTER_SHAPE_ARRIVAL;
        s_family(w, "apex_shape_stage", "gauge",
                 "1-based stage of the load shape in progress (0: none).");
        s_sample(w, "apex_shape_stage",
                 in->shape_running ? (double)in->point->stage : 0);
        const char *name = arrival ? "apex_shape_target_iterations_per_second"
                                   : "apex_shape_target_users";
        s_family(w, name, "gauge",
                 arrival ? "Iterations per second the shape asks for now."
                         : "Users the shape asks for now.");
        s_sample(w, name,
                 !in->shape_running ? 0
                 : arrival          ? in->point->rate
                                    : in->point->users);
    }
}

// A run-wide counter (no labels but run_id) and its _created family.
static void s_run_counter(s_writer_t *w, const char *base, const char *help,
                          double value, double created)
{
    char name[S_NAME_MAX];
    snprintf(name, sizeof name, "%s_total", base);
    s_family(w, name, "counter", help);
    s_sample(w, name, value);
    snprintf(name, sizeof name, "%s_created", base);
    s_family(w, name, "gauge",
             "Unix time the counter started (test start or last reset).");
    s_sample(w, name, created);
}

static void s_workers(s_writer_t *w, const master_api_input_t *in)
{
    static const struct {
        const char *name;
        const char *help;
    } families[] = {
        {"apex_worker_users", "Users the worker reported."},
        {"apex_worker_cpu_percent", "CPU % the worker reported."},
        {"apex_worker_memory_bytes", "RSS the worker reported."},
        {"apex_worker_heartbeat_age_seconds",
         "Seconds since the worker's last heartbeat."},
    };
    for (size_t f = 0; f < S_COUNT(families); f++) {
        s_family(w, families[f].name, "gauge", families[f].help);
        for (size_t i = 0; i < in->nworkers; i++) {
            const master_api_worker_t *wk = &in->workers[i];
            const double values[] = {(double)wk->users, wk->cpu,
                                     (double)wk->memory, wk->heartbeat_age};
            s_open(w, families[f].name);
            s_label(w, "worker", wk->id);
            s_label(w, "kind", wk->kind);
            s_close(w, values[f]);
        }
    }
}

static void s_thresholds(s_writer_t *w, const master_thresholds_t *th)
{
    if (!th || th->n == 0)
        return;
    s_family(w, "apex_threshold_ok", "gauge",
             "1 while the threshold holds (or has no data yet), 0 when it "
             "fails.");
    for (size_t i = 0; i < th->n; i++) {
        s_open(w, "apex_threshold_ok");
        s_label(w, "threshold", th->items[i].source);
        s_close(w, th->items[i].ok ? 1 : 0);
    }
    s_family(w, "apex_threshold_observed", "gauge",
             "The value the threshold last compared (ms for times).");
    for (size_t i = 0; i < th->n; i++) {
        if (!th->items[i].has_observed)
            continue;
        s_open(w, "apex_threshold_observed");
        s_label(w, "threshold", th->items[i].source);
        s_close(w, th->items[i].observed);
    }
}

// The workers' run-wide figures: apex_NAME_total per counter, apex_NAME
// (now) and apex_NAME_peak per gauge ("ws_connections": apex_ws_connections
// and apex_ws_connections_peak). Names are [a-z0-9_], checked on the wire.
static void s_figures(s_writer_t *w, const master_api_input_t *in, double start)
{
    char name[S_NAME_MAX];
    for (size_t i = 0; in->counters && i < in->counters->n; i++) {
        const master_figure_t *f = &in->counters->items[i];
        snprintf(name, sizeof name, "apex_%s", f->name);
        s_run_counter(w, name, "A run-wide count the workers keep.",
                      (double)f->value, start);
    }
    for (size_t i = 0; in->gauges && i < in->gauges->n; i++) {
        const master_figure_t *f = &in->gauges->items[i];
        snprintf(name, sizeof name, "apex_%s", f->name);
        s_family(w, name, "gauge",
                 "A run-wide value now, summed over the workers.");
        s_sample(w, name, (double)f->value);
        snprintf(name, sizeof name, "apex_%s_peak", f->name);
        s_family(w, name, "gauge", "Its highest value in this test.");
        s_sample(w, name,
                 (double)(in->peaks ? master_figures_get(in->peaks, f->name)
                                    : f->value));
    }
}

// The scripts' trends: apex_trend{name=...} as a summary (quantiles,
// _sum and _count) of the values as the scripts gave them.
static void s_trends(s_writer_t *w, const apex_stats_t *trends)
{
    if (!trends || apex_stats_size(trends) == 0)
        return;
    s_family(w, "apex_trend", "summary",
             "A custom trend of the scripts (apex.trend), in its own unit.");
    static const double qs[] = {0.5, 0.9, 0.95, 0.99};
    for (size_t i = 0; i < apex_stats_size(trends); i++) {
        const apex_stats_entry_t *e = apex_stats_at(trends, i);
        if (!e->num_requests)
            continue;
        for (size_t q = 0; q < sizeof qs / sizeof qs[0]; q++) {
            char text[16];
            snprintf(text, sizeof text, "%g", qs[q]);
            s_open(w, "apex_trend");
            s_label(w, "name", e->name);
            s_label(w, "quantile", text);
            s_close(w, master_trends_percentile(e, qs[q]));
        }
        s_open(w, "apex_trend_sum");
        s_label(w, "name", e->name);
        s_close(w, apex_ms_from_us(e->total_response_us));
        s_open(w, "apex_trend_count");
        s_label(w, "name", e->name);
        s_close(w, (double)e->num_requests);
    }
}

void master_metrics_text(apex_buf_t *out, const master_api_input_t *in)
{
    s_writer_t w = {.out = out, .run_id = in->run_id};
    // Run-wide counters started with the statistics (test start or reset).
    double start = apex_stats_total_const(in->stats)->start_time;
    s_runner(&w, in);
    s_run_counter(&w, "apex_iterations", "Tasks the users completed.",
                  (double)in->iterations, start);
    s_run_counter(&w, "apex_dropped_iterations",
                  "Arrival-rate iterations not started for want of a free "
                  "user.",
                  (double)in->dropped_iterations, start);
    s_workers(&w, in);
    s_figures(&w, in, start);
    s_trends(&w, in->trends);
    size_t n = apex_stats_size(in->stats);
    apex_stats_entry_t **entries = apex_stats_sorted(in->stats);
    s_per_entry(&w, entries, n);
    free(entries);
    s_errors(&w, in->stats);
    s_thresholds(&w, in->thresholds);
}
