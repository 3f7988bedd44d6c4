// common/scenario_script.c - scripted user classes in a scenario:
//
//   "users": [{"name": "Shopper", "script": "shopper.lua", "weight": 3,
//              "fixed_count": 0, "cookies": true, "tags": ["shop"]}]
//
// The script is read relative to the scenario file and defined once
// (common/script.h) to learn its tasks, weights, tags and wait time,
// which become the class's model (tasks with no steps: a worker runs
// them in Lua). A master puts the script's text into the class as
// "source" in the wire text, so workers read no file; a scenario given as
// text must carry "source" itself. --tags and --exclude-tags write the
// tasks that pass as "run_tasks" (common/scenario_tags.c).
//
// A scripted class's requests go through the HTTP step kind as steps the
// worker makes per request shape (worker/script_http.c); what varies per
// request (the URL, the body, header values) travels in user variables
// reserved here (sc->scripts->url_slot ...), named "_lua_*".
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/scenario_parse.h"

// The slot of variable name, added at the end of the table when new.
static long s_reserve(apex_parser_t *p, const char *name)
{
    apex_scenario_t *sc = p->sc;
    long slot = apex_parse_var_slot(p, name, strlen(name));
    if (slot >= 0)
        return slot;
    if (sc->nvars >= APEX_SCENARIO_MAX_VARS)
        return apex_parse_fail(p, "more than %d variables",
                               APEX_SCENARIO_MAX_VARS);
    sc->vars = apex_realloc(sc->vars, sc->nvars + 1, sizeof *sc->vars);
    sc->vars[sc->nvars] = apex_strdup(name);
    return (long)sc->nvars++;
}

int apex_parse_scripts_begin(apex_parser_t *p, const json_t *root)
{
    size_t i, nscripts = 0;
    const json_t *user;
    json_array_foreach(json_object_get(root, "users"), i, user)
    {
        if (json_object_get(user, "script"))
            nscripts++;
    }
    if (nscripts == 0)
        return 0;
    if (nscripts > APEX_SCENARIO_MAX_SCRIPTS)
        return apex_parse_fail(p, "%zu scripted user classes (at most %d)",
                               nscripts, APEX_SCENARIO_MAX_SCRIPTS);
    apex_scenario_scripts_t *s = apex_calloc(1, sizeof *s);
    p->sc->scripts = s;
    long url = s_reserve(p, "_lua_url");
    long body = s_reserve(p, "_lua_body");
    long first = -1;
    for (int h = 0; h < APEX_SCRIPT_HEADERS; h++) {
        char name[32];
        snprintf(name, sizeof name, "_lua_h%d", h);
        long slot = s_reserve(p, name);
        if (h == 0)
            first = slot;
        else if (slot != first + h)
            return apex_parse_fail(p, "variable %s is taken", name);
        if (slot < 0)
            return -1;
    }
    if (url < 0 || body < 0)
        return -1;
    s->url_slot = (size_t)url;
    s->body_slot = (size_t)body;
    s->header_slot = (size_t)first;
    return 0;
}

// The script's text: "source", or the file's.
static int s_source(apex_parser_t *p, json_t *obj, const char *file,
                    char **text, size_t *len)
{
    json_t *v = json_object_get(obj, "source");
    if (v) {
        size_t old = apex_parse_path_key(p, "source");
        if (!json_is_string(v))
            return apex_parse_fail_got(p, v, "the script's text");
        *len = json_string_length(v);
        *text = apex_strndup(json_string_value(v), *len);
        apex_parse_path_restore(p, old);
        return 0;
    }
    size_t old = apex_parse_path_key(p, "script");
    if (!p->base_dir)
        return apex_parse_fail(p, "cannot read scripts here (a scenario "
                                  "given as text carries each script's "
                                  "\"source\")");
    if (apex_parse_read_file(p, file, APEX_LUA_SCRIPT_MAX, text, len) != 0)
        return -1;
    apex_parse_path_restore(p, old);
    json_object_set_new(obj, "source", json_stringn(*text, *len));
    return 0;
}

static int s_host_env(void *arg, const char *name, const char **value,
                      apex_error_t *err)
{
    return apex_parse_env(arg, name, value, err);
}

// True when task name is listed in "run_tasks" (or there is none).
static bool s_runs(const json_t *run, const char *name)
{
    if (!run)
        return true;
    size_t i;
    const json_t *v;
    json_array_foreach(run, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
            return true;
    }
    return false;
}

// The class's tasks (those that run) and pick table from its script.
static int s_tasks(apex_parser_t *p, const json_t *obj, apex_user_class_t *u)
{
    const apex_script_t *s = u->script;
    const json_t *run = json_object_get(obj, "run_tasks");
    if (run && !json_is_array(run)) {
        apex_parse_path_key(p, "run_tasks");
        return apex_parse_fail_got(p, run, "an array of task names");
    }
    u->tasks = apex_calloc(s->ntasks, sizeof *u->tasks);
    size_t total = 0;
    for (size_t t = 0; t < s->ntasks; t++) {
        if (!s_runs(run, s->tasks[t].name))
            continue;
        apex_task_t *task = &u->tasks[u->ntasks++];
        task->name = apex_strdup(s->tasks[t].name);
        task->weight = s->tasks[t].weight;
        total += task->weight;
    }
    if (u->ntasks == 0)
        return apex_parse_fail(p, "no task of the script is left to run");
    u->pick = apex_calloc(total, sizeof *u->pick);
    for (size_t t = 0; t < u->ntasks; t++)
        for (unsigned k = 0; k < u->tasks[t].weight; k++)
            u->pick[u->npick++] = (uint32_t)t;
    return 0;
}

int apex_parse_script_user(apex_parser_t *p, json_t *obj, apex_user_class_t *u)
{
    json_t *v = json_object_get(obj, "script");
    size_t old = apex_parse_path_key(p, "script");
    if (!json_is_string(v) || json_string_length(v) == 0)
        return apex_parse_fail_got(p, v, "a Lua file name");
    apex_parse_path_restore(p, old);
    const char *file = json_string_value(v);
    char *text = NULL;
    size_t len = 0;
    if (s_source(p, obj, file, &text, &len) != 0)
        return -1;
    uint64_t rng = apex_rng_seed(0x5eed);
    apex_script_host_t host = {.env = s_host_env, .arg = p, .rng = &rng};
    u->script = apex_calloc(1, sizeof *u->script);
    apex_error_t err = {""};
    int rc = apex_script_define(u->script, file, text, len, &host, &err);
    free(text);
    if (rc != 0) // Lua's message names the file and line itself
        return apex_error_set(p->err, "%s: %s", p->sc->origin, err.msg);
    const apex_script_wait_t *w = &u->script->wait;
    u->wait.kind = APEX_WAIT_CONSTANT;
    if (w->given) {
        u->wait.kind = (apex_wait_kind_t)w->kind;
        u->wait.a = w->a;
        u->wait.b = w->b;
    }
    return s_tasks(p, obj, u);
}

void apex_parse_scripts_end(apex_parser_t *p)
{
    apex_scenario_scripts_t *s = p->sc->scripts;
    if (!s)
        return;
    s->headers = apex_calloc(p->nheaders + 1, sizeof *s->headers);
    for (size_t i = 0; i < p->nheaders; i++) {
        s->headers[i].name = apex_strdup(p->headers[i].name);
        s->headers[i].value = apex_template_dup(p->headers[i].value);
    }
    s->nheaders = p->nheaders;
    size_t n = json_object_size(p->used_env);
    s->env_names = apex_calloc(n + 1, sizeof *s->env_names);
    s->env_values = apex_calloc(n + 1, sizeof *s->env_values);
    const char *key;
    json_t *value;
    json_object_foreach(p->used_env, key, value)
    {
        s->env_names[s->nenv] = apex_strdup(key);
        s->env_values[s->nenv++] = apex_strdup(json_string_value(value));
    }
}

void apex_script_free(apex_script_t *s)
{
    if (!s)
        return;
    apex_script_fini(s);
    free(s);
}

void apex_scenario_scripts_free(apex_scenario_scripts_t *s)
{
    if (!s)
        return;
    apex_headers_free(s->headers, s->nheaders);
    for (size_t i = 0; i < s->nenv; i++) {
        free(s->env_names[i]);
        free(s->env_values[i]);
    }
    free(s->env_names);
    free(s->env_values);
    free(s);
}
