// common/scenario.c - the scenario model and its loader: a JSON document
// (jansson) in, an immutable model of user classes, tasks and steps out.
// This file owns the document, its users, tasks and waits, "env",
// "host", the wire text, and what every step has; the parts live next to
// it (scenario_http.c an HTTP step, capture.c captures, template.c and
// jsonpath.c what those compile to, scenario_parse.c the shared helpers).
//
// The format:
//
//   {
//     "description": "free text (optional)",
//     "host": "${API_URL:-http://127.0.0.1:8080}",     // optional
//     "database": "${DATABASE_URL:-postgresql://...}", // optional: for
//                                                      // SQL steps
//     "headers": {"Accept": "application/json",        // optional, sent
//                 "Authorization":                     // with every request
//                     "${AUTH_TOKEN:+Bearer ${AUTH_TOKEN}}"},
//     "env": {"API_URL": "http://10.0.0.5:8080",       // optional: when
//             "AUTH_TOKEN": null},                     // present, the only
//                                                      // environment seen
//     "shape": ..., "thresholds": ...,                 // reserved: accepted,
//                                                      // not checked
//     "users": [                                       // required, >= 1
//       {
//         "name": "ApexUser",      // required, unique, [A-Za-z_][A-Za-z0-9_]*
//         "weight": 3,             // optional, integer 1..10000, default 1
//         "fixed_count": 0,        // optional, integer >= 0
//         "cookies": true,         // optional: a cookie jar per user
//         "wait": {"between": [0.5, 2]},
//                     // or {"constant": 1}, {"constant_pacing": 2},
//                     // {"constant_throughput": 5}, or a bare number
//                     // (constant seconds); default {"constant": 0};
//                     // seconds >= 0, between needs min <= max,
//                     // throughput > 0
//         "on_start": [STEP, ...],                     // optional
//         "tasks": [                                   // required, >= 1
//           {"name": "health", "weight": 5, "request": STEP},
//           {"name": "create_and_get", "weight": 2,
//            "sequence": [STEP, STEP]},
//           STEP      // shorthand: a step itself (it has "path"); may
//                     // carry "weight" and "task" (the task name)
//         ]
//       }
//     ]
//   }
//
//   STEP = an object whose kind is told by a key of its own (the table
//   s_step_kinds below): an HTTP request, marked by "path"
//   (scenario_http.c), a WebSocket operation, marked by "ws"
//   (scenario_ws.c), a pause, marked by "sleep" (scenario_sleep.c), or a
//   PostgreSQL query, marked by "sql" (scenario_sql.c). Every kind may
//   also have
//     "capture": {...},  // values taken from the response (capture.c)
//     "check": {...},    // conditions on the response (check.c)
//     "timeout": 30      // seconds > 0, default 60
//
//   "data": {...} names data sets read from files (scenario_data.c), and a
//   user class may say "cookies": false (no cookie jar per user).
//
// Unknown keys are errors that list the allowed ones, so typos do not pass
// silently. Every error reads "ORIGIN: $.json.path: what was expected[,
// got VALUE]"; JSON syntax errors read "ORIGIN: line L, column C: TEXT".
//
// Capture variable names are collected over the whole document before
// anything is compiled, so every user class shares one slot table
// (sc->vars) and a template may name a variable captured by an earlier
// step, on_start or another class. ${NAME} is a user variable when any
// capture defines NAME, else an environment variable, which must be set
// where it is read plainly. While the steps are parsed in the order a user
// runs them (on_start, then each task from what on_start set), p->set
// holds the variables some earlier step surely captured; a template that
// reads another one plainly gets a warning (sc->warnings), and each step
// lists its templates that read variables (step->uses) for the worker to
// check before it sends anything.
//
// The wire text is the document with an "env" object holding the value
// (or null) of every environment variable the templates looked up, so a
// worker parsing it resolves every placeholder exactly as this process did.
//
// Memory: the model is a tree of arrays allocated with apex_calloc(); each
// count is set as soon as its array exists and every element starts
// zeroed, so apex_scenario_destroy() frees a half-built model after a
// parse error as well as a finished one.
#include "common/scenario.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/alloc.h"
#include "common/json.h"
#include "common/scenario_parse.h"

#define APEX_SCENARIO_MAX_PICK 100000      // sum of task weights per class
#define APEX_SCENARIO_DEFAULT_TIMEOUT 60.0 // seconds per step

// Every kind of step, by kind. s_parse_step() picks the first whose key
// the step has; a step with none is parsed as the first kind (HTTP),
// whose parser reports what is missing. A new kind adds its row here.
static const apex_step_parser_t *const s_step_kinds[APEX_STEP_KIND_COUNT] = {
    [APEX_STEP_HTTP] = &apex_http_step_parser,
    [APEX_STEP_WS] = &apex_ws_step_parser,
    [APEX_STEP_SLEEP] = &apex_sleep_step_parser,
    [APEX_STEP_SQL] = &apex_sql_step_parser,
};

static const char *const s_root_keys[] = {
    "description", "host",  "database", "headers", "env",  "shape",
    "thresholds",  "users", "data",     "engine",  "http", NULL};

static const char *const s_user_keys[] = {
    "name",   "weight",  "fixed_count", "wait",   "on_start",
    "tasks",  "cookies", "tags",        "engine", "http",
    "script", "source",  "run_tasks",   NULL};
static const char *const s_wait_keys[] = {
    "constant", "between", "constant_pacing", "constant_throughput", NULL};
static const char *const s_task_keys[] = {"name",     "weight", "request",
                                          "sequence", "tags",   NULL};
// What a step standing for a task (the shorthand) may have on top.
static const char *const s_shorthand_keys[] = {"weight", "task", "tags", NULL};

// ---------------------------------------------------------------------
// Freeing the model

static void s_step_fini(apex_step_t *step)
{
    free(step->type);
    free(step->name);
    for (size_t i = 0; i < step->ncaptures; i++)
        apex_capture_fini(&step->captures[i]);
    free(step->captures);
    for (size_t i = 0; i < step->nchecks; i++)
        apex_check_fini(&step->checks[i]);
    free(step->checks);
    free(step->uses);
    s_step_kinds[step->kind]->fini(step);
}

static void s_user_fini(apex_user_class_t *u)
{
    free(u->name);
    for (size_t i = 0; i < u->non_start; i++)
        s_step_fini(&u->on_start[i]);
    free(u->on_start);
    for (size_t i = 0; i < u->ntasks; i++) {
        free(u->tasks[i].name);
        for (size_t j = 0; j < u->tasks[i].nsteps; j++)
            s_step_fini(&u->tasks[i].steps[j]);
        free(u->tasks[i].steps);
    }
    free(u->tasks);
    free(u->pick);
    apex_script_free(u->script);
}

// ---------------------------------------------------------------------
// Steps

// The kind of step obj is (see s_step_kinds).
static apex_step_kind_t s_step_kind_of(const json_t *obj)
{
    for (int k = 0; k < APEX_STEP_KIND_COUNT; k++)
        if (json_object_get(obj, s_step_kinds[k]->key))
            return (apex_step_kind_t)k;
    return APEX_STEP_HTTP;
}

// True for a key only a step (or a step standing for a task) has.
static bool s_is_step_key(const char *key)
{
    if (apex_parse_in_list(key, s_shorthand_keys))
        return true;
    for (int k = 0; k < APEX_STEP_KIND_COUNT; k++)
        if (apex_parse_in_list(key, s_step_kinds[k]->keys))
            return true;
    return false;
}

int apex_parse_step_name(apex_parser_t *p, const json_t *obj, apex_step_t *step,
                         const char *fallback)
{
    json_t *v = json_object_get(obj, "name");
    if (!v) {
        step->name = apex_strdup(fallback);
        return 0;
    }
    size_t old = apex_parse_path_key(p, "name");
    if (!json_is_string(v) || json_string_length(v) == 0)
        return apex_parse_fail_got(p, v, "a non-empty string");
    step->name = apex_strdup(json_string_value(v));
    step->name_given = true;
    apex_parse_path_restore(p, old);
    return 0;
}

// What every kind of step has, after the kind's own part.
static int s_parse_step_common(apex_parser_t *p, const json_t *obj,
                               apex_step_t *step)
{
    json_t *v = json_object_get(obj, "check");
    if (v) {
        size_t old = apex_parse_path_key(p, "check");
        if (apex_parse_checks(p, v, step) != 0)
            return -1;
        apex_parse_path_restore(p, old);
    }
    v = json_object_get(obj, "capture");
    if (v) {
        size_t old = apex_parse_path_key(p, "capture");
        if (apex_parse_captures(p, v, step) != 0)
            return -1;
        apex_parse_path_restore(p, old);
    }
    step->timeout = APEX_SCENARIO_DEFAULT_TIMEOUT;
    v = json_object_get(obj, "timeout");
    if (v) {
        size_t old = apex_parse_path_key(p, "timeout");
        if (!json_is_number(v) || json_number_value(v) <= 0)
            return apex_parse_fail_got(p, v, "a number of seconds > 0");
        step->timeout = json_number_value(v);
        apex_parse_path_restore(p, old);
    }
    return 0;
}

// A step object of any kind; a shorthand (a step standing for a task)
// may also carry "weight" and "task", which the caller reads.
static int s_parse_step(apex_parser_t *p, const json_t *obj, apex_step_t *step,
                        bool shorthand)
{
    if (!json_is_object(obj))
        return apex_parse_fail_got(p, obj, "a request object");
    step->kind = s_step_kind_of(obj);
    const apex_step_parser_t *kind = s_step_kinds[step->kind];
    p->step = step;
    int rc = apex_parse_check_keys(p, obj, kind->keys,
                                   shorthand ? s_shorthand_keys : NULL) != 0 ||
                     kind->parse(p, obj, step) != 0 ||
                     s_parse_step_common(p, obj, step) != 0
                 ? -1
                 : 0;
    p->step = NULL;
    // What the step captures is set for the steps after it.
    for (size_t i = 0; rc == 0 && p->set && i < step->ncaptures; i++)
        p->set[step->captures[i].slot] = 1;
    return rc;
}

// One step of a list into steps[i].
static int s_parse_list_step(apex_parser_t *p, const json_t *item, size_t i,
                             void *arg)
{
    apex_step_t *steps = arg;
    return s_parse_step(p, item, &steps[i], false);
}

// A list of steps (on_start, sequence); empty allowed unless nonempty.
static int s_parse_steps(apex_parser_t *p, const json_t *v, bool nonempty,
                         apex_step_t **out, size_t *nout)
{
    if (!json_is_array(v) || (nonempty && json_array_size(v) == 0))
        return apex_parse_fail_got(p, v,
                                   nonempty ? "a non-empty array of requests"
                                            : "an array of requests");
    *out = apex_calloc(json_array_size(v), sizeof **out);
    *nout = json_array_size(v);
    return apex_parse_items(p, v, s_parse_list_step, *out);
}

// ---------------------------------------------------------------------
// Tasks

// The optional "weight" of obj: 1..APEX_SCENARIO_MAX_WEIGHT, default 1.
static int s_get_weight(apex_parser_t *p, const json_t *obj, unsigned *out)
{
    json_t *v = json_object_get(obj, "weight");
    *out = 1;
    if (!v)
        return 0;
    size_t old = apex_parse_path_key(p, "weight");
    long long weight;
    if (apex_parse_get_int(p, v, 1, APEX_SCENARIO_MAX_WEIGHT, &weight) != 0)
        return -1;
    *out = (unsigned)weight;
    apex_parse_path_restore(p, old);
    return 0;
}

// A task name from key ("name" or "task" for a shorthand), if any.
static int s_parse_task_name(apex_parser_t *p, const json_t *obj,
                             const char *key, apex_task_t *t)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    size_t old = apex_parse_path_key(p, key);
    if (!json_is_string(v) || json_string_length(v) == 0)
        return apex_parse_fail_got(p, v, "a non-empty string");
    t->name = apex_strdup(json_string_value(v));
    apex_parse_path_restore(p, old);
    return 0;
}

// {"name", "weight", "request": STEP} or {..., "sequence": [STEP, ...]}.
static int s_parse_task_object(apex_parser_t *p, const json_t *obj,
                               apex_task_t *t)
{
    json_t *request = json_object_get(obj, "request");
    json_t *sequence = json_object_get(obj, "sequence");
    if (request && sequence)
        return apex_parse_fail(p, "expected \"request\" or \"sequence\", "
                                  "not both");
    if (apex_parse_check_keys(p, obj, s_task_keys, NULL) != 0 ||
        apex_parse_tags(p, obj) != 0 ||
        s_parse_task_name(p, obj, "name", t) != 0 ||
        s_get_weight(p, obj, &t->weight) != 0)
        return -1;
    size_t old = apex_parse_path_key(p, request ? "request" : "sequence");
    if (request) {
        t->steps = apex_calloc(1, sizeof *t->steps);
        t->nsteps = 1;
        if (s_parse_step(p, request, &t->steps[0], false) != 0)
            return -1;
    } else if (s_parse_steps(p, sequence, true, &t->steps, &t->nsteps) != 0) {
        return -1;
    }
    apex_parse_path_restore(p, old);
    return 0;
}

// Task i of a class (arg).
static int s_parse_task(apex_parser_t *p, const json_t *obj, size_t i,
                        void *arg)
{
    apex_task_t *t = &((apex_user_class_t *)arg)->tasks[i];
    // Every task starts from what on_start set.
    memcpy(p->set, p->start_set, p->sc->nvars + 1);
    const char *what = "a task with \"request\" or \"sequence\", or a "
                       "request with \"path\"";
    if (!json_is_object(obj))
        return apex_parse_fail_got(p, obj, what);
    if (json_object_get(obj, "request") || json_object_get(obj, "sequence"))
        return s_parse_task_object(p, obj, t);
    // A step itself? Any key only a step has says so; otherwise a key
    // known to neither form is a typo of a task key.
    bool shorthand = false;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        if (s_is_step_key(key) && !apex_parse_in_list(key, s_task_keys))
            shorthand = true;
    }
    if (!shorthand)
        return apex_parse_check_keys(p, obj, s_task_keys, NULL) != 0
                   ? -1
                   : apex_parse_fail_got(p, obj, what);
    if (apex_parse_tags(p, obj) != 0 ||
        s_parse_task_name(p, obj, "task", t) != 0 ||
        s_get_weight(p, obj, &t->weight) != 0)
        return -1;
    t->steps = apex_calloc(1, sizeof *t->steps);
    t->nsteps = 1;
    return s_parse_step(p, obj, &t->steps[0], true);
}

static int s_parse_tasks(apex_parser_t *p, const json_t *v,
                         apex_user_class_t *u)
{
    if (!json_is_array(v) || json_array_size(v) == 0)
        return apex_parse_fail_got(p, v, "a non-empty array of tasks");
    u->tasks = apex_calloc(json_array_size(v), sizeof *u->tasks);
    u->ntasks = json_array_size(v);
    if (apex_parse_items(p, v, s_parse_task, u) != 0)
        return -1;
    size_t total = 0;
    for (size_t t = 0; t < u->ntasks; t++)
        total += u->tasks[t].weight;
    if (total > APEX_SCENARIO_MAX_PICK)
        return apex_parse_fail(p, "task weights sum to %zu, more than %d",
                               total, APEX_SCENARIO_MAX_PICK);
    // Locust's rule: each task index appears weight times; a user picks
    // a uniform random entry.
    u->pick = apex_calloc(total, sizeof *u->pick);
    u->npick = total;
    size_t n = 0;
    for (size_t t = 0; t < u->ntasks; t++)
        for (unsigned k = 0; k < u->tasks[t].weight; k++)
            u->pick[n++] = (uint32_t)t;
    return 0;
}

// ---------------------------------------------------------------------
// Users

// {"between": [min, max]}, {"constant_throughput": n}, or a number of
// seconds under "constant" or "constant_pacing"; *arg at path kind.
static int s_parse_wait_kind(apex_parser_t *p, const char *kind,
                             const json_t *arg, apex_wait_t *w)
{
    if (strcmp(kind, "between") == 0) {
        json_t *lo = json_array_get(arg, 0);
        json_t *hi = json_array_get(arg, 1);
        if (json_array_size(arg) != 2 || !json_is_number(lo) ||
            !json_is_number(hi) || json_number_value(lo) < 0 ||
            json_number_value(lo) > json_number_value(hi))
            return apex_parse_fail_got(p, arg,
                                       "[min, max] with 0 <= min <= max");
        w->kind = APEX_WAIT_BETWEEN;
        w->a = json_number_value(lo);
        w->b = json_number_value(hi);
    } else if (strcmp(kind, "constant_throughput") == 0) {
        if (!json_is_number(arg) || json_number_value(arg) <= 0)
            return apex_parse_fail_got(p, arg,
                                       "a number of task runs per second > 0");
        w->kind = APEX_WAIT_CONSTANT_THROUGHPUT;
        w->a = json_number_value(arg);
    } else {
        if (!json_is_number(arg) || json_number_value(arg) < 0)
            return apex_parse_fail_got(p, arg, "a number of seconds >= 0");
        w->kind = strcmp(kind, "constant") == 0 ? APEX_WAIT_CONSTANT
                                                : APEX_WAIT_CONSTANT_PACING;
        w->a = json_number_value(arg);
    }
    return 0;
}

static int s_parse_wait(apex_parser_t *p, const json_t *v, apex_wait_t *w)
{
    if (json_is_number(v)) {
        if (json_number_value(v) < 0)
            return apex_parse_fail_got(p, v, "a number of seconds >= 0");
        w->kind = APEX_WAIT_CONSTANT;
        w->a = json_number_value(v);
        return 0;
    }
    if (!json_is_object(v))
        return apex_parse_fail_got(p, v,
                                   "a number of seconds or an object with "
                                   "one of: constant, between, "
                                   "constant_pacing, constant_throughput");
    if (apex_parse_check_keys(p, v, s_wait_keys, NULL) != 0)
        return -1;
    if (json_object_size(v) != 1)
        return apex_parse_fail_got(p, v,
                                   "exactly one of: constant, between, "
                                   "constant_pacing, constant_throughput");
    const char *kind = json_object_iter_key(json_object_iter((json_t *)v));
    apex_parse_path_key(p, kind);
    return s_parse_wait_kind(p, kind, json_object_get(v, kind), w);
}

// The class name, unique among the classes before it.
static int s_parse_user_name(apex_parser_t *p, const json_t *obj, size_t index)
{
    const char *what = "a class name matching [A-Za-z_][A-Za-z0-9_]*";
    json_t *v = json_object_get(obj, "name");
    if (!v)
        return apex_parse_fail_missing(p, "name", what);
    size_t old = apex_parse_path_key(p, "name");
    if (!json_is_string(v) || !apex_parse_is_name(json_string_value(v)))
        return apex_parse_fail_got(p, v, what);
    for (size_t i = 0; i < index; i++)
        if (strcmp(p->sc->users[i].name, json_string_value(v)) == 0)
            return apex_parse_fail(p,
                                   "duplicate user class name \"%s\" (also "
                                   "at $.users[%zu])",
                                   json_string_value(v), i);
    p->sc->users[index].name = apex_strdup(json_string_value(v));
    apex_parse_path_restore(p, old);
    return 0;
}

// fixed_count, wait and on_start, each optional.
static int s_parse_user_options(apex_parser_t *p, const json_t *obj,
                                apex_user_class_t *u)
{
    size_t old = p->path.len;
    json_t *v = json_object_get(obj, "fixed_count");
    if (v) {
        long long count;
        apex_parse_path_key(p, "fixed_count");
        if (apex_parse_get_int(p, v, 0, UINT_MAX, &count) != 0)
            return -1;
        u->fixed_count = (unsigned)count;
        apex_parse_path_restore(p, old);
    }
    u->cookies = true;
    v = json_object_get(obj, "cookies");
    if (v) {
        apex_parse_path_key(p, "cookies");
        if (!json_is_boolean(v))
            return apex_parse_fail_got(p, v, "true or false");
        u->cookies = json_is_true(v);
        apex_parse_path_restore(p, old);
    }
    u->wait.kind = APEX_WAIT_CONSTANT;
    v = json_object_get(obj, "wait");
    if (v) {
        apex_parse_path_key(p, "wait");
        if (s_parse_wait(p, v, &u->wait) != 0)
            return -1;
        apex_parse_path_restore(p, old);
    }
    memset(p->set, 0, p->sc->nvars + 1);
    v = json_object_get(obj, "on_start");
    if (v) {
        apex_parse_path_key(p, "on_start");
        if (s_parse_steps(p, v, false, &u->on_start, &u->non_start) != 0)
            return -1;
        apex_parse_path_restore(p, old);
    }
    memcpy(p->start_set, p->set, p->sc->nvars + 1);
    return 0;
}

// User class index of the document.
static int s_parse_user(apex_parser_t *p, const json_t *obj, size_t index,
                        void *arg)
{
    (void)arg;
    apex_user_class_t *u = &p->sc->users[index];
    if (!json_is_object(obj))
        return apex_parse_fail_got(p, obj, "a user class object");
    if (apex_parse_check_keys(p, obj, s_user_keys, NULL) != 0 ||
        apex_parse_tags(p, obj) != 0 || s_parse_user_name(p, obj, index) != 0 ||
        s_get_weight(p, obj, &u->weight) != 0 ||
        apex_parse_http_level(p, obj, true) != 0)
        return -1;
    if (json_object_get(obj, "script")) {
        // Its tasks, on_start and wait time come from the script.
        static const char *const not_here[] = {"tasks", "on_start", "wait",
                                               NULL};
        for (const char *const *k = not_here; *k; k++) {
            if (json_object_get(obj, *k)) {
                apex_parse_path_key(p, *k);
                return apex_parse_fail(p, "a scripted class takes its tasks, "
                                          "on_start and wait time from its "
                                          "script");
            }
        }
        return s_parse_user_options(p, obj, u) != 0 ||
                       apex_parse_script_user(p, (json_t *)obj, u) != 0
                   ? -1
                   : 0;
    }
    if (s_parse_user_options(p, obj, u) != 0)
        return -1;
    json_t *v = json_object_get(obj, "tasks");
    if (!v)
        return apex_parse_fail_missing(p, "tasks",
                                       "a non-empty array of tasks");
    size_t old = apex_parse_path_key(p, "tasks");
    if (s_parse_tasks(p, v, u) != 0)
        return -1;
    apex_parse_path_restore(p, old);
    return 0;
}

// ---------------------------------------------------------------------
// The document

static int s_parse_env(apex_parser_t *p, json_t *env)
{
    size_t old = apex_parse_path_key(p, "env");
    if (!json_is_object(env))
        return apex_parse_fail_got(p, env, "an object of strings or nulls");
    const char *key;
    json_t *value;
    json_object_foreach(env, key, value)
    {
        if (!json_is_string(value) && !json_is_null(value)) {
            apex_parse_path_key(p, key);
            return apex_parse_fail_got(p, value, "a string or null");
        }
    }
    p->env = env;
    apex_parse_path_restore(p, old);
    return 0;
}

// "host" takes environment placeholders only; empty means not given.
static int s_parse_host(apex_parser_t *p, const json_t *v)
{
    size_t old = apex_parse_path_key(p, "host");
    if (!json_is_string(v))
        return apex_parse_fail_got(p, v, "a string");
    p->unset_env_ok = true; // "${API_URL}" unset: no host given
    apex_template_t *host = apex_parse_template(p, json_string_value(v), false);
    p->unset_env_ok = false;
    if (!host)
        return -1;
    const char *text = apex_template_constant(host);
    if (!text) {
        apex_template_destroy(&host);
        return apex_parse_fail(p, "expected a URL with environment "
                                  "placeholders only (no capture variables "
                                  "or functions)");
    }
    if (text[0] != '\0')
        p->sc->host = apex_strdup(text);
    apex_template_destroy(&host);
    apex_parse_path_restore(p, old);
    return 0;
}

static int s_user_cmp(const void *a, const void *b)
{
    return strcmp(((const apex_user_class_t *)a)->name,
                  ((const apex_user_class_t *)b)->name);
}

static int s_parse_users(apex_parser_t *p, const json_t *root)
{
    const char *what = "a non-empty array of user classes";
    json_t *v = json_object_get(root, "users");
    if (!v)
        return apex_parse_fail_missing(p, "users", what);
    apex_parse_path_key(p, "users");
    if (!json_is_array(v) || json_array_size(v) == 0)
        return apex_parse_fail_got(p, v, what);
    p->sc->users = apex_calloc(json_array_size(v), sizeof *p->sc->users);
    p->sc->nusers = json_array_size(v);
    if (apex_parse_items(p, v, s_parse_user, NULL) != 0)
        return -1;
    // Locust's dispatcher orders user classes by name.
    qsort(p->sc->users, p->sc->nusers, sizeof *p->sc->users, s_user_cmp);
    return 0;
}

static int s_parse_root(apex_parser_t *p, json_t *root)
{
    if (!json_is_object(root))
        return apex_parse_fail_got(p, root, "an object");
    if (apex_parse_check_keys(p, root, s_root_keys, NULL) != 0)
        return -1;
    json_t *v = json_object_get(root, "env");
    if (v && s_parse_env(p, v) != 0)
        return -1;
    v = json_object_get(root, "description");
    if (v && !json_is_string(v)) {
        apex_parse_path_key(p, "description");
        return apex_parse_fail_got(p, v, "a string");
    }
    apex_parse_collect_vars(p, root);
    if (apex_parse_scripts_begin(p, root) != 0)
        return -1;
    p->set = apex_calloc(p->sc->nvars + 1, 1);
    p->start_set = apex_calloc(p->sc->nvars + 1, 1);
    v = json_object_get(root, "data");
    if (v && apex_parse_data(p, v) != 0)
        return -1;
    v = json_object_get(root, "headers");
    if (v) {
        size_t old = apex_parse_path_key(p, "headers");
        if (apex_parse_headers(p, v, &p->headers, &p->nheaders) != 0)
            return -1;
        apex_parse_path_restore(p, old);
    }
    if (apex_parse_http_level(p, root, false) != 0)
        return -1;
    apex_http_options_t unset = {.insecure = -1, .compression = -1};
    apex_http_options_merge(&p->sc->http, &p->doc_http, &unset);
    p->sc->engine = p->doc_engine;
    v = json_object_get(root, "host");
    if (v && s_parse_host(p, v) != 0)
        return -1;
    v = json_object_get(root, "database");
    if (v) {
        size_t old = apex_parse_path_key(p, "database");
        if (apex_parse_database(p, v, &p->sc->database) != 0)
            return -1;
        apex_parse_path_restore(p, old);
    }
    if (s_parse_users(p, root) != 0)
        return -1;
    apex_parse_scripts_end(p);
    return 0;
}

// The nodes the master reads itself (master/shape.c, thresholds.c) as
// text, and the wire text: root plus the environment it looked up.
static int s_keep_text(apex_parser_t *p, json_t *root)
{
    apex_scenario_t *sc = p->sc;
    static const char *const raw[] = {"shape", "thresholds", "description"};
    char **dest[] = {&sc->shape, &sc->thresholds, &sc->description};
    for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++) {
        json_t *node = json_object_get(root, raw[i]);
        if (!node)
            continue;
        char *text = json_dumps(node, APEX_JSON_DUMP_FLAGS | JSON_ENCODE_ANY);
        *dest[i] = text ? apex_strdup(text) : NULL;
        free(text);
    }
    json_object_set(root, "env", p->used_env);
    char *wire = json_dumps(root, APEX_JSON_DUMP_FLAGS);
    if (!wire)
        return apex_error_set(p->err, "%s: cannot serialize the scenario",
                              sc->origin);
    if (strlen(wire) > APEX_SCENARIO_MAX_WIRE) {
        size_t n = strlen(wire);
        free(wire);
        return apex_error_set(p->err,
                              "%s: with its data files the scenario is %zu "
                              "bytes of JSON, more than %u",
                              sc->origin, n, APEX_SCENARIO_MAX_WIRE);
    }
    sc->wire = apex_strdup(wire);
    free(wire);
    return 0;
}

apex_scenario_t *apex_scenario_parse_in(const char *json, size_t size,
                                        const char *origin,
                                        const char *base_dir, size_t limit,
                                        apex_error_t *err)
{
    apex_scenario_t *sc = apex_calloc(1, sizeof *sc);
    sc->origin = apex_strdup(origin ? origin : "scenario");
    apex_parser_t p;
    apex_parser_init(&p, sc, err);
    p.base_dir = base_dir;
    json_t *root = NULL;
    int rc = -1;

    if (size > limit) {
        apex_error_set(err, "%s: too large: %zu bytes (at most %zu)",
                       sc->origin, size, limit);
        goto done;
    }
    json_error_t jerr;
    root = json_loadb(json ? json : "", json ? size : 0,
                      JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        apex_error_set(err, "%s: line %d, column %d: %s", sc->origin, jerr.line,
                       jerr.column, jerr.text);
        goto done;
    }
    if (s_parse_root(&p, root) != 0 || s_keep_text(&p, root) != 0)
        goto done;
    rc = 0;
done:
    apex_parser_fini(&p);
    json_decref(root);
    if (rc != 0)
        apex_scenario_destroy(&sc);
    return sc;
}

apex_scenario_t *apex_scenario_parse(const char *json, size_t size,
                                     const char *origin, apex_error_t *err)
{
    return apex_scenario_parse_in(json, size, origin, NULL,
                                  APEX_SCENARIO_MAX_BYTES, err);
}

apex_scenario_t *apex_scenario_parse_wire(const char *json, size_t size,
                                          const char *origin, apex_error_t *err)
{
    return apex_scenario_parse_in(json, size, origin, NULL,
                                  APEX_SCENARIO_MAX_WIRE, err);
}

void apex_scenario_destroy(apex_scenario_t **self_p)
{
    assert(self_p);
    apex_scenario_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->nusers; i++)
        s_user_fini(&self->users[i]);
    free(self->users);
    apex_scenario_scripts_free(self->scripts);
    for (size_t i = 0; i < self->ndata; i++)
        apex_dataset_fini(&self->data[i]);
    free(self->data);
    for (size_t i = 0; i < self->ncheck_names; i++)
        free(self->check_names[i]);
    free(self->check_names);
    for (size_t i = 0; i < self->nwarnings; i++)
        free(self->warnings[i]);
    free(self->warnings);
    for (size_t i = 0; i < self->nvars; i++)
        free(self->vars[i]);
    free(self->vars);
    free(self->origin);
    free(self->host);
    free(self->database);
    free(self->wire);
    free(self->shape);
    free(self->thresholds);
    free(self->description);
    apex_http_options_fini(&self->http);
    free(self);
    *self_p = NULL;
}

static int s_user_find_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const apex_user_class_t *)elem)->name);
}

const apex_user_class_t *apex_scenario_find_user(const apex_scenario_t *self,
                                                 const char *name)
{
    assert(self && name);
    return bsearch(name, self->users, self->nusers, sizeof *self->users,
                   s_user_find_cmp);
}
