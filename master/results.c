// master/results.c - see results.h. Merging is exact: entries add their
// counts and histograms (apex_stats_entry_merge), so aggregated
// percentiles are those of all requests. Exceptions are few and compared
// by text, in a linear array.
#include "master/results.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/clock.h"

void master_results_init(master_results_t *self)
{
    memset(self, 0, sizeof *self);
    self->stats = apex_stats_new(apex_wall_time());
    self->trends = apex_stats_new(apex_wall_time());
    self->history = master_history_new();
}

static void s_free_exceptions(master_results_t *self)
{
    for (size_t i = 0; i < self->nexceptions; i++) {
        free(self->exceptions[i].msg);
        free(self->exceptions[i].traceback);
        free(self->exceptions[i].nodes);
    }
    self->nexceptions = 0;
}

static void s_clear_figures(master_results_t *self)
{
    master_figures_clear(&self->counters);
    master_figures_clear(&self->gauges);
    master_figures_clear(&self->peaks);
    master_checks_clear(&self->checks);
    if (self->trends)
        apex_stats_clear(self->trends, apex_wall_time());
}

void master_results_fini(master_results_t *self)
{
    s_free_exceptions(self);
    free(self->exceptions);
    self->exceptions = NULL;
    apex_stats_destroy(&self->stats);
    master_history_destroy(&self->history);
    s_clear_figures(self);
    apex_stats_destroy(&self->trends);
}

void master_results_start(master_results_t *self)
{
    apex_stats_clear(self->stats, apex_wall_time());
    master_history_clear(self->history);
    self->start_time = apex_wall_time();
    self->iterations = 0;
    self->dropped = 0;
    s_clear_figures(self);
}

void master_results_reset_stats(master_results_t *self)
{
    apex_stats_reset(self->stats, apex_wall_time());
    self->iterations = 0;
    self->dropped = 0;
    s_clear_figures(self);
}

void master_results_reset(master_results_t *self)
{
    master_results_reset_stats(self);
    master_history_clear(self->history);
    s_free_exceptions(self);
}

// True for a trend's name as scripts give them: [a-z0-9_], 1 to
// PROTO_METRIC_NAME_MAX bytes (CSV and /metrics print it as it is).
static bool s_metric_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > PROTO_METRIC_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') ||
              (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
            return false;
    return true;
}

const apex_stats_entry_t *master_results_merge(master_results_t *self,
                                               const proto_msg_t *report)
{
    const apex_stats_t *delta = report->stats;
    double now = apex_wall_time();
    for (size_t i = 0; i < apex_stats_size(delta); i++) {
        const apex_stats_entry_t *src = apex_stats_at(delta, i);
        apex_stats_entry_t *dst =
            apex_stats_get(self->stats, src->method, src->name, now);
        apex_stats_entry_merge(dst, src);
    }
    const apex_stats_entry_t *total = apex_stats_total_const(delta);
    apex_stats_entry_merge(apex_stats_total(self->stats), total);
    for (size_t i = 0; i < apex_stats_error_count(delta); i++)
        apex_stats_merge_error(self->stats, apex_stats_error_at(delta, i));
    self->iterations += report->iterations;
    self->dropped += report->dropped_iterations;
    for (size_t i = 0; i < report->ncounters; i++)
        master_figures_add(&self->counters, report->counters[i].name,
                           report->counters[i].value);
    for (size_t i = 0; i < report->nchecks; i++)
        master_checks_add(&self->checks, report->checks[i].name,
                          report->checks[i].passes, report->checks[i].fails);
    const apex_stats_t *trends = report->trends;
    for (size_t i = 0; trends && i < apex_stats_size(trends); i++) {
        const apex_stats_entry_t *src = apex_stats_at(trends, i);
        // As many names as one worker may send: a hostile one cannot
        // grow the table without bound.
        if (!s_metric_name(src->name) ||
            (!apex_stats_find(self->trends, "", src->name) &&
             apex_stats_size(self->trends) >= PROTO_MAX_TRENDS))
            continue;
        apex_stats_entry_merge(apex_stats_get(self->trends, "", src->name, now),
                               src);
    }
    return total;
}

void master_results_gauges(master_results_t *self, const master_figures_t *now)
{
    master_figures_clear(&self->gauges);
    for (size_t i = 0; i < now->n; i++) {
        master_figures_set(&self->gauges, now->items[i].name,
                           now->items[i].value);
        master_figures_max(&self->peaks, now->items[i].name,
                           now->items[i].value);
    }
}

void master_results_exception(master_results_t *self, const char *msg,
                              const char *traceback, uint64_t count,
                              const char *node_id)
{
    for (size_t i = 0; i < self->nexceptions; i++) {
        master_exception_t *e = &self->exceptions[i];
        if (strcmp(e->msg, msg) == 0 && strcmp(e->traceback, traceback) == 0) {
            e->count += count;
            if (!strstr(e->nodes, node_id)) {
                char *nodes = apex_sprintf("%s, %s", e->nodes, node_id);
                free(e->nodes);
                e->nodes = nodes;
            }
            return;
        }
    }
    self->exceptions = apex_realloc(self->exceptions, self->nexceptions + 1,
                                    sizeof *self->exceptions);
    master_exception_t *e = &self->exceptions[self->nexceptions++];
    e->msg = apex_strdup(msg);
    e->traceback = apex_strdup(traceback);
    e->count = count;
    e->nodes = apex_strdup(node_id);
}

void master_results_sample(master_results_t *self, int64_t users,
                           const master_shape_t *shape,
                           const master_shape_point_t *point)
{
    master_history_tick(self->history, self->stats);
    const apex_stats_entry_t *total = apex_stats_total_const(self->stats);
    master_history_point_t p = {
        .time = (int64_t)apex_wall_time(),
        .users = users,
        .target_users = NAN,
        .target_rate = NAN,
        .stage = 0,
        .rps = apex_stats_current_rps(self->stats, total, false),
        .fail_per_sec = apex_stats_current_rps(self->stats, total, true),
    };
    if (shape) {
        p.stage = (int)point->stage;
        if (shape->kind == MASTER_SHAPE_STAGES)
            p.target_users = point->users;
        else
            p.target_rate = point->rate;
    }
    master_history_add(self->history, self->stats, p);
}

master_th_input_t master_results_th_input(const master_results_t *self)
{
    double end = self->end_time > 0 ? self->end_time : apex_wall_time();
    master_th_input_t in = {
        .stats = self->stats,
        .iterations = self->iterations,
        .dropped_iterations = self->dropped,
        .duration = self->start_time > 0 ? end - self->start_time : 0,
        .counters = &self->counters,
        .gauges = &self->gauges,
        .peaks = &self->peaks,
        .checks = &self->checks,
        .trends = self->trends,
    };
    return in;
}
