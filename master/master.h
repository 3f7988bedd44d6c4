// master/master.h - an apex-master process: the Locust master protocol on
// a ZeroMQ ROUTER (registration, heartbeats and missing workers, user
// dispatch with ramps and rebalancing, stats merging), the headless run
// (wait for workers, run for --run-time, quit, summary, CSV files) and
// the local workers of --processes.
#ifndef MASTER_MASTER_H
#define MASTER_MASTER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "common/log.h"
#include "common/scenario.h"

// Exit codes of apex-master (documented in the README).
#define MASTER_EXIT_OK 0
#define MASTER_EXIT_FAILURES 1 // requests failed (--exit-code-on-error)
#define MASTER_EXIT_USAGE 2    // bad command line or scenario
#define MASTER_EXIT_ABORTED 3  // no workers, port busy, all workers lost
#define MASTER_EXIT_OUTPUT 4   // an output (CSV, JSON, HTML) was not written
// MASTER_EXIT_THRESHOLDS (99, as k6) is in master/thresholds.h

typedef struct {
    const char *scenario_path;       // -f
    const char *host;                // -H, or NULL (scenario's, $API_URL)
    int64_t users;                   // -u
    double spawn_rate;               // -r
    double run_time;                 // -t seconds, 0 = until stopped
    bool headless;                   // --headless
    const char *csv_prefix;          // --csv, or NULL
    bool csv_full_history;           // --csv-full-history
    int expect_workers;              // --expect-workers
    double expect_workers_max_wait;  // seconds, 0 = forever
    const char *bind_host;           // --master-bind-host ("*")
    int bind_port;                   // --master-bind-port (5557)
    int processes;                   // --processes (0 = none)
    double stop_timeout;             // --stop-timeout seconds, < 0 = None
    int exit_code_on_error;          // --exit-code-on-error (1)
    bool only_summary;               // --only-summary
    const char *stages;              // --stages, or NULL
    const char **thresholds;         // --threshold expressions
    size_t nthresholds;              // their number
    const char *json_path;           // --json-file FILE, or NULL
    bool json_stdout;                // --json: final stats on stdout only
    const char *html_path;           // --html FILE, or NULL
    bool users_set;                  // -u was given (scales a shape)
    bool run_time_set;               // -t was given (scales a shape)
    const char *web_host;            // --web-host ("" = all interfaces)
    int web_port;                    // --web-port (8089)
    const char *web_auth;            // --web-auth user:password (or the
                                     // line of --web-auth-file), or NULL
    bool autostart;                  // --autostart (UI mode)
    bool metrics;                    // --metrics: /metrics when headless
    double autoquit;                 // --autoquit seconds, < 0 = never
    apex_log_level_t level;          // --loglevel, passed to local workers
    const char *const *tags;         // --tags, or NULL
    size_t ntags;                    // their number
    const char *const *exclude_tags; // --exclude-tags, or NULL
    size_t nexclude_tags;            // their number
    bool reset_stats;                // --reset-stats: when the ramp ends
    int http_engine;                 // --engine (apex_http_engine_t), 0
    int http_debug;                  // --http-debug level, 0 off
    const apex_http_options_t *http; // --insecure, --ca-bundle...: the
                                     // scenario's "http" for every step,
                                     // or NULL when none was given
    bool print_stats;                // --print-stats: the table with the UI
    const char *logfile;             // --logfile, or NULL (stderr)
    const char **outs;               // --out values ("influxdb=URL")
    size_t nouts;                    // their number
    const char *run_id;              // --run-id, or NULL: made up
    const char *master_key;          // --master-key FILE: CURVE on
    const char *authorized_workers;  // --authorized-workers DIR, or NULL
    bool allow_any_worker;           // --allow-any-worker
    const char *worker_key;          // --worker-key FILE (--processes)
    const char *tls_cert;            // --tls-cert FILE: the web UI on TLS
    const char *tls_key;             // --tls-key FILE
} master_options_t;

typedef struct master master_t; // opaque

// Load the scenario and set up; NULL with err set (and *exit_code the
// code to exit with) on failure. SIGINT and SIGTERM must be blocked.
master_t *master_new(const master_options_t *options, apex_error_t *err,
                     int *exit_code);

// Free *self_p and set it to NULL; does nothing if *self_p is NULL.
void master_destroy(master_t **self_p);

// Run the test to the end; returns the process exit code.
int master_run(master_t *self);

#endif
