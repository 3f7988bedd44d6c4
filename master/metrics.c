// master/metrics.c - see metrics.h. Names follow Prometheus' conventions
// (base units: seconds and bytes; counters end in _total). Per-entry
// series carry Locust's (method, name) as labels; the Aggregated entry is
// left out, since Prometheus sums series itself. Response times are a
// summary whose quantiles come from the exact merged histogram, the same
// numbers as the CSV and the UI.
#include "master/metrics.h"

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

static void s_family(apex_buf_t *out, const char *name, const char *type,
                     const char *help)
{
    apex_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                    type);
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

// A float as Prometheus reads it (Go's ParseFloat): NaN and ±Inf by name.
static void s_value(apex_buf_t *out, double v)
{
    if (isnan(v))
        apex_buf_puts(out, " NaN\n");
    else if (isinf(v))
        apex_buf_puts(out, v > 0 ? " +Inf\n" : " -Inf\n");
    else
        apex_buf_printf(out, " %.15g\n", v);
}

static void s_entry_labels(apex_buf_t *out, const apex_stats_entry_t *e)
{
    apex_buf_puts(out, "method=");
    s_label_value(out, e->method);
    apex_buf_puts(out, ",name=");
    s_label_value(out, e->name);
}

// name{method="GET",name="/x"} value
static void s_entry_sample(apex_buf_t *out, const char *name,
                           const apex_stats_entry_t *e, double v)
{
    apex_buf_printf(out, "%s{", name);
    s_entry_labels(out, e);
    apex_buf_putc(out, '}');
    s_value(out, v);
}

static void s_per_entry(apex_buf_t *out, apex_stats_entry_t **entries, size_t n)
{
    s_family(out, "apex_requests_total", "counter",
             "Requests completed, failures included.");
    for (size_t i = 0; i < n; i++)
        s_entry_sample(out, "apex_requests_total", entries[i],
                       (double)entries[i]->num_requests);

    s_family(out, "apex_request_failures_total", "counter",
             "Requests that failed.");
    for (size_t i = 0; i < n; i++)
        s_entry_sample(out, "apex_request_failures_total", entries[i],
                       (double)entries[i]->num_failures);

    s_family(out, "apex_response_size_bytes_total", "counter",
             "Response body bytes received.");
    for (size_t i = 0; i < n; i++)
        s_entry_sample(out, "apex_response_size_bytes_total", entries[i],
                       (double)entries[i]->total_content_length);

    s_family(out, "apex_response_time_seconds", "summary",
             "Response times; quantiles from the merged histogram "
             "(relative error under 1 %).");
    for (size_t i = 0; i < n; i++) {
        const apex_stats_entry_t *e = entries[i];
        uint64_t count = apex_histogram_count(e->hist);
        for (size_t q = 0; q < S_COUNT(s_quantiles); q++) {
            apex_buf_puts(out, "apex_response_time_seconds{");
            s_entry_labels(out, e);
            apex_buf_printf(out, ",quantile=\"%g\"}", s_quantiles[q]);
            if (count == 0) {
                s_value(out, NAN);
                continue;
            }
            uint64_t us = apex_histogram_percentile(e->hist, s_quantiles[q]);
            s_value(out, (double)us / APEX_USEC_PER_SEC);
        }
        s_entry_sample(out, "apex_response_time_seconds_sum", e,
                       (double)e->total_response_us / APEX_USEC_PER_SEC);
        s_entry_sample(out, "apex_response_time_seconds_count", e,
                       (double)count);
    }
}

static void s_errors(apex_buf_t *out, const apex_stats_t *stats)
{
    s_family(out, "apex_errors_total", "counter",
             "Failures by error, grouped as Locust groups them.");
    for (size_t i = 0; i < apex_stats_error_count(stats); i++) {
        const apex_stats_error_t *e = apex_stats_error_at(stats, i);
        apex_buf_puts(out, "apex_errors_total{method=");
        s_label_value(out, e->method);
        apex_buf_puts(out, ",name=");
        s_label_value(out, e->name);
        apex_buf_puts(out, ",error=");
        s_label_value(out, e->error);
        apex_buf_putc(out, '}');
        s_value(out, (double)e->occurrences);
    }
}

static void s_runner(apex_buf_t *out, const master_api_input_t *in)
{
    s_family(out, "apex_info", "gauge", "The master's version.");
    apex_buf_puts(out, "apex_info{version=");
    s_label_value(out, APEX_VERSION);
    apex_buf_puts(out, "} 1\n");

    // Every state is listed, so an alert can test any of them.
    s_family(out, "apex_runner_state", "gauge",
             "1 for the test's current state, 0 for the others.");
    for (size_t i = 0; i < in->nstate_names; i++) {
        apex_buf_puts(out, "apex_runner_state{state=");
        s_label_value(out, in->state_names[i]);
        apex_buf_printf(out, "} %d\n",
                        in->state &&
                            strcmp(in->state, in->state_names[i]) == 0);
    }

    s_family(out, "apex_users", "gauge", "Users the workers run.");
    apex_buf_printf(out, "apex_users %lld\n", (long long)in->user_count);

    s_family(out, "apex_workers", "gauge", "Workers by state.");
    for (size_t s = 0; s < in->nworker_state_names; s++) {
        const char *name = in->worker_state_names[s];
        size_t count = 0;
        for (size_t i = 0; i < in->nworkers; i++)
            if (strcmp(in->workers[i].state, name) == 0)
                count++;
        apex_buf_puts(out, "apex_workers{state=");
        s_label_value(out, name);
        apex_buf_printf(out, "} %zu\n", count);
    }

    if (in->shape && in->point) {
        bool arrival = in->shape->kind == MASTER_SHAPE_ARRIVAL;
        s_family(out, "apex_shape_stage", "gauge",
                 "1-based stage of the load shape in progress (0: none).");
        apex_buf_printf(out, "apex_shape_stage %zu\n",
                        in->shape_running ? in->point->stage : (size_t)0);
        if (arrival) {
            s_family(out, "apex_shape_target_iterations_per_second", "gauge",
                     "Iterations per second the shape asks for now.");
            apex_buf_puts(out, "apex_shape_target_iterations_per_second");
            s_value(out, in->shape_running ? in->point->rate : 0);
        } else {
            s_family(out, "apex_shape_target_users", "gauge",
                     "Users the shape asks for now.");
            apex_buf_puts(out, "apex_shape_target_users");
            s_value(out, in->shape_running ? in->point->users : 0);
        }
    }

    s_family(out, "apex_iterations_total", "counter",
             "Tasks the users completed.");
    apex_buf_printf(out, "apex_iterations_total %llu\n",
                    (unsigned long long)in->iterations);
    s_family(out, "apex_dropped_iterations_total", "counter",
             "Arrival-rate iterations not started for want of a free user.");
    apex_buf_printf(out, "apex_dropped_iterations_total %llu\n",
                    (unsigned long long)in->dropped_iterations);
}

static void s_workers(apex_buf_t *out, const master_api_input_t *in)
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
        s_family(out, families[f].name, "gauge", families[f].help);
        for (size_t i = 0; i < in->nworkers; i++) {
            const master_api_worker_t *w = &in->workers[i];
            const double values[] = {(double)w->users, w->cpu,
                                     (double)w->memory, w->heartbeat_age};
            apex_buf_printf(out, "%s{worker=", families[f].name);
            s_label_value(out, w->id);
            apex_buf_puts(out, ",kind=");
            s_label_value(out, w->kind);
            apex_buf_putc(out, '}');
            s_value(out, values[f]);
        }
    }
}

static void s_thresholds(apex_buf_t *out, const master_thresholds_t *th)
{
    if (!th || th->n == 0)
        return;
    s_family(out, "apex_threshold_ok", "gauge",
             "1 while the threshold holds (or has no data yet), 0 when it "
             "fails.");
    for (size_t i = 0; i < th->n; i++) {
        apex_buf_puts(out, "apex_threshold_ok{threshold=");
        s_label_value(out, th->items[i].source);
        apex_buf_printf(out, "} %d\n", th->items[i].ok ? 1 : 0);
    }
    s_family(out, "apex_threshold_observed", "gauge",
             "The value the threshold last compared (ms for times).");
    for (size_t i = 0; i < th->n; i++) {
        if (!th->items[i].has_observed)
            continue;
        apex_buf_puts(out, "apex_threshold_observed{threshold=");
        s_label_value(out, th->items[i].source);
        apex_buf_putc(out, '}');
        s_value(out, th->items[i].observed);
    }
}

// The workers' run-wide figures: apex_NAME_total per counter, apex_NAME
// (now) and apex_NAME_peak per gauge ("ws_connections": apex_ws_connections
// and apex_ws_connections_peak). Names are [a-z0-9_], checked on the wire.
static void s_figures(apex_buf_t *out, const master_api_input_t *in)
{
    char name[PROTO_METRIC_NAME_MAX + sizeof "apex__total"];
    for (size_t i = 0; in->counters && i < in->counters->n; i++) {
        const master_figure_t *f = &in->counters->items[i];
        snprintf(name, sizeof name, "apex_%s_total", f->name);
        s_family(out, name, "counter", "A run-wide count the workers keep.");
        apex_buf_printf(out, "%s %lld\n", name, (long long)f->value);
    }
    for (size_t i = 0; in->gauges && i < in->gauges->n; i++) {
        const master_figure_t *f = &in->gauges->items[i];
        snprintf(name, sizeof name, "apex_%s", f->name);
        s_family(out, name, "gauge",
                 "A run-wide value now, summed over the workers.");
        apex_buf_printf(out, "%s %lld\n", name, (long long)f->value);
        snprintf(name, sizeof name, "apex_%s_peak", f->name);
        s_family(out, name, "gauge", "Its highest value in this test.");
        apex_buf_printf(out, "%s %lld\n", name,
                        (long long)(in->peaks
                                        ? master_figures_get(in->peaks, f->name)
                                        : f->value));
    }
}

void master_metrics_text(apex_buf_t *out, const master_api_input_t *in)
{
    s_runner(out, in);
    s_workers(out, in);
    s_figures(out, in);
    size_t n = apex_stats_size(in->stats);
    apex_stats_entry_t **entries = apex_stats_sorted(in->stats);
    s_per_entry(out, entries, n);
    free(entries);
    s_errors(out, in->stats);
    s_thresholds(out, in->thresholds);
}
