// master/routes.h - the master's web API: one static table of (method,
// path, handler) that answers every request master/web.c hands to the
// loop (Locust's paths: /swarm, /stop, /stats/requests, the CSV files,
// the report...), what an unknown path or a wrong method gets, and the
// run's JSON report, which the end of a headless run writes too.
#ifndef MASTER_ROUTES_H
#define MASTER_ROUTES_H

#include <stdio.h>

#include "common/loop.h"
#include "common/scenario.h"
#include "master/api.h"
#include "master/master.h"
#include "master/registry.h"
#include "master/results.h"
#include "master/runner.h"
#include "master/web.h"

// What the handlers read and change; the master owns all of it.
typedef struct {
    apex_loop_t *loop;               // for heartbeat ages
    master_runner_t *runner;         // the test
    master_registry_t *registry;     // the workers
    master_results_t *results;       // what was measured
    const master_options_t *options; // the command line
    const apex_scenario_t *scenario; // the scenario
    FILE *history_csv;               // PREFIX_stats_history.csv, or NULL
    const char *run_id;              // the run's id (--run-id or made up)
    int master_port;                 // the port workers connect to
} master_routes_ctx_t;

// Answer req (status, body, content type, download name).
typedef void(master_route_fn)(const master_routes_ctx_t *ctx,
                              master_web_request_t *req);

typedef struct {
    const char *method;      // "GET" (which HEAD matches too) or "POST"
    const char *path;        // the exact path
    master_route_fn *fn;     // its handler
    const char *not_allowed; // the 405 message for any other method
} master_route_t;

// The route for method and path, or NULL with *status and *message set:
// 405 and the route's message when the path takes another method; for a
// path not in the table, 404 for GET and HEAD, and 405 ("method not
// allowed") for any other method.
const master_route_t *master_routes_find(const char *method, const char *path,
                                         int *status, const char **message);

// The web server's handler (master_web_handler_fn); arg is a
// master_routes_ctx_t. A 404 answers {"error": "not found"}, a 405
// {"success": false, "message": ...}.
void master_routes_handle(void *arg, master_web_request_t *req);

// The state GET /stats/requests and GET /metrics show (thresholds
// evaluated first while a test runs). *workers_p is a new array the
// input points into: the caller frees it after using the input.
master_api_input_t master_routes_api_input(const master_routes_ctx_t *ctx,
                                           master_api_worker_t **workers_p);

// The run as one JSON document (master/report_json.h) with this exit code
// and verdict: a new string the caller frees.
char *master_routes_report_json(const master_routes_ctx_t *ctx, int exit_code,
                                const char *verdict);

#endif
