// master/master_int.h - internal to the apex-master process (master.c:
// the loop and the wiring; master_end.c: the outputs at the end of the
// run): the process's struct and what master.c calls in master_end.c.
// Nothing else includes it.
#ifndef MASTER_MASTER_INT_H
#define MASTER_MASTER_INT_H

#include <stdbool.h>
#include <stdio.h>

#include "common/buf.h"
#include "common/loop.h"
#include "common/scenario.h"
#include "master/children.h"
#include "master/limits.h"
#include "master/master.h"
#include "master/outputs.h"
#include "master/registry.h"
#include "master/results.h"
#include "master/routes.h"
#include "master/runner.h"
#include "master/web.h"
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
    char *unknown_types[MASTER_UNKNOWN_TYPES]; // warned about once each
    apex_buf_t out;                            // encoded outgoing message
};

// master_end.c: the end of the run.

// Print the summary to stdout: the tables, figures, checks and
// thresholds, or Locust's JSON alone with --json.
void master_end_summary(master_t *self);
// Write --json and --html.
void master_end_reports(master_t *self, int exit_code, const char *verdict);
// The exit code and its verdict: the run could not happen > thresholds
// decide when there are any (as k6) > failed requests (Locust's rule) >
// success.
int master_end_exit_code(master_t *self, bool thresholds_ok,
                         const char **verdict);

#endif
