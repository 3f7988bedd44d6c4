// master/results.h - what a test measured, merged from every worker: the
// statistics (entries, errors), the exceptions, the iterations of the
// open model, the once-a-second history, and when the test started and
// ended. Embedded in the master (init/fini); the runner clears it when a
// test starts, the web API resets it, and the reports read it.
#ifndef MASTER_RESULTS_H
#define MASTER_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "common/stats.h"
#include "master/figures.h"
#include "master/history.h"
#include "master/report.h"
#include "master/shape.h"
#include "master/thresholds.h"
#include "proto/proto.h"

typedef struct {
    apex_stats_t *stats;            // merged statistics
    master_exception_t *exceptions; // merged exceptions
    size_t nexceptions;             // their number
    master_history_t *history;      // points for the reports and the UI
    uint64_t iterations;            // tasks completed (all workers)
    uint64_t dropped;               // arrival iterations not started
    master_figures_t counters;      // run-wide counters' totals
    master_figures_t gauges;        // run-wide gauges now (last sample)
    master_figures_t peaks;         // their highest values
    master_checks_t checks;         // checks' counts, by name
    apex_stats_t *trends;           // scripts' custom trends (x1000)
    double start_time;              // wall time the test started, 0 = none
    double end_time;                // wall time it ended, 0 = not yet
} master_results_t;

// Empty results.
void master_results_init(master_results_t *self);

// Free what the results hold; they are unusable afterwards.
void master_results_fini(master_results_t *self);

// A new test starts now: statistics, history and counts restart (the
// exceptions stay, as in Locust).
void master_results_start(master_results_t *self);

// Reset from the web UI: statistics, history, exceptions and counts are
// emptied; the start time stays.
void master_results_reset(master_results_t *self);

// --reset-stats at the end of a ramp: statistics, errors and counts are
// emptied; history and exceptions stay (Locust's reset_all).
void master_results_reset_stats(master_results_t *self);

// Merge a worker's stats report (a decoded stats message): its entries,
// total and errors, its iteration counts and its run-wide counters.
// Returns the report's total entry (for per-worker figures).
const apex_stats_entry_t *master_results_merge(master_results_t *self,
                                               const proto_msg_t *report);

// The run-wide gauges now (summed over the workers): kept, and their
// peaks raised.
void master_results_gauges(master_results_t *self, const master_figures_t *now);

// Count count occurrences of an exception a worker reported; the same
// message and traceback from several workers is one exception listing
// them all.
void master_results_exception(master_results_t *self, const char *msg,
                              const char *traceback, uint64_t count,
                              const char *node_id);

// Add the second's history point: users the workers reported, and the
// shape's target at point (shape NULL without one).
void master_results_sample(master_results_t *self, int64_t users,
                           const master_shape_t *shape,
                           const master_shape_point_t *point);

// The input thresholds are judged on: the run time is counted to the end
// of the test, or to now while it runs. The caller sets the scenario.
master_th_input_t master_results_th_input(const master_results_t *self);

#endif
