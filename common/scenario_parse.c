// common/scenario_parse.c - the scenario loader's shared helpers (see
// scenario_parse.h): the JSON path of the node being parsed, the error
// messages that name it, key and integer checks, names, and templates
// compiled in the scenario's scope.
//
// The path is one buffer that each part's parser extends before it
// descends (apex_parse_path_key/_index return the old length) and cuts
// back on success; on failure it is left as is, so the message names the
// deepest node. Messages are formatted into a local buffer of
// APEX_ERROR_MAX first, so "ORIGIN: PATH: " plus the message is cut like
// any other error.
//
// Templates are compiled through common/template.h with a scope made of
// two lookups into the parser: capture variable slots (collected over the
// whole document before anything is compiled) and the environment ("env"
// when the document has one, else getenv()), where every name looked up
// is recorded with its value, or null, in used_env for the wire text.
#include "common/scenario_parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/json.h"
#include "common/template.h"

#define APEX_PARSE_GOT_MAX (APEX_ERROR_EXCERPT + 8) // "got ..." excerpt
#define APEX_PARSE_WHAT_MAX 96 // "an integer from MIN to MAX"

void apex_parser_init(apex_parser_t *p, apex_scenario_t *sc, apex_error_t *err)
{
    memset(p, 0, sizeof *p);
    p->sc = sc;
    p->err = err;
    apex_buf_init(&p->path);
    apex_buf_puts(&p->path, "$");
    p->used_env = json_object();
    apex_http_options_fini(&p->doc_http); // unset, not "false"
    apex_http_options_fini(&p->class_http);
}

void apex_parser_fini(apex_parser_t *p)
{
    free(p->set);
    free(p->start_set);
    p->set = p->start_set = NULL;
    apex_headers_free(p->headers, p->nheaders);
    p->headers = NULL;
    p->nheaders = 0;
    json_decref(p->used_env);
    p->used_env = NULL;
    apex_http_options_fini(&p->doc_http);
    apex_http_options_fini(&p->class_http);
    apex_buf_fini(&p->path);
}

// ---------------------------------------------------------------------
// The path

size_t apex_parse_path_key(apex_parser_t *p, const char *key)
{
    size_t old = p->path.len;
    if (apex_parse_is_name(key)) {
        apex_buf_putc(&p->path, '.');
        apex_buf_puts(&p->path, key);
    } else {
        apex_buf_puts(&p->path, "[\"");
        apex_json_escape(&p->path, key, strlen(key));
        apex_buf_puts(&p->path, "\"]");
    }
    return old;
}

size_t apex_parse_path_index(apex_parser_t *p, size_t index)
{
    size_t old = p->path.len;
    apex_buf_printf(&p->path, "[%zu]", index);
    return old;
}

void apex_parse_path_restore(apex_parser_t *p, size_t len)
{
    p->path.len = len;
    p->path.data[len] = '\0';
}

// ---------------------------------------------------------------------
// Errors

int apex_parse_fail(apex_parser_t *p, const char *fmt, ...)
{
    char msg[APEX_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return apex_error_set(p->err, "%s: %s: %s", p->sc->origin,
                          apex_buf_str(&p->path), msg);
}

int apex_parse_fail_got(apex_parser_t *p, const json_t *value, const char *what)
{
    char got[APEX_PARSE_GOT_MAX];
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text)
        snprintf(got, sizeof got, "a value");
    else if (strlen(text) > APEX_ERROR_EXCERPT)
        snprintf(got, sizeof got, "%.*s...", APEX_ERROR_EXCERPT, text);
    else
        snprintf(got, sizeof got, "%s", text);
    free(text);
    return apex_parse_fail(p, "expected %s, got %s", what, got);
}

int apex_parse_fail_missing(apex_parser_t *p, const char *key, const char *what)
{
    apex_parse_path_key(p, key);
    return apex_parse_fail(p, "missing (expected %s)", what);
}

// Append a NULL-terminated list to "a, b, c".
static void s_put_list(apex_buf_t *out, const char *const *list)
{
    for (const char *const *a = list; a && *a; a++)
        apex_buf_printf(out, "%s%s", out->len ? ", " : "", *a);
}

int apex_parse_check_keys(apex_parser_t *p, const json_t *obj,
                          const char *const *allowed, const char *const *more)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        if (apex_parse_in_list(key, allowed) ||
            (more && apex_parse_in_list(key, more)))
            continue;
        apex_buf_t list;
        apex_buf_init(&list);
        s_put_list(&list, allowed);
        s_put_list(&list, more);
        apex_parse_path_key(p, key);
        apex_parse_fail(p, "unknown key (expected one of: %s)",
                        apex_buf_str(&list));
        apex_buf_fini(&list);
        return -1;
    }
    return 0;
}

int apex_parse_items(apex_parser_t *p, const json_t *array,
                     apex_parse_item_fn fn, void *arg)
{
    size_t i;
    json_t *item;
    json_array_foreach(array, i, item)
    {
        size_t old = apex_parse_path_index(p, i);
        if (fn(p, item, i, arg) != 0)
            return -1;
        apex_parse_path_restore(p, old);
    }
    return 0;
}

int apex_parse_members(apex_parser_t *p, const json_t *object,
                       apex_parse_member_fn fn, void *arg)
{
    size_t i = 0;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)object, key, value)
    {
        size_t old = apex_parse_path_key(p, key);
        if (fn(p, key, value, i++, arg) != 0)
            return -1;
        apex_parse_path_restore(p, old);
    }
    return 0;
}

int apex_parse_get_int(apex_parser_t *p, const json_t *v, long long min,
                       long long max, long long *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < min ||
        json_integer_value(v) > max) {
        char what[APEX_PARSE_WHAT_MAX];
        snprintf(what, sizeof what, "an integer from %lld to %lld", min, max);
        return apex_parse_fail_got(p, v, what);
    }
    *out = json_integer_value(v);
    return 0;
}

// ---------------------------------------------------------------------
// Names

bool apex_parse_is_name(const char *s)
{
    if (!apex_template_name_start(s[0]))
        return false;
    for (s++; *s; s++)
        if (!apex_template_name_char(*s))
            return false;
    return true;
}

bool apex_parse_is_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!apex_template_name_char(*s) && !strchr("!#$%&'*+-.^`|~", *s))
            return false;
    return true;
}

bool apex_parse_is_reserved(const char *s)
{
    static const char *const reserved[] = {"user_index", "worker_index",
                                           "iteration", "data", NULL};
    return apex_parse_in_list(s, reserved);
}

bool apex_parse_in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

long apex_parse_var_slot(const apex_parser_t *p, const char *name, size_t len)
{
    const apex_scenario_t *sc = p->sc;
    for (size_t i = 0; i < sc->nvars; i++)
        if (strncmp(sc->vars[i], name, len) == 0 && sc->vars[i][len] == '\0')
            return (long)i;
    return -1;
}

// ---------------------------------------------------------------------
// Templates in the scenario's scope

static long s_scope_var(void *arg, const char *name, size_t len)
{
    return apex_parse_var_slot(arg, name, len);
}

void apex_parse_warn(apex_parser_t *p, const char *fmt, ...)
{
    char msg[APEX_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    apex_scenario_t *sc = p->sc;
    char *text =
        apex_sprintf("%s: %s: %s", sc->origin, apex_buf_str(&p->path), msg);
    for (size_t i = 0; i < sc->nwarnings; i++) {
        if (strcmp(sc->warnings[i], text) == 0) {
            free(text);
            return;
        }
    }
    sc->warnings =
        apex_realloc(sc->warnings, sc->nwarnings + 1, sizeof *sc->warnings);
    sc->warnings[sc->nwarnings++] = text;
}

// A user variable read by a template: plainly, before any step on every
// path to here captures it, is worth a warning (it fails at run time).
static void s_scope_used(void *arg, size_t slot, bool plain)
{
    apex_parser_t *p = arg;
    if (!plain || !p->step || !p->set || p->set[slot])
        return;
    apex_parse_warn(p,
                    "variable '%s' may be read before it is set: no step "
                    "before this one on every path captures it",
                    p->sc->vars[slot]);
}

// "SET.COLUMN" of ${data.SET.COLUMN}.
static int s_scope_data(void *arg, const char *name, size_t len, size_t *set,
                        size_t *column, apex_error_t *err)
{
    apex_parser_t *p = arg;
    const apex_scenario_t *sc = p->sc;
    const char *dot = memchr(name, '.', len);
    size_t setlen = dot ? (size_t)(dot - name) : len;
    for (size_t i = 0; i < sc->ndata; i++) {
        const apex_dataset_t *d = &sc->data[i];
        if (strlen(d->name) != setlen || strncmp(d->name, name, setlen) != 0)
            continue;
        long col = dot ? apex_dataset_column(d, dot + 1, len - setlen - 1) : -1;
        if (col < 0) {
            char *list = apex_dataset_columns_text(d);
            apex_error_set(err,
                           "data set '%s' has no column '%.*s' (columns: "
                           "%s)",
                           d->name, dot ? (int)(len - setlen - 1) : 0,
                           dot ? dot + 1 : "", list);
            free(list);
            return -1;
        }
        *set = i;
        *column = (size_t)col;
        return 0;
    }
    return apex_error_set(err,
                          "no data set '%.*s' (the \"data\" section "
                          "names them)",
                          (int)setlen, name);
}

void apex_parse_step_uses(apex_parser_t *p, const apex_template_t *t)
{
    apex_step_t *step = p->step;
    if (!step || !t || !apex_template_has_vars(t))
        return;
    step->uses = apex_realloc(step->uses, step->nuses + 1, sizeof *step->uses);
    step->uses[step->nuses++] = t;
}

// Look an environment variable up (in "env" when the document has one)
// and remember it for the wire text. *value is NULL when it is unset.
static int s_scope_env(void *arg, const char *name, size_t len,
                       const char **value, apex_error_t *err)
{
    apex_parser_t *p = arg;
    char *key = apex_strndup(name, len);
    const char *found;
    if (p->env) {
        json_t *v = json_object_get(p->env, key);
        found = json_is_string(v) ? json_string_value(v) : NULL;
    } else {
        found = getenv(key);
    }
    json_t *v = found ? json_string(found) : json_null();
    if (!v) {
        apex_error_set(err, "environment variable %s is not valid UTF-8", key);
        free(key);
        return -1;
    }
    json_object_set_new(p->used_env, key, v);
    free(key);
    *value = json_is_string(v) ? json_string_value(v) : NULL;
    return 0;
}

int apex_parse_env(apex_parser_t *p, const char *name, const char **value,
                   apex_error_t *err)
{
    return s_scope_env(p, name, strlen(name), value, err);
}

apex_template_t *apex_parse_template(apex_parser_t *p, const char *src,
                                     bool json)
{
    apex_template_scope_t scope = {.var_slot = s_scope_var,
                                   .env = s_scope_env,
                                   .arg = p,
                                   .data = p->sc->ndata ? s_scope_data : NULL,
                                   .used = s_scope_used,
                                   .unset_env_ok = p->unset_env_ok};
    apex_error_t err = {""};
    apex_template_t *t = apex_template_compile(src, json, &scope, &err);
    if (!t)
        apex_parse_fail(p, "%s", err.msg);
    apex_parse_step_uses(p, t);
    return t;
}

// ---------------------------------------------------------------------
// The first pass: capture variables

// Record one capture variable name found by the first pass.
static void s_collect_var(apex_parser_t *p, const char *name)
{
    apex_scenario_t *sc = p->sc;
    if (!apex_parse_is_name(name) || apex_parse_is_reserved(name) ||
        apex_parse_var_slot(p, name, strlen(name)) >= 0)
        return;
    if (sc->nvars == APEX_SCENARIO_MAX_VARS)
        return; // the second pass reports the capture that has no slot
    sc->vars = apex_realloc(sc->vars, sc->nvars + 1, sizeof *sc->vars);
    sc->vars[sc->nvars++] = apex_strdup(name);
}

static void s_collect_step(apex_parser_t *p, const json_t *step)
{
    const char *key;
    json_t *value;
    json_t *capture = json_object_get(step, "capture");
    if (!json_is_object(capture))
        return;
    json_object_foreach(capture, key, value)
    {
        s_collect_var(p, key);
    }
}

// Every capture variable name in document order, from wherever a step
// may stand. Malformed nodes are skipped here; the second pass reports
// them.
void apex_parse_collect_vars(apex_parser_t *p, const json_t *root)
{
    size_t i, j, k;
    json_t *user, *step, *task;
    json_array_foreach(json_object_get(root, "users"), i, user)
    {
        json_array_foreach(json_object_get(user, "on_start"), j, step)
        {
            s_collect_step(p, step);
        }
        json_array_foreach(json_object_get(user, "tasks"), j, task)
        {
            s_collect_step(p, task);
            s_collect_step(p, json_object_get(task, "request"));
            json_array_foreach(json_object_get(task, "sequence"), k, step)
            {
                s_collect_step(p, step);
            }
        }
    }
}
