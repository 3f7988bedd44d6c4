// tests/fuzz/fuzz_thresholds.h - what both threshold targets do with a
// parsed set: check each item and evaluate the set as the master does.
#ifndef APEX_FUZZ_THRESHOLDS_H
#define APEX_FUZZ_THRESHOLDS_H

#include <math.h>

#include "common/stats.h"
#include "master/thresholds.h"
#include "tests/fuzz/fuzz.h"

// Statistics with a few entries that the filters of the seeds match.
static inline apex_stats_t *fuzz_thresholds_stats(void)
{
    static const char *const entries[][2] = {
        {"GET", "/health"}, {"POST", "/api/v1/tasks"}, {"get", "x"}};
    apex_stats_t *stats = apex_stats_new(1000);
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        apex_stats_entry_t *e =
            apex_stats_get(stats, entries[i][0], entries[i][1], 1000);
        for (uint64_t k = 1; k <= 50; k++)
            apex_stats_record(stats, e, k * 997 * (i + 1), k, 1000 + k);
        apex_stats_record_failure(stats, e, "boom", 1010);
    }
    return stats;
}

static inline void fuzz_thresholds_use(master_thresholds_t *th)
{
    for (size_t i = 0; i < th->n; i++) {
        const master_threshold_t *t = &th->items[i];
        FUZZ_CHECK(t->source && t->metric_name && t->expression,
                   "threshold %zu is missing its text", i);
        FUZZ_CHECK(!t->filter || (t->filter_key && t->filter_value),
                   "threshold %zu: filter without key or value", i);
        FUZZ_CHECK(isfinite(t->limit), "threshold %zu: limit %g", i, t->limit);
        FUZZ_CHECK(t->agg != TH_P || (t->p >= 0 && t->p <= 1),
                   "threshold %zu: p %g", i, t->p);
        (void)master_threshold_unit(t);
    }
    apex_stats_t *empty = apex_stats_new(1000);
    apex_stats_t *full = fuzz_thresholds_stats();
    master_th_input_t in = {.stats = empty};
    (void)master_thresholds_evaluate(th, &in);
    (void)master_thresholds_abort(th, 0);
    // Full statistics, and run-wide figures for the ws_* metrics.
    master_figures_t counters = {0}, gauges = {0};
    master_figures_add(&counters, "ws_sessions", 100);
    master_figures_add(&counters, "ws_drops", 1);
    master_figures_set(&gauges, "ws_connections", 90);
    master_figures_add(&counters, "orders", 7); // a script's counter
    // A script's trend "cart" (values x1000) among other entries.
    apex_stats_t *trends = fuzz_thresholds_stats();
    apex_stats_record(trends, apex_stats_get(trends, "", "cart", 1000), 2500, 0,
                      1000);
    in = (master_th_input_t){.stats = full,
                             .trends = trends,
                             .iterations = 120,
                             .dropped_iterations = 3,
                             .duration = 60,
                             .counters = &counters,
                             .gauges = &gauges,
                             .peaks = &gauges};
    (void)master_thresholds_evaluate(th, &in);
    master_figures_clear(&counters);
    master_figures_clear(&gauges);
    (void)master_thresholds_abort(th, 1e9);
    apex_stats_destroy(&full);
    apex_stats_destroy(&trends);
    apex_stats_destroy(&empty);
}

#endif
