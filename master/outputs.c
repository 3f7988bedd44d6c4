// master/outputs.c - see outputs.h.
//
// Two sources make a batch. The interval's deltas: each worker's stats
// report is merged here too (as master/results.c merges it into the
// run's totals) and emptied after every batch, so durations, bytes,
// errors, iterations and counters are exact per interval. And the run's
// cumulative statistics, whose per-second slots (apex_stats_second_t:
// requests and failures by the second they completed) give http_reqs and
// http_req_failed a point per second at that second's time, however late
// the 3-second reports arrive. A second's point is written again each time
// its count grows; InfluxDB keeps the last point of a series and time, so
// summing the points gives exactly the run's counts. The slots span 32 s,
// and a batch goes out at least every 10 s, so no second is missed.
//
// Logging: a writer's new drops, and its failing writes, are each logged
// at most once per MASTER_OUTPUTS_LOG_US with their reason; its recovery
// once.
#include "master/outputs.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/histogram.h"
#include "common/log.h"
#include "common/sat.h"
#include "common/stats.h"
#include "master/figures.h"
#include "master/influx.h"
#include "master/influx_line.h"
#include "master/limits.h"
#include "master/out.h"
#include "master/report.h"

#define MASTER_OUTPUTS_LOG_US (10 * APEX_USEC_PER_SEC)
#define MASTER_OUTPUTS_STATUS_MAX 4 // "5xx"

// What was last written for the per-second slots of one entry of the
// run's statistics (entry i of apex_stats_at()).
typedef struct {
    char *method;                                 // the entry's method
    char *name;                                   // and name
    apex_stats_second_t sent[APEX_STATS_SECONDS]; // slot by slot
} s_sent_t;

// One output: its writer and what its log said last.
typedef struct {
    master_influx_t *writer;  // the thread that writes
    size_t queue_points;      // its bound (for the log)
    uint64_t dropped_at;      // when drops were last logged (monotonic), 0
    uint64_t logged_dropped;  // drops already logged
    uint64_t failed_at;       // when failures were last logged, 0
    uint64_t logged_failures; // failures already logged
    bool said_failing;        // the log said writes fail
} s_out_t;

struct master_outputs {
    const master_routes_ctx_t *ctx; // the state
    apex_timer_t timer;             // every interval
    uint64_t interval_us;           // its period
    s_out_t outs[MASTER_OUT_MAX];   // the outputs
    size_t nouts;                   // their number
    apex_stats_t *interval;         // deltas since the last batch
    uint64_t iterations;            // tasks completed since then
    uint64_t dropped;               // arrival iterations dropped since
    master_figures_t counters;      // run-wide counters' deltas since
    s_sent_t *sent;                 // per entry of the run's stats
    size_t nsent;                   // entries tracked
    apex_buf_t lines;               // the batch being built
    char *tags;                     // every point's: ",run_id=...,k=v"
};

// ---------------------------------------------------------------------
// Points

// "5xx" for the status an error text names (Locust's "HTTPError('503
// Server Error: ...')", our "UnexpectedStatus('404 for url: ...')"), or
// "" when it names none (a refused connection, a timeout).
static void s_status_class(const char *error, char *out)
{
    static const char *const kinds[] = {"HTTPError(", "UnexpectedStatus("};
    out[0] = '\0';
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        size_t n = strlen(kinds[i]);
        if (strncmp(error, kinds[i], n) != 0)
            continue;
        const char *p = error + n;
        while (*p == '\'' || *p == '"')
            p++;
        if (p[0] >= '1' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9' &&
            p[2] >= '0' && p[2] <= '9' && !(p[3] >= '0' && p[3] <= '9'))
            snprintf(out, MASTER_OUTPUTS_STATUS_MAX, "%cxx", p[0]);
        return;
    }
}

static void s_entry_tags(master_lp_t *lp, const char *measurement,
                         const apex_stats_entry_t *e)
{
    master_lp_begin(lp, measurement);
    master_lp_tag(lp, "name", e->name);
    master_lp_tag(lp, "method", e->method);
}

// http_req_duration (ms) and apex_response_bytes of one interval's entry.
static void s_durations(master_lp_t *lp, const apex_stats_entry_t *e,
                        int64_t now_ms)
{
    static const struct {
        const char *field;
        double p;
    } pcts[] = {{"p50", 0.5}, {"p90", 0.9}, {"p95", 0.95}, {"p99", 0.99}};
    uint64_t timed = apex_histogram_count(e->hist);
    if (timed) {
        s_entry_tags(lp, "http_req_duration", e);
        master_lp_field(lp, "value", apex_stats_entry_avg_ms(e));
        master_lp_field(lp, "count", (double)timed);
        master_lp_field(lp, "min", apex_stats_entry_min_ms(e));
        master_lp_field(lp, "max", apex_stats_entry_max_ms(e));
        master_lp_field(lp, "mean", apex_stats_entry_avg_ms(e));
        for (size_t i = 0; i < sizeof pcts / sizeof *pcts; i++)
            master_lp_field(
                lp, pcts[i].field,
                apex_ms_from_us(apex_histogram_percentile(e->hist, pcts[i].p)));
        master_lp_end(lp, now_ms);
    }
    if (e->num_requests) {
        s_entry_tags(lp, "apex_response_bytes", e);
        master_lp_field(lp, "value", (double)e->total_content_length);
        master_lp_end(lp, now_ms);
    }
}

// apex_errors: the interval's failures by entry and status class.
static void s_errors(master_lp_t *lp, const apex_stats_t *interval,
                     int64_t now_ms)
{
    size_t n = apex_stats_error_count(interval);
    bool *done = apex_calloc(n + 1, sizeof *done);
    for (size_t i = 0; i < n; i++) {
        if (done[i])
            continue;
        const apex_stats_error_t *e = apex_stats_error_at(interval, i);
        char status[MASTER_OUTPUTS_STATUS_MAX],
            other[MASTER_OUTPUTS_STATUS_MAX];
        s_status_class(e->error, status);
        uint64_t count = 0;
        for (size_t j = i; j < n; j++) {
            const apex_stats_error_t *f = apex_stats_error_at(interval, j);
            s_status_class(f->error, other);
            if (!done[j] && strcmp(f->name, e->name) == 0 &&
                strcmp(f->method, e->method) == 0 &&
                strcmp(status, other) == 0) {
                count += f->occurrences;
                done[j] = true;
            }
        }
        master_lp_begin(lp, "apex_errors");
        master_lp_tag(lp, "name", e->name);
        master_lp_tag(lp, "method", e->method);
        master_lp_tag(lp, "status", status);
        master_lp_field(lp, "value", (double)count);
        master_lp_end(lp, now_ms);
    }
    free(done);
}

// The slots record of entry i of stats, reset when the entry changed.
static s_sent_t *s_sent(master_outputs_t *self, size_t i,
                        const apex_stats_entry_t *e)
{
    if (i >= self->nsent) {
        self->sent = apex_realloc(self->sent, i + 1, sizeof *self->sent);
        memset(&self->sent[self->nsent], 0,
               (i + 1 - self->nsent) * sizeof *self->sent);
        self->nsent = i + 1;
    }
    s_sent_t *s = &self->sent[i];
    if (!s->name || strcmp(s->name, e->name) || strcmp(s->method, e->method)) {
        free(s->name);
        free(s->method);
        memset(s, 0, sizeof *s);
        s->name = apex_strdup(e->name);
        s->method = apex_strdup(e->method);
    }
    return s;
}

static void s_forget_sent(master_outputs_t *self, size_t from)
{
    for (size_t i = from; i < self->nsent; i++) {
        free(self->sent[i].name);
        free(self->sent[i].method);
    }
    self->nsent = from < self->nsent ? from : self->nsent;
}

// http_reqs and http_req_failed for every second whose counts changed
// since they were last written.
static void s_seconds(master_outputs_t *self, master_lp_t *lp,
                      const apex_stats_t *stats)
{
    size_t n = apex_stats_size(stats);
    s_forget_sent(self, n);
    for (size_t i = 0; i < n; i++) {
        const apex_stats_entry_t *e = apex_stats_at(stats, i);
        s_sent_t *s = s_sent(self, i, e);
        for (size_t k = 0; k < APEX_STATS_SECONDS; k++) {
            const apex_stats_second_t *now = &e->seconds[k];
            apex_stats_second_t *was = &s->sent[k];
            if (now->sec <= 0 ||
                (now->sec == was->sec && now->reqs == was->reqs &&
                 now->fails == was->fails))
                continue;
            int64_t ms = now->sec * 1000;
            s_entry_tags(lp, "http_reqs", e);
            master_lp_field(lp, "value", (double)now->reqs);
            master_lp_end(lp, ms);
            s_entry_tags(lp, "http_req_failed", e);
            master_lp_field(lp, "value", (double)now->fails);
            master_lp_field(lp, "rate",
                            now->reqs ? (double)now->fails / (double)now->reqs
                                      : 0);
            master_lp_end(lp, ms);
            *was = *now;
        }
    }
}

// apex_stats: an entry's (or the total's) cumulative figures, as the CSV
// and the JSON report have them.
static void s_cumulative(master_lp_t *lp, const apex_stats_t *stats,
                         const apex_stats_entry_t *e, int64_t now_ms)
{
    static const char *const labels[MASTER_REPORT_PERCENTILES] = {
        "p50", "p66", "p75",   "p80",    "p90", "p95",
        "p98", "p99", "p99.9", "p99.99", "p100"};
    s_entry_tags(lp, "apex_stats", e);
    master_lp_field(lp, "requests", (double)e->num_requests);
    master_lp_field(lp, "failures", (double)e->num_failures);
    master_lp_field(lp, "rps", apex_stats_total_rps(stats, e, false));
    master_lp_field(lp, "fail_per_sec", apex_stats_total_rps(stats, e, true));
    if (apex_histogram_count(e->hist)) {
        master_lp_field(lp, "avg", apex_stats_entry_avg_ms(e));
        master_lp_field(lp, "min", apex_stats_entry_min_ms(e));
        master_lp_field(lp, "max", apex_stats_entry_max_ms(e));
        master_lp_field(lp, "median",
                        apex_ms_from_us(apex_histogram_median(e->hist)));
        for (int i = 0; i < MASTER_REPORT_PERCENTILES; i++)
            master_lp_field(lp, labels[i],
                            apex_ms_from_us(apex_histogram_percentile(
                                e->hist, master_report_percentile_list[i])));
    }
    master_lp_end(lp, now_ms);
}

// One value at now_ms: "measurement value=v".
static void s_value(master_lp_t *lp, const char *measurement, double v,
                    int64_t now_ms)
{
    master_lp_begin(lp, measurement);
    master_lp_field(lp, "value", v);
    master_lp_end(lp, now_ms);
}

// Workers: apex_workers by state, apex_worker per worker.
static void s_workers(master_lp_t *lp, const master_api_input_t *in,
                      int64_t now_ms)
{
    for (size_t s = 0; s < in->nworker_state_names; s++) {
        size_t count = 0;
        for (size_t i = 0; i < in->nworkers; i++)
            count +=
                strcmp(in->workers[i].state, in->worker_state_names[s]) == 0;
        master_lp_begin(lp, "apex_workers");
        master_lp_tag(lp, "state", in->worker_state_names[s]);
        master_lp_field(lp, "value", (double)count);
        master_lp_end(lp, now_ms);
    }
    for (size_t i = 0; i < in->nworkers; i++) {
        const master_api_worker_t *w = &in->workers[i];
        master_lp_begin(lp, "apex_worker");
        master_lp_tag(lp, "worker", w->id);
        master_lp_tag(lp, "state", w->state);
        master_lp_field(lp, "users", (double)w->users);
        master_lp_field(lp, "cpu_percent", w->cpu);
        master_lp_field(lp, "memory_bytes", (double)w->memory);
        master_lp_field(lp, "requests", (double)w->requests);
        master_lp_field(lp, "failures", (double)w->failures);
        master_lp_field(lp, "heartbeat_age", w->heartbeat_age);
        master_lp_end(lp, now_ms);
    }
}

// Users, iterations, the workers' figures and the thresholds.
static void s_run_wide(master_outputs_t *self, master_lp_t *lp,
                       const master_api_input_t *in, int64_t now_ms)
{
    s_value(lp, "vus", (double)in->user_count, now_ms);
    s_value(lp, "iterations", (double)self->iterations, now_ms);
    s_value(lp, "dropped_iterations", (double)self->dropped, now_ms);
    for (size_t i = 0; i < self->counters.n; i++)
        s_value(lp, self->counters.items[i].name,
                (double)self->counters.items[i].value, now_ms);
    for (size_t i = 0; in->gauges && i < in->gauges->n; i++) {
        const master_figure_t *g = &in->gauges->items[i];
        master_lp_begin(lp, g->name);
        master_lp_field(lp, "value", (double)g->value);
        if (in->peaks)
            master_lp_field(lp, "peak",
                            (double)master_figures_get(in->peaks, g->name));
        master_lp_end(lp, now_ms);
    }
    s_workers(lp, in, now_ms);
    for (size_t i = 0; in->thresholds && i < in->thresholds->n; i++) {
        const master_threshold_t *t = &in->thresholds->items[i];
        master_lp_begin(lp, "apex_thresholds");
        master_lp_tag(lp, "threshold", t->source);
        master_lp_field(lp, "ok", t->ok ? 1 : 0);
        if (t->has_observed)
            master_lp_field(lp, "observed", t->observed);
        master_lp_end(lp, now_ms);
    }
}

// The interval's points into lines; the number of points.
static size_t s_points(master_outputs_t *self, const master_api_input_t *in,
                       int64_t now_ms)
{
    master_lp_t lp;
    master_lp_init(&lp, &self->lines, self->tags);
    for (size_t i = 0; i < apex_stats_size(self->interval); i++)
        s_durations(&lp, apex_stats_at(self->interval, i), now_ms);
    s_errors(&lp, self->interval, now_ms);
    s_seconds(self, &lp, in->stats);
    for (size_t i = 0; i < apex_stats_size(in->stats); i++)
        s_cumulative(&lp, in->stats, apex_stats_at(in->stats, i), now_ms);
    s_cumulative(&lp, in->stats, apex_stats_total_const(in->stats), now_ms);
    s_run_wide(self, &lp, in, now_ms);
    return lp.points;
}

// ---------------------------------------------------------------------
// Pushing and logging

// Log what a writer did since its log last spoke: new drops, and failing
// writes, each at most once per MASTER_OUTPUTS_LOG_US; a recovery once.
static void s_log(s_out_t *o, uint64_t now)
{
    master_influx_status_t st;
    master_influx_status(o->writer, &st);
    const char *url = master_influx_url(o->writer);
    if (!st.failing && o->said_failing) {
        apex_info("InfluxDB %s: writes succeed again", url);
        o->said_failing = false;
    }
    if (st.dropped > o->logged_dropped &&
        (!o->dropped_at || now - o->dropped_at >= MASTER_OUTPUTS_LOG_US)) {
        apex_warn("InfluxDB %s: %llu points dropped (%llu in all; at most "
                  "%zu are kept while writes fail): %s",
                  url, (unsigned long long)(st.dropped - o->logged_dropped),
                  (unsigned long long)st.dropped, o->queue_points,
                  st.last_error[0] ? st.last_error : "queue full");
        o->logged_dropped = st.dropped;
        o->dropped_at = now;
    }
    if (st.failing && st.failures > o->logged_failures &&
        (!o->failed_at || now - o->failed_at >= MASTER_OUTPUTS_LOG_US)) {
        apex_warn("InfluxDB %s: writes fail (%s); %llu points queued, "
                  "retrying",
                  url, st.last_error, (unsigned long long)st.queued);
        o->logged_failures = st.failures;
        o->failed_at = now;
        o->said_failing = true;
    }
}

static void s_push(master_outputs_t *self)
{
    master_api_worker_t *workers = NULL;
    master_api_input_t in = master_routes_api_input(self->ctx, &workers);
    int64_t now_ms = (int64_t)(apex_wall_time() * 1000);
    uint64_t now = apex_now_us();
    size_t n = s_points(self, &in, now_ms);
    for (size_t i = 0; i < self->nouts; i++) {
        // Every output gets the same batch: the last one takes it, the
        // others a copy.
        apex_buf_t copy;
        apex_buf_init(&copy);
        apex_buf_append(&copy, self->lines.data, self->lines.len);
        bool last = i + 1 == self->nouts;
        master_influx_push(self->outs[i].writer, last ? &self->lines : &copy,
                           n);
        apex_buf_fini(&copy);
        s_log(&self->outs[i], now);
    }
    free(workers);
    apex_stats_reset(self->interval, apex_wall_time());
    self->iterations = 0;
    self->dropped = 0;
    master_figures_clear(&self->counters);
}

static void s_on_timer(apex_loop_t *loop, apex_timer_t *timer)
{
    master_outputs_t *self = timer->arg;
    s_push(self);
    apex_timer_start(loop, timer, self->interval_us);
}

// ---------------------------------------------------------------------
// Life cycle

// Every point's tags: the run id, then APEX_INFLUXDB_TAGS (escaped).
static char *s_common_tags(const char *run_id, const char *user_tags)
{
    apex_buf_t b;
    apex_buf_init(&b);
    apex_buf_puts(&b, "");
    if (run_id && run_id[0]) {
        apex_buf_puts(&b, ",run_id=");
        master_lp_escape_tag(&b, run_id);
    }
    apex_buf_puts(&b, user_tags);
    return apex_buf_take(&b);
}

// Parse --out value arg and start its writer as output i.
static int s_add(master_outputs_t *self, const char *arg,
                 const master_out_env_t *env, apex_error_t *err)
{
    master_out_t config;
    if (master_out_parse(arg, env, &config, err) != 0)
        return -1;
    if (self->nouts == 0) {
        self->interval_us = apex_us_from_s(config.interval);
        self->tags = s_common_tags(self->ctx->run_id, config.tags);
    }
    s_out_t *o = &self->outs[self->nouts];
    o->queue_points = config.queue_points;
    o->writer = master_influx_new(&config, err);
    master_out_fini(&config);
    if (!o->writer)
        return -1;
    self->nouts++;
    apex_info("InfluxDB %s: writing points every %gs (run_id %s)",
              master_influx_url(o->writer), apex_s_from_us(self->interval_us),
              self->ctx->run_id);
    return 0;
}

master_outputs_t *master_outputs_new(const master_routes_ctx_t *ctx,
                                     apex_error_t *err)
{
    const master_options_t *o = ctx->options;
    if (o->nouts == 0)
        return NULL;
    master_outputs_t *self = apex_calloc(1, sizeof *self);
    self->ctx = ctx;
    self->interval = apex_stats_new(apex_wall_time());
    apex_stats_set_limits(self->interval, MASTER_MAX_STATS_ENTRIES,
                          MASTER_MAX_ERRORS);
    apex_buf_init(&self->lines);
    apex_timer_init(&self->timer, s_on_timer, self);
    master_out_env_t env;
    master_out_env_read(&env);
    for (size_t i = 0; i < o->nouts && i < MASTER_OUT_MAX; i++) {
        if (s_add(self, o->outs[i], &env, err) != 0) {
            master_outputs_destroy(&self);
            return NULL;
        }
    }
    apex_timer_start(ctx->loop, &self->timer, self->interval_us);
    return self;
}

void master_outputs_merge(master_outputs_t *self, const proto_msg_t *report)
{
    if (!self)
        return;
    const apex_stats_t *delta = report->stats;
    double now = apex_wall_time();
    const apex_stats_t *run = self->ctx->results->stats;
    for (size_t i = 0; i < apex_stats_size(delta); i++) {
        const apex_stats_entry_t *src = apex_stats_at(delta, i);
        // A name the run's statistics folded (master/results.c) is folded
        // here too, so the points match the CSV's rows.
        apex_stats_entry_merge(
            apex_stats_find(run, src->method, src->name)
                ? apex_stats_get(self->interval, src->method, src->name, now)
                : apex_stats_other(self->interval, now),
            src);
    }
    for (size_t i = 0; i < apex_stats_error_count(delta); i++)
        apex_stats_merge_error(self->interval, apex_stats_error_at(delta, i));
    self->iterations = apex_count_add(self->iterations, report->iterations);
    self->dropped = apex_count_add(self->dropped, report->dropped_iterations);
    for (size_t i = 0; i < report->ncounters; i++)
        master_figures_add(&self->counters, report->counters[i].name,
                           report->counters[i].value);
}

void master_outputs_flush(master_outputs_t *self)
{
    if (!self)
        return;
    apex_timer_stop(self->ctx->loop, &self->timer);
    s_push(self);
    for (size_t i = 0; i < self->nouts; i++)
        master_influx_stop(self->outs[i].writer, MASTER_OUTPUTS_FLUSH_S);
}

void master_outputs_destroy(master_outputs_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    master_outputs_t *self = *self_p;
    apex_timer_stop(self->ctx->loop, &self->timer);
    // Stop them all first, so they flush side by side.
    for (size_t i = 0; i < self->nouts; i++)
        master_influx_stop(self->outs[i].writer, MASTER_OUTPUTS_FLUSH_S);
    for (size_t i = 0; i < self->nouts; i++) {
        master_influx_status_t st;
        char *url = apex_strdup(master_influx_url(self->outs[i].writer));
        master_influx_destroy(&self->outs[i].writer, MASTER_OUTPUTS_FLUSH_S,
                              &st);
        apex_log(st.dropped ? APEX_LOG_WARNING : APEX_LOG_INFO,
                 "InfluxDB %s: %llu points written, %llu dropped%s%s", url,
                 (unsigned long long)st.written, (unsigned long long)st.dropped,
                 st.dropped && st.last_error[0] ? "; last error: " : "",
                 st.dropped ? st.last_error : "");
        free(url);
    }
    apex_stats_destroy(&self->interval);
    master_figures_clear(&self->counters);
    s_forget_sent(self, 0);
    free(self->sent);
    apex_buf_fini(&self->lines);
    free(self->tags);
    free(self);
    *self_p = NULL;
}
