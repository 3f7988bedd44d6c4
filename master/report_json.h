// master/report_json.h - the run as one JSON document (--json FILE, the
// HTML report's data, the web UI's report): run metadata, every entry
// with counts, rates, min/avg/max and percentiles, errors, exceptions,
// thresholds with their verdicts, and the history.
#ifndef MASTER_REPORT_JSON_H
#define MASTER_REPORT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/stats.h"
#include "master/figures.h"
#include "master/history.h"
#include "master/report.h"
#include "master/shape.h"
#include "master/thresholds.h"

typedef struct {
    const apex_stats_t *stats;             // merged statistics
    const master_exception_t *exceptions;  // merged exceptions
    size_t nexceptions;                    // their number
    const master_worker_row_t *workers;    // every worker seen
    size_t nworkers;                       // their number
    const master_thresholds_t *thresholds; // evaluated, or NULL
    const master_history_t *history;       // points, or NULL
    const master_shape_t *shape;           // load shape, or NULL
    double start_time;                     // unix time the test started
    double end_time;                       // unix time it ended (or now)
    const char *host;                      // host tested, or NULL
    const char *scenario;                  // scenario path
    const char *description;               // scenario description (JSON)
    int64_t users;                         // -u
    double spawn_rate;                     // -r
    double run_time;                       // -t seconds, 0 = none
    uint64_t iterations;                   // tasks completed
    uint64_t dropped_iterations;           // arrival: not started
    const master_figures_t *counters;      // run-wide counters, or NULL
    const master_figures_t *gauges;        // run-wide gauges now, or NULL
    const master_figures_t *peaks;         // their peaks, or NULL
    const master_checks_t *checks;         // checks' counts, or NULL
    const apex_stats_t *trends;            // scripts' trends, or NULL
    int exit_code;                         // the process's exit code
    const char *verdict;                   // "passed", "failed", ...
    const char *run_id;                    // the run's id, or NULL
} master_json_input_t;

// The errors as a JSON array of {method, name, error, occurrences,
// first_seen, last_seen} (at most max of them). A new reference.
json_t *master_json_errors(const apex_stats_t *stats, size_t max);

// The exceptions as a JSON array of {count, msg, traceback, nodes}.
json_t *master_json_exceptions(const master_exception_t *exceptions, size_t n);

// The thresholds (NULL: none) as a JSON array of {source, observed, unit,
// ok}; detailed adds metric, filter and expression after source, and
// abort_on_fail at the end. A new reference.
json_t *master_json_thresholds(const master_thresholds_t *th, bool detailed);

// The run-wide figures: {"counters": {name: total}, "gauges": {name: now},
// "peaks": {name: highest}, "ws_drop_rate": drops per session (when there
// were sessions)}; NULL tables count as empty.
json_t *master_json_figures(const master_figures_t *counters,
                            const master_figures_t *gauges,
                            const master_figures_t *peaks);

// The checks (NULL: none) as a JSON array of {name, passes, fails}, in
// the order first seen. A new reference.
json_t *master_json_checks(const master_checks_t *checks);

// Set o's keys "users", "spawn_rate" and "run_time" (null when 0): the
// load a run was asked for, as the report and GET /config show it.
void master_json_set_load(json_t *o, int64_t users, double spawn_rate,
                          double run_time);

// The document as compact JSON text, a new string the caller frees.
char *master_report_json(const master_json_input_t *in);

// Write text to path through a temporary file and rename. 0, or -1 with
// err set.
int master_write_file(const char *path, const char *text, apex_error_t *err);

#endif
