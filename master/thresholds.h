// master/thresholds.h - k6-style thresholds: "metric[{tag:value}]: agg op
// number", from the scenario's "thresholds" or --threshold, evaluated on
// the exact merged statistics during the run (for abort_on_fail) and at
// the end.
//
// Metrics and aggregations:
//   http_req_duration   p(N) avg med min max   (milliseconds)
//   http_req_failed     rate                   (failures per request)
//   http_reqs           count rate             (rate: per second of run)
//   iterations          count rate             (tasks completed)
//   dropped_iterations  count rate             (arrival rate: not started)
//   ws_connecting       p(N) avg med min max   (WebSocket connect steps)
//   ws_msg_latency      p(N) avg med min max   (request replies, pushes)
//   ws_ping             p(N) avg med min max   (ping round trips)
//   ws_sessions         count rate             (connections opened)
//   ws_msgs_sent        count rate             (messages)
//   ws_msgs_received    count rate
//   ws_drop_rate        rate                   (drops per session)
//   ws_connections      max value              (open: peak, now)
//   checks              rate                   (checks passed per check;
//                                               {name:NAME} one check)
//   sql_duration        p(N) avg med min max   (SQL steps, milliseconds)
//   sql_failed          rate                   (failures per SQL step)
//   sql_connections     max value              (open: peak, now)
//   NAME                a custom metric of the scripts (when the set
//                       allows them): p(N) avg med min max of the
//                       trend NAME (apex.trend), count rate of the
//                       counter NAME (apex.counter)
// The http_* metrics count HTTP requests only (entries whose type is an
// HTTP method), as k6's do; the ws_* trends are the entries of the
// scenario's WebSocket steps of that kind; the other ws_* come from the
// workers' run-wide figures; sql_duration and sql_failed read the rows
// of type SQL. Filters: {name:/health} or {name:GET
// /health} (one entry), {method:POST} (all entries of a method), on the
// metrics made of entries. Operators: < <= > >= == === !=.
#ifndef MASTER_THRESHOLDS_H
#define MASTER_THRESHOLDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/scenario.h"
#include "common/stats.h"
#include "master/figures.h"

#define MASTER_EXIT_THRESHOLDS 99 // as k6

typedef enum {
    TH_HTTP_REQ_DURATION,
    TH_HTTP_REQ_FAILED,
    TH_HTTP_REQS,
    TH_ITERATIONS,
    TH_DROPPED_ITERATIONS,
    TH_WS_CONNECTING,
    TH_WS_MSG_LATENCY,
    TH_WS_PING,
    TH_WS_SESSIONS,
    TH_WS_MSGS_SENT,
    TH_WS_MSGS_RECEIVED,
    TH_WS_DROP_RATE,
    TH_WS_CONNECTIONS,
    TH_CHECKS,
    TH_SQL_DURATION,
    TH_SQL_FAILED,
    TH_SQL_CONNECTIONS,
    TH_CUSTOM, // a scripts' trend or counter, by name
} master_th_metric_t;

typedef enum {
    TH_P,     // p(N)
    TH_AVG,   // avg
    TH_MED,   // med
    TH_MIN,   // min
    TH_MAX,   // max
    TH_RATE,  // rate
    TH_COUNT, // count
    TH_VALUE, // value (a gauge now)
} master_th_agg_t;

typedef enum { TH_LT, TH_LE, TH_GT, TH_GE, TH_EQ, TH_NE } master_th_op_t;

typedef struct {
    char *source;              // "http_req_duration{name:/x}: p(95)<500"
    char *metric_name;         // "http_req_duration"
    char *filter;              // "name:/x", or NULL
    char *expression;          // "p(95)<500"
    master_th_metric_t metric; // parsed metric
    char *filter_key;          // "name" or "method", or NULL
    char *filter_value;        // "/x" or "GET /x"
    master_th_agg_t agg;       // parsed aggregation
    double p;                  // for p(N): N / 100
    master_th_op_t op;         // comparison
    double limit;              // the number compared with
    bool abort_on_fail;        // stop the run as soon as it fails
    double delay_abort_eval;   // seconds into the run before aborting
    bool has_observed;         // observed holds a value (there was data)
    double observed;           // last evaluated value
    bool ok;                   // last verdict (true when no data)
} master_threshold_t;

typedef struct {
    master_threshold_t *items; // in the order given
    size_t n;                  // number of thresholds
    bool custom;               // unknown metric names are the scripts'
                               // custom metrics (the scenario has
                               // scripted classes); set before adding
} master_thresholds_t;

// Add "metric[{filter}]" with expression "agg op number". where names the
// source in errors ("apex.json: $.thresholds[\"http_reqs\"][0]" or
// "--threshold"). 0, or -1 with err set saying what was expected.
int master_thresholds_add(master_thresholds_t *self, const char *metric,
                          const char *expression, bool abort_on_fail,
                          double delay_abort_eval, const char *where,
                          apex_error_t *err);

// Add the scenario's "thresholds" node (JSON text): an object of metric to
// a string, a list of strings, or objects {"threshold", "abortOnFail",
// "delayAbortEval"} (snake_case accepted too).
int master_thresholds_parse_json(master_thresholds_t *self, const char *json,
                                 const char *origin, apex_error_t *err);

// Add one --threshold 'metric[{filter}]: expression'.
int master_thresholds_parse_arg(master_thresholds_t *self, const char *arg,
                                apex_error_t *err);

// Free the items; the set is empty and reusable afterwards.
void master_thresholds_fini(master_thresholds_t *self);

typedef struct {
    const apex_stats_t *stats;        // merged statistics
    uint64_t iterations;              // tasks completed
    uint64_t dropped_iterations;      // arrival iterations not started
    double duration;                  // seconds since the test started
    const apex_scenario_t *scenario;  // which entries are which steps,
                                      // or NULL
    const master_figures_t *counters; // run-wide counters' totals
    const master_figures_t *gauges;   // run-wide gauges now
    const master_figures_t *peaks;    // their peaks
    const master_checks_t *checks;    // checks' counts, or NULL
    const apex_stats_t *trends;       // the scripts' trends (x1000), or
                                      // NULL
} master_th_input_t;

// Evaluate every threshold; returns true when all pass.
bool master_thresholds_evaluate(master_thresholds_t *self,
                                const master_th_input_t *in);

// The first threshold with abort_on_fail that failed after its delay, or
// NULL (call after master_thresholds_evaluate()).
const master_threshold_t *
master_thresholds_abort(const master_thresholds_t *self, double duration);

// The unit of a threshold's observed value: "ms", "" (rate/count) or "/s".
const char *master_threshold_unit(const master_threshold_t *t);

#endif
