// master/api.c - see api.h. Entries hold both Locust 2.12.1's keys
// (ninetieth_response_time, safe_name, current_response_time_percentile_50)
// and the newest ones (response_time_percentile_0.95, total_rps), so
// dashboards written for either keep working; "apex_percentiles_ms" and
// the top-level "apex" object are ours.
#include "master/api.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/cli.h"
#include "common/url.h"
#include "common/version.h"
#include "master/limits.h"
#include "master/report_json.h"
#include "master/trends.h"

#define MASTER_API_MAX_ROWS 500 // entries and errors Locust shows at most

static char *s_dump(json_t *root)
{
    char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                      JSON_REAL_PRECISION(12));
    json_decref(root);
    char *copy = apex_strdup(text ? text : "null");
    free(text);
    return copy;
}

// Locust's integer-ms percentile (0 when empty).
static json_t *s_pct_int(const apex_stats_entry_t *e, double p)
{
    return json_integer((json_int_t)apex_stats_entry_percentile_ms(e, p));
}

static json_t *s_entry(const apex_stats_t *stats, const apex_stats_entry_t *e)
{
    bool timed = apex_histogram_count(e->hist) > 0;
    json_t *o = json_object();
    json_object_set_new(o, "method", json_string(e->method));
    json_object_set_new(o, "name", json_string(e->name));
    json_object_set_new(o, "safe_name", json_string(e->name));
    json_object_set_new(o, "num_requests",
                        json_integer((json_int_t)e->num_requests));
    json_object_set_new(o, "num_failures",
                        json_integer((json_int_t)e->num_failures));
    json_object_set_new(o, "avg_response_time",
                        json_real(apex_stats_entry_avg_ms(e)));
    json_object_set_new(o, "min_response_time",
                        json_real(apex_stats_entry_min_ms(e)));
    json_object_set_new(o, "max_response_time",
                        json_real(apex_stats_entry_max_ms(e)));
    json_object_set_new(o, "median_response_time",
                        json_real(apex_stats_entry_median_ms(e)));
    json_object_set_new(o, "avg_content_length",
                        json_real(apex_stats_entry_avg_content_length(e)));
    json_object_set_new(o, "current_rps",
                        json_real(apex_stats_current_rps(stats, e, false)));
    json_object_set_new(o, "current_fail_per_sec",
                        json_real(apex_stats_current_rps(stats, e, true)));
    json_object_set_new(o, "total_rps",
                        json_real(apex_stats_total_rps(stats, e, false)));
    json_object_set_new(o, "total_fail_per_sec",
                        json_real(apex_stats_total_rps(stats, e, true)));
    json_object_set_new(o, "ninetieth_response_time", s_pct_int(e, 0.90));
    json_object_set_new(o, "ninety_ninth_response_time", s_pct_int(e, 0.99));
    json_object_set_new(o, "response_time_percentile_0.95", s_pct_int(e, 0.95));
    json_object_set_new(o, "response_time_percentile_0.99", s_pct_int(e, 0.99));
    json_t *pct = json_object();
    static const struct {
        const char *key; // label
        double p;        // percentile
    } list[] = {{"50", 0.5},  {"90", 0.9},     {"95", 0.95},
                {"99", 0.99}, {"99.9", 0.999}, {"100", 1.0}};
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++)
        json_object_set_new(pct, list[i].key,
                            timed ? json_real((double)apex_histogram_percentile(
                                                  e->hist, list[i].p) /
                                              1000.0)
                                  : json_null());
    json_object_set_new(o, "apex_percentiles_ms", pct);
    return o;
}

// An integer millisecond value, or null.
static json_t *s_ms_int(double ms)
{
    return isfinite(ms) ? json_integer((json_int_t)nearbyint(ms)) : json_null();
}

// The top-level counts and rates, Locust's "current" percentiles
// (p50/p95 over the last window, in ms) among them.
static void s_stats_head(json_t *root, const master_api_input_t *in, double p50,
                         double p95)
{
    const apex_stats_entry_t *total = apex_stats_total_const(in->stats);
    json_object_set_new(root, "state", json_string(in->state));
    json_object_set_new(root, "user_count", json_integer(in->user_count));
    json_object_set_new(root, "worker_count",
                        json_integer((json_int_t)in->nworkers));
    json_object_set_new(root, "fail_ratio",
                        json_real(apex_stats_entry_fail_ratio(total)));
    json_object_set_new(
        root, "total_rps",
        json_real(apex_stats_total_rps(in->stats, total, false)));
    json_object_set_new(
        root, "total_fail_per_sec",
        json_real(apex_stats_total_rps(in->stats, total, true)));
    json_object_set_new(
        root, "current_rps",
        json_real(apex_stats_current_rps(in->stats, total, false)));
    json_object_set_new(
        root, "current_fail_per_sec",
        json_real(apex_stats_current_rps(in->stats, total, true)));
    json_t *cur = json_object();
    json_object_set_new(cur, "response_time_percentile_0.5", s_ms_int(p50));
    json_object_set_new(cur, "response_time_percentile_0.95", s_ms_int(p95));
    json_object_set_new(root, "current_response_time_percentiles", cur);
    json_object_set_new(root, "current_response_time_percentile_50",
                        s_ms_int(p50));
    json_object_set_new(root, "current_response_time_percentile_95",
                        s_ms_int(p95));
}

static json_t *s_workers(const master_api_input_t *in)
{
    json_t *workers = json_array();
    for (size_t i = 0; i < in->nworkers; i++) {
        const master_api_worker_t *w = &in->workers[i];
        json_t *o = json_object();
        json_object_set_new(o, "id", json_string(w->id));
        json_object_set_new(o, "state", json_string(w->state));
        json_object_set_new(o, "user_count", json_integer(w->users));
        json_object_set_new(o, "cpu_usage", json_real(w->cpu));
        json_object_set_new(o, "memory_usage",
                            json_integer((json_int_t)w->memory));
        json_object_set_new(o, "kind", json_string(w->kind));
        json_object_set_new(o, "heartbeat_age", json_real(w->heartbeat_age));
        json_object_set_new(o, "requests",
                            json_integer((json_int_t)w->requests));
        json_object_set_new(o, "failures",
                            json_integer((json_int_t)w->failures));
        json_array_append_new(workers, o);
    }
    return workers;
}

// Our "apex" object: the shape's stage and target, the current window's
// percentiles with microsecond precision (the Locust keys are whole
// milliseconds), iterations, thresholds, the workers' run-wide figures and
// the checks' counts.
static json_t *s_apex(const master_api_input_t *in, double p50, double p95)
{
    json_t *apex = json_object();
    bool shaped = in->shape && in->shape_running && in->point;
    json_object_set_new(apex, "stage",
                        shaped ? json_integer((json_int_t)in->point->stage)
                               : json_null());
    json_object_set_new(apex, "stages",
                        in->shape ? json_integer((json_int_t)in->shape->nstages)
                                  : json_null());
    json_object_set_new(apex, "target_users",
                        shaped && in->shape->kind == MASTER_SHAPE_STAGES
                            ? json_real(in->point->users)
                            : json_null());
    json_object_set_new(apex, "target_rate",
                        shaped && in->shape->kind == MASTER_SHAPE_ARRIVAL
                            ? json_real(in->point->rate)
                            : json_null());
    json_t *current = json_object();
    json_object_set_new(current, "50",
                        isfinite(p50) ? json_real(p50) : json_null());
    json_object_set_new(current, "95",
                        isfinite(p95) ? json_real(p95) : json_null());
    json_object_set_new(apex, "current_percentiles_ms", current);
    json_object_set_new(apex, "iterations",
                        json_integer((json_int_t)in->iterations));
    json_object_set_new(apex, "dropped_iterations",
                        json_integer((json_int_t)in->dropped_iterations));
    json_object_set_new(apex, "thresholds",
                        master_json_thresholds(in->thresholds, false));
    json_object_set_new(
        apex, "figures",
        master_json_figures(in->counters, in->gauges, in->peaks));
    json_object_set_new(apex, "trends", master_trends_json(in->trends));
    json_object_set_new(apex, "checks", master_json_checks(in->checks));
    return apex;
}

char *master_api_stats(const master_api_input_t *in)
{
    double p50 = master_history_current_percentile(in->history, in->stats, 0.5);
    double p95 =
        master_history_current_percentile(in->history, in->stats, 0.95);
    json_t *root = json_object();
    s_stats_head(root, in, p50, p95);

    json_t *stats = json_array();
    apex_stats_entry_t **sorted = apex_stats_sorted(in->stats);
    size_t n = apex_stats_size(in->stats);
    for (size_t i = 0; i < n && i < MASTER_API_MAX_ROWS; i++)
        json_array_append_new(stats, s_entry(in->stats, sorted[i]));
    free(sorted);
    json_array_append_new(
        stats, s_entry(in->stats, apex_stats_total_const(in->stats)));
    json_object_set_new(root, "stats", stats);
    json_object_set_new(root, "errors",
                        master_json_errors(in->stats, MASTER_API_MAX_ROWS));
    json_object_set_new(root, "workers", s_workers(in));
    json_object_set_new(root, "apex", s_apex(in, p50, p95));
    return s_dump(root);
}

char *master_api_exceptions(const master_exception_t *exceptions, size_t n)
{
    json_t *root = json_object();
    json_object_set_new(root, "exceptions",
                        master_json_exceptions(exceptions, n));
    return s_dump(root);
}

// Add ratio to key's {"ratio"} in o (a new key starts at 0): tasks that
// share a name add up, as Locust's count of a task listed twice.
static void s_add_ratio(json_t *o, const char *key, double ratio)
{
    json_t *entry = json_object_get(o, key);
    if (!entry) {
        entry = json_object();
        json_object_set_new(entry, "ratio", json_real(0));
        json_object_set_new(o, key, entry);
    }
    json_t *old = json_object_get(entry, "ratio");
    json_object_set_new(entry, "ratio",
                        json_real(json_real_value(old) + ratio));
}

// Task t's name for /tasks (Locust shows its function's): its "name",
// else its first step's stats type and name ("GET /health"), else
// "task" and its number. A new string the caller frees.
static char *s_task_name(const apex_task_t *task, size_t t)
{
    if (task->name)
        return apex_strdup(task->name);
    const apex_step_t *first = task->nsteps ? &task->steps[0] : NULL;
    if (first && first->type && first->name)
        return apex_sprintf("%s %s", first->type, first->name);
    return apex_sprintf("task%zu", t + 1);
}

// One class's {"ratio", "tasks"}: its tasks' shares of the class times
// scale (1 for per_class, the class's share for total).
static json_t *s_class_ratios(const apex_user_class_t *cls, double ratio,
                              double scale)
{
    double weights = 0;
    for (size_t t = 0; t < cls->ntasks; t++)
        weights += cls->tasks[t].weight;
    json_t *tasks = json_object();
    for (size_t t = 0; t < cls->ntasks; t++) {
        char *name = s_task_name(&cls->tasks[t], t);
        double r = weights > 0 ? cls->tasks[t].weight / weights : 0;
        s_add_ratio(tasks, name, r * scale);
        free(name);
    }
    json_t *o = json_object();
    json_object_set_new(o, "ratio", json_real(ratio));
    json_object_set_new(o, "tasks", tasks);
    return o;
}

char *master_api_tasks(const apex_scenario_t *scenario,
                       const int64_t *users_running)
{
    json_t *per_class = json_object();
    json_t *total = json_object();
    int64_t running = 0;
    for (size_t c = 0; c < scenario->nusers; c++)
        running += users_running[c];
    for (size_t c = 0; c < scenario->nusers; c++) {
        const apex_user_class_t *cls = &scenario->users[c];
        // Locust's get_ratio(): a class's ratio is its share of the
        // running users (0 before a test) in both views.
        double share =
            running > 0 ? (double)users_running[c] / (double)running : 0;
        json_object_set_new(per_class, cls->name,
                            s_class_ratios(cls, share, 1.0));
        json_object_set_new(total, cls->name,
                            s_class_ratios(cls, share, share));
    }
    json_t *root = json_object();
    json_object_set_new(root, "per_class", per_class);
    json_object_set_new(root, "total", total);
    return s_dump(root);
}

char *master_api_history(const master_history_t *history)
{
    return s_dump(master_history_json(history));
}

// The answers below keep jansson's default real precision (17 digits):
// s_dump() rounds to 12, which would change how they print.
static char *s_dump_exact(json_t *root, size_t flags)
{
    char *text = json_dumps(root, flags);
    json_decref(root);
    return text ? text : apex_strdup("{}");
}

char *master_api_config(const master_api_config_t *in)
{
    json_t *o = json_object();
    json_object_set_new(o, "host",
                        in->host ? json_string(in->host) : json_null());
    master_json_set_load(o, in->users, in->spawn_rate, in->run_time);
    json_object_set_new(o, "scenario", json_string(in->scenario_path));
    json_t *classes = json_array();
    for (size_t c = 0; c < in->scenario->nusers; c++)
        json_array_append_new(classes,
                              json_string(in->scenario->users[c].name));
    json_object_set_new(o, "user_classes", classes);
    json_object_set_new(o, "has_thresholds", json_boolean(in->has_thresholds));
    json_t *shape = json_null();
    if (in->shape) {
        char *text = master_shape_describe(in->shape);
        shape = json_object();
        json_object_set_new(shape, "kind",
                            json_string(in->shape->kind == MASTER_SHAPE_STAGES
                                            ? "stages"
                                            : "arrival_rate"));
        json_object_set_new(shape, "description", json_string(text));
        json_object_set_new(shape, "duration",
                            json_real(master_shape_duration(in->shape)));
        free(text);
    }
    json_object_set_new(o, "shape", shape);
    json_object_set_new(o, "full_history_csv",
                        json_boolean(in->full_history_csv));
    // What a worker needs to join (the UI says so while none has).
    json_object_set_new(
        o, "master_bind_host",
        json_string(in->master_bind_host ? in->master_bind_host : "*"));
    json_object_set_new(o, "master_port", json_integer(in->master_port));
    json_object_set_new(o, "local_workers", json_integer(in->local_workers));
    json_object_set_new(o, "version", json_string(APEX_VERSION));
    return s_dump_exact(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

char *master_api_error(const char *message)
{
    json_t *o = json_object();
    json_object_set_new(o, "success", json_false());
    json_object_set_new(o, "message", json_string(message));
    return s_dump_exact(o, JSON_COMPACT);
}

// The user count and spawn rate a test without a shape needs.
static int s_swarm_counts(const master_web_request_t *req,
                          master_api_swarm_t *out, apex_error_t *err)
{
    const char *users_text = master_web_arg(req, "user_count");
    const char *rate_text = master_web_arg(req, "spawn_rate");
    if (!users_text || !rate_text)
        return apex_error_set(err, "Missing user_count or spawn_rate from "
                                   "/swarm request");
    apex_error_t e = {""};
    long users = 0;
    if (apex_parse_long(users_text, 0, MASTER_MAX_USERS, &users, &e) != 0)
        return apex_error_set(err, "user_count: %s", e.msg);
    out->users = users;
    if (apex_parse_double(rate_text, MASTER_MIN_SPAWN_RATE,
                          MASTER_MAX_SPAWN_RATE, &out->spawn_rate, &e) != 0)
        return apex_error_set(err, "spawn_rate: %s", e.msg);
    return 0;
}

// host without '<' and '>' (Locust strips them); we also insist on a URL.
static int s_swarm_host(const char *host, master_api_swarm_t *out,
                        apex_error_t *err)
{
    apex_buf_t b;
    apex_buf_init(&b);
    for (const char *p = host; *p; p++)
        if (*p != '<' && *p != '>')
            apex_buf_putc(&b, *p);
    char *clean = apex_buf_take(&b);
    if (!apex_url_is_absolute(clean)) {
        free(clean);
        return apex_error_set(err, "host: expected a URL starting with "
                                   "http:// or https://");
    }
    out->host = clean;
    return 0;
}

int master_api_swarm_form(const master_web_request_t *req, bool shaped,
                          master_api_swarm_t *out, apex_error_t *err)
{
    memset(out, 0, sizeof *out);
    if (req->form_error)
        return apex_error_set(err, "expected a form "
                                   "(application/x-www-form-urlencoded)");
    if (!shaped && s_swarm_counts(req, out, err) != 0)
        return -1;
    const char *run_time = master_web_arg(req, "run_time");
    apex_error_t e = {""};
    if (run_time && run_time[0] &&
        (apex_parse_duration(run_time, &out->run_time, &e) != 0 ||
         out->run_time <= 0))
        return apex_error_set(err, "Valid run_time formats are : 20, 20s, "
                                   "3m, 2h, 1h20m, 3h30m10s, etc.");
    const char *host = master_web_arg(req, "host");
    if (host && host[0])
        return s_swarm_host(host, out, err);
    return 0;
}

char *master_api_swarm_reply(bool shaped, const char *host, double run_time)
{
    json_t *o = json_object();
    json_object_set_new(o, "success", json_true());
    json_object_set_new(o, "message",
                        json_string(shaped ? "Swarming started using the load "
                                             "shape"
                                           : "Swarming started"));
    json_object_set_new(o, "host", host ? json_string(host) : json_null());
    if (run_time > 0)
        json_object_set_new(o, "run_time", json_real(run_time));
    return s_dump_exact(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
}
