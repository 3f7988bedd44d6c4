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

static bool s_write_html(master_t *self, const char *json)
{
    if (!self->options.html_path)
        return true;
    char *html = master_report_html(json);
    apex_error_t err = {""};
    bool ok = false;
    if (!html)
        apex_err("%s: the report template is missing from this build",
                 self->options.html_path);
    else if (master_write_file(self->options.html_path, html, &err) != 0)
        apex_err("%s", err.msg);
    else {
        apex_info("HTML report written to %s", self->options.html_path);
        ok = true;
    }
    free(html);
    return ok;
}

// Write --json and --html.
bool master_end_reports(master_t *self, int exit_code, const char *verdict)
{
    if (!self->options.json_path && !self->options.html_path)
        return true;
    char *json = master_routes_report_json(&self->routes, exit_code, verdict);
    apex_error_t err = {""};
    bool ok = true;
    if (self->options.json_path) {
        if (master_write_file(self->options.json_path, json, &err) != 0) {
            apex_err("%s", err.msg);
            ok = false;
        } else
            apex_info("JSON report written to %s", self->options.json_path);
    }
    ok = s_write_html(self, json) && ok;
    free(json);
    return ok;
}

// The exit code and its verdict: the run could not happen > no request
// completed (issue 19: a target that hangs past -t gave 0 requests and
// exit 0) > thresholds decide when there are any (as k6) > failed
// requests (Locust's rule) > success; an output not written (issue 19:
// --csv on a full disk exited 0) turns a success into MASTER_EXIT_OUTPUT.
static int s_exit_code(master_t *self, bool thresholds_ok, const char **verdict)
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
    if (apex_stats_total_const(res->stats)->num_requests == 0) {
        *verdict = "no requests completed";
        return self->options.exit_code_on_error
                   ? self->options.exit_code_on_error
                   : MASTER_EXIT_FAILURES;
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

int master_end_exit_code(master_t *self, bool thresholds_ok, bool outputs_ok,
                         const char **verdict)
{
    int code = s_exit_code(self, thresholds_ok, verdict);
    if (outputs_ok || code != MASTER_EXIT_OK)
        return code;
    *verdict = "outputs not written";
    return MASTER_EXIT_OUTPUT;
}

void master_end_warnings(master_t *self)
{
    uint64_t malformed = proto_zio_counters(self->zio)->malformed;
    if (malformed)
        apex_warn("%llu malformed messages were dropped",
                  (unsigned long long)malformed);
    int64_t cut_off =
        master_figures_get(&self->results.counters, "requests_cut_off");
    if (cut_off > 0)
        apex_warn("%lld requests were cut off: still waiting for an answer "
                  "when the run ended, so not in the counts (--stop-timeout "
                  "gives them time to finish)",
                  (long long)cut_off);
    const master_registry_counts_t *c = master_registry_counts(self->registry);
    if (c->refused || c->expired || c->foreign)
        apex_warn("peers refused: %llu registrations, %llu dropped for "
                  "sending no heartbeat, %llu messages from another address",
                  (unsigned long long)c->refused,
                  (unsigned long long)c->expired,
                  (unsigned long long)c->foreign);
}

int master_end_finish(master_t *self, bool thresholds_ok, bool outputs_ok)
{
    const char *verdict = NULL;
    int code = master_end_exit_code(self, thresholds_ok, outputs_ok, &verdict);
    if (!master_end_reports(self, code, verdict))
        code = master_end_exit_code(self, thresholds_ok, false, &verdict);
    if (code == MASTER_EXIT_OUTPUT)
        apex_err("exit code %d: an output could not be written (see above)",
                 code);
    return code;
}
