// master/report_json.c - see report_json.h. Built with jansson; times are
// milliseconds with microsecond precision, taken from the exact merged
// histograms; absent values (no data) are null.
#include "master/report_json.h"
#include "master/trends.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/version.h"

static const char *const s_labels[MASTER_REPORT_PERCENTILES] = {
    "50", "66", "75", "80", "90", "95", "98", "99", "99.9", "99.99", "100"};

static json_t *s_iso(double t)
{
    if (t <= 0)
        return json_null();
    time_t secs = (time_t)t;
    struct tm tm;
    gmtime_r(&secs, &tm);
    char text[32];
    strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(text);
}

static json_t *s_entry(const apex_stats_t *stats, const apex_stats_entry_t *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "method", json_string(e->method));
    json_object_set_new(o, "name", json_string(e->name));
    json_object_set_new(o, "requests",
                        json_integer((json_int_t)e->num_requests));
    json_object_set_new(o, "failures",
                        json_integer((json_int_t)e->num_failures));
    json_object_set_new(o, "fail_ratio",
                        json_real(apex_stats_entry_fail_ratio(e)));
    json_object_set_new(o, "rps",
                        json_real(apex_stats_total_rps(stats, e, false)));
    json_object_set_new(o, "fail_per_sec",
                        json_real(apex_stats_total_rps(stats, e, true)));
    bool timed = apex_histogram_count(e->hist) > 0;
    json_object_set_new(o, "min_ms",
                        timed ? json_real(apex_stats_entry_min_ms(e))
                              : json_null());
    json_object_set_new(o, "avg_ms",
                        timed ? json_real(apex_stats_entry_avg_ms(e))
                              : json_null());
    json_object_set_new(o, "max_ms",
                        timed ? json_real(apex_stats_entry_max_ms(e))
                              : json_null());
    json_object_set_new(
        o, "median_ms",
        timed ? json_real(apex_ms_from_us(apex_histogram_median(e->hist)))
              : json_null());
    json_object_set_new(o, "avg_content_length",
                        json_real(apex_stats_entry_avg_content_length(e)));
    json_t *pct = json_object();
    for (int i = 0; i < MASTER_REPORT_PERCENTILES; i++)
        json_object_set_new(
            pct, s_labels[i],
            timed ? json_real((double)apex_histogram_percentile(
                                  e->hist, master_report_percentile_list[i]) /
                              1000.0)
                  : json_null());
    json_object_set_new(o, "percentiles_ms", pct);
    if (e->service && apex_histogram_count(e->service)) {
        // Open model: the server's time, next to the latency measured
        // from each iteration's intended start.
        json_t *svc = json_object();
        json_object_set_new(
            svc, "count",
            json_integer((json_int_t)apex_histogram_count(e->service)));
        json_object_set_new(
            svc, "p50_ms",
            json_real((double)apex_histogram_percentile(e->service, 0.5) /
                      1000.0));
        json_object_set_new(
            svc, "p95_ms",
            json_real((double)apex_histogram_percentile(e->service, 0.95) /
                      1000.0));
        json_object_set_new(
            svc, "p99_ms",
            json_real((double)apex_histogram_percentile(e->service, 0.99) /
                      1000.0));
        json_object_set_new(
            svc, "max_ms",
            json_real(apex_ms_from_us(apex_histogram_max(e->service))));
        json_object_set_new(o, "service", svc);
    }
    return o;
}

static json_t *s_shape(const master_shape_t *shape)
{
    if (!shape)
        return json_null();
    json_t *o = json_object();
    json_t *stages = json_array();
    for (size_t i = 0; i < shape->nstages; i++) {
        const master_stage_t *s = &shape->stages[i];
        json_t *st = json_object();
        json_object_set_new(st, "duration", json_real(s->duration));
        json_object_set_new(
            st, shape->kind == MASTER_SHAPE_STAGES ? "users" : "target",
            json_real(s->target));
        if (shape->kind == MASTER_SHAPE_STAGES)
            json_object_set_new(st, "spawn_rate",
                                s->spawn_rate > 0 ? json_real(s->spawn_rate)
                                                  : json_null());
        json_array_append_new(stages, st);
    }
    if (shape->kind == MASTER_SHAPE_STAGES) {
        json_object_set_new(o, "kind", json_string("stages"));
    } else {
        json_object_set_new(o, "kind", json_string("arrival_rate"));
        json_object_set_new(o, "time_unit", json_real(shape->time_unit));
        json_object_set_new(o, "start_rate", json_real(shape->start_rate));
        json_object_set_new(o, "pre_allocated_users",
                            json_integer(shape->pre_allocated));
        json_object_set_new(o, "max_users", json_integer(shape->max_users));
    }
    json_object_set_new(o, "stages", stages);
    json_object_set_new(o, "duration", json_real(master_shape_duration(shape)));
    return o;
}

json_t *master_json_errors(const apex_stats_t *stats, size_t max)
{
    json_t *errors = json_array();
    for (size_t i = 0; i < apex_stats_error_count(stats) && i < max; i++) {
        const apex_stats_error_t *e = apex_stats_error_at(stats, i);
        json_t *o = json_object();
        json_object_set_new(o, "method", json_string(e->method));
        json_object_set_new(o, "name", json_string(e->name));
        json_object_set_new(o, "error", json_string(e->error));
        json_object_set_new(o, "occurrences",
                            json_integer((json_int_t)e->occurrences));
        json_object_set_new(o, "first_seen",
                            e->first_seen > 0 ? json_real(e->first_seen)
                                              : json_null());
        json_object_set_new(o, "last_seen",
                            e->last_seen > 0 ? json_real(e->last_seen)
                                             : json_null());
        json_array_append_new(errors, o);
    }
    return errors;
}

json_t *master_json_exceptions(const master_exception_t *exceptions, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "count",
                            json_integer((json_int_t)exceptions[i].count));
        json_object_set_new(o, "msg", json_string(exceptions[i].msg));
        json_object_set_new(o, "traceback",
                            json_string(exceptions[i].traceback));
        json_object_set_new(o, "nodes", json_string(exceptions[i].nodes));
        json_array_append_new(list, o);
    }
    return list;
}

void master_json_set_load(json_t *o, int64_t users, double spawn_rate,
                          double run_time)
{
    json_object_set_new(o, "users", json_integer(users));
    json_object_set_new(o, "spawn_rate", json_real(spawn_rate));
    json_object_set_new(o, "run_time",
                        run_time > 0 ? json_real(run_time) : json_null());
}

static json_t *s_workers(const master_json_input_t *in)
{
    json_t *workers = json_array();
    for (size_t i = 0; i < in->nworkers; i++) {
        const master_worker_row_t *w = &in->workers[i];
        json_t *o = json_object();
        json_object_set_new(o, "id", json_string(w->id));
        json_object_set_new(o, "kind", json_string(w->kind));
        json_object_set_new(o, "state", json_string(w->state));
        json_object_set_new(o, "max_users", json_integer(w->users));
        json_object_set_new(o, "requests",
                            json_integer((json_int_t)w->requests));
        json_object_set_new(o, "failures",
                            json_integer((json_int_t)w->failures));
        json_object_set_new(o, "cpu", json_real(w->cpu));
        json_object_set_new(o, "memory", json_integer((json_int_t)w->memory));
        json_array_append_new(workers, o);
    }
    return workers;
}

// The "run" object: when, what, how it ended, and who ran it.
static json_t *s_run(const master_json_input_t *in)
{
    json_t *run = json_object();
    json_object_set_new(run, "run_id",
                        in->run_id ? json_string(in->run_id) : json_null());
    json_object_set_new(run, "start", s_iso(in->start_time));
    json_object_set_new(run, "end", s_iso(in->end_time));
    json_object_set_new(run, "start_time", json_real(in->start_time));
    json_object_set_new(run, "end_time", json_real(in->end_time));
    json_object_set_new(run, "duration",
                        json_real(in->end_time > in->start_time
                                      ? in->end_time - in->start_time
                                      : 0));
    json_object_set_new(run, "host",
                        in->host ? json_string(in->host) : json_null());
    json_object_set_new(run, "scenario",
                        in->scenario ? json_string(in->scenario) : json_null());
    json_t *desc = in->description
                       ? json_loads(in->description, JSON_DECODE_ANY, NULL)
                       : NULL;
    json_object_set_new(run, "description", desc ? desc : json_null());
    master_json_set_load(run, in->users, in->spawn_rate, in->run_time);
    json_object_set_new(run, "shape", s_shape(in->shape));
    json_object_set_new(run, "exit_code", json_integer(in->exit_code));
    json_object_set_new(run, "verdict", json_string(in->verdict));
    json_object_set_new(run, "workers", s_workers(in));
    return run;
}

json_t *master_json_thresholds(const master_thresholds_t *th, bool detailed)
{
    json_t *thresholds = json_array();
    for (size_t i = 0; th && i < th->n; i++) {
        const master_threshold_t *t = &th->items[i];
        json_t *o = json_object();
        json_object_set_new(o, "source", json_string(t->source));
        if (detailed) {
            json_object_set_new(o, "metric", json_string(t->metric_name));
            json_object_set_new(
                o, "filter", t->filter ? json_string(t->filter) : json_null());
            json_object_set_new(o, "expression", json_string(t->expression));
        }
        json_object_set_new(o, "observed",
                            t->has_observed ? json_real(t->observed)
                                            : json_null());
        json_object_set_new(o, "unit", json_string(master_threshold_unit(t)));
        json_object_set_new(o, "ok", json_boolean(t->ok));
        if (detailed)
            json_object_set_new(o, "abort_on_fail",
                                json_boolean(t->abort_on_fail));
        json_array_append_new(thresholds, o);
    }
    return thresholds;
}

char *master_report_json(const master_json_input_t *in)
{
    json_t *root = json_object();
    json_object_set_new(root, "apex_version", json_string(APEX_VERSION));
    json_object_set_new(root, "run", s_run(in));

    json_t *entries = json_array();
    apex_stats_entry_t **sorted = apex_stats_sorted(in->stats);
    for (size_t i = 0; i < apex_stats_size(in->stats); i++)
        json_array_append_new(entries, s_entry(in->stats, sorted[i]));
    free(sorted);
    json_object_set_new(root, "entries", entries);
    json_object_set_new(root, "total",
                        s_entry(in->stats, apex_stats_total_const(in->stats)));
    json_object_set_new(root, "errors",
                        master_json_errors(in->stats, SIZE_MAX));
    json_object_set_new(
        root, "exceptions",
        master_json_exceptions(in->exceptions, in->nexceptions));
    json_object_set_new(root, "thresholds",
                        master_json_thresholds(in->thresholds, true));
    json_object_set_new(root, "iterations",
                        json_integer((json_int_t)in->iterations));
    json_object_set_new(root, "dropped_iterations",
                        json_integer((json_int_t)in->dropped_iterations));
    json_object_set_new(
        root, "figures",
        master_json_figures(in->counters, in->gauges, in->peaks));
    json_object_set_new(root, "checks", master_json_checks(in->checks));
    json_object_set_new(root, "trends", master_trends_json(in->trends));
    json_t *history =
        in->history ? master_history_json(in->history) : json_array();
    json_object_set_new(root, "history", history);

    char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                      JSON_REAL_PRECISION(12));
    json_decref(root);
    char *copy = apex_strdup(text ? text : "{}");
    free(text);
    return copy;
}

int master_write_file(const char *path, const char *text, apex_error_t *err)
{
    char *tmp = apex_sprintf("%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    int rc = 0;
    if (!f) {
        rc = apex_error_set(err, "%s: cannot write: %s", path, strerror(errno));
        goto done;
    }
    size_t len = strlen(text);
    size_t n = fwrite(text, 1, len, f);
    if (fclose(f) != 0 || n != len) {
        rc = apex_error_set(err, "%s: write failed: %s", path, strerror(errno));
        goto done;
    }
    if (rename(tmp, path) != 0)
        rc = apex_error_set(err, "%s: cannot rename %s: %s", path, tmp,
                            strerror(errno));
done:
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

static json_t *s_figures_object(const master_figures_t *f)
{
    json_t *o = json_object();
    for (size_t i = 0; f && i < f->n; i++)
        json_object_set_new(o, f->items[i].name,
                            json_integer((json_int_t)f->items[i].value));
    return o;
}

json_t *master_json_checks(const master_checks_t *checks)
{
    json_t *a = json_array();
    for (size_t i = 0; checks && i < checks->n; i++) {
        const master_check_t *c = &checks->items[i];
        json_array_append_new(a, json_pack("{s:s, s:I, s:I}", "name", c->name,
                                           "passes", (json_int_t)c->passes,
                                           "fails", (json_int_t)c->fails));
    }
    return a;
}

json_t *master_json_figures(const master_figures_t *counters,
                            const master_figures_t *gauges,
                            const master_figures_t *peaks)
{
    json_t *o = json_object();
    json_object_set_new(o, "counters", s_figures_object(counters));
    json_object_set_new(o, "gauges", s_figures_object(gauges));
    json_object_set_new(o, "peaks", s_figures_object(peaks));
    int64_t sessions =
        counters ? master_figures_get(counters, "ws_sessions") : 0;
    if (sessions > 0)
        json_object_set_new(
            o, "ws_drop_rate",
            json_real((double)master_figures_get(counters, "ws_drops") /
                      (double)sessions));
    return o;
}
