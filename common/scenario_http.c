// common/scenario_http.c - the JSON form of an HTTP step (kind
// APEX_STEP_HTTP, marked by "path"), parsed into apex_http_step_t:
//
//   {
//     "method": "GET",          // default GET; GET POST PUT PATCH DELETE
//                               // HEAD OPTIONS, any case (upper case out)
//     "path": "/api/v1/tasks/${task_id}",  // required; starts with "/" or
//                               // is an absolute http:// or https:// URL
//     "name": "/api/v1/tasks/{id}",  // stats name; default: the path with
//                               // user variables written as {NAME}
//     "query": {"limit": 20, "q": "${x}"},  // values: string or number
//     "headers": {"X-Trace": "${uuid()}"},  // override the top-level
//                               // headers of the same name (any case); a
//                               // header expanding to "" is not sent
//     "json": <any JSON value>, // body = compact JSON, plus Content-Type:
//                               // application/json unless a header sets
//                               // it; text inserted into its strings by
//                               // placeholders is JSON-escaped
//     "body": "raw text",       // alternative to "json" (not both)
//     "expect": 201 or [200, 201],  // accepted statuses (100..599);
//                               // default: any status below 400
//     "capture": {...},         // what every step has (scenario.c,
//     "timeout": 30             // capture.c)
//   }
//
// Every string that is sent is compiled as a template at its own JSON
// path, so errors name it ("$.users[0].tasks[1].headers.X: ..."). The
// document's "headers" are parsed here too and merged into each request:
// a request owns a copy of each scenario header it does not override, so
// the worker reads one flat list per request.
#include "common/scenario_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/json.h"
#include "common/template.h"
#include "common/url.h"

#define APEX_HTTP_STATUS_MIN 100 // lowest status in "expect"
#define APEX_HTTP_STATUS_MAX 599 // highest status in "expect"
#define APEX_HTTP_WHAT_MAX 96    // "a status from MIN to MAX ..."

static const char *const s_keys[] = {
    "method", "path",    "name",    "query", "headers", "json", "body",
    "expect", "capture", "timeout", "check", "http",    NULL};
static const char *const s_methods[] = {"GET",    "POST", "PUT",     "PATCH",
                                        "DELETE", "HEAD", "OPTIONS", NULL};
bool apex_http_is_method(const char *type)
{
    return apex_parse_in_list(type, s_methods);
}

static const char s_path_what[] = "a path starting with \"/\" or an absolute "
                                  "http:// or https:// URL";

// ---------------------------------------------------------------------
// Headers

void apex_headers_free(apex_header_t *headers, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(headers[i].name);
        apex_template_destroy(&headers[i].value);
    }
    free(headers);
}

// One header of a "headers" object into headers[i]; the names before it
// are headers[0 .. i).
static int s_parse_header(apex_parser_t *p, const char *key,
                          const json_t *value, size_t i, void *arg)
{
    apex_header_t *headers = arg;
    if (!apex_parse_is_token(key))
        return apex_parse_fail(p, "expected a header name (letters, digits "
                                  "and !#$%%&'*+-.^_`|~)");
    for (size_t j = 0; j < i; j++)
        if (strcasecmp(headers[j].name, key) == 0)
            return apex_parse_fail(p, "duplicate header (names are "
                                      "case-insensitive)");
    if (!json_is_string(value))
        return apex_parse_fail_got(p, value, "a string");
    if (strpbrk(json_string_value(value), "\r\n"))
        return apex_parse_fail(p, "expected a header value without line "
                                  "breaks");
    headers[i].name = apex_strdup(key);
    headers[i].value = apex_parse_template(p, json_string_value(value), false);
    return headers[i].value ? 0 : -1;
}

int apex_parse_headers(apex_parser_t *p, const json_t *obj, apex_header_t **out,
                       size_t *nout)
{
    if (!json_is_object(obj))
        return apex_parse_fail_got(p, obj,
                                   "an object of header names and values");
    *out = apex_calloc(json_object_size(obj), sizeof **out);
    *nout = json_object_size(obj);
    return apex_parse_members(p, obj, s_parse_header, *out);
}

static bool s_has_header(const apex_header_t *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(h[i].name, name) == 0)
            return true;
    return false;
}

// r->headers holds the request's own headers: put the document's headers
// that it does not override in front, and a JSON Content-Type at the end.
static void s_merge_headers(apex_parser_t *p, apex_http_step_t *r, bool json)
{
    size_t cap = p->nheaders + r->nheaders + 1;
    apex_header_t *merged = apex_calloc(cap, sizeof *merged);
    size_t n = 0;
    for (size_t i = 0; i < p->nheaders; i++) {
        if (s_has_header(r->headers, r->nheaders, p->headers[i].name))
            continue;
        merged[n].name = apex_strdup(p->headers[i].name);
        merged[n].value = apex_template_dup(p->headers[i].value);
        n++;
    }
    for (size_t i = 0; i < r->nheaders; i++)
        merged[n++] = r->headers[i];
    if (json && !s_has_header(merged, n, "Content-Type")) {
        merged[n].name = apex_strdup("Content-Type");
        merged[n].value = apex_parse_template(p, "application/json", false);
        n++;
    }
    free(r->headers);
    r->headers = merged;
    r->nheaders = n;
}

// ---------------------------------------------------------------------
// Query and expect

// One query parameter into r->query[i].
static int s_parse_param(apex_parser_t *p, const char *key, const json_t *value,
                         size_t i, void *arg)
{
    apex_http_step_t *r = arg;
    if (key[0] == '\0')
        return apex_parse_fail(p, "expected a non-empty parameter name");
    if (!json_is_string(value) && !json_is_number(value))
        return apex_parse_fail_got(p, value, "a string or a number");
    char *text = apex_json_text(value);
    r->query[i].name = apex_strdup(key);
    r->query[i].value = apex_parse_template(p, text, false);
    free(text);
    return r->query[i].value ? 0 : -1;
}

static int s_parse_query(apex_parser_t *p, const json_t *obj,
                         apex_http_step_t *r)
{
    if (!json_is_object(obj))
        return apex_parse_fail_got(p, obj,
                                   "an object of parameter names and values");
    r->query = apex_calloc(json_object_size(obj), sizeof *r->query);
    r->nquery = json_object_size(obj);
    return apex_parse_members(p, obj, s_parse_param, r);
}

// An HTTP status an "expect" accepts.
static int s_get_status(apex_parser_t *p, const json_t *v, int *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < APEX_HTTP_STATUS_MIN ||
        json_integer_value(v) > APEX_HTTP_STATUS_MAX) {
        char what[APEX_HTTP_WHAT_MAX];
        snprintf(what, sizeof what, "a status from %d to %d",
                 APEX_HTTP_STATUS_MIN, APEX_HTTP_STATUS_MAX);
        return apex_parse_fail_got(p, v, what);
    }
    *out = (int)json_integer_value(v);
    return 0;
}

// One status of an "expect" list into statuses[i].
static int s_parse_status(apex_parser_t *p, const json_t *item, size_t i,
                          void *arg)
{
    int *statuses = arg;
    return s_get_status(p, item, &statuses[i]);
}

static int s_parse_expect(apex_parser_t *p, const json_t *v,
                          apex_http_step_t *r)
{
    if (!json_is_array(v)) {
        r->expect = apex_calloc(1, sizeof *r->expect);
        r->nexpect = 1;
        if (json_is_integer(v))
            return s_get_status(p, v, &r->expect[0]);
    }
    if (!json_is_array(v) || json_array_size(v) == 0) {
        char what[APEX_HTTP_WHAT_MAX];
        snprintf(what, sizeof what,
                 "a status from %d to %d or a non-empty list of them",
                 APEX_HTTP_STATUS_MIN, APEX_HTTP_STATUS_MAX);
        return apex_parse_fail_got(p, v, what);
    }
    r->nexpect = json_array_size(v);
    r->expect = apex_calloc(r->nexpect, sizeof *r->expect);
    return apex_parse_items(p, v, s_parse_status, r->expect);
}

// ---------------------------------------------------------------------
// Method, path, name, body

static int s_parse_method(apex_parser_t *p, const json_t *v,
                          apex_http_step_t *r)
{
    const char *const *m = s_methods;
    while (*m &&
           !(json_is_string(v) && strcasecmp(*m, json_string_value(v)) == 0))
        m++;
    if (!*m)
        return apex_parse_fail_got(p, v,
                                   "one of GET, POST, PUT, PATCH, DELETE, "
                                   "HEAD, OPTIONS");
    free(r->method);
    r->method = apex_strdup(*m);
    return 0;
}

// True when path (compiled) can be a URL path or an absolute URL: a
// literal start is checked now; a start that is a variable or a function
// is only known per request (a captured Location header, say).
static bool s_path_ok(const apex_template_t *path)
{
    const char *lead = apex_template_lead(path);
    return !lead || lead[0] == '/' || apex_url_is_absolute(lead);
}

static int s_parse_path(apex_parser_t *p, const json_t *v, apex_http_step_t *r)
{
    if (!json_is_string(v))
        return apex_parse_fail_got(p, v, s_path_what);
    r->path = apex_parse_template(p, json_string_value(v), false);
    if (!r->path)
        return -1;
    if (!s_path_ok(r->path))
        return apex_parse_fail_got(p, v, s_path_what);
    return 0;
}

// "json" (compact JSON in JSON mode) or "body" (raw text), not both.
static int s_parse_body(apex_parser_t *p, const json_t *json,
                        const json_t *body, apex_http_step_t *r)
{
    size_t old = p->path.len;
    if (json && body)
        return apex_parse_fail(p, "expected \"json\" or \"body\", not both");
    if (json) {
        apex_parse_path_key(p, "json");
        char *text = json_dumps(json, APEX_JSON_DUMP_FLAGS | JSON_ENCODE_ANY);
        if (!text)
            return apex_parse_fail(p, "cannot serialize the JSON body");
        r->body = apex_parse_template(p, text, true);
        free(text);
    } else if (body) {
        apex_parse_path_key(p, "body");
        if (!json_is_string(body))
            return apex_parse_fail_got(p, body, "a string");
        r->body = apex_parse_template(p, json_string_value(body), false);
    } else {
        return 0;
    }
    if (!r->body)
        return -1;
    apex_parse_path_restore(p, old);
    return 0;
}

// ---------------------------------------------------------------------
// The step

// A member of obj parsed by fn, at its own path, when present.
static int s_member(apex_parser_t *p, const json_t *obj, const char *key,
                    apex_http_step_t *r,
                    int (*fn)(apex_parser_t *, const json_t *,
                              apex_http_step_t *))
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    size_t old = apex_parse_path_key(p, key);
    if (fn(p, v, r) != 0)
        return -1;
    apex_parse_path_restore(p, old);
    return 0;
}

static int s_parse_own_headers(apex_parser_t *p, const json_t *v,
                               apex_http_step_t *r)
{
    return apex_parse_headers(p, v, &r->headers, &r->nheaders);
}

// The step's "http" over its class's over the document's, and the
// engine its class or the document names.
static int s_parse_options(apex_parser_t *p, const json_t *obj,
                           apex_http_step_t *r)
{
    apex_http_options_t own = {0}, cls;
    apex_http_options_fini(&own); // unset
    json_t *v = json_object_get(obj, "http");
    if (v) {
        size_t old = apex_parse_path_key(p, "http");
        int rc = apex_parse_http_options(p, v, &own);
        if (rc != 0) {
            apex_http_options_fini(&own);
            return -1;
        }
        apex_parse_path_restore(p, old);
    }
    apex_http_options_merge(&cls, &p->doc_http, &p->class_http);
    apex_http_options_merge(&r->opts, &cls, &own);
    apex_http_options_fini(&cls);
    apex_http_options_fini(&own);
    r->engine =
        p->class_engine != APEX_ENGINE_UNSET ? p->class_engine : p->doc_engine;
    return 0;
}

static int s_parse(apex_parser_t *p, const json_t *obj, apex_step_t *step)
{
    apex_http_step_t *r = step->http = apex_calloc(1, sizeof *step->http);
    r->method = apex_strdup("GET");
    if (s_member(p, obj, "method", r, s_parse_method) != 0)
        return -1;
    if (!json_object_get(obj, "path"))
        return apex_parse_fail_missing(p, "path", s_path_what);
    if (s_member(p, obj, "path", r, s_parse_path) != 0 ||
        apex_parse_step_name(p, obj, step, apex_template_display(r->path)) !=
            0 ||
        s_member(p, obj, "query", r, s_parse_query) != 0 ||
        s_member(p, obj, "headers", r, s_parse_own_headers) != 0)
        return -1;
    json_t *json = json_object_get(obj, "json");
    if (s_parse_body(p, json, json_object_get(obj, "body"), r) != 0)
        return -1;
    s_merge_headers(p, r, json != NULL);
    if (s_member(p, obj, "expect", r, s_parse_expect) != 0 ||
        s_parse_options(p, obj, r) != 0)
        return -1;
    step->type = apex_strdup(r->method);
    step->timed = true;
    return 0;
}

static void s_fini(apex_step_t *step)
{
    apex_http_step_t *h = step->http;
    if (!h)
        return;
    free(h->method);
    apex_template_destroy(&h->path);
    for (size_t i = 0; i < h->nquery; i++) {
        free(h->query[i].name);
        apex_template_destroy(&h->query[i].value);
    }
    free(h->query);
    apex_headers_free(h->headers, h->nheaders);
    apex_template_destroy(&h->body);
    free(h->expect);
    apex_http_options_fini(&h->opts);
    free(h);
    step->http = NULL;
}

const apex_step_parser_t apex_http_step_parser = {
    .key = "path",
    .keys = s_keys,
    .parse = s_parse,
    .fini = s_fini,
};
