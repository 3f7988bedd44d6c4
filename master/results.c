// master/results.c - see results.h. Merging is exact: entries add their
// counts and histograms (apex_stats_entry_merge), so aggregated
// percentiles are those of all requests. Exceptions are few (at most
// MASTER_MAX_EXCEPTIONS) and compared by text, in a linear array.
//
// Limits (master/limits.h): what workers report cannot grow without
// bound. New names past a worker's allowance or the run's limit, errors
// past the run's limit and exceptions past theirs add up in one "other"
// row each, so every count is kept; each limit is logged once per run.
#include "master/results.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/sat.h"
#include "master/limits.h"

#define S_OTHER_EXCEPTION "(other exceptions, over the limit)"

// The limits logged (bits of master_results_t.warned).
enum {
    S_WARNED_REPORT = 1u << 0,     // a report with too many names/errors
    S_WARNED_WORKER = 1u << 1,     // a worker past its names
    S_WARNED_NAMES = 1u << 2,      // the run past its names
    S_WARNED_ERRORS = 1u << 3,     // the run past its errors
    S_WARNED_EXCEPTIONS = 1u << 4, // the run past its exceptions
};

// Log what is past a limit once per run.
static void s_warn_once(master_results_t *self, unsigned what,
                        const char *node_id)
{
    if (self->warned & what)
        return;
    self->warned |= what;
    switch (what) {
    case S_WARNED_REPORT:
        apex_warn("worker %s sent a report with more than %d names or %d "
                  "errors: the rest are counted under \"%s\"",
                  node_id, PROTO_MAX_STATS_ENTRIES, PROTO_MAX_STATS_ERRORS,
                  APEX_STATS_OTHER_NAME);
        break;
    case S_WARNED_WORKER:
        apex_warn("worker %s reported %d distinct names: its further new "
                  "names are counted under \"%s\"",
                  node_id, MASTER_MAX_WORKER_NAMES, APEX_STATS_OTHER_NAME);
        break;
    case S_WARNED_NAMES:
        apex_warn("more than %d distinct names in this run: further new "
                  "names are counted under \"%s\"",
                  MASTER_MAX_STATS_ENTRIES, APEX_STATS_OTHER_NAME);
        break;
    case S_WARNED_ERRORS:
        apex_warn("more than %d distinct errors in this run: further new "
                  "errors are counted as \"%s\"",
                  MASTER_MAX_ERRORS, APEX_STATS_OTHER_ERROR);
        break;
    default:
        apex_warn("more than %d distinct exceptions: further new ones are "
                  "counted as \"%s\"",
                  MASTER_MAX_EXCEPTIONS, S_OTHER_EXCEPTION);
        break;
    }
}

void master_results_init(master_results_t *self)
{
    memset(self, 0, sizeof *self);
    self->stats = apex_stats_new(apex_wall_time());
    apex_stats_set_limits(self->stats, MASTER_MAX_STATS_ENTRIES,
                          MASTER_MAX_ERRORS);
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
    self->warned = 0;
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

// The entry src merges into: its own, a new one while the worker's
// allowance and the run's limit last, else the other entry.
static apex_stats_entry_t *s_entry_for(master_results_t *self,
                                       const apex_stats_entry_t *src,
                                       size_t *names_left, const char *node_id,
                                       double now)
{
    apex_stats_entry_t *dst =
        apex_stats_find(self->stats, src->method, src->name);
    if (dst)
        return dst;
    if (names_left && *names_left == 0) {
        s_warn_once(self, S_WARNED_WORKER, node_id);
        return apex_stats_other(self->stats, now);
    }
    dst = apex_stats_get(self->stats, src->method, src->name, now);
    if (strcmp(dst->name, APEX_STATS_OTHER_NAME) == 0 &&
        strcmp(src->name, APEX_STATS_OTHER_NAME) != 0)
        s_warn_once(self, S_WARNED_NAMES, node_id);
    else if (names_left)
        (*names_left)--;
    return dst;
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
                                               const proto_msg_t *report,
                                               size_t *names_left)
{
    const apex_stats_t *delta = report->stats;
    double now = apex_wall_time();
    if (apex_stats_entries_full(delta) || apex_stats_errors_full(delta))
        s_warn_once(self, S_WARNED_REPORT, report->node_id);
    for (size_t i = 0; i < apex_stats_size(delta); i++) {
        const apex_stats_entry_t *src = apex_stats_at(delta, i);
        apex_stats_entry_merge(
            s_entry_for(self, src, names_left, report->node_id, now), src);
    }
    const apex_stats_entry_t *total = apex_stats_total_const(delta);
    apex_stats_entry_merge(apex_stats_total(self->stats), total);
    for (size_t i = 0; i < apex_stats_error_count(delta); i++)
        apex_stats_merge_error(self->stats, apex_stats_error_at(delta, i));
    if (apex_stats_errors_full(self->stats))
        s_warn_once(self, S_WARNED_ERRORS, report->node_id);
    self->iterations = apex_count_add(self->iterations, report->iterations);
    self->dropped = apex_count_add(self->dropped, report->dropped_iterations);
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

// Add node_id to e's list of nodes, up to MASTER_MAX_EXCEPTION_NODES
// bytes (then ", ..." once).
static void s_add_node(master_exception_t *e, const char *node_id)
{
    if (strstr(e->nodes, node_id))
        return;
    size_t len = strlen(e->nodes);
    if (len >= MASTER_MAX_EXCEPTION_NODES)
        return;
    char *nodes = len + strlen(node_id) < MASTER_MAX_EXCEPTION_NODES
                      ? apex_sprintf("%s, %s", e->nodes, node_id)
                      : apex_sprintf("%s, ...", e->nodes);
    free(e->nodes);
    e->nodes = nodes;
}

bool master_results_exception(master_results_t *self, const char *msg,
                              const char *traceback, uint64_t count,
                              const char *node_id)
{
    if (self->nexceptions >= MASTER_MAX_EXCEPTIONS) {
        bool known = false;
        for (size_t i = 0; i < self->nexceptions && !known; i++)
            known = strcmp(self->exceptions[i].msg, msg) == 0 &&
                    strcmp(self->exceptions[i].traceback, traceback) == 0;
        if (!known) {
            s_warn_once(self, S_WARNED_EXCEPTIONS, node_id);
            msg = S_OTHER_EXCEPTION;
            traceback = "";
        }
    }
    for (size_t i = 0; i < self->nexceptions; i++) {
        master_exception_t *e = &self->exceptions[i];
        if (strcmp(e->msg, msg) == 0 && strcmp(e->traceback, traceback) == 0) {
            e->count = apex_count_add(e->count, count);
            s_add_node(e, node_id);
            return false;
        }
    }
    self->exceptions = apex_realloc(self->exceptions, self->nexceptions + 1,
                                    sizeof *self->exceptions);
    master_exception_t *e = &self->exceptions[self->nexceptions++];
    e->msg = apex_strdup(msg);
    e->traceback = apex_strdup(traceback);
    e->count = count;
    e->nodes = apex_strdup(node_id);
    return strcmp(msg, S_OTHER_EXCEPTION) != 0;
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
