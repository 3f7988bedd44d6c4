// master/api.h - the JSON documents of the web API, in Locust's shapes
// (reference/locust.md §E) with our additions in new keys: /stats/requests,
// /exceptions, /tasks, /history, /config.
#ifndef MASTER_API_H
#define MASTER_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/scenario.h"
#include "common/stats.h"
#include "master/history.h"
#include "master/report.h"
#include "master/shape.h"
#include "master/thresholds.h"

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
    const char *const *state_names;        // every runner state (/metrics)
    size_t nstate_names;                   // their number
    const char *const *worker_state_names; // every worker state (/metrics)
    size_t nworker_state_names;            // their number
} master_api_input_t;

// GET /stats/requests: a new JSON string the caller frees.
char *master_api_stats(const master_api_input_t *in);

// GET /exceptions.
char *master_api_exceptions(const master_exception_t *exceptions, size_t n);

// GET /tasks: Locust's per_class and total ratios. users_running gives,
// per class of the scenario, the users running (total ratios use it).
char *master_api_tasks(const apex_scenario_t *scenario,
                       const int64_t *users_running);

// GET /history: the points as a JSON array.
char *master_api_history(const master_history_t *history);

#endif
