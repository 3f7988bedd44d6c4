// master/history.h - the run's history, one point per interval (users,
// target, stage, requests/s, failures/s, response time percentiles over
// the last seconds), kept for the JSON and HTML reports and the web UI.
#ifndef MASTER_HISTORY_H
#define MASTER_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/histogram.h"
#include "common/stats.h"

#define MASTER_HISTORY_WINDOW 10 // seconds behind "current" percentiles

typedef struct {
    int64_t time;        // unix second
    int64_t users;       // users the workers reported
    double target_users; // shape: users wanted, NAN when no shape
    double target_rate;  // arrival shape: iterations/s wanted, or NAN
    int stage;           // shape: 1-based stage, 0 when no shape
    double rps;          // current requests/s (Locust's window)
    double fail_per_sec; // current failures/s
    double p50_ms;       // median over the last window, NAN when no data
    double p95_ms;       // 95th percentile over the last window, or NAN
    double avg_ms;       // average over the last window, or NAN
    uint64_t requests;   // cumulative requests
    uint64_t failures;   // cumulative failures
} master_history_point_t;

typedef struct master_history master_history_t; // opaque

// An empty history.
master_history_t *master_history_new(void);

// Free *self_p and set it to NULL; does nothing if *self_p is NULL.
void master_history_destroy(master_history_t **self_p);

// Forget every point and snapshot (a new test).
void master_history_clear(master_history_t *self);

// Snapshot the total once a second (for the "current" window): call on
// every tick, before master_history_add().
void master_history_tick(master_history_t *self, const apex_stats_t *stats);

// Percentile p in [0, 1] of the total's response times over the last
// MASTER_HISTORY_WINDOW seconds, in ms; NAN when there were none.
double master_history_current_percentile(const master_history_t *self,
                                         const apex_stats_t *stats, double p);

// Append a point (fields computed by the caller except the window ones,
// which are filled in here).
void master_history_add(master_history_t *self, const apex_stats_t *stats,
                        master_history_point_t point);

// The points as a JSON array of objects (time, users, target_users,
// target_rate, stage, rps, fail_per_sec, p50_ms, p95_ms, avg_ms, requests,
// failures); null where there is no value. A new reference.
json_t *master_history_json(const master_history_t *self);

// The points, oldest first.
size_t master_history_size(const master_history_t *self);
const master_history_point_t *master_history_at(const master_history_t *self,
                                                size_t i);

#endif
