// common/capture.c - captures: the "capture" object of a step compiled
// into apex_capture_t (JSON paths, header names, regexes with their cost
// bounded, SQL result columns), and their application to a response.
//
// The form, in a step:
//   "capture": {"task_id": {"json": "$.id"},      // a JSON path
//               "loc": {"header": "Location"},    // a response header
//               "n": {"regex": "id=([0-9]+)"},    // group 1, or the match
//               "dag_id": "$.dags[*].id"}         // a string is a path
// and in an SQL step, where only columns may be captured:
//   "capture": {"id": {"column": "id"},                 // the first row
//               "any": {"column": "id", "row": "random"}}
// Each key is a variable name whose slot the loader assigned in its first
// pass over the document, so every class shares one slot table.
//
// Regexes: before regcomp() sees a pattern, s_regex_risk() walks it once
// and computes its size with every {m,n} bound expanded (the way glibc
// compiles it: the element before a bound is copied once per count, and
// nested bounds multiply), refusing back-references outright. One
// regex's size and the scenario's total are limited (capture.h).
//
// Applying: the body is parsed as JSON at most once per response, and
// NUL-terminated at most once for regexec(); every capture is evaluated
// even after one fails, so the variables that were found are stored.
#include "common/capture.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "common/alloc.h"
#include "common/json.h"
#include "common/rng.h"
#include "common/scenario.h"
#include "common/scenario_parse.h"

#define APEX_REGEX_WHY_MAX 128 // regerror()'s text
#define APEX_REGEX_MATCHES 2   // the whole match and group 1

static const char *const s_capture_keys[] = {"json",   "header", "regex",
                                             "column", "row",    NULL};
static const char s_too_large[] = "repetition counts expand it to more than "
                                  "10000 elements";

void apex_capture_fini(apex_capture_t *c)
{
    free(c->var);
    free(c->expr);
    apex_jsonpath_fini(&c->path);
    if (c->kind == APEX_CAPTURE_REGEX)
        regfree(&c->regex);
    memset(c, 0, sizeof *c);
}

// ---------------------------------------------------------------------
// Regex limits

// The "]" that ends the bracket expression at p ("[", "[^", a leading
// "]" belongs to the set), or NULL when there is none.
static const char *s_bracket_end(const char *p)
{
    const char *q = p + 1;
    if (*q == '^')
        q++;
    if (*q == ']')
        q++;
    while (*q && *q != ']')
        q++;
    return *q ? q : NULL;
}

// The largest count of the bound "{m}", "{m,}" or "{m,n}" at *pp, capped
// just past APEX_REGEX_MAX_SIZE (NaN stays NaN); *pp moves to its "}".
static double s_bound_count(const char **pp)
{
    const char *p = *pp;
    char *end = NULL;
    double lo = strtod(p + 1, &end);
    double hi = lo;
    if (end && *end == ',') {
        char *end2 = NULL;
        hi = strtod(end + 1, &end2);
        if (end2 == end + 1)
            hi = lo + 1; // {m,}: unbounded, costs like m + 1
    }
    const char *close = strchr(p, '}');
    if (close)
        *pp = close;
    if (hi > APEX_REGEX_MAX_SIZE) // inf too
        hi = APEX_REGEX_MAX_SIZE + 1;
    return hi;
}

// Why a capture regex is refused, or NULL; *size_out gets its expanded
// size (see the top of this file).
static const char *s_regex_risk(const char *re, double *size_out)
{
    double size[APEX_REGEX_MAX_DEPTH + 1]; // expanded size of each group
    int depth = 0;
    double atom = 0; // expanded size of the last element ({m,n} copies it)
    size[0] = 0;
    for (const char *p = re; *p; p++) {
        if (*p == '\\') {
            if (p[1] >= '1' && p[1] <= '9')
                return "back-references (\\1 to \\9) are not allowed";
            if (p[1])
                p++;
            atom = 1;
        } else if (*p == '[') {
            const char *q = s_bracket_end(p);
            if (!q)
                break; // regcomp reports it
            p = q;
            atom = 1;
        } else if (*p == '(') {
            if (depth == APEX_REGEX_MAX_DEPTH)
                return "groups nested too deeply";
            size[++depth] = 0;
            atom = 0;
            continue;
        } else if (*p == ')') {
            if (depth == 0)
                continue;
            atom = size[depth--] + 1;
        } else if (*p == '{') {
            double hi = s_bound_count(&p);
            if (hi > 1) { // NaN is not
                // The element is counted once already: add the copies.
                size[depth] += atom * (hi - 1);
                atom *= hi;
            }
            if (size[depth] > APEX_REGEX_MAX_SIZE)
                return s_too_large;
            continue;
        } else {
            atom = 1;
        }
        size[depth] += atom;
        if (size[depth] > APEX_REGEX_MAX_SIZE)
            return s_too_large;
    }
    double total = 0;
    for (int d = 0; d <= depth; d++)
        total += size[d];
    *size_out = total;
    return NULL;
}

// ---------------------------------------------------------------------
// Compiling

int apex_parse_regex(apex_parser_t *p, const char *expr, int flags,
                     regex_t *out)
{
    char quoted[APEX_ERROR_QUOTE_MAX];
    double size = 0;
    const char *risk = s_regex_risk(expr, &size);
    if (!risk && p->regex_size + size > APEX_REGEX_MAX_SIZE_ALL)
        risk = "the scenario's regexes expand to more than 100000 "
               "elements in all";
    if (risk) {
        apex_error_quote(expr, quoted, sizeof quoted);
        return apex_parse_fail(p, "regex %s: %s", quoted, risk);
    }
    p->regex_size += size;
    int rc = regcomp(out, expr, flags);
    if (rc != 0) {
        char why[APEX_REGEX_WHY_MAX];
        regerror(rc, out, why, sizeof why);
        apex_error_quote(expr, quoted, sizeof quoted);
        return apex_parse_fail(p, "bad regex %s: %s", quoted, why);
    }
    return 0;
}

static int s_compile_regex(apex_parser_t *p, apex_capture_t *c)
{
    if (apex_parse_regex(p, c->expr, REG_EXTENDED, &c->regex) != 0)
        return -1;
    c->kind = APEX_CAPTURE_REGEX; // only now does fini call regfree()
    c->has_group = c->regex.re_nsub >= 1;
    return 0;
}

// Compile expr (a JSON string) of the given kind into c.
static int s_compile(apex_parser_t *p, apex_capture_t *c, const char *kind,
                     const json_t *expr)
{
    if (!json_is_string(expr) || json_string_length(expr) == 0)
        return apex_parse_fail_got(p, expr,
                                   strcmp(kind, "json") == 0 ? "a JSON path"
                                   : strcmp(kind, "header") == 0
                                       ? "a header name"
                                       : "a regex");
    c->expr = apex_strdup(json_string_value(expr));
    if (strcmp(kind, "json") == 0) {
        apex_error_t err = {""};
        c->kind = APEX_CAPTURE_JSON;
        if (apex_jsonpath_compile(&c->path, c->expr, &err) != 0)
            return apex_parse_fail(p, "%s", err.msg);
        return 0;
    }
    if (strcmp(kind, "header") == 0) {
        if (!apex_parse_is_token(c->expr))
            return apex_parse_fail_got(p, expr, "a header name");
        c->kind = APEX_CAPTURE_HEADER;
        return 0;
    }
    return s_compile_regex(p, c);
}

// {"column": NAME} or {"column": NAME, "row": "first" | "random"}.
static int s_compile_column(apex_parser_t *p, apex_capture_t *c,
                            const json_t *spec)
{
    json_t *name = json_object_get(spec, "column");
    json_t *row = json_object_get(spec, "row");
    size_t old = apex_parse_path_key(p, "column");
    if (!json_is_string(name) || json_string_length(name) == 0)
        return apex_parse_fail_got(p, name, "a column name");
    c->kind = APEX_CAPTURE_COLUMN;
    c->expr = apex_strdup(json_string_value(name));
    apex_parse_path_restore(p, old);
    if (!row)
        return 0;
    apex_parse_path_key(p, "row");
    if (!json_is_string(row) || (strcmp(json_string_value(row), "first") != 0 &&
                                 strcmp(json_string_value(row), "random") != 0))
        return apex_parse_fail_got(p, row, "\"first\" or \"random\"");
    c->random_row = strcmp(json_string_value(row), "random") == 0;
    apex_parse_path_restore(p, old);
    return 0;
}

// One capture: the path names the variable; a string is a JSON path.
static int s_parse_capture(apex_parser_t *p, const char *var,
                           const json_t *spec, apex_capture_t *c)
{
    if (!apex_parse_is_name(var))
        return apex_parse_fail(p, "expected a variable name "
                                  "([A-Za-z_][A-Za-z0-9_]*)");
    if (apex_parse_is_reserved(var))
        return apex_parse_fail(p,
                               "'%s' is a built-in name: pick another "
                               "variable name",
                               var);
    long slot = apex_parse_var_slot(p, var, strlen(var));
    if (slot < 0) // the first pass stopped collecting
        return apex_parse_fail(p, "more than %d capture variables",
                               APEX_SCENARIO_MAX_VARS);
    c->var = apex_strdup(var);
    c->slot = (size_t)slot;
    const char *kind = "json";
    const json_t *expr = spec;
    if (json_is_object(spec)) {
        if (apex_parse_check_keys(p, spec, s_capture_keys, NULL) != 0)
            return -1;
        if (json_object_get(spec, "column") &&
            json_object_size(spec) <= 1 + !!json_object_get(spec, "row"))
            return s_compile_column(p, c, spec);
        if (json_object_size(spec) != 1 || json_object_get(spec, "row"))
            return apex_parse_fail_got(p, spec,
                                       "exactly one of: json, header, regex, "
                                       "column (with an optional row)");
        kind = json_object_iter_key(json_object_iter((json_t *)spec));
        expr = json_object_get(spec, kind);
        apex_parse_path_key(p, kind);
    } else if (!json_is_string(spec)) {
        return apex_parse_fail_got(p, spec,
                                   "a JSON path or an object with one of: "
                                   "json, header, regex, column");
    }
    return s_compile(p, c, kind, expr);
}

// One member of a "capture" object into step->captures[i].
static int s_parse_member(apex_parser_t *p, const char *key,
                          const json_t *value, size_t i, void *arg)
{
    apex_step_t *step = arg;
    apex_capture_t *c = &step->captures[i];
    if (s_parse_capture(p, key, value, c) != 0)
        return -1;
    bool sql = step->kind == APEX_STEP_SQL;
    if (sql && c->kind != APEX_CAPTURE_COLUMN)
        return apex_parse_fail(p, "an SQL step captures columns: "
                                  "{\"column\": NAME} or {\"column\": NAME, "
                                  "\"row\": \"random\"}");
    if (!sql && c->kind == APEX_CAPTURE_COLUMN)
        return apex_parse_fail(p, "a column capture needs an SQL step");
    if (c->kind == APEX_CAPTURE_COLUMN)
        return 0; // the kind hands its rows over
    if (c->kind == APEX_CAPTURE_HEADER)
        step->needs_headers = true;
    else
        step->needs_body = true;
    return 0;
}

int apex_parse_captures(apex_parser_t *p, const json_t *obj, apex_step_t *step)
{
    if (!json_is_object(obj))
        return apex_parse_fail_got(p, obj,
                                   "an object of variable names and captures");
    step->captures = apex_calloc(json_object_size(obj), sizeof *step->captures);
    step->ncaptures = json_object_size(obj);
    return apex_parse_members(p, obj, s_parse_member, step);
}

// ---------------------------------------------------------------------
// Applying

static bool s_is_blank(char c)
{
    return c == ' ' || c == '\t';
}

// The value of the last header called name in a raw header block.
static char *s_header_value(const char *headers, size_t size, const char *name)
{
    if (!headers)
        return NULL;
    size_t namelen = strlen(name);
    const char *found = NULL;
    size_t foundlen = 0;
    const char *end = headers + size;
    for (const char *line = headers; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        const char *next = eol ? eol + 1 : end;
        if (!eol)
            eol = end;
        if (eol > line && eol[-1] == '\r')
            eol--;
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        if (colon && (size_t)(colon - line) == namelen &&
            strncasecmp(line, name, namelen) == 0) {
            const char *v = colon + 1;
            const char *vend = eol;
            while (v < vend && s_is_blank(*v))
                v++;
            while (vend > v && s_is_blank(vend[-1]))
                vend--;
            found = v;
            foundlen = (size_t)(vend - v);
        }
        line = next;
    }
    return found ? apex_strndup(found, foundlen) : NULL;
}

static char *s_regex_value(const apex_capture_t *c, const char *text)
{
    regmatch_t m[APEX_REGEX_MATCHES];
    if (regexec(&c->regex, text, APEX_REGEX_MATCHES, m, 0) != 0)
        return NULL;
    const regmatch_t *g = &m[c->has_group ? 1 : 0];
    if (g->rm_so < 0) // the group took no part in the match
        return NULL;
    return apex_strndup(text + g->rm_so, (size_t)(g->rm_eo - g->rm_so));
}

// What one response gives the captures of a step: the raw parts, and
// the body parsed or NUL-terminated on first use.
typedef struct {
    const char *headers; // raw header block, or NULL
    size_t headers_size; // its length
    const char *body;    // raw body, or NULL
    size_t body_size;    // its length
    json_t *doc;         // the body as JSON, once parsed (NULL: not JSON)
    bool parsed;         // doc was tried
    char *text;          // the body NUL-terminated, for regexec()
    const apex_capture_rows_t *rows; // an SQL result, or NULL
} s_response_t;

// The node c's path picks in doc as text (a new string), or NULL: the
// only match or the first, or a random one for a path with [*].
static char *s_json_value(const apex_capture_t *c, const json_t *doc,
                          uint64_t *rng, const char **problem, bool *json)
{
    apex_jsonpath_nodes_t nodes;
    apex_jsonpath_nodes_init(&nodes);
    char *text = NULL;
    if (apex_jsonpath_query(&c->path, doc, &nodes) != 0) {
        *problem = "the path visits more than 100000 nodes";
    } else if (nodes.n) {
        size_t pick = 0;
        if (nodes.n > 1 && apex_jsonpath_has_any(&c->path) && rng)
            pick = (size_t)(apex_rng_next(rng) % nodes.n);
        *json = !json_is_string(nodes.nodes[pick]);
        text = apex_json_text(nodes.nodes[pick]);
    }
    apex_jsonpath_nodes_fini(&nodes);
    return text;
}

// A column of the first or a random row of an SQL result.
static char *s_column_value(const apex_capture_t *c,
                            const apex_capture_rows_t *rows, uint64_t *rng,
                            const char **problem)
{
    if (!rows) {
        *problem = "needs an SQL result";
        return NULL;
    }
    if (rows->nrows == 0) {
        *problem = "no rows in the result";
        return NULL;
    }
    size_t row = c->random_row ? (size_t)apex_rng_below(rng, rows->nrows) : 0;
    const char *value = NULL;
    int rc = rows->get(rows->arg, row, c->expr, &value);
    if (rc == 0 || (rc > 0 && !value)) {
        *problem = "no such column in the result";
        return NULL;
    }
    if (rc < 0) {
        *problem = "NULL in the row";
        return NULL;
    }
    return apex_strdup(value);
}

// The value c captures from r (a new string), or NULL with *kind and
// *problem set for the message.
static char *s_capture_value(const apex_capture_t *c, s_response_t *r,
                             uint64_t *rng, const char **kind,
                             const char **problem, bool *json)
{
    *kind = "";
    *problem = "not found in response";
    *json = false;
    if (c->kind == APEX_CAPTURE_COLUMN) {
        *kind = "column ";
        return s_column_value(c, r->rows, rng, problem);
    }
    if (c->kind == APEX_CAPTURE_JSON) {
        if (!r->parsed) {
            r->parsed = true;
            if (r->body)
                r->doc =
                    json_loadb(r->body, r->body_size, JSON_DECODE_ANY, NULL);
        }
        if (!r->doc) {
            *problem = "response body is not JSON";
            return NULL;
        }
        return s_json_value(c, r->doc, rng, problem, json);
    }
    if (c->kind == APEX_CAPTURE_HEADER) {
        *kind = "header ";
        return s_header_value(r->headers, r->headers_size, c->expr);
    }
    *kind = "regex ";
    if (!r->text)
        r->text =
            r->body ? apex_strndup(r->body, r->body_size) : apex_strdup("");
    return s_regex_value(c, r->text);
}

// Every capture of step from r; the first failure is reported.
// vars_json[slot], when not NULL, is set to 1 for a value that is JSON
// (a number, true, false, null, an array or an object from a JSON path).
static int s_apply(const apex_step_t *step, s_response_t *r, char **vars,
                   unsigned char *vars_json, uint64_t *rng, apex_error_t *err)
{
    assert(step && (vars || step->ncaptures == 0));
    int rc = 0;
    for (size_t i = 0; i < step->ncaptures; i++) {
        const apex_capture_t *c = &step->captures[i];
        const char *kind, *problem;
        bool json;
        char *value = s_capture_value(c, r, rng, &kind, &problem, &json);
        if (value) {
            free(vars[c->slot]);
            vars[c->slot] = value;
            if (vars_json)
                vars_json[c->slot] = json;
        } else if (rc == 0) {
            rc = apex_error_set(err, "capture %s: %s%s: %s", c->var, kind,
                                c->expr, problem);
        }
    }
    json_decref(r->doc);
    free(r->text);
    return rc;
}

int apex_captures_apply(const apex_step_t *step, const char *headers,
                        size_t headers_size, const char *body, size_t body_size,
                        char **vars, uint64_t *rng, apex_error_t *err)
{
    return apex_captures_apply_typed(step, headers, headers_size, body,
                                     body_size, vars, NULL, rng, err);
}

int apex_captures_apply_typed(const apex_step_t *step, const char *headers,
                              size_t headers_size, const char *body,
                              size_t body_size, char **vars,
                              unsigned char *vars_json, uint64_t *rng,
                              apex_error_t *err)
{
    s_response_t r = {headers, headers_size, body, body_size,
                      NULL,    false,        NULL, NULL};
    return s_apply(step, &r, vars, vars_json, rng, err);
}

int apex_captures_apply_rows(const apex_step_t *step,
                             const apex_capture_rows_t *rows, char **vars,
                             unsigned char *vars_json, uint64_t *rng,
                             apex_error_t *err)
{
    assert(rows);
    s_response_t r = {NULL, 0, NULL, 0, NULL, false, NULL, rows};
    return s_apply(step, &r, vars, vars_json, rng, err);
}
