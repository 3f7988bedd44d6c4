// master/master_end.c - the end of an apex-master's run: the summary on
// stdout, the --json and --html reports, and the exit code with its
// verdict (see master.h, master_int.h).
#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "common/stats.h"
#include "master/assets.h"
#include "master/master_int.h"
#include "master/report.h"
#include "master/report_json.h"
#include "master/thresholds.h"
#include "master/trends.h"

#define MASTER_OBSERVED_MAX 64 // a threshold's observed value as text

// ---------------------------------------------------------------------
// The end of the run: summary, reports, exit code

static void s_print_thresholds(const master_thresholds_t *th)
{
    if (!th->n)
        return;
    printf("Thresholds\n");
    for (size_t i = 0; i < th->n; i++) {
        const master_threshold_t *t = &th->items[i];
        char observed[MASTER_OBSERVED_MAX] = "no data";
        if (t->has_observed)
            snprintf(observed, sizeof observed, "%.6g%s%s", t->observed,
                     master_threshold_unit(t)[0] == 'm' ? " " : "",
                     master_threshold_unit(t));
        printf("  %s %-60s observed %s\n", t->ok ? "\u2713" : "\u2717",
               t->source, observed);
    }
    printf("\n");
}

void master_end_summary(master_t *self)
{
    const master_results_t *res = &self->results;
    if (self->options.json_stdout) {
        // Locust's --json: the JSON alone on stdout, for a pipe.
        char *json = master_report_locust_json(res->stats);
        printf("%s\n", json);
        free(json);
        fflush(stdout);
        return;
    }
    master_report_table(stdout, res->stats, false);
    master_report_percentiles(stdout, res->stats);
    if (apex_stats_error_count(res->stats))
        master_report_errors(stdout, res->stats);
    size_t nrows = 0;
    master_worker_row_t *rows = master_registry_rows(self->registry, &nrows);
    master_report_workers(stdout, rows, nrows);
    free(rows);
    const master_shape_t *shape = master_runner_shape(self->runner);
    if (res->iterations || res->dropped ||
        (shape && shape->kind == MASTER_SHAPE_ARRIVAL))
        printf("Iterations: %llu completed, %llu dropped\n\n",
               (unsigned long long)res->iterations,
               (unsigned long long)res->dropped);
    master_report_figures(stdout, &res->counters, &res->gauges, &res->peaks);
    master_report_checks(stdout, &res->checks);
    master_trends_console(stdout, res->trends);
    s_print_thresholds(master_runner_thresholds(self->runner));
    fflush(stdout);
}

static void s_write_html(master_t *self, const char *json)
{
    if (!self->options.html_path)
        return;
    char *html = master_report_html(json);
    apex_error_t err = {""};
    if (!html)
        apex_err("%s: the report template is missing from this build",
                 self->options.html_path);
    else if (master_write_file(self->options.html_path, html, &err) != 0)
        apex_err("%s", err.msg);
    else
        apex_info("HTML report written to %s", self->options.html_path);
    free(html);
}

// Write --json and --html.
void master_end_reports(master_t *self, int exit_code, const char *verdict)
{
    if (!self->options.json_path && !self->options.html_path)
        return;
    char *json = master_routes_report_json(&self->routes, exit_code, verdict);
    apex_error_t err = {""};
    if (self->options.json_path) {
        if (master_write_file(self->options.json_path, json, &err) != 0)
            apex_err("%s", err.msg);
        else
            apex_info("JSON report written to %s", self->options.json_path);
    }
    s_write_html(self, json);
    free(json);
}

// The exit code and its verdict: the run could not happen > thresholds
// decide when there are any (as k6) > failed requests (Locust's rule) >
// success.
int master_end_exit_code(master_t *self, bool thresholds_ok,
                         const char **verdict)
{
    const master_results_t *res = &self->results;
    master_run_end_t end = master_runner_end(self->runner);
    bool failures = apex_stats_total_const(res->stats)->num_failures ||
                    apex_stats_error_count(res->stats) || res->nexceptions;
    *verdict = "passed";
    if (end == MASTER_RUN_ABORTED) {
        *verdict = "aborted";
        return MASTER_EXIT_ABORTED;
    }
    if (master_runner_thresholds(self->runner)->n) {
        if (thresholds_ok && end != MASTER_RUN_THRESHOLD_ENDED)
            return MASTER_EXIT_OK;
        *verdict = "thresholds failed";
        return MASTER_EXIT_THRESHOLDS;
    }
    if (failures) {
        *verdict = "failed";
        return self->options.exit_code_on_error;
    }
    return MASTER_EXIT_OK;
}
