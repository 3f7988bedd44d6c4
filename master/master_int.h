// master/master_int.h - internal to the apex-master process (master.c:
// the loop and the wiring; master_plan.c: the scenario and the runner's
// plan before the run; master_end.c: the outputs at the end of the run):
// the process's struct and what master.c calls in the other two.
// Nothing else includes it.
#ifndef MASTER_MASTER_INT_H
#define MASTER_MASTER_INT_H

#include <stdbool.h>
#include <stdio.h>

#include "common/buf.h"
#include "common/loop.h"
#include "common/scenario.h"
#include "common/secrets.h"
#include "master/children.h"
#include "master/limits.h"
#include "master/master.h"
#include "master/outputs.h"
#include "master/registry.h"
#include "master/results.h"
#include "master/routes.h"
#include "master/runner.h"
#include "master/web.h"
#include "proto/curve.h"
#include "proto/zio.h"

#define MASTER_UNKNOWN_TYPES 8 // unknown message types warned about

struct master {
    master_options_t options;                  // as given
    apex_scenario_t *scenario;                 // the scenario
    apex_loop_t *loop;                         // the one loop
    proto_zio_t *zio;                          // ROUTER for workers
    int port;                                  // bound port
    int sigfd;                                 // SIGINT, SIGTERM, SIGCHLD
    apex_io_t sig_io;                          // watches sigfd
    int signals;                               // SIGINT/SIGTERM received
    apex_timer_t tick;                         // once a second
    apex_timer_t console;                      // periodic table
    apex_timer_t csv_timer;                    // periodic CSV
    master_registry_t *registry;               // the workers
    master_results_t results;                  // what the test measured
    master_runner_t *runner;                   // the test
    master_routes_ctx_t routes;                // what the web API reads
    master_web_t *web;                         // UI and API, or NULL
    master_children_t *children;               // --processes, or NULL
    master_outputs_t *outputs;                 // --out, or NULL
    char run_id[MASTER_RUN_ID_MAX + 1];        // --run-id, or made up
    FILE *history_csv;                         // PREFIX_stats_history.csv
    bool history_failed;                       // a write to it failed
    char *unknown_types[MASTER_UNKNOWN_TYPES]; // warned about once each
    apex_buf_t out;                            // encoded outgoing message
    proto_curve_pair_t curve;                  // --master-key's pair
    bool curve_on;                             // --master-key was given
    apex_secrets_t *secrets;                   // the scenario's env values
    char *scenario_document;                   // /config's, secrets masked
};

// master_plan.c: before the run.

// The scenario of -f, with the command line's HTTP options (--insecure,
// ...) and --tags/--exclude-tags applied; NULL and err on failure
// (master_plan.c).
apex_scenario_t *master_load_scenario(const master_options_t *o,
                                      apex_error_t *err);

// What the runner will take over: the host (-H, else $API_URL, else the
// scenario's), the load shape and the thresholds (master_plan.c).
int master_plan(const master_options_t *o, const apex_scenario_t *scn,
                master_runner_config_t *config, apex_error_t *err);

// Free what master_plan() made when no runner took it.
void master_plan_fini(master_runner_config_t *config);

// master_end.c: the end of the run.

// Print the summary to stdout: the tables, figures, checks and
// thresholds, or Locust's JSON alone with --json.
void master_end_summary(master_t *self);
// The end's warnings: malformed messages, requests cut off, peers
// refused.
void master_end_warnings(master_t *self);
// The exit code (master_end_exit_code), then --json and --html: one
// that cannot be written turns a success into MASTER_EXIT_OUTPUT.
int master_end_finish(master_t *self, bool thresholds_ok, bool outputs_ok);
// Write --json and --html; false when one could not be written (logged).
bool master_end_reports(master_t *self, int exit_code, const char *verdict);
// The exit code and its verdict: the run could not happen > no request
// completed > thresholds decide when there are any (as k6) > failed
// requests (Locust's rule) > success. Then outputs_ok false turns a success
// into MASTER_EXIT_OUTPUT.
int master_end_exit_code(master_t *self, bool thresholds_ok, bool outputs_ok,
                         const char **verdict);

#endif
