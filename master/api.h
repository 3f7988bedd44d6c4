// master/api.h - the JSON documents of the web API, in Locust's shapes
// (docs/protocol.md, "Web API shapes") with our additions in new keys:
// /stats/requests, /exceptions, /tasks, /history, /config, /swarm's answer
// and the errors; and the fields of POST /swarm's form, read and checked.
#ifndef MASTER_API_H
#define MASTER_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/scenario.h"
#include "common/stats.h"
#include "master/figures.h"
#include "master/history.h"
#include "master/report.h"
#include "master/shape.h"
#include "master/thresholds.h"
#include "master/web.h"

typedef struct {
    const char *id;       // worker id
    const char *kind;     // "apex 0.1.0", "locust 2.12.1"
    const char *state;    // ready, spawning, running, stopping, missing
    int64_t users;        // users it reported
    double cpu;           // CPU % it reported
    uint64_t memory;      // RSS it reported
    double heartbeat_age; // seconds since its last heartbeat
    uint64_t requests;    // requests merged from it
    uint64_t failures;    // failures merged from it
} master_api_worker_t;

typedef struct {
    const apex_stats_t *stats;             // merged statistics
    const master_history_t *history;       // for current percentiles
    const char *state;                     // runner state
    int64_t user_count;                    // users the workers reported
    const master_api_worker_t *workers;    // registered workers
    size_t nworkers;                       // their number
    const master_shape_t *shape;           // load shape, or NULL
    const master_shape_point_t *point;     // where it is (shape only)
    bool shape_running;                    // the shape drives the test
    const master_thresholds_t *thresholds; // evaluated, or NULL
    uint64_t iterations;                   // tasks completed
    uint64_t dropped_iterations;           // arrival: not started
    const master_figures_t *counters;      // run-wide counters, or NULL
    const master_figures_t *gauges;        // run-wide gauges now, or NULL
    const master_figures_t *peaks;         // their peaks, or NULL
    const apex_stats_t *trends;            // scripts' trends, or NULL
    const master_checks_t *checks;         // checks' counts, or NULL
    const char *const *state_names;        // every runner state (/metrics)
    size_t nstate_names;                   // their number
    const char *const *worker_state_names; // every worker state (/metrics)
    size_t nworker_state_names;            // their number
    const char *run_id;                    // the run's id, or NULL
    double start_time;                     // unix time the test started, 0
                                           // = none yet
} master_api_input_t;

// GET /stats/requests: a new JSON string the caller frees.
char *master_api_stats(const master_api_input_t *in);

// GET /exceptions.
char *master_api_exceptions(const master_exception_t *exceptions, size_t n);

// GET /tasks: Locust's per_class and total ratios. users_running gives,
// per class of the scenario, the users running: a class's ratio is its
// share of them (0 before a test, as Locust's); per_class task ratios
// are shares of their class, total ones of all users.
char *master_api_tasks(const apex_scenario_t *scenario,
                       const int64_t *users_running);

// GET /history: the points as a JSON array.
char *master_api_history(const master_history_t *history);

typedef struct {
    const char *host;                // host sent to workers, or NULL
    int64_t users;                   // users asked for
    double spawn_rate;               // their spawn rate
    double run_time;                 // seconds, 0 = until stopped
    const char *scenario_path;       // -f
    const apex_scenario_t *scenario; // its user classes
    bool has_thresholds;             // the run has thresholds
    const master_shape_t *shape;     // load shape, or NULL
    bool full_history_csv;           // --csv with --csv-full-history
    const char *master_bind_host;    // --master-bind-host ("*": all)
    int master_port;                 // the port workers connect to
    int local_workers;               // workers --processes started
} master_api_config_t;

// GET /config: what the UI's forms start from.
char *master_api_config(const master_api_config_t *in);

// An error answer: {"success": false, "message": message}.
char *master_api_error(const char *message);

typedef struct {
    int64_t users;     // user_count (0 with a shape)
    double spawn_rate; // spawn_rate (0 with a shape)
    double run_time;   // run_time in seconds, 0 when not given
    char *host;        // host without '<' and '>', or NULL; caller frees
} master_api_swarm_t;

// Read POST /swarm's form: user_count and spawn_rate (required unless
// shaped, when a load shape sets the users), run_time, host. 0 with *out
// filled, or -1 with err set to the message a 400 answer carries (and
// nothing for the caller to free).
int master_api_swarm_form(const master_web_request_t *req, bool shaped,
                          master_api_swarm_t *out, apex_error_t *err);

// POST /swarm's answer once the test started.
char *master_api_swarm_reply(bool shaped, const char *host, double run_time);

#endif
