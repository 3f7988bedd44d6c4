// master/shape.c - see shape.h.
//
// Stages follow k6's ramping-vus: the target moves linearly from the end
// of the previous stage (0 at the start) to the stage's target over its
// duration; the master re-targets once a second, so the users on the
// workers follow the line within one dispatch step. A stage with a
// spawn_rate is a step instead: its target at once, ramped at that rate
// (Locust's way). Arrival rates follow k6's ramping-arrival-rate: from
// start_rate linearly to each stage's target; a constant rate is one
// stage whose start and target are equal.
#include "master/shape.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/cli.h"

typedef struct {
    const char *origin; // file name for errors
    apex_error_t *err;  // where errors go
} s_ctx_t;

static int s_fail(s_ctx_t *ctx, const char *path, const char *what)
{
    return apex_error_set(ctx->err, "%s: %s: %s", ctx->origin, path, what);
}

// A duration: a number of seconds or a string such as "1m30s".
static int s_duration(s_ctx_t *ctx, json_t *v, const char *path, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
    } else if (json_is_string(v)) {
        apex_error_t e = {""};
        if (apex_parse_duration(json_string_value(v), out, &e) != 0)
            return s_fail(ctx, path, e.msg);
    } else {
        return s_fail(ctx, path,
                      "expected a duration (seconds, or a string "
                      "such as \"30s\" or \"1m30s\")");
    }
    if (!(*out > 0) || *out > MASTER_MAX_DURATION_S)
        return s_fail(ctx, path,
                      "expected a duration above 0 and at most a "
                      "year");
    return 0;
}

static int s_number(s_ctx_t *ctx, json_t *v, const char *path, double min,
                    double max, double *out)
{
    if (!json_is_number(v) || json_number_value(v) < min ||
        json_number_value(v) > max || !isfinite(json_number_value(v))) {
        char what[128];
        snprintf(what, sizeof what, "expected a number from %g to %g", min,
                 max);
        return s_fail(ctx, path, what);
    }
    *out = json_number_value(v);
    return 0;
}

static int s_keys(s_ctx_t *ctx, json_t *obj, const char *path,
                  const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, key) == 0)
                ok = true;
        if (!ok) {
            apex_buf_t list;
            apex_buf_init(&list);
            for (const char *const *a = allowed; *a; a++)
                apex_buf_printf(&list, "%s%s", a == allowed ? "" : ", ", *a);
            char where[256];
            snprintf(where, sizeof where, "%s.%s", path, key);
            char what[512];
            snprintf(what, sizeof what, "unknown key (expected one of: %s)",
                     apex_buf_str(&list));
            apex_buf_fini(&list);
            return s_fail(ctx, where, what);
        }
    }
    return 0;
}

static int s_stages(s_ctx_t *ctx, json_t *arr, const char *path,
                    master_shape_t *shape, bool arrival)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0 ||
        json_array_size(arr) > MASTER_SHAPE_MAX_STAGES)
        return s_fail(ctx, path, "expected a list of 1 to 1000 stages");
    shape->nstages = json_array_size(arr);
    shape->stages = apex_calloc(shape->nstages, sizeof *shape->stages);
    static const char *const users_keys[] = {"duration", "users", "spawn_rate",
                                             NULL};
    static const char *const rate_keys[] = {"duration", "target", NULL};
    for (size_t i = 0; i < shape->nstages; i++) {
        json_t *st = json_array_get(arr, i);
        char where[256], sub[300];
        snprintf(where, sizeof where, "%s[%zu]", path, i);
        if (!json_is_object(st))
            return s_fail(ctx, where, "expected an object");
        if (s_keys(ctx, st, where, arrival ? rate_keys : users_keys))
            return -1;
        master_stage_t *s = &shape->stages[i];
        snprintf(sub, sizeof sub, "%s.duration", where);
        if (s_duration(ctx, json_object_get(st, "duration"), sub, &s->duration))
            return -1;
        snprintf(sub, sizeof sub, "%s.%s", where, arrival ? "target" : "users");
        if (s_number(ctx, json_object_get(st, arrival ? "target" : "users"),
                     sub, 0, MASTER_SHAPE_MAX_USERS, &s->target))
            return -1;
        if (!arrival && json_object_get(st, "spawn_rate")) {
            snprintf(sub, sizeof sub, "%s.spawn_rate", where);
            if (s_number(ctx, json_object_get(st, "spawn_rate"), sub,
                         MASTER_MIN_SPAWN_RATE, MASTER_MAX_SPAWN_RATE,
                         &s->spawn_rate))
                return -1;
        }
        if (!arrival && s->target != floor(s->target)) {
            snprintf(sub, sizeof sub, "%s.users", where);
            return s_fail(ctx, sub, "expected a whole number of users");
        }
    }
    return 0;
}

static int s_arrival(s_ctx_t *ctx, json_t *obj, master_shape_t *shape)
{
    const char *path = "$.shape.arrival_rate";
    if (!json_is_object(obj))
        return s_fail(ctx, path, "expected an object");
    static const char *const keys[] = {
        "rate",   "time_unit",           "duration",  "start_rate",
        "stages", "pre_allocated_users", "max_users", NULL};
    if (s_keys(ctx, obj, path, keys))
        return -1;
    shape->kind = MASTER_SHAPE_ARRIVAL;
    shape->time_unit = 1;
    json_t *v = json_object_get(obj, "time_unit");
    if (v &&
        s_duration(ctx, v, "$.shape.arrival_rate.time_unit", &shape->time_unit))
        return -1;
    json_t *rate = json_object_get(obj, "rate");
    json_t *stages = json_object_get(obj, "stages");
    if ((rate != NULL) == (stages != NULL))
        return s_fail(ctx, path,
                      "expected either \"rate\" with \"duration\" "
                      "(constant) or \"stages\" (ramping)");
    if (rate) {
        double r = 0, d = 0;
        if (s_number(ctx, rate, "$.shape.arrival_rate.rate", 0,
                     MASTER_MAX_ARRIVAL_RATE, &r) ||
            s_duration(ctx, json_object_get(obj, "duration"),
                       "$.shape.arrival_rate.duration", &d))
            return -1;
        if (json_object_get(obj, "start_rate"))
            return s_fail(ctx, "$.shape.arrival_rate.start_rate",
                          "only with \"stages\"");
        shape->nstages = 1;
        shape->stages = apex_calloc(1, sizeof *shape->stages);
        shape->stages[0].duration = d;
        shape->stages[0].target = r;
        shape->start_rate = r;
    } else {
        if (json_object_get(obj, "duration"))
            return s_fail(ctx, "$.shape.arrival_rate.duration",
                          "not with \"stages\" (each stage has one)");
        v = json_object_get(obj, "start_rate");
        if (v && s_number(ctx, v, "$.shape.arrival_rate.start_rate", 0,
                          MASTER_MAX_ARRIVAL_RATE, &shape->start_rate))
            return -1;
        if (s_stages(ctx, stages, "$.shape.arrival_rate.stages", shape, true))
            return -1;
    }
    double pre = 0, max = 0;
    v = json_object_get(obj, "pre_allocated_users");
    if (!v)
        return s_fail(ctx, "$.shape.arrival_rate.pre_allocated_users",
                      "missing (users allocated before the start)");
    if (s_number(ctx, v, "$.shape.arrival_rate.pre_allocated_users", 1,
                 MASTER_SHAPE_MAX_USERS, &pre))
        return -1;
    max = pre;
    v = json_object_get(obj, "max_users");
    if (v && s_number(ctx, v, "$.shape.arrival_rate.max_users", pre,
                      MASTER_SHAPE_MAX_USERS, &max))
        return -1;
    shape->pre_allocated = (int64_t)pre;
    shape->max_users = (int64_t)max;
    return 0;
}

master_shape_t *master_shape_parse(const char *json, const char *origin,
                                   apex_error_t *err)
{
    s_ctx_t ctx = {origin ? origin : "scenario", err};
    json_error_t jerr;
    json_t *root = json_loads(json ? json : "", JSON_DECODE_ANY, &jerr);
    master_shape_t *shape = apex_calloc(1, sizeof *shape);
    int rc = -1;
    if (!root) {
        s_fail(&ctx, "$.shape", jerr.text);
        goto done;
    }
    if (!json_is_object(root)) {
        s_fail(&ctx, "$.shape",
               "expected an object with \"stages\" or "
               "\"arrival_rate\"");
        goto done;
    }
    static const char *const keys[] = {"stages", "arrival_rate", NULL};
    if (s_keys(&ctx, root, "$.shape", keys))
        goto done;
    json_t *stages = json_object_get(root, "stages");
    json_t *arrival = json_object_get(root, "arrival_rate");
    if ((stages != NULL) == (arrival != NULL)) {
        s_fail(&ctx, "$.shape",
               "expected exactly one of \"stages\" and "
               "\"arrival_rate\"");
        goto done;
    }
    if (stages) {
        shape->kind = MASTER_SHAPE_STAGES;
        rc = s_stages(&ctx, stages, "$.shape.stages", shape, false);
    } else {
        rc = s_arrival(&ctx, arrival, shape);
    }
done:
    json_decref(root);
    if (rc != 0)
        master_shape_destroy(&shape);
    return shape;
}

master_shape_t *master_shape_parse_stages(const char *arg, apex_error_t *err)
{
    master_shape_t *shape = apex_calloc(1, sizeof *shape);
    shape->kind = MASTER_SHAPE_STAGES;
    char *copy = apex_strdup(arg ? arg : "");
    char *save = NULL;
    int rc = 0;
    size_t n = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save), n++) {
        if (n >= MASTER_SHAPE_MAX_STAGES) {
            rc = apex_error_set(err, "more than %d stages",
                                MASTER_SHAPE_MAX_STAGES);
            break;
        }
        char *users = strchr(tok, ':');
        char *rate = users ? strchr(users + 1, ':') : NULL;
        if (!users) {
            rc = apex_error_set(err,
                                "stage %zu '%s': expected "
                                "DURATION:USERS[:SPAWN_RATE]",
                                n + 1, tok);
            break;
        }
        *users++ = '\0';
        if (rate)
            *rate++ = '\0';
        shape->stages =
            apex_realloc(shape->stages, n + 1, sizeof *shape->stages);
        master_stage_t *s = &shape->stages[n];
        memset(s, 0, sizeof *s);
        long u = 0;
        apex_error_t e = {""};
        if (apex_parse_duration(tok, &s->duration, &e) != 0 ||
            s->duration <= 0 || s->duration > MASTER_MAX_DURATION_S) {
            rc = apex_error_set(err, "stage %zu: duration: %s", n + 1,
                                e.msg[0] ? e.msg
                                         : "expected more than 0 and at most "
                                           "a year");
            break;
        }
        if (apex_parse_long(users, 0, MASTER_SHAPE_MAX_USERS, &u, &e) != 0) {
            rc = apex_error_set(err, "stage %zu: users: %s", n + 1, e.msg);
            break;
        }
        s->target = (double)u;
        if (rate &&
            apex_parse_double(rate, MASTER_MIN_SPAWN_RATE,
                              MASTER_MAX_SPAWN_RATE, &s->spawn_rate, &e) != 0) {
            rc = apex_error_set(err, "stage %zu: spawn rate: %s", n + 1, e.msg);
            break;
        }
        shape->nstages = n + 1;
    }
    if (rc == 0 && shape->nstages == 0)
        rc = apex_error_set(err, "expected DURATION:USERS[:SPAWN_RATE],... "
                                 "such as 1m:50,3m:50,1m:0");
    free(copy);
    if (rc != 0)
        master_shape_destroy(&shape);
    return shape;
}

void master_shape_destroy(master_shape_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->stages);
    free(*self_p);
    *self_p = NULL;
}

double master_shape_duration(const master_shape_t *self)
{
    double d = 0;
    for (size_t i = 0; i < self->nstages; i++)
        d += self->stages[i].duration;
    return d;
}

void master_shape_scale(master_shape_t *self, double time_factor,
                        double load_factor)
{
    for (size_t i = 0; i < self->nstages; i++) {
        self->stages[i].duration *= time_factor;
        self->stages[i].target *= load_factor;
        if (self->kind == MASTER_SHAPE_STAGES)
            self->stages[i].target = nearbyint(self->stages[i].target);
    }
    self->start_rate *= load_factor;
    if (self->kind == MASTER_SHAPE_ARRIVAL) {
        self->pre_allocated =
            (int64_t)ceil((double)self->pre_allocated * load_factor);
        self->max_users = (int64_t)ceil((double)self->max_users * load_factor);
        if (self->pre_allocated < 1)
            self->pre_allocated = 1;
        if (self->max_users < self->pre_allocated)
            self->max_users = self->pre_allocated;
    }
}

bool master_shape_fit(master_shape_t *self, int64_t users, double run_time,
                      double *load, double *time)
{
    double peak = 0;
    for (size_t i = 0; i < self->nstages; i++)
        if (self->stages[i].target > peak)
            peak = self->stages[i].target;
    if (self->kind == MASTER_SHAPE_ARRIVAL)
        peak = (double)self->max_users;
    *load = users >= 0 && peak > 0 ? (double)users / peak : 1;
    *time = run_time > 0 ? run_time / master_shape_duration(self) : 1;
    if (*load == 1 && *time == 1)
        return false;
    master_shape_scale(self, *time, *load);
    return true;
}

master_shape_point_t master_shape_at(const master_shape_t *self, double t)
{
    master_shape_point_t p = {.over = false};
    double start = 0;
    double from = self->kind == MASTER_SHAPE_ARRIVAL ? self->start_rate : 0;
    for (size_t i = 0; i < self->nstages; i++) {
        const master_stage_t *s = &self->stages[i];
        if (t < start + s->duration) {
            p.stage = i + 1;
            double frac = (t - start) / s->duration;
            double value = s->spawn_rate > 0 ? s->target
                                             : from + (s->target - from) * frac;
            if (self->kind == MASTER_SHAPE_ARRIVAL) {
                p.rate = value / self->time_unit;
            } else {
                p.users = nearbyint(value);
                p.spawn_rate = s->spawn_rate;
            }
            return p;
        }
        start += s->duration;
        from = s->target;
    }
    p.over = true;
    p.stage = self->nstages;
    if (self->kind == MASTER_SHAPE_ARRIVAL)
        p.rate = from / self->time_unit;
    else
        p.users = from;
    return p;
}

char *master_shape_describe(const master_shape_t *self)
{
    apex_buf_t out;
    apex_buf_init(&out);
    if (self->kind == MASTER_SHAPE_STAGES) {
        apex_buf_puts(&out, "stages:");
        for (size_t i = 0; i < self->nstages; i++) {
            apex_buf_printf(&out, "%s %gs:%g", i ? "," : "",
                            self->stages[i].duration, self->stages[i].target);
            if (self->stages[i].spawn_rate > 0)
                apex_buf_printf(&out, ":%g", self->stages[i].spawn_rate);
        }
    } else {
        apex_buf_printf(&out, "arrival rate per %gs: start %g", self->time_unit,
                        self->start_rate);
        for (size_t i = 0; i < self->nstages; i++)
            apex_buf_printf(&out, ", %gs to %g", self->stages[i].duration,
                            self->stages[i].target);
        apex_buf_printf(&out, "; users %lld pre-allocated, %lld at most",
                        (long long)self->pre_allocated,
                        (long long)self->max_users);
    }
    return apex_buf_take(&out);
}
