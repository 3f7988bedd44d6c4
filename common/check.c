// common/check.c - checks (see check.h): the "check" object of a step
// compiled into apex_check_t (conditions through common/jsonpath.h,
// regexes with the capture regexes' cost limits), and their evaluation.
//
// Names: every distinct check name of a scenario gets a slot in
// sc->check_names, in document order, so a worker counts by slot and
// reports by name, and the master sums by name across workers.
#include "common/check.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "common/alloc.h"
#include "common/scenario.h"
#include "common/scenario_parse.h"

static const char *const s_keys[] = {"json", "regex", "header", "soft", NULL};

void apex_check_fini(apex_check_t *c)
{
    free(c->name);
    free(c->expr);
    apex_jsonpath_expr_destroy(&c->cond);
    if (c->kind == APEX_CHECK_REGEX && c->expr)
        regfree(&c->regex);
    memset(c, 0, sizeof *c);
}

// The slot of check name, added when new.
static long s_slot(apex_parser_t *p, const char *name)
{
    apex_scenario_t *sc = p->sc;
    for (size_t i = 0; i < sc->ncheck_names; i++)
        if (strcmp(sc->check_names[i], name) == 0)
            return (long)i;
    if (sc->ncheck_names == APEX_CHECK_MAX_NAMES)
        return apex_parse_fail(p, "more than %d check names",
                               APEX_CHECK_MAX_NAMES);
    sc->check_names = apex_realloc(sc->check_names, sc->ncheck_names + 1,
                                   sizeof *sc->check_names);
    sc->check_names[sc->ncheck_names] = apex_strdup(name);
    return (long)sc->ncheck_names++;
}

// {"json"|"regex"|"header": text, "soft": bool} or a condition string.
static int s_compile(apex_parser_t *p, const json_t *spec, apex_check_t *c)
{
    const char *kind = "json";
    const json_t *expr = spec;
    if (json_is_object(spec)) {
        if (apex_parse_check_keys(p, spec, s_keys, NULL) != 0)
            return -1;
        json_t *soft = json_object_get(spec, "soft");
        if (soft && !json_is_boolean(soft)) {
            apex_parse_path_key(p, "soft");
            return apex_parse_fail_got(p, soft, "true or false");
        }
        c->soft = json_is_true(soft);
        size_t n = json_object_size(spec) - (soft ? 1 : 0);
        if (n != 1)
            return apex_parse_fail_got(p, spec,
                                       "exactly one of: json, regex, header");
        kind = json_object_get(spec, "json")    ? "json"
               : json_object_get(spec, "regex") ? "regex"
                                                : "header";
        expr = json_object_get(spec, kind);
        apex_parse_path_key(p, kind);
    } else if (!json_is_string(spec)) {
        return apex_parse_fail_got(p, spec,
                                   "a condition or an object with one of: "
                                   "json, regex, header");
    }
    if (!json_is_string(expr) || json_string_length(expr) == 0)
        return apex_parse_fail_got(p, expr, "a non-empty string");
    c->expr = apex_strdup(json_string_value(expr));
    apex_error_t err = {""};
    if (strcmp(kind, "json") == 0) {
        c->kind = APEX_CHECK_JSON;
        c->cond = apex_jsonpath_expr_compile(c->expr, &err);
        return c->cond ? 0 : apex_parse_fail(p, "%s", err.msg);
    }
    if (strcmp(kind, "header") == 0) {
        c->kind = APEX_CHECK_HEADER;
        return apex_parse_is_token(c->expr)
                   ? 0
                   : apex_parse_fail_got(p, expr, "a header name");
    }
    char *saved = c->expr; // apex_check_fini() regfree()s only compiled ones
    c->expr = NULL;
    if (apex_parse_regex(p, saved, REG_EXTENDED | REG_NOSUB, &c->regex) != 0) {
        free(saved);
        return -1;
    }
    c->expr = saved;
    c->kind = APEX_CHECK_REGEX;
    return 0;
}

static int s_parse_member(apex_parser_t *p, const char *key,
                          const json_t *value, size_t i, void *arg)
{
    apex_step_t *step = arg;
    apex_check_t *c = &step->checks[i];
    if (key[0] == '\0' || strlen(key) > APEX_CHECK_NAME_MAX)
        return apex_parse_fail(p, "expected a check name of 1 to %d bytes",
                               APEX_CHECK_NAME_MAX);
    long slot = s_slot(p, key);
    if (slot < 0)
        return -1;
    c->name = apex_strdup(key);
    c->slot = (size_t)slot;
    if (s_compile(p, value, c) != 0)
        return -1;
    if (c->kind == APEX_CHECK_HEADER)
        step->needs_headers = true;
    else
        step->needs_body = true;
    return 0;
}

int apex_parse_checks(apex_parser_t *p, const json_t *obj, apex_step_t *step)
{
    if (!json_is_object(obj) || json_object_size(obj) == 0)
        return apex_parse_fail_got(p, obj,
                                   "a non-empty object of check names and "
                                   "conditions");
    if (json_object_size(obj) > APEX_CHECK_MAX_PER_STEP)
        return apex_parse_fail(p, "more than %d checks",
                               APEX_CHECK_MAX_PER_STEP);
    step->checks = apex_calloc(json_object_size(obj), sizeof *step->checks);
    step->nchecks = json_object_size(obj);
    return apex_parse_members(p, obj, s_parse_member, step);
}

int apex_checks_compile(apex_step_t *step, const json_t *obj, apex_error_t *err)
{
    apex_scenario_t *scratch = apex_calloc(1, sizeof *scratch);
    scratch->origin = apex_strdup("request");
    apex_parser_t p;
    apex_parser_init(&p, scratch, err);
    apex_parse_path_key(&p, "check");
    int rc = apex_parse_checks(&p, obj, step);
    apex_parser_fini(&p);
    apex_scenario_destroy(&scratch);
    return rc;
}

// ---------------------------------------------------------------------
// Evaluating

// True when the raw header block has a header called name.
static bool s_has_header(const char *headers, size_t size, const char *name)
{
    size_t n = strlen(name);
    const char *end = headers + size;
    for (const char *line = headers; headers && line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        const char *next = eol ? eol + 1 : end;
        if ((size_t)((eol ? eol : end) - line) > n && line[n] == ':' &&
            strncasecmp(line, name, n) == 0)
            return true;
        line = next;
    }
    return false;
}

long apex_checks_apply(const apex_step_t *step, const char *headers,
                       size_t headers_size, const char *body, size_t body_size,
                       bool *passed)
{
    assert(step && (passed || step->nchecks == 0));
    json_t *doc = NULL;
    bool parsed = false;
    char *text = NULL;
    long hard = -1;
    for (size_t i = 0; i < step->nchecks; i++) {
        const apex_check_t *c = &step->checks[i];
        bool ok = false;
        if (c->kind == APEX_CHECK_HEADER) {
            ok = s_has_header(headers, headers ? headers_size : 0, c->expr);
        } else if (c->kind == APEX_CHECK_JSON) {
            if (!parsed && body)
                doc = json_loadb(body, body_size, JSON_DECODE_ANY, NULL);
            parsed = true;
            ok = doc && apex_jsonpath_expr_eval(c->cond, doc) == 1;
        } else {
            if (!text)
                text = body ? apex_strndup(body, body_size) : apex_strdup("");
            ok = regexec(&c->regex, text, 0, NULL, 0) == 0;
        }
        passed[i] = ok;
        if (!ok && !c->soft && hard < 0)
            hard = (long)i;
    }
    json_decref(doc);
    free(text);
    return hard;
}
