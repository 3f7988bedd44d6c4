// worker/script_http.c - a scripted user's requests, through the HTTP step
// kind (worker/kind.h), and their responses:
//
//   local r = self:get("/api/v1/tasks", {name = "tasks", params = {n = 5},
//                                        headers = {Accept = "a/b"},
//                                        timeout = 10})
//   self:post("/api/v1/tasks", {json = {title = "x"}})     -- or body = "..."
//   self:http{method = "PUT", url = "/x", body = "...", name = "put x"}
//   r.status, r.ok, r.body, r.failure, r.elapsed_ms, r.url, r.headers
//   (lower-case names), r:header("ETag"), r:json() (decoded once)
//
// A request is a step of the kind that runs HTTP steps, so it is sent,
// timed, worded on failure, and given cookies exactly as a JSON step:
// the kind cannot tell them apart. Each request shape (method, URL,
// stats name, header names, body or not, timeout) becomes a step model
// once and is planned by the kind once, then reused: a user repeating a
// request costs what a JSON step costs. The URL is part of the shape
// until WORKER_SCRIPT_MAX_REQUESTS shapes have a fixed URL; later URLs
// go in the user variable the scenario reserved (sc->scripts->url_slot),
// as do bodies and header values always, so the number of shapes stays
// bounded. Plans are freed only with the runtime: the kind may compare a
// plan's address with the one it last set up.
//
// Stats: the row is (method, name), the name defaulting to the URL as
// given, like Locust's; a failure (HTTP status >= 400, a connection
// error) is recorded as a JSON step's is, and the response says so
// (r.ok false, r.failure the text) instead of raising, like Locust.
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/lua_json.h"
#include "common/url.h"
#include "worker/failure.h"
#include "worker/script_int.h"
#include "worker/user.h"

#define S_TIMEOUT 60.0 // seconds, as a JSON step's default
#define S_RESPONSE_MT "apex.response"
#define S_METHOD_MAX 16

struct worker_script_req {
    worker_script_req_t *next; // in its hash bucket
    uint64_t hash;             // of key
    char *key;                 // the shape (see s_key)
    size_t keylen;             // its length
    apex_step_t model;         // the step: kind HTTP
    apex_http_step_t http;     // its request
    worker_step_t step;        // the step with its kind's plan
    bool fixed_url;            // the URL is in the model
    bool per_request_name;     // the stats name is each request's URL
    size_t nvalues;            // header values in variables
};

typedef struct {
    const char *name;  // header name (borrowed from Lua)
    const char *value; // its value
} s_header_t;

// What one call asks for.
typedef struct {
    const char *method;                      // upper case
    const char *url;                         // with the params
    const char *name;                        // stats name, or NULL
    const char *body;                        // or NULL
    double timeout;                          // seconds
    s_header_t headers[APEX_SCRIPT_HEADERS]; // by name
    size_t nheaders;                         // their number
    json_t *check;          // the check= table as JSON (owned), or NULL
    const char *check_text; // it with sorted keys (for the shape's key)
} s_call_t;

// ---------------------------------------------------------------------
// Shapes

static uint64_t s_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL; // FNV-1a
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

// The shape's key into self->key: the flags and timeout's bytes, then
// the texts, each with its NUL (no printf: it runs per request).
static void s_key(worker_script_t *self, const s_call_t *c, bool fixed_url)
{
    apex_buf_t *k = &self->key;
    apex_buf_reset(k);
    char flags = (char)((fixed_url ? 1 : 0) | (c->name ? 2 : 0) |
                        (c->body ? 4 : 0) | (c->check ? 8 : 0));
    apex_buf_putc(k, flags);
    apex_buf_append(k, &c->timeout, sizeof c->timeout);
    apex_buf_append(k, c->method, strlen(c->method) + 1);
    if (fixed_url)
        apex_buf_append(k, c->url, strlen(c->url) + 1);
    if (c->name)
        apex_buf_append(k, c->name, strlen(c->name) + 1);
    for (size_t i = 0; i < c->nheaders; i++)
        apex_buf_append(k, c->headers[i].name, strlen(c->headers[i].name) + 1);
    if (c->check)
        apex_buf_append(k, c->check_text, strlen(c->check_text) + 1);
}

static worker_script_req_t *s_find(worker_script_t *self, uint64_t hash)
{
    if (!self->nbuckets)
        return NULL;
    worker_script_req_t *r = self->buckets[hash & (self->nbuckets - 1)];
    for (; r; r = r->next)
        if (r->hash == hash && r->keylen == self->key.len &&
            memcmp(r->key, self->key.data, r->keylen) == 0)
            return r;
    return NULL;
}

static void s_insert(worker_script_t *self, worker_script_req_t *r)
{
    if (self->nreqs + 1 > self->nbuckets / 2) {
        size_t n = self->nbuckets ? self->nbuckets * 2 : 64;
        worker_script_req_t **b = apex_calloc(n, sizeof *b);
        for (size_t i = 0; i < self->nbuckets; i++) {
            while (self->buckets[i]) {
                worker_script_req_t *x = self->buckets[i];
                self->buckets[i] = x->next;
                x->next = b[x->hash & (n - 1)];
                b[x->hash & (n - 1)] = x;
            }
        }
        free(self->buckets);
        self->buckets = b;
        self->nbuckets = n;
    }
    r->next = self->buckets[r->hash & (self->nbuckets - 1)];
    self->buckets[r->hash & (self->nbuckets - 1)] = r;
    self->nreqs++;
}

static long s_var_slot(void *arg, const char *name, size_t len)
{
    const apex_scenario_t *sc = arg;
    for (size_t i = 0; i < sc->nvars; i++)
        if (strlen(sc->vars[i]) == len && memcmp(sc->vars[i], name, len) == 0)
            return (long)i;
    return -1;
}

static int s_no_env(void *arg, const char *name, size_t len, const char **value,
                    apex_error_t *err)
{
    (void)arg;
    (void)value;
    return apex_error_set(err, "unexpected placeholder %.*s", (int)len, name);
}

// A template of text taken literally ("$" doubled), or of a variable.
static apex_template_t *s_template(const apex_scenario_t *sc, const char *text,
                                   const char *var)
{
    apex_buf_t src;
    apex_buf_init(&src);
    if (var) {
        apex_buf_printf(&src, "${%s}", var);
    } else {
        for (const char *p = text; *p; p++) {
            if (*p == '$')
                apex_buf_putc(&src, '$');
            apex_buf_putc(&src, *p);
        }
    }
    apex_template_scope_t scope = {
        .var_slot = s_var_slot, .env = s_no_env, .arg = (void *)sc};
    apex_error_t err = {""};
    apex_template_t *t =
        apex_template_compile(apex_buf_str(&src), false, &scope, &err);
    apex_buf_fini(&src);
    if (!t) // our own text: a bug, not input
        abort();
    return t;
}

// The step's headers: the document's, then the call's (their values in
// variables), a call's header replacing the document's of that name.
static void s_model_headers(const apex_scenario_t *sc, const s_call_t *c,
                            apex_http_step_t *http)
{
    const apex_scenario_scripts_t *s = sc->scripts;
    http->headers =
        apex_calloc(s->nheaders + c->nheaders + 1, sizeof *http->headers);
    for (size_t i = 0; i < s->nheaders; i++) {
        bool replaced = false;
        for (size_t j = 0; j < c->nheaders; j++)
            if (strcasecmp(s->headers[i].name, c->headers[j].name) == 0)
                replaced = true;
        if (replaced)
            continue;
        apex_header_t *h = &http->headers[http->nheaders++];
        h->name = apex_strdup(s->headers[i].name);
        h->value = apex_template_dup(s->headers[i].value);
    }
    for (size_t j = 0; j < c->nheaders; j++) {
        apex_header_t *h = &http->headers[http->nheaders++];
        char var[32];
        snprintf(var, sizeof var, "_lua_h%zu", j);
        h->name = apex_strdup(c->headers[j].name);
        h->value = s_template(sc, NULL, var);
    }
}

apex_template_t *worker_script_var_template(const apex_scenario_t *sc,
                                            const char *var)
{
    return s_template(sc, NULL, var);
}

static void s_free_req(worker_script_req_t *r);

// A new shape for call c, planned by the kind; NULL with err set when
// its checks do not compile.
static worker_script_req_t *s_new_req(worker_script_t *self, const s_call_t *c,
                                      bool fixed_url, uint64_t hash,
                                      apex_error_t *err)
{
    worker_engine_t *engine = self->engine;
    const apex_scenario_t *sc = engine->scenario;
    worker_script_req_t *r = apex_calloc(1, sizeof *r);
    if (c->check && apex_checks_compile(&r->model, c->check, err) != 0) {
        s_free_req(r);
        return NULL;
    }
    r->hash = hash;
    r->keylen = self->key.len;
    r->key = apex_strndup(self->key.data, r->keylen);
    r->fixed_url = fixed_url;
    r->per_request_name = !c->name && !fixed_url;
    r->nvalues = c->nheaders;
    apex_step_t *m = &r->model;
    m->kind = APEX_STEP_HTTP;
    m->type = apex_strdup(c->method);
    m->name = apex_strdup(c->name ? c->name : fixed_url ? c->url : "");
    m->name_given = c->name != NULL;
    m->timeout = c->timeout;
    m->timed = true;
    m->needs_body = m->needs_headers = true;
    m->http = &r->http;
    r->http.method = apex_strdup(c->method);
    r->http.path = s_template(sc, c->url, fixed_url ? NULL : "_lua_url");
    r->http.body = c->body ? s_template(sc, NULL, "_lua_body") : NULL;
    s_model_headers(sc, c, &r->http);
    // The document's engine and options (a script's requests are
    // shared by its classes, so not a class's).
    apex_http_options_t unset = {.insecure = -1, .compression = -1};
    apex_http_options_merge(&r->http.opts, &sc->http, &unset);
    r->http.engine = sc->engine;
    worker_step_t *st = &r->step;
    st->model = m;
    st->ops = engine->ops[APEX_STEP_HTTP];
    st->kind = engine->kinds[APEX_STEP_HTTP];
    st->plan = st->ops->plan(st->kind, m);
    if (!r->per_request_name)
        st->entry = apex_stats_get(engine->stats, m->type, m->name,
                                   worker_engine_wall(engine));
    s_insert(self, r);
    if (fixed_url)
        self->nfixed++;
    return r;
}

static void s_free_req(worker_script_req_t *r)
{
    if (r->step.ops)
        r->step.ops->plan_free(r->step.kind, r->step.plan);
    for (size_t i = 0; i < r->model.nchecks; i++)
        apex_check_fini(&r->model.checks[i]);
    free(r->model.checks);
    apex_http_step_t *h = &r->http;
    free(h->method);
    apex_template_destroy(&h->path);
    apex_template_destroy(&h->body);
    for (size_t i = 0; i < h->nheaders; i++) {
        free(h->headers[i].name);
        apex_template_destroy(&h->headers[i].value);
    }
    free(h->headers);
    apex_http_options_fini(&h->opts);
    free(r->model.type);
    free(r->model.name);
    free(r->key);
    free(r);
}

void worker_script_http_free(worker_script_t *self)
{
    for (size_t i = 0; i < self->nbuckets; i++) {
        while (self->buckets[i]) {
            worker_script_req_t *r = self->buckets[i];
            self->buckets[i] = r->next;
            s_free_req(r);
        }
    }
    free(self->buckets);
    self->buckets = NULL;
    self->nbuckets = self->nreqs = self->nfixed = 0;
}

// The shape of call c: found, or made; NULL with err set when c's
// checks do not compile.
static worker_script_req_t *s_shape(worker_script_t *self, const s_call_t *c,
                                    apex_error_t *err)
{
    s_key(self, c, true);
    uint64_t hash = s_hash(self->key.data, self->key.len);
    worker_script_req_t *r = s_find(self, hash);
    if (r)
        return r;
    if (self->nfixed < WORKER_SCRIPT_MAX_REQUESTS)
        return s_new_req(self, c, true, hash, err);
    s_key(self, c, false);
    hash = s_hash(self->key.data, self->key.len);
    r = s_find(self, hash);
    return r ? r : s_new_req(self, c, false, hash, err);
}

// ---------------------------------------------------------------------
// Calls

void worker_script_set_var(worker_user_t *u, size_t slot, const char *text)
{
    free(u->vars[slot]);
    u->vars[slot] = apex_strdup(text);
    u->vars_json[slot] = 0;
}

static bool s_is_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
            return false;
    return true;
}

static int s_header_cmp(const void *a, const void *b)
{
    return strcasecmp(((const s_header_t *)a)->name,
                      ((const s_header_t *)b)->name);
}

// opts.headers (at idx) into c, sorted by name, checked.
static void s_read_headers(lua_State *L, int idx, s_call_t *c)
{
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING || !lua_isstring(L, -1))
            luaL_error(L, "headers: expected names and string values");
        const char *name = lua_tostring(L, -2);
        const char *value = lua_tostring(L, -1); // a number becomes text
        if (!s_is_token(name))
            luaL_error(L, "headers: '%s' is not a header name", name);
        if (strpbrk(value, "\r\n"))
            luaL_error(L, "headers: the value of %s has a line break", name);
        if (c->nheaders == APEX_SCRIPT_HEADERS)
            luaL_error(L, "headers: more than %d", APEX_SCRIPT_HEADERS);
        c->headers[c->nheaders++] = (s_header_t){name, value};
        lua_pop(L, 1); // the value stays referenced by the table
    }
    qsort(c->headers, c->nheaders, sizeof *c->headers, s_header_cmp);
}

// opts.params (at idx) after c->url, URL-encoded, into self->url.
static void s_read_params(lua_State *L, int idx, worker_script_t *self,
                          s_call_t *c)
{
    apex_buf_t *b = &self->url;
    apex_buf_reset(b);
    apex_buf_puts(b, c->url);
    bool first = !strchr(c->url, '?');
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (!lua_isstring(L, -2) || !lua_isstring(L, -1))
            luaL_error(L, "params: expected names and string values");
        size_t klen, vlen;
        lua_pushvalue(L, -2);
        const char *k = lua_tolstring(L, -1, &klen);
        const char *v = lua_tolstring(L, -2, &vlen);
        apex_buf_putc(b, first ? '?' : '&');
        first = false;
        apex_url_encode(b, k, klen);
        apex_buf_putc(b, '=');
        apex_url_encode(b, v, vlen);
        lua_pop(L, 2);
    }
    c->url = apex_buf_str(b);
}

// opts.json (at the top): the body, and its Content-Type unless given.
static void s_read_json(lua_State *L, worker_script_t *self, s_call_t *c)
{
    apex_error_t err = {""};
    json_t *v = apex_lua_json_from(L, -1, &err);
    if (!v)
        luaL_error(L, "json: %s", err.msg);
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    apex_buf_reset(&self->body);
    apex_buf_puts(&self->body, text ? text : "null");
    free(text);
    c->body = apex_buf_str(&self->body);
    bool typed = false;
    for (size_t i = 0; i < c->nheaders; i++)
        typed |= strcasecmp(c->headers[i].name, "Content-Type") == 0;
    if (!typed && c->nheaders < APEX_SCRIPT_HEADERS) {
        c->headers[c->nheaders++] =
            (s_header_t){"Content-Type", "application/json"};
        qsort(c->headers, c->nheaders, sizeof *c->headers, s_header_cmp);
    }
}

// opts.check (at the top): common/check.h's form as a table, as JSON
// (c->check, owned) and as its text with sorted keys for the shape's key.
static void s_read_check(lua_State *L, worker_script_t *self, s_call_t *c)
{
    apex_error_t err = {""};
    if (!lua_istable(L, -1))
        luaL_error(L, "check: expected a table of check names and "
                      "conditions");
    json_t *v = apex_lua_json_from(L, -1, &err);
    if (!v)
        luaL_error(L, "check: %s", err.msg);
    char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    apex_buf_reset(&self->check);
    apex_buf_puts(&self->check, text ? text : "");
    free(text);
    c->check = v;
    c->check_text = apex_buf_str(&self->check);
}

// opts (at idx): name, headers, body or json, params, timeout, check.
static void s_read_opts(lua_State *L, int idx, worker_script_t *self,
                        s_call_t *c)
{
    lua_getfield(L, idx, "name");
    c->name = lua_isnil(L, -1) ? NULL : luaL_checkstring(L, -1);
    lua_getfield(L, idx, "timeout");
    if (!lua_isnil(L, -1)) {
        c->timeout = lua_tonumber(L, -1);
        if (!(c->timeout > 0 && c->timeout < 1e6))
            luaL_error(L, "timeout: expected seconds > 0");
    }
    lua_getfield(L, idx, "headers");
    if (lua_istable(L, -1))
        s_read_headers(L, lua_gettop(L), c);
    lua_getfield(L, idx, "params");
    if (lua_istable(L, -1))
        s_read_params(L, lua_gettop(L), self, c);
    lua_getfield(L, idx, "body");
    if (!lua_isnil(L, -1)) {
        size_t len;
        c->body = luaL_checklstring(L, -1, &len);
        if (memchr(c->body, '\0', len))
            luaL_error(L, "body: a NUL byte (bodies are text)");
    }
    lua_getfield(L, idx, "json");
    if (!lua_isnil(L, -1))
        s_read_json(L, self, c);
    lua_getfield(L, idx, "check"); // last: nothing raises once it is owned
    if (!lua_isnil(L, -1))
        s_read_check(L, self, c);
}

// Start the request c for user u and yield (c->check is freed).
static int s_call(lua_State *L, worker_user_t *u, s_call_t *c)
{
    worker_script_t *self = u->engine->script;
    const apex_scenario_scripts_t *s = u->engine->scenario->scripts;
    apex_error_t err = {""};
    worker_script_req_t *r = s_shape(self, c, &err);
    json_decref(c->check);
    c->check = NULL;
    if (!r)
        return luaL_error(L, "%s", err.msg);
    if (!r->fixed_url)
        worker_script_set_var(u, s->url_slot, c->url);
    if (c->body)
        worker_script_set_var(u, s->body_slot, c->body);
    for (size_t i = 0; i < c->nheaders; i++)
        worker_script_set_var(u, s->header_slot + i, c->headers[i].value);
    u->script->req = r;
    u->script->query = NULL;
    worker_script_start_step(L, u, &r->step);
    return lua_yield(L, 0);
}

// self:get(url [, opts]) and the other methods (upvalue 1: the method).
static int s_method(lua_State *L)
{
    worker_user_t *u = worker_script_caller(L);
    s_call_t c = {.method = lua_tostring(L, lua_upvalueindex(1)),
                  .timeout = S_TIMEOUT};
    c.url = luaL_checkstring(L, 2);
    if (!*c.url)
        return luaL_error(L, "a request needs a URL");
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        s_read_opts(L, 3, u->engine->script, &c);
    }
    return s_call(L, u, &c);
}

// self:http{method = "GET", url = "/x", ...}
static int s_http(lua_State *L)
{
    worker_user_t *u = worker_script_caller(L);
    luaL_checktype(L, 2, LUA_TTABLE);
    s_call_t c = {.timeout = S_TIMEOUT};
    lua_getfield(L, 2, "method");
    size_t len = 0;
    const char *method =
        lua_isnil(L, -1) ? "GET" : luaL_checklstring(L, -1, &len);
    char upper[S_METHOD_MAX + 1];
    if (len > S_METHOD_MAX)
        return luaL_error(L, "method: '%s' is not an HTTP method", method);
    for (size_t i = 0; i <= strlen(method); i++)
        upper[i] = (char)toupper((unsigned char)method[i]);
    if (!apex_http_is_method(upper))
        return luaL_error(L, "method: '%s' is not an HTTP method", method);
    c.method = upper;
    lua_getfield(L, 2, "url");
    if (lua_type(L, -1) != LUA_TSTRING || apex_lua_rawlen(L, -1) == 0)
        return luaL_error(L, "url: expected a URL");
    c.url = lua_tostring(L, -1);
    s_read_opts(L, 2, u->engine->script, &c);
    return s_call(L, u, &c);
}

// ---------------------------------------------------------------------
// Responses

// The status code of the last response in a raw header block, or 0.
static int s_status(const char *h, size_t len)
{
    int status = 0;
    for (size_t i = 0; i + 12 <= len; i++) {
        if ((i == 0 || h[i - 1] == '\n') && memcmp(h + i, "HTTP/", 5) == 0) {
            const char *sp = memchr(h + i, ' ', len - i);
            if (sp && sp + 4 <= h + len && isdigit((unsigned char)sp[1]) &&
                isdigit((unsigned char)sp[2]) && isdigit((unsigned char)sp[3]))
                status =
                    (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
        }
    }
    return status;
}

// The headers of the last response in the raw block at the top of the
// stack, as a table of lower-case names (the last of a repeated one).
static void s_push_headers(lua_State *L, const char *h, size_t len)
{
    lua_newtable(L);
    const char *end = h + len, *start = h;
    for (const char *p = h; p < end;) { // the last response's block
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        if ((size_t)(end - p) >= 5 && memcmp(p, "HTTP/", 5) == 0)
            start = next;
        p = next;
    }
    for (const char *p = start; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        const char *stop = eol ? eol : end;
        if (stop > p && stop[-1] == '\r')
            stop--;
        const char *colon = memchr(p, ':', (size_t)(stop - p));
        if (colon && colon > p) {
            luaL_Buffer b;
            luaL_buffinit(L, &b);
            for (const char *q = p; q < colon; q++)
                luaL_addchar(&b, (char)tolower((unsigned char)*q));
            luaL_pushresult(&b);
            const char *v = colon + 1;
            while (v < stop && (*v == ' ' || *v == '\t'))
                v++;
            lua_pushlstring(L, v, (size_t)(stop - v));
            lua_rawset(L, -3);
        }
        p = next;
    }
}

// response.headers (made once) and the methods.
static int s_resp_index(lua_State *L)
{
    const char *key = lua_tostring(L, 2);
    if (key && strcmp(key, "headers") == 0) {
        lua_getfield(L, 1, "_raw_headers");
        size_t len = 0;
        const char *h = lua_tolstring(L, -1, &len);
        s_push_headers(L, h ? h : "", h ? len : 0);
        lua_pushvalue(L, -1);
        lua_setfield(L, 1, "headers");
        return 1;
    }
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "methods");
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    return 1;
}

// response:json(): the body decoded (once).
static int s_resp_json(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "_json");
    if (!lua_isnil(L, -1))
        return 1;
    lua_getfield(L, 1, "body");
    size_t len = 0;
    const char *body = lua_tolstring(L, -1, &len);
    apex_error_t err = {""};
    if (apex_lua_json_decode(L, body, len, &err) != 0)
        return luaL_error(L, "response:json(): %s", err.msg);
    lua_pushvalue(L, -1);
    lua_setfield(L, 1, "_json");
    return 1;
}

// response:header(name): a header's value (any case), or nil.
static int s_resp_header(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    const char *name = luaL_checkstring(L, 2);
    lua_getfield(L, 1, "headers");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (const char *q = name; *q; q++)
        luaL_addchar(&b, (char)tolower((unsigned char)*q));
    luaL_pushresult(&b);
    lua_rawget(L, -2);
    return 1;
}

// The checks of a request's check= on its response, counted by name as
// the scenario's are; true with the failure text (as a JSON step words
// it) when one that is not soft failed.
static bool s_apply_checks(worker_script_t *self, const apex_step_t *model,
                           const worker_result_t *r, char *failure, size_t size)
{
    bool passed[APEX_CHECK_MAX_PER_STEP];
    long hard = apex_checks_apply(model, r->headers, r->headers_len, r->body,
                                  r->body_len, passed);
    for (size_t i = 0; i < model->nchecks; i++)
        (void)worker_script_count_check(self, model->checks[i].name, passed[i]);
    if (hard < 0)
        return false;
    worker_failure_check(failure, size, model->checks[hard].name);
    return true;
}

void worker_script_http_done(worker_user_t *u, const worker_result_t *r)
{
    worker_engine_t *engine = u->engine;
    const worker_script_req_t *req = u->script->req;
    const apex_scenario_scripts_t *s = engine->scenario->scripts;
    const char *url = req->fixed_url ? apex_template_constant(req->http.path)
                                     : u->vars[s->url_slot];
    apex_stats_entry_t *entry = req->step.entry;
    if (!entry)
        entry = apex_stats_get(engine->stats, req->model.type, url,
                               worker_engine_wall(engine));
    worker_result_t checked = *r;
    char failure[WORKER_FAILURE_MAX];
    if (!r->failure && r->cut) {
        // The response kept is incomplete (its text names the limit).
        worker_failure_capture(failure, sizeof failure, r->cut);
        checked.failure = failure;
    } else if (!r->failure && req->model.nchecks &&
               s_apply_checks(engine->script, &req->model, r, failure,
                              sizeof failure))
        checked.failure = failure;
    r = &checked;
    worker_user_record(u, entry, r);
    lua_State *co = u->script->co;
    lua_createtable(co, 0, 8);
    lua_pushinteger(co, s_status(r->headers, r->headers ? r->headers_len : 0));
    lua_setfield(co, -2, "status");
    lua_pushboolean(co, r->failure == NULL);
    lua_setfield(co, -2, "ok");
    lua_pushlstring(co, r->body ? r->body : "", r->body ? r->body_len : 0);
    lua_setfield(co, -2, "body");
    lua_pushlstring(co, r->headers ? r->headers : "",
                    r->headers ? r->headers_len : 0);
    lua_setfield(co, -2, "_raw_headers");
    lua_pushnumber(co, (lua_Number)r->elapsed_us / 1000.0);
    lua_setfield(co, -2, "elapsed_ms");
    lua_pushstring(co, url);
    lua_setfield(co, -2, "url");
    if (r->failure) {
        lua_pushstring(co, r->failure);
        lua_setfield(co, -2, "failure");
    }
    luaL_getmetatable(co, S_RESPONSE_MT);
    lua_setmetatable(co, -2);
}

void worker_script_http_open(lua_State *L)
{
    static const char *const methods[] = {"get",    "post", "put",     "patch",
                                          "delete", "head", "options", NULL};
    for (const char *const *m = methods; *m; m++) {
        char upper[S_METHOD_MAX];
        size_t i = 0;
        for (; (*m)[i]; i++)
            upper[i] = (char)toupper((unsigned char)(*m)[i]);
        upper[i] = '\0';
        lua_pushstring(L, upper);
        lua_pushcclosure(L, s_method, 1);
        lua_setfield(L, -2, *m);
    }
    lua_pushcfunction(L, s_http);
    lua_setfield(L, -2, "http");
    luaL_newmetatable(L, S_RESPONSE_MT);
    lua_pushcfunction(L, s_resp_index);
    lua_setfield(L, -2, "__index");
    lua_newtable(L);
    lua_pushcfunction(L, s_resp_json);
    lua_setfield(L, -2, "json");
    lua_pushcfunction(L, s_resp_header);
    lua_setfield(L, -2, "header");
    lua_setfield(L, -2, "methods");
    lua_pop(L, 1);
}
