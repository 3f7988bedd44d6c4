// common/scenario.c - the scenario model: a JSON document (jansson) in, an
// immutable model of user classes, tasks and compiled templates out.
//
// The format:
//
//   {
//     "description": "free text (optional)",
//     "host": "${API_URL:-http://127.0.0.1:8080}",     // optional
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
//         "wait": {"between": [0.5, 2]},
//                     // or {"constant": 1}, {"constant_pacing": 2},
//                     // {"constant_throughput": 5}, or a bare number
//                     // (constant seconds); default {"constant": 0};
//                     // seconds >= 0, between needs min <= max,
//                     // throughput > 0
//         "on_start": [REQUEST, ...],                  // optional
//         "tasks": [                                   // required, >= 1
//           {"name": "health", "weight": 5, "request": REQUEST},
//           {"name": "create_and_get", "weight": 2,
//            "sequence": [REQUEST, REQUEST]},
//           REQUEST   // shorthand: a request itself (it has "path"); may
//                     // carry "weight" and "task" (the task name)
//         ]
//       }
//     ]
//   }
//
//   REQUEST = {
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
//     "capture": {"task_id": {"json": "$.id"},
//                 "loc": {"header": "Location"},
//                 "n": {"regex": "id=([0-9]+)"},
//                 "dag_id": "$.dags[*].id"},  // a string is a JSON path
//     "timeout": 30             // seconds > 0, default 60
//   }
//
// Unknown keys are errors that list the allowed ones, so typos do not pass
// silently. Every error reads "ORIGIN: $.json.path: what was expected[,
// got VALUE]"; JSON syntax errors read "ORIGIN: line L, column C: TEXT".
//
// JSON paths (captures): "$" then any chain of ".key", ["key"], [3], [-1]
// (from the end) and [*] (a random element of an array), e.g.
// "$.dags[*].id", "$[0].id", "$.a.b[2][\"c d\"]".
//
// Templates (see scenario.h for the placeholders) are compiled once into
// segments: literal text, a user variable slot (with an optional default
// or alternative, itself a compiled template), or a function call with
// its integer arguments parsed. Environment placeholders are resolved
// while compiling and folded into the literals, so a template that only
// refers to the environment is constant and costs one memcpy per request.
// A template compiled from a "json" body is in JSON mode: its literals are
// JSON text already, and every substituted value is JSON-string-escaped.
//
// Capture variable names are collected over the whole document before
// anything is compiled, so every user class shares one slot table
// (sc->vars) and a template may name a variable captured by an earlier
// step, on_start or another class. ${NAME} is a user variable when any
// capture defines NAME, else an environment variable.
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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/alloc.h"
#include "common/pyfmt.h"
#include "common/rng.h"
#include "common/url.h"

#define APEX_SCENARIO_MAX_PICK 100000      // sum of task weights per class
#define APEX_SCENARIO_DEFAULT_TIMEOUT 60.0 // seconds per request
#define APEX_SCENARIO_STATUS_MIN 100       // lowest status in "expect"
#define APEX_SCENARIO_STATUS_MAX 599       // highest status in "expect"
#define APEX_SCENARIO_EXCERPT 64 // bytes of a bad value quoted in messages
#define APEX_SCENARIO_READ_CHUNK 65536 // read size for non-regular files
#define APEX_TEMPLATE_MAX_DEPTH 16     // nesting of ${A:-${B:-...}}
#define APEX_TEMPLATE_MAX_ARGS 2       // arguments of a template function
#define APEX_RANDOM_STRING_MAX 1024    // longest random_string(n)
#define APEX_RANDOM_CHARSET                                                    \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#define APEX_RANDOM_CHARSET_LEN (sizeof APEX_RANDOM_CHARSET - 1)
#define APEX_UUID_VERSION_MASK 0xF000ULL // in the high word
#define APEX_UUID_VERSION_4 0x4000ULL
#define APEX_UUID_VARIANT_MASK 0xC000000000000000ULL // in the low word
#define APEX_UUID_VARIANT_RFC 0x8000000000000000ULL
#define APEX_UUID_NODE_MASK 0xFFFFFFFFFFFFULL // the last 48 bits
#define APEX_UUID_GROUP_MASK 0xFFFFu          // a 16-bit group
#define APEX_JSON_CONTROL_END 0x20 // below: control characters to escape
#define APEX_MSEC_PER_SEC 1000LL
#define APEX_NSEC_PER_MSEC 1000000L
#define APEX_JSON_DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)

// ---------------------------------------------------------------------
// Templates

typedef enum {
    APEX_SEG_LITERAL, // text copied as is
    APEX_SEG_VAR,     // a user variable, maybe with a default or alt
    APEX_SEG_FUNC     // a function call
} s_seg_kind_t;

typedef enum {
    APEX_VAR_PLAIN,   // ${NAME}
    APEX_VAR_DEFAULT, // ${NAME:-sub}: sub when NAME is unset or empty
    APEX_VAR_ALT      // ${NAME:+sub}: sub when NAME is set and non-empty
} s_var_op_t;

typedef enum {
    APEX_FN_UUID,          // uuid()
    APEX_FN_RANDOM_INT,    // random_int(a, b)
    APEX_FN_RANDOM_STRING, // random_string(n)
    APEX_FN_NOW_MS         // now_ms()
} s_func_t;

typedef struct {
    const char *name; // as written in a template
    s_func_t func;    // which function
    size_t nargs;     // number of integer arguments
} s_func_info_t;

static const s_func_info_t s_funcs[] = {
    {"uuid", APEX_FN_UUID, 0},
    {"random_int", APEX_FN_RANDOM_INT, 2},
    {"random_string", APEX_FN_RANDOM_STRING, 1},
    {"now_ms", APEX_FN_NOW_MS, 0},
};

typedef struct {
    s_seg_kind_t kind;                      // which kind of segment
    char *text;                             // LITERAL: the text
    size_t len;                             // LITERAL: its length
    size_t slot;                            // VAR: index into the variables
    s_var_op_t op;                          // VAR: plain, default or alt
    apex_template_t *sub;                   // VAR: default or alt, or NULL
    s_func_t func;                          // FUNC: which function
    long long args[APEX_TEMPLATE_MAX_ARGS]; // FUNC: its arguments
} s_segment_t;

struct apex_template {
    s_segment_t *segs; // segments in order
    size_t nsegs;      // number of segments
    bool json;         // substituted text is escaped for a JSON string
    char *constant;    // the whole text when every segment is literal
    size_t constlen;   // its length
    char *display;     // source with user variables written as {NAME}
};

// A template under construction: literal text accumulates in lit until a
// placeholder needs a segment of its own, so adjacent literals (including
// folded environment values) always end up as one segment.
typedef struct {
    s_segment_t *segs;  // segments so far
    size_t nsegs;       // number of segments
    size_t cap;         // allocated segments
    apex_buf_t lit;     // literal text not yet made a segment
    apex_buf_t display; // display text so far
    bool json;          // JSON mode
} s_builder_t;

static void s_template_free(apex_template_t *self);

static void s_put_json_escaped(apex_buf_t *out, const char *s, size_t len)
{
    size_t run = 0; // bytes before i that need no escape
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char hex[8];
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c == '\b')
            esc = "\\b";
        else if (c == '\f')
            esc = "\\f";
        else if (c < APEX_JSON_CONTROL_END) {
            snprintf(hex, sizeof hex, "\\u%04x", c);
            esc = hex;
        }
        if (!esc) {
            run++;
            continue;
        }
        apex_buf_append(out, s + i - run, run);
        apex_buf_puts(out, esc);
        run = 0;
    }
    apex_buf_append(out, s + len - run, run);
}

// Append substituted text: escaped in JSON mode, as is otherwise.
static void s_put_value(apex_buf_t *out, const char *s, size_t len, bool json)
{
    if (json)
        s_put_json_escaped(out, s, len);
    else
        apex_buf_append(out, s, len);
}

static void s_builder_init(s_builder_t *b, bool json)
{
    memset(b, 0, sizeof *b);
    apex_buf_init(&b->lit);
    apex_buf_init(&b->display);
    b->json = json;
}

static void s_segment_fini(s_segment_t *seg)
{
    free(seg->text);
    s_template_free(seg->sub);
}

static void s_builder_discard(s_builder_t *b)
{
    for (size_t i = 0; i < b->nsegs; i++)
        s_segment_fini(&b->segs[i]);
    free(b->segs);
    apex_buf_fini(&b->lit);
    apex_buf_fini(&b->display);
    memset(b, 0, sizeof *b);
}

// Literal source text: copied as is (in JSON mode it is JSON already).
static void s_builder_text(s_builder_t *b, const char *text, size_t len)
{
    apex_buf_append(&b->lit, text, len);
    apex_buf_append(&b->display, text, len);
}

// A value folded in at compile time (an environment variable).
static void s_builder_value(s_builder_t *b, const char *text)
{
    size_t before = b->lit.len;
    s_put_value(&b->lit, text, strlen(text), b->json);
    apex_buf_append(&b->display, b->lit.data ? b->lit.data + before : "",
                    b->lit.len - before);
}

// Append a zeroed segment (no flush).
static s_segment_t *s_builder_add(s_builder_t *b, s_seg_kind_t kind)
{
    if (b->nsegs == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 4;
        b->segs = apex_realloc(b->segs, b->cap, sizeof *b->segs);
    }
    s_segment_t *seg = &b->segs[b->nsegs++];
    memset(seg, 0, sizeof *seg);
    seg->kind = kind;
    return seg;
}

// Turn the pending literal text into a segment.
static void s_builder_flush(s_builder_t *b)
{
    if (b->lit.len == 0)
        return;
    size_t len = b->lit.len;
    s_segment_t *seg = s_builder_add(b, APEX_SEG_LITERAL);
    seg->len = len;
    seg->text = apex_buf_take(&b->lit);
}

// A new placeholder segment after the literal text so far.
static s_segment_t *s_builder_push(s_builder_t *b, s_seg_kind_t kind)
{
    s_builder_flush(b);
    return s_builder_add(b, kind);
}

static apex_template_t *s_builder_finish(s_builder_t *b)
{
    s_builder_flush(b);
    apex_template_t *t = apex_calloc(1, sizeof *t);
    t->segs = b->segs;
    t->nsegs = b->nsegs;
    t->json = b->json;
    t->display = apex_buf_take(&b->display);
    if (t->nsegs == 0)
        t->constant = apex_strdup("");
    else if (t->nsegs == 1 && t->segs[0].kind == APEX_SEG_LITERAL)
        t->constant = apex_strndup(t->segs[0].text, t->segs[0].len);
    t->constlen = t->constant ? strlen(t->constant) : 0;
    apex_buf_fini(&b->lit);
    memset(b, 0, sizeof *b);
    return t;
}

static void s_template_free(apex_template_t *self)
{
    if (!self)
        return;
    for (size_t i = 0; i < self->nsegs; i++)
        s_segment_fini(&self->segs[i]);
    free(self->segs);
    free(self->constant);
    free(self->display);
    free(self);
}

// A deep copy (each request owns the scenario-wide headers it sends).
static apex_template_t *s_template_dup(const apex_template_t *self)
{
    if (!self)
        return NULL;
    apex_template_t *t = apex_calloc(1, sizeof *t);
    *t = *self;
    t->segs = apex_calloc(self->nsegs, sizeof *t->segs);
    for (size_t i = 0; i < self->nsegs; i++) {
        t->segs[i] = self->segs[i];
        if (self->segs[i].text)
            t->segs[i].text =
                apex_strndup(self->segs[i].text, self->segs[i].len);
        t->segs[i].sub = s_template_dup(self->segs[i].sub);
    }
    t->constant = apex_strdup(self->constant);
    t->display = apex_strdup(self->display);
    return t;
}

// A uniform integer in [lo, hi], without modulo bias.
static long long s_random_int(uint64_t *rng, long long lo, long long hi)
{
    uint64_t span = (uint64_t)hi - (uint64_t)lo; // range - 1
    if (span == UINT64_MAX)
        return (long long)((uint64_t)lo + apex_rng_next(rng));
    return (long long)((uint64_t)lo + apex_rng_below(rng, span + 1));
}

static void s_put_uuid(apex_buf_t *out, uint64_t *rng)
{
    uint64_t hi = apex_rng_next(rng);
    uint64_t lo = apex_rng_next(rng);
    hi = (hi & ~APEX_UUID_VERSION_MASK) | APEX_UUID_VERSION_4;
    lo = (lo & ~APEX_UUID_VARIANT_MASK) | APEX_UUID_VARIANT_RFC;
    apex_buf_printf(out, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(hi >> 32),
                    (unsigned)(hi >> 16) & APEX_UUID_GROUP_MASK,
                    (unsigned)hi & APEX_UUID_GROUP_MASK, (unsigned)(lo >> 48),
                    (unsigned long long)(lo & APEX_UUID_NODE_MASK));
}

static void s_put_func(apex_buf_t *out, const s_segment_t *seg, uint64_t *rng)
{
    switch (seg->func) {
    case APEX_FN_UUID:
        s_put_uuid(out, rng);
        break;
    case APEX_FN_RANDOM_INT:
        apex_buf_printf(out, "%lld",
                        s_random_int(rng, seg->args[0], seg->args[1]));
        break;
    case APEX_FN_RANDOM_STRING:
        for (long long i = 0; i < seg->args[0]; i++)
            apex_buf_putc(out, APEX_RANDOM_CHARSET[apex_rng_next(rng) %
                                                   APEX_RANDOM_CHARSET_LEN]);
        break;
    case APEX_FN_NOW_MS: {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        apex_buf_printf(out, "%lld",
                        (long long)ts.tv_sec * APEX_MSEC_PER_SEC +
                            ts.tv_nsec / APEX_NSEC_PER_MSEC);
        break;
    }
    }
}

void apex_template_expand(const apex_template_t *self,
                          const apex_template_ctx_t *ctx, apex_buf_t *out)
{
    assert(self && out);
    if (self->constant) {
        apex_buf_append(out, self->constant, self->constlen);
        return;
    }
    assert(ctx);
    for (size_t i = 0; i < self->nsegs; i++) {
        const s_segment_t *seg = &self->segs[i];
        if (seg->kind == APEX_SEG_LITERAL) {
            apex_buf_append(out, seg->text, seg->len);
        } else if (seg->kind == APEX_SEG_FUNC) {
            s_put_func(out, seg, ctx->rng);
        } else {
            const char *value = ctx->vars ? ctx->vars[seg->slot] : NULL;
            bool set = value && value[0] != '\0';
            if (seg->op == APEX_VAR_PLAIN ||
                (seg->op == APEX_VAR_DEFAULT && set)) {
                if (value)
                    s_put_value(out, value, strlen(value), self->json);
            } else if (seg->op == APEX_VAR_DEFAULT || set) {
                apex_template_expand(seg->sub, ctx, out);
            }
        }
    }
}

const char *apex_template_constant(const apex_template_t *self)
{
    assert(self);
    return self->constant;
}

const char *apex_template_display(const apex_template_t *self)
{
    assert(self);
    return self->display;
}

// ---------------------------------------------------------------------
// The parser's state and its error messages

typedef struct {
    apex_scenario_t *sc;    // the model being built
    apex_error_t *err;      // where the first error goes
    apex_buf_t path;        // JSON path of the node being parsed
    json_t *env;            // the document's "env" object, or NULL
    json_t *used_env;       // each environment name looked up -> value
    apex_header_t *headers; // the document's "headers", compiled
    size_t nheaders;        // number of them
    const char *src;        // the template being compiled (messages)
    double regex_size;      // expanded size of the capture regexes so far
} s_parser_t;

static const char *const s_root_keys[] = {"description", "host",  "headers",
                                          "env",         "shape", "thresholds",
                                          "users",       NULL};
static const char *const s_user_keys[] = {
    "name", "weight", "fixed_count", "wait", "on_start", "tasks", NULL};
static const char *const s_wait_keys[] = {
    "constant", "between", "constant_pacing", "constant_throughput", NULL};
static const char *const s_task_keys[] = {"name", "weight", "request",
                                          "sequence", NULL};
static const char *const s_request_keys[] = {
    "method", "path",   "name",    "query",   "headers", "json",
    "body",   "expect", "capture", "timeout", NULL};
static const char *const s_shorthand_keys[] = {
    "method", "path",    "name",    "query",  "headers", "json", "body",
    "expect", "capture", "timeout", "weight", "task",    NULL};
static const char *const s_capture_keys[] = {"json", "header", "regex", NULL};
static const char *const s_methods[] = {"GET",    "POST", "PUT",     "PATCH",
                                        "DELETE", "HEAD", "OPTIONS", NULL};

static bool s_is_name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool s_is_name_char(char c)
{
    return s_is_name_start(c) || (c >= '0' && c <= '9');
}

// True for [A-Za-z_][A-Za-z0-9_]* (class and variable names).
static bool s_is_name(const char *s)
{
    if (!s_is_name_start(s[0]))
        return false;
    for (s++; *s; s++)
        if (!s_is_name_char(*s))
            return false;
    return true;
}

// True for an HTTP header name (an RFC 9110 token).
static bool s_is_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!s_is_name_char(*s) && !strchr("!#$%&'*+-.^`|~", *s))
            return false;
    return true;
}

static bool s_in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

// Append .key, or ["key"] when key is not a plain name, to the path.
// Returns the old length for s_path_restore().
static size_t s_path_key(s_parser_t *p, const char *key)
{
    size_t old = p->path.len;
    if (s_is_name(key)) {
        apex_buf_putc(&p->path, '.');
        apex_buf_puts(&p->path, key);
    } else {
        apex_buf_puts(&p->path, "[\"");
        s_put_json_escaped(&p->path, key, strlen(key));
        apex_buf_puts(&p->path, "\"]");
    }
    return old;
}

static size_t s_path_index(s_parser_t *p, size_t index)
{
    size_t old = p->path.len;
    apex_buf_printf(&p->path, "[%zu]", index);
    return old;
}

static void s_path_restore(s_parser_t *p, size_t len)
{
    p->path.len = len;
    p->path.data[len] = '\0';
}

// Set "ORIGIN: PATH: message". Returns -1.
__attribute__((format(printf, 2, 3))) static int s_fail(s_parser_t *p,
                                                        const char *fmt, ...)
{
    char msg[APEX_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return apex_error_set(p->err, "%s: %s: %s", p->sc->origin,
                          apex_buf_str(&p->path), msg);
}

// Up to APEX_SCENARIO_EXCERPT bytes of text, quoted, for a message.
static void s_excerpt(const char *text, char *out, size_t size)
{
    size_t len = strlen(text);
    if (len > APEX_SCENARIO_EXCERPT)
        snprintf(out, size, "\"%.*s\"...", APEX_SCENARIO_EXCERPT, text);
    else
        snprintf(out, size, "\"%s\"", text);
}

// "expected WHAT, got VALUE" with VALUE as compact JSON, shortened.
static int s_fail_got(s_parser_t *p, const json_t *value, const char *what)
{
    char got[APEX_SCENARIO_EXCERPT + 8];
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text)
        snprintf(got, sizeof got, "a value");
    else if (strlen(text) > APEX_SCENARIO_EXCERPT)
        snprintf(got, sizeof got, "%.*s...", APEX_SCENARIO_EXCERPT, text);
    else
        snprintf(got, sizeof got, "%s", text);
    free(text);
    return s_fail(p, "expected %s, got %s", what, got);
}

// "missing (expected WHAT)" for a required key, named in the path.
static int s_fail_missing(s_parser_t *p, const char *key, const char *what)
{
    s_path_key(p, key);
    return s_fail(p, "missing (expected %s)", what);
}

// Every key of obj must be in allowed.
static int s_check_keys(s_parser_t *p, const json_t *obj,
                        const char *const *allowed)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        if (s_in_list(key, allowed))
            continue;
        apex_buf_t list;
        apex_buf_init(&list);
        for (const char *const *a = allowed; *a; a++)
            apex_buf_printf(&list, "%s%s", a == allowed ? "" : ", ", *a);
        s_path_key(p, key);
        s_fail(p, "unknown key (expected one of: %s)", apex_buf_str(&list));
        apex_buf_fini(&list);
        return -1;
    }
    return 0;
}

// An integer in [min, max] (JSON integers only: 1.0 is not one).
static int s_get_int(s_parser_t *p, const json_t *v, long long min,
                     long long max, long long *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < min ||
        json_integer_value(v) > max) {
        char what[96];
        snprintf(what, sizeof what, "an integer from %lld to %lld", min, max);
        return s_fail_got(p, v, what);
    }
    *out = json_integer_value(v);
    return 0;
}

// The optional "weight" of obj: 1..APEX_SCENARIO_MAX_WEIGHT, default 1.
static int s_get_weight(s_parser_t *p, const json_t *obj, unsigned *out)
{
    json_t *v = json_object_get(obj, "weight");
    *out = 1;
    if (!v)
        return 0;
    size_t old = s_path_key(p, "weight");
    long long weight;
    if (s_get_int(p, v, 1, APEX_SCENARIO_MAX_WEIGHT, &weight) != 0)
        return -1;
    *out = (unsigned)weight;
    s_path_restore(p, old);
    return 0;
}

// A real as Python prints it ("2.0", "0.1", "1e-05").
static void s_real_text(double value, char *out, size_t size)
{
    char repr[APEX_PY_FLOAT_MAX];
    apex_py_float_repr(value, repr);
    snprintf(out, size, "%s", repr);
}

// ---------------------------------------------------------------------
// Variables and the environment

static long s_var_slot(const apex_scenario_t *sc, const char *name, size_t len)
{
    for (size_t i = 0; i < sc->nvars; i++)
        if (strncmp(sc->vars[i], name, len) == 0 && sc->vars[i][len] == '\0')
            return (long)i;
    return -1;
}

// Record one capture variable name found by the first pass.
static void s_collect_var(s_parser_t *p, const char *name)
{
    apex_scenario_t *sc = p->sc;
    if (!s_is_name(name) || s_var_slot(sc, name, strlen(name)) >= 0)
        return;
    if (sc->nvars == APEX_SCENARIO_MAX_VARS)
        return; // the second pass reports the capture that has no slot
    sc->vars = apex_realloc(sc->vars, sc->nvars + 1, sizeof *sc->vars);
    sc->vars[sc->nvars++] = apex_strdup(name);
}

static void s_collect_request(s_parser_t *p, const json_t *req)
{
    const char *key;
    json_t *value;
    json_t *capture = json_object_get(req, "capture");
    if (!json_is_object(capture))
        return;
    json_object_foreach(capture, key, value)
    {
        s_collect_var(p, key);
    }
}

// The first pass: every capture variable name in document order, from
// wherever a request may stand. Malformed nodes are skipped here; the
// second pass reports them.
static void s_collect_vars(s_parser_t *p, const json_t *root)
{
    size_t i, j, k;
    json_t *user, *step, *task;
    json_array_foreach(json_object_get(root, "users"), i, user)
    {
        json_array_foreach(json_object_get(user, "on_start"), j, step)
        {
            s_collect_request(p, step);
        }
        json_array_foreach(json_object_get(user, "tasks"), j, task)
        {
            s_collect_request(p, task);
            s_collect_request(p, json_object_get(task, "request"));
            json_array_foreach(json_object_get(task, "sequence"), k, step)
            {
                s_collect_request(p, step);
            }
        }
    }
}

// Look an environment variable up (in "env" when the document has one)
// and remember it for the wire text. *value is NULL when it is unset.
static int s_env_lookup(s_parser_t *p, const char *name, size_t len,
                        const char **value)
{
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
        s_fail(p, "environment variable %s is not valid UTF-8", key);
        free(key);
        return -1;
    }
    json_object_set_new(p->used_env, key, v);
    free(key);
    *value = json_is_string(v) ? json_string_value(v) : NULL;
    return 0;
}

// ---------------------------------------------------------------------
// Template compiler

static int s_tpl_parse(s_parser_t *p, s_builder_t *b, size_t *pos, bool nested,
                       int depth);

// True where the text of a placeholder must have ended: at the end of
// the template or, in JSON mode, at a '"' that closes the JSON string (a
// placeholder never spans two strings of a JSON body).
static bool s_tpl_end(const s_builder_t *b, char c)
{
    return c == '\0' || (b->json && c == '"');
}

// "WHAT in "TEMPLATE"" (printf-style WHAT).
__attribute__((format(printf, 2, 3))) static int
s_tpl_fail(s_parser_t *p, const char *fmt, ...)
{
    char what[APEX_ERROR_MAX / 2];
    char quoted[APEX_SCENARIO_EXCERPT + 8];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    s_excerpt(p->src, quoted, sizeof quoted);
    return s_fail(p, "%s in %s", what, quoted);
}

// ${name(args)}: *pos is at "(".
static int s_tpl_function(s_parser_t *p, s_builder_t *b, size_t *pos,
                          const char *name, size_t namelen)
{
    const char *src = p->src;
    const s_func_info_t *info = NULL;
    for (size_t i = 0; i < sizeof s_funcs / sizeof s_funcs[0]; i++)
        if (strlen(s_funcs[i].name) == namelen &&
            strncmp(s_funcs[i].name, name, namelen) == 0)
            info = &s_funcs[i];
    if (!info)
        return s_fail(p,
                      "unknown function \"%.*s()\" (expected one of: uuid(), "
                      "random_int(a,b), random_string(n), now_ms())",
                      (int)namelen, name);
    size_t open = *pos;
    size_t close = open + 1;
    while (!s_tpl_end(b, src[close]) && src[close] != ')' && src[close] != '}')
        close++;
    if (s_tpl_end(b, src[close]) ||
        (src[close] == ')' && s_tpl_end(b, src[close + 1])))
        return s_tpl_fail(p, "unterminated \"${\"");
    if (src[close] != ')' || src[close + 1] != '}')
        return s_tpl_fail(p, "expected \")}\" after the arguments");
    int arglen = (int)(close - open - 1);
    const char *args = src + open + 1;
    const char *stop = src + close;
    long long values[APEX_TEMPLATE_MAX_ARGS] = {0, 0};
    size_t nargs = 0;
    bool ok = true;
    const char *a = args;
    while (a < stop && *a == ' ')
        a++;
    if (a < stop) { // at least one argument: split at commas
        a = args;
        for (;;) {
            errno = 0;
            char *end;
            long long v = strtoll(a, &end, 10);
            if (end == a || errno != 0) {
                ok = false;
                break;
            }
            while (*end == ' ')
                end++;
            if (nargs < APEX_TEMPLATE_MAX_ARGS)
                values[nargs] = v;
            nargs++;
            if (end == stop)
                break;
            if (*end != ',') {
                ok = false;
                break;
            }
            a = end + 1;
        }
    }
    if (!ok || nargs != info->nargs)
        return s_fail(p, "%s(%.*s): expected %zu integer argument%s",
                      info->name, arglen, args, info->nargs,
                      info->nargs == 1 ? "" : "s");
    if (info->func == APEX_FN_RANDOM_INT && values[0] > values[1])
        return s_fail(p, "random_int(%lld,%lld): min is greater than max",
                      values[0], values[1]);
    if (info->func == APEX_FN_RANDOM_STRING &&
        (values[0] < 1 || values[0] > APEX_RANDOM_STRING_MAX))
        return s_fail(p, "random_string(%lld): expected a length from 1 to %d",
                      values[0], APEX_RANDOM_STRING_MAX);
    s_segment_t *seg = s_builder_push(b, APEX_SEG_FUNC);
    seg->func = info->func;
    memcpy(seg->args, values, sizeof values);
    apex_buf_printf(&b->display, "{%s(", info->name);
    for (size_t i = 0; i < nargs; i++)
        apex_buf_printf(&b->display, "%s%lld", i ? "," : "", values[i]);
    apex_buf_puts(&b->display, ")}");
    *pos = close + 2;
    return 0;
}

// A ${NAME...} placeholder: *pos is at "$".
static int s_tpl_placeholder(s_parser_t *p, s_builder_t *b, size_t *pos,
                             int depth)
{
    const char *src = p->src;
    size_t i = *pos + 2;
    size_t start = i;
    while (s_is_name_char(src[i]))
        i++;
    if (s_tpl_end(b, src[i]))
        return s_tpl_fail(p, "unterminated \"${\"");
    if (i == start || !s_is_name_start(src[start]))
        return s_tpl_fail(p, "expected a name after \"${\"");
    const char *name = src + start;
    size_t namelen = i - start;
    if (src[i] == '(') {
        *pos = i;
        return s_tpl_function(p, b, pos, name, namelen);
    }
    s_var_op_t op = APEX_VAR_PLAIN;
    if (src[i] == ':' && src[i + 1] == '-')
        op = APEX_VAR_DEFAULT;
    else if (src[i] == ':' && src[i + 1] == '+')
        op = APEX_VAR_ALT;
    else if (src[i] != '}')
        return s_tpl_fail(p,
                          "expected \"}\", \":-\", \":+\" or \"(\" after "
                          "\"${%.*s\"",
                          (int)namelen, name);
    i += op == APEX_VAR_PLAIN ? 1 : 2;
    if (op != APEX_VAR_PLAIN && depth >= APEX_TEMPLATE_MAX_DEPTH)
        return s_tpl_fail(p, "placeholders nested too deeply");

    long slot = s_var_slot(p->sc, name, namelen);
    if (slot >= 0) { // a user variable, expanded per request
        apex_template_t *sub = NULL;
        if (op != APEX_VAR_PLAIN) {
            s_builder_t sb;
            s_builder_init(&sb, b->json);
            if (s_tpl_parse(p, &sb, &i, true, depth + 1) != 0) {
                s_builder_discard(&sb);
                return -1;
            }
            sub = s_builder_finish(&sb);
        }
        s_segment_t *seg = s_builder_push(b, APEX_SEG_VAR);
        seg->slot = (size_t)slot;
        seg->op = op;
        seg->sub = sub;
        apex_buf_printf(&b->display, "{%.*s}", (int)namelen, name);
        *pos = i;
        return 0;
    }

    // An environment variable, folded in now.
    const char *value;
    if (s_env_lookup(p, name, namelen, &value) != 0)
        return -1;
    bool set = value && value[0] != '\0';
    if (op == APEX_VAR_PLAIN || (op == APEX_VAR_DEFAULT && set)) {
        if (value)
            s_builder_value(b, value);
    }
    if (op == APEX_VAR_PLAIN) {
        *pos = i;
        return 0;
    }
    // The sub-template goes into b when it applies; otherwise it is still
    // compiled (to report its errors and record its variables) and dropped.
    bool take = op == APEX_VAR_DEFAULT ? !set : set;
    int rc;
    if (take) {
        rc = s_tpl_parse(p, b, &i, true, depth + 1);
    } else {
        s_builder_t scratch;
        s_builder_init(&scratch, b->json);
        rc = s_tpl_parse(p, &scratch, &i, true, depth + 1);
        s_builder_discard(&scratch);
    }
    *pos = i;
    return rc;
}

// Compile src from *pos into b, up to the end (top level) or up to and
// including the "}" that closes a nested default or alternative.
static int s_tpl_parse(s_parser_t *p, s_builder_t *b, size_t *pos, bool nested,
                       int depth)
{
    const char *src = p->src;
    size_t i = *pos;
    for (;;) {
        size_t run = i;
        while (src[i] && src[i] != '$' && !(nested && src[i] == '}')) {
            if (nested && s_tpl_end(b, src[i]))
                break;
            // A JSON escape is two characters: \" does not end a string.
            i += b->json && src[i] == '\\' && src[i + 1] ? 2 : 1;
        }
        s_builder_text(b, src + run, i - run);
        if (src[i] == '\0' || (nested && s_tpl_end(b, src[i]))) {
            if (nested)
                return s_tpl_fail(p, "unterminated \"${\"");
            *pos = i;
            return 0;
        }
        if (src[i] == '}') { // closes the nested template
            *pos = i + 1;
            return 0;
        }
        if (src[i + 1] == '$') { // $$ is a literal $
            s_builder_text(b, "$", 1);
            i += 2;
        } else if (src[i + 1] == '{') {
            if (s_tpl_placeholder(p, b, &i, depth) != 0)
                return -1;
        } else { // a lone $ is literal
            s_builder_text(b, "$", 1);
            i++;
        }
    }
}

// Compile one template; errors name the current path.
static apex_template_t *s_template_compile(s_parser_t *p, const char *src,
                                           bool json)
{
    s_builder_t b;
    s_builder_init(&b, json);
    const char *saved = p->src;
    p->src = src;
    size_t pos = 0;
    int rc = s_tpl_parse(p, &b, &pos, false, 0);
    p->src = saved;
    if (rc != 0) {
        s_builder_discard(&b);
        return NULL;
    }
    return s_builder_finish(&b);
}

// ---------------------------------------------------------------------
// JSON paths

static apex_jsonpath_step_t *s_jsonpath_add(apex_capture_t *c,
                                            apex_jsonpath_kind_t kind)
{
    c->steps = apex_realloc(c->steps, c->nsteps + 1, sizeof *c->steps);
    apex_jsonpath_step_t *step = &c->steps[c->nsteps++];
    memset(step, 0, sizeof *step);
    step->kind = kind;
    return step;
}

static int s_jsonpath_fail(s_parser_t *p, const char *expr, size_t at,
                           const char *what)
{
    char quoted[APEX_SCENARIO_EXCERPT + 8];
    s_excerpt(expr, quoted, sizeof quoted);
    return s_fail(p, "bad JSON path %s: %s at offset %zu", quoted, what, at);
}

// Compile c->expr into c->steps.
static int s_jsonpath_compile(s_parser_t *p, apex_capture_t *c)
{
    const char *e = c->expr;
    if (e[0] != '$')
        return s_jsonpath_fail(p, e, 0, "expected \"$\"");
    size_t i = 1;
    while (e[i]) {
        if (e[i] == '.') {
            size_t start = ++i;
            while (e[i] && e[i] != '.' && e[i] != '[')
                i++;
            if (i == start)
                return s_jsonpath_fail(p, e, i, "expected a key after \".\"");
            s_jsonpath_add(c, APEX_JSONPATH_KEY)->key =
                apex_strndup(e + start, i - start);
        } else if (e[i] != '[') {
            return s_jsonpath_fail(p, e, i, "expected \".\" or \"[\"");
        } else if (e[i + 1] == '*' && e[i + 2] == ']') {
            s_jsonpath_add(c, APEX_JSONPATH_ANY);
            i += 3;
        } else if (e[i + 1] == '"' || e[i + 1] == '\'') {
            char quote = e[i + 1];
            apex_buf_t key;
            apex_buf_init(&key);
            for (i += 2; e[i] && e[i] != quote; i++) {
                if (e[i] == '\\' && e[i + 1])
                    i++;
                apex_buf_putc(&key, e[i]);
            }
            if (e[i] != quote || e[i + 1] != ']') {
                apex_buf_fini(&key);
                return s_jsonpath_fail(p, e, i,
                                       "expected a quoted key, then \"]\"");
            }
            s_jsonpath_add(c, APEX_JSONPATH_KEY)->key = apex_buf_take(&key);
            i += 2;
        } else {
            const char *digits = e + i + 1;
            bool ok = (*digits >= '0' && *digits <= '9') ||
                      (*digits == '-' && digits[1] >= '0' && digits[1] <= '9');
            char *end = (char *)digits;
            errno = 0;
            long index = ok ? strtol(digits, &end, 10) : 0;
            if (!ok || errno != 0)
                return s_jsonpath_fail(
                    p, e, i + 1, "expected an index, \"*\" or a quoted key");
            if (*end != ']')
                return s_jsonpath_fail(p, e, (size_t)(end - e),
                                       "expected \"]\"");
            s_jsonpath_add(c, APEX_JSONPATH_INDEX)->index = index;
            i = (size_t)(end - e) + 1;
        }
    }
    return 0;
}

// ---------------------------------------------------------------------
// Model

static void s_http_free(apex_http_step_t *h)
{
    if (!h)
        return;
    free(h->method);
    s_template_free(h->path);
    for (size_t i = 0; i < h->nquery; i++) {
        free(h->query[i].name);
        s_template_free(h->query[i].value);
    }
    free(h->query);
    for (size_t i = 0; i < h->nheaders; i++) {
        free(h->headers[i].name);
        s_template_free(h->headers[i].value);
    }
    free(h->headers);
    s_template_free(h->body);
    free(h->expect);
    free(h);
}

static void s_step_fini(apex_step_t *r)
{
    free(r->type);
    free(r->name);
    for (size_t i = 0; i < r->ncaptures; i++) {
        apex_capture_t *c = &r->captures[i];
        free(c->var);
        free(c->expr);
        for (size_t j = 0; j < c->nsteps; j++)
            free(c->steps[j].key);
        free(c->steps);
        if (c->kind == APEX_CAPTURE_REGEX)
            regfree(&c->regex);
    }
    free(r->captures);
    s_http_free(r->http);
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
}

// A "headers" object: names are tokens, unique in any case; values are
// strings without line breaks, compiled as templates.
static int s_parse_headers(s_parser_t *p, const json_t *obj,
                           apex_header_t **out, size_t *nout)
{
    if (!json_is_object(obj))
        return s_fail_got(p, obj, "an object of header names and values");
    *out = apex_calloc(json_object_size(obj), sizeof **out);
    *nout = json_object_size(obj);
    size_t i = 0;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        size_t old = s_path_key(p, key);
        if (!s_is_token(key))
            return s_fail(p, "expected a header name (letters, digits and "
                             "!#$%%&'*+-.^_`|~)");
        for (size_t j = 0; j < i; j++)
            if (strcasecmp((*out)[j].name, key) == 0)
                return s_fail(p, "duplicate header (names are "
                                 "case-insensitive)");
        if (!json_is_string(value))
            return s_fail_got(p, value, "a string");
        if (strpbrk(json_string_value(value), "\r\n"))
            return s_fail(p, "expected a header value without line breaks");
        (*out)[i].name = apex_strdup(key);
        (*out)[i].value =
            s_template_compile(p, json_string_value(value), false);
        if (!(*out)[i].value)
            return -1;
        i++;
        s_path_restore(p, old);
    }
    return 0;
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
static void s_merge_headers(s_parser_t *p, apex_http_step_t *r, bool json)
{
    size_t cap = p->nheaders + r->nheaders + 1;
    apex_header_t *merged = apex_calloc(cap, sizeof *merged);
    size_t n = 0;
    for (size_t i = 0; i < p->nheaders; i++) {
        if (s_has_header(r->headers, r->nheaders, p->headers[i].name))
            continue;
        merged[n].name = apex_strdup(p->headers[i].name);
        merged[n].value = s_template_dup(p->headers[i].value);
        n++;
    }
    for (size_t i = 0; i < r->nheaders; i++)
        merged[n++] = r->headers[i];
    if (json && !s_has_header(merged, n, "Content-Type")) {
        merged[n].name = apex_strdup("Content-Type");
        merged[n].value = s_template_compile(p, "application/json", false);
        n++;
    }
    free(r->headers);
    r->headers = merged;
    r->nheaders = n;
}

static int s_parse_query(s_parser_t *p, const json_t *obj, apex_http_step_t *r)
{
    if (!json_is_object(obj))
        return s_fail_got(p, obj, "an object of parameter names and values");
    r->query = apex_calloc(json_object_size(obj), sizeof *r->query);
    r->nquery = json_object_size(obj);
    size_t i = 0;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        size_t old = s_path_key(p, key);
        if (key[0] == '\0')
            return s_fail(p, "expected a non-empty parameter name");
        char number[64];
        const char *text = number;
        if (json_is_string(value))
            text = json_string_value(value);
        else if (json_is_integer(value))
            snprintf(number, sizeof number, "%" JSON_INTEGER_FORMAT,
                     json_integer_value(value));
        else if (json_is_real(value))
            s_real_text(json_real_value(value), number, sizeof number);
        else
            return s_fail_got(p, value, "a string or a number");
        r->query[i].name = apex_strdup(key);
        r->query[i].value = s_template_compile(p, text, false);
        if (!r->query[i].value)
            return -1;
        i++;
        s_path_restore(p, old);
    }
    return 0;
}

// An HTTP status an "expect" accepts.
static int s_get_status(s_parser_t *p, const json_t *v, int *out)
{
    if (!json_is_integer(v) ||
        json_integer_value(v) < APEX_SCENARIO_STATUS_MIN ||
        json_integer_value(v) > APEX_SCENARIO_STATUS_MAX) {
        char what[64];
        snprintf(what, sizeof what, "a status from %d to %d",
                 APEX_SCENARIO_STATUS_MIN, APEX_SCENARIO_STATUS_MAX);
        return s_fail_got(p, v, what);
    }
    *out = (int)json_integer_value(v);
    return 0;
}

static int s_parse_expect(s_parser_t *p, const json_t *v, apex_http_step_t *r)
{
    if (!json_is_array(v)) {
        r->expect = apex_calloc(1, sizeof *r->expect);
        r->nexpect = 1;
        if (json_is_integer(v))
            return s_get_status(p, v, &r->expect[0]);
    }
    if (!json_is_array(v) || json_array_size(v) == 0) {
        char what[96];
        snprintf(what, sizeof what,
                 "a status from %d to %d or a non-empty list of them",
                 APEX_SCENARIO_STATUS_MIN, APEX_SCENARIO_STATUS_MAX);
        return s_fail_got(p, v, what);
    }
    r->nexpect = json_array_size(v);
    r->expect = apex_calloc(r->nexpect, sizeof *r->expect);
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        size_t old = s_path_index(p, i);
        if (s_get_status(p, item, &r->expect[i]) != 0)
            return -1;
        s_path_restore(p, old);
    }
    return 0;
}

// One capture: the path names the variable; a string is a JSON path.
#define APEX_REGEX_MAX_SIZE 10000.0      // elements of one expanded regex
#define APEX_REGEX_MAX_SIZE_ALL 100000.0 // of all regexes of a scenario
#define APEX_REGEX_MAX_DEPTH 32

// Why a capture regex is refused, or NULL; *size_out gets its expanded
// size. glibc's regcomp copies an element once per count of the {m,n}
// after it (a{9999} costs 2 MB, and nested bounds multiply:
// ((a{255}){255}){255} takes gigabytes), so the pattern's size once
// every bound is expanded is limited. Back-references make regexec
// exponential on a body the server under test controls.
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
            const char *q = p + 1;
            if (*q == '^')
                q++;
            if (*q == ']')
                q++;
            while (*q && *q != ']')
                q++;
            if (!*q)
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
            char *end = NULL;
            double lo = strtod(p + 1, &end);
            double hi = lo;
            if (end && *end == ',') {
                char *end2 = NULL;
                hi = strtod(end + 1, &end2);
                if (end2 == end + 1)
                    hi = lo + 1; // {m,}: unbounded, costs like m + 1
                end = end2;
            }
            const char *close = strchr(p, '}');
            if (close)
                p = close;
            if (hi > APEX_REGEX_MAX_SIZE) // inf too
                hi = APEX_REGEX_MAX_SIZE + 1;
            if (hi > 1) { // NaN is not
                // The element is counted once already: add the copies.
                size[depth] += atom * (hi - 1);
                atom *= hi;
            }
            if (size[depth] > APEX_REGEX_MAX_SIZE)
                return "repetition counts expand it to more than 10000 "
                       "elements";
            continue;
        } else {
            atom = 1;
        }
        size[depth] += atom;
        if (size[depth] > APEX_REGEX_MAX_SIZE)
            return "repetition counts expand it to more than 10000 "
                   "elements";
    }
    double total = 0;
    for (int d = 0; d <= depth; d++)
        total += size[d];
    *size_out = total;
    return NULL;
}

static int s_parse_capture(s_parser_t *p, const char *var, const json_t *spec,
                           apex_capture_t *c)
{
    if (!s_is_name(var))
        return s_fail(p, "expected a variable name ([A-Za-z_][A-Za-z0-9_]*)");
    long slot = s_var_slot(p->sc, var, strlen(var));
    if (slot < 0) // the first pass stopped collecting
        return s_fail(p, "more than %d capture variables",
                      APEX_SCENARIO_MAX_VARS);
    c->var = apex_strdup(var);
    c->slot = (size_t)slot;
    const char *kind = "json";
    const json_t *expr = spec;
    if (json_is_object(spec)) {
        if (s_check_keys(p, spec, s_capture_keys) != 0)
            return -1;
        if (json_object_size(spec) != 1)
            return s_fail_got(p, spec, "exactly one of: json, header, regex");
        kind = json_object_iter_key(json_object_iter((json_t *)spec));
        expr = json_object_get(spec, kind);
        s_path_key(p, kind);
    } else if (!json_is_string(spec)) {
        return s_fail_got(p, spec,
                          "a JSON path or an object with one of: json, "
                          "header, regex");
    }
    if (!json_is_string(expr) || json_string_length(expr) == 0)
        return s_fail_got(p, expr,
                          strcmp(kind, "json") == 0     ? "a JSON path"
                          : strcmp(kind, "header") == 0 ? "a header name"
                                                        : "a regex");
    c->expr = apex_strdup(json_string_value(expr));
    if (strcmp(kind, "json") == 0) {
        c->kind = APEX_CAPTURE_JSON;
        return s_jsonpath_compile(p, c);
    }
    if (strcmp(kind, "header") == 0) {
        if (!s_is_token(c->expr))
            return s_fail_got(p, expr, "a header name");
        c->kind = APEX_CAPTURE_HEADER;
        return 0;
    }
    double size = 0;
    const char *risk = s_regex_risk(c->expr, &size);
    if (!risk && p->regex_size + size > APEX_REGEX_MAX_SIZE_ALL)
        risk = "the scenario's regexes expand to more than 100000 "
               "elements in all";
    if (risk) {
        char quoted[APEX_SCENARIO_EXCERPT + 8];
        s_excerpt(c->expr, quoted, sizeof quoted);
        return s_fail(p, "regex %s: %s", quoted, risk);
    }
    p->regex_size += size;
    int rc = regcomp(&c->regex, c->expr, REG_EXTENDED);
    if (rc != 0) {
        char why[128], quoted[APEX_SCENARIO_EXCERPT + 8];
        regerror(rc, &c->regex, why, sizeof why);
        s_excerpt(c->expr, quoted, sizeof quoted);
        return s_fail(p, "bad regex %s: %s", quoted, why);
    }
    c->kind = APEX_CAPTURE_REGEX; // only now does destroy call regfree()
    c->has_group = c->regex.re_nsub >= 1;
    return 0;
}

static int s_parse_captures(s_parser_t *p, const json_t *obj, apex_step_t *r)
{
    if (!json_is_object(obj))
        return s_fail_got(p, obj, "an object of variable names and captures");
    r->captures = apex_calloc(json_object_size(obj), sizeof *r->captures);
    r->ncaptures = json_object_size(obj);
    size_t i = 0;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        size_t old = s_path_key(p, key);
        apex_capture_t *c = &r->captures[i++];
        if (s_parse_capture(p, key, value, c) != 0)
            return -1;
        if (c->kind == APEX_CAPTURE_HEADER)
            r->needs_headers = true;
        else
            r->needs_body = true;
        s_path_restore(p, old);
    }
    return 0;
}

// True when path (compiled) can be a URL path or an absolute URL: a
// literal start is checked now; a start that is a variable or a function
// is only known per request (a captured Location header, say).
static bool s_path_ok(const apex_template_t *path)
{
    if (path->nsegs == 0)
        return false;
    if (path->segs[0].kind != APEX_SEG_LITERAL)
        return true;
    const char *text = path->segs[0].text;
    return text[0] == '/' || apex_url_is_absolute(text);
}

// An HTTP request step; shorthand requests (tasks) may carry "weight" and
// "task", which the caller reads.
static int s_parse_http(s_parser_t *p, const json_t *obj, apex_step_t *step,
                        bool shorthand)
{
    if (s_check_keys(p, obj, shorthand ? s_shorthand_keys : s_request_keys))
        return -1;
    size_t old = p->path.len;
    apex_http_step_t *r = step->http = apex_calloc(1, sizeof *step->http);

    json_t *v = json_object_get(obj, "method");
    r->method = apex_strdup("GET");
    if (v) {
        s_path_key(p, "method");
        const char *const *m = s_methods;
        while (*m && !(json_is_string(v) &&
                       strcasecmp(*m, json_string_value(v)) == 0))
            m++;
        if (!*m)
            return s_fail_got(p, v,
                              "one of GET, POST, PUT, PATCH, DELETE, HEAD, "
                              "OPTIONS");
        free(r->method);
        r->method = apex_strdup(*m);
        s_path_restore(p, old);
    }

    const char *path_what = "a path starting with \"/\" or an absolute "
                            "http:// or https:// URL";
    v = json_object_get(obj, "path");
    if (!v)
        return s_fail_missing(p, "path", path_what);
    s_path_key(p, "path");
    if (!json_is_string(v))
        return s_fail_got(p, v, path_what);
    r->path = s_template_compile(p, json_string_value(v), false);
    if (!r->path)
        return -1;
    if (!s_path_ok(r->path))
        return s_fail_got(p, v, path_what);
    s_path_restore(p, old);

    v = json_object_get(obj, "name");
    if (v) {
        s_path_key(p, "name");
        if (!json_is_string(v) || json_string_length(v) == 0)
            return s_fail_got(p, v, "a non-empty string");
        step->name = apex_strdup(json_string_value(v));
        step->name_given = true;
        s_path_restore(p, old);
    } else {
        step->name = apex_strdup(apex_template_display(r->path));
    }

    v = json_object_get(obj, "query");
    if (v) {
        s_path_key(p, "query");
        if (s_parse_query(p, v, r) != 0)
            return -1;
        s_path_restore(p, old);
    }

    v = json_object_get(obj, "headers");
    if (v) {
        s_path_key(p, "headers");
        if (s_parse_headers(p, v, &r->headers, &r->nheaders) != 0)
            return -1;
        s_path_restore(p, old);
    }

    json_t *json = json_object_get(obj, "json");
    json_t *body = json_object_get(obj, "body");
    if (json && body)
        return s_fail(p, "expected \"json\" or \"body\", not both");
    if (json) {
        s_path_key(p, "json");
        char *text = json_dumps(json, APEX_JSON_DUMP_FLAGS | JSON_ENCODE_ANY);
        if (!text)
            return s_fail(p, "cannot serialize the JSON body");
        r->body = s_template_compile(p, text, true);
        free(text);
        if (!r->body)
            return -1;
        s_path_restore(p, old);
    } else if (body) {
        s_path_key(p, "body");
        if (!json_is_string(body))
            return s_fail_got(p, body, "a string");
        r->body = s_template_compile(p, json_string_value(body), false);
        if (!r->body)
            return -1;
        s_path_restore(p, old);
    }
    s_merge_headers(p, r, json != NULL);

    v = json_object_get(obj, "expect");
    if (v) {
        s_path_key(p, "expect");
        if (s_parse_expect(p, v, r) != 0)
            return -1;
        s_path_restore(p, old);
    }

    v = json_object_get(obj, "capture");
    if (v) {
        s_path_key(p, "capture");
        if (s_parse_captures(p, v, step) != 0)
            return -1;
        s_path_restore(p, old);
    }

    step->timeout = APEX_SCENARIO_DEFAULT_TIMEOUT;
    v = json_object_get(obj, "timeout");
    if (v) {
        s_path_key(p, "timeout");
        if (!json_is_number(v) || json_number_value(v) <= 0)
            return s_fail_got(p, v, "a number of seconds > 0");
        step->timeout = json_number_value(v);
        s_path_restore(p, old);
    }
    step->type = apex_strdup(r->method);
    return 0;
}

// A step object of any kind. Today every step is an HTTP request; a new
// kind is told apart by a key of its own ("ws", "sql", ...).
static int s_parse_step(s_parser_t *p, const json_t *obj, apex_step_t *step,
                        bool shorthand)
{
    if (!json_is_object(obj))
        return s_fail_got(p, obj, "a request object");
    step->kind = APEX_STEP_HTTP;
    return s_parse_http(p, obj, step, shorthand);
}

// A list of requests (on_start, sequence); empty allowed unless nonempty.
static int s_parse_requests(s_parser_t *p, const json_t *v, bool nonempty,
                            apex_step_t **out, size_t *nout)
{
    if (!json_is_array(v) || (nonempty && json_array_size(v) == 0))
        return s_fail_got(p, v,
                          nonempty ? "a non-empty array of requests"
                                   : "an array of requests");
    *out = apex_calloc(json_array_size(v), sizeof **out);
    *nout = json_array_size(v);
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        size_t old = s_path_index(p, i);
        if (s_parse_step(p, item, &(*out)[i], false) != 0)
            return -1;
        s_path_restore(p, old);
    }
    return 0;
}

// A task name from key ("name" or "task" for a shorthand), if any.
static int s_parse_task_name(s_parser_t *p, const json_t *obj, const char *key,
                             apex_task_t *t)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    size_t old = s_path_key(p, key);
    if (!json_is_string(v) || json_string_length(v) == 0)
        return s_fail_got(p, v, "a non-empty string");
    t->name = apex_strdup(json_string_value(v));
    s_path_restore(p, old);
    return 0;
}

static int s_parse_task(s_parser_t *p, const json_t *obj, apex_task_t *t)
{
    const char *what = "a task with \"request\" or \"sequence\", or a "
                       "request with \"path\"";
    if (!json_is_object(obj))
        return s_fail_got(p, obj, what);
    json_t *request = json_object_get(obj, "request");
    json_t *sequence = json_object_get(obj, "sequence");
    if (request && sequence)
        return s_fail(p, "expected \"request\" or \"sequence\", not both");
    if (request || sequence) {
        if (s_check_keys(p, obj, s_task_keys) != 0 ||
            s_parse_task_name(p, obj, "name", t) != 0 ||
            s_get_weight(p, obj, &t->weight) != 0)
            return -1;
        size_t old = s_path_key(p, request ? "request" : "sequence");
        if (request) {
            t->steps = apex_calloc(1, sizeof *t->steps);
            t->nsteps = 1;
            if (s_parse_step(p, request, &t->steps[0], false) != 0)
                return -1;
        } else if (s_parse_requests(p, sequence, true, &t->steps, &t->nsteps) !=
                   0) {
            return -1;
        }
        s_path_restore(p, old);
        return 0;
    }
    // A request itself? Any key only a request has says so; otherwise a
    // key known to neither form is a typo of a task key.
    bool shorthand = false;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        if (s_in_list(key, s_shorthand_keys) && !s_in_list(key, s_task_keys))
            shorthand = true;
    }
    if (!shorthand)
        return s_check_keys(p, obj, s_task_keys) != 0
                   ? -1
                   : s_fail_got(p, obj, what);
    if (s_parse_task_name(p, obj, "task", t) != 0 ||
        s_get_weight(p, obj, &t->weight) != 0)
        return -1;
    t->steps = apex_calloc(1, sizeof *t->steps);
    t->nsteps = 1;
    return s_parse_step(p, obj, &t->steps[0], true);
}

static int s_parse_wait(s_parser_t *p, const json_t *v, apex_wait_t *w)
{
    const char *seconds = "a number of seconds >= 0";
    if (json_is_number(v)) {
        if (json_number_value(v) < 0)
            return s_fail_got(p, v, seconds);
        w->kind = APEX_WAIT_CONSTANT;
        w->a = json_number_value(v);
        return 0;
    }
    if (!json_is_object(v))
        return s_fail_got(p, v,
                          "a number of seconds or an object with one of: "
                          "constant, between, constant_pacing, "
                          "constant_throughput");
    if (s_check_keys(p, v, s_wait_keys) != 0)
        return -1;
    if (json_object_size(v) != 1)
        return s_fail_got(p, v,
                          "exactly one of: constant, between, "
                          "constant_pacing, constant_throughput");
    const char *kind = json_object_iter_key(json_object_iter((json_t *)v));
    json_t *arg = json_object_get(v, kind);
    s_path_key(p, kind);
    if (strcmp(kind, "between") == 0) {
        json_t *lo = json_array_get(arg, 0);
        json_t *hi = json_array_get(arg, 1);
        if (json_array_size(arg) != 2 || !json_is_number(lo) ||
            !json_is_number(hi) || json_number_value(lo) < 0 ||
            json_number_value(lo) > json_number_value(hi))
            return s_fail_got(p, arg, "[min, max] with 0 <= min <= max");
        w->kind = APEX_WAIT_BETWEEN;
        w->a = json_number_value(lo);
        w->b = json_number_value(hi);
    } else if (strcmp(kind, "constant_throughput") == 0) {
        if (!json_is_number(arg) || json_number_value(arg) <= 0)
            return s_fail_got(p, arg, "a number of task runs per second > 0");
        w->kind = APEX_WAIT_CONSTANT_THROUGHPUT;
        w->a = json_number_value(arg);
    } else {
        if (!json_is_number(arg) || json_number_value(arg) < 0)
            return s_fail_got(p, arg, seconds);
        w->kind = strcmp(kind, "constant") == 0 ? APEX_WAIT_CONSTANT
                                                : APEX_WAIT_CONSTANT_PACING;
        w->a = json_number_value(arg);
    }
    return 0;
}

static int s_parse_tasks(s_parser_t *p, const json_t *v, apex_user_class_t *u)
{
    if (!json_is_array(v) || json_array_size(v) == 0)
        return s_fail_got(p, v, "a non-empty array of tasks");
    u->tasks = apex_calloc(json_array_size(v), sizeof *u->tasks);
    u->ntasks = json_array_size(v);
    size_t total = 0;
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        size_t old = s_path_index(p, i);
        if (s_parse_task(p, item, &u->tasks[i]) != 0)
            return -1;
        total += u->tasks[i].weight;
        s_path_restore(p, old);
    }
    if (total > APEX_SCENARIO_MAX_PICK)
        return s_fail(p, "task weights sum to %zu, more than %d", total,
                      APEX_SCENARIO_MAX_PICK);
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

static int s_parse_user(s_parser_t *p, const json_t *obj, size_t index)
{
    apex_user_class_t *u = &p->sc->users[index];
    if (!json_is_object(obj))
        return s_fail_got(p, obj, "a user class object");
    if (s_check_keys(p, obj, s_user_keys) != 0)
        return -1;
    size_t old = p->path.len;
    const char *name_what = "a class name matching [A-Za-z_][A-Za-z0-9_]*";
    json_t *v = json_object_get(obj, "name");
    if (!v)
        return s_fail_missing(p, "name", name_what);
    s_path_key(p, "name");
    if (!json_is_string(v) || !s_is_name(json_string_value(v)))
        return s_fail_got(p, v, name_what);
    for (size_t i = 0; i < index; i++)
        if (strcmp(p->sc->users[i].name, json_string_value(v)) == 0)
            return s_fail(p,
                          "duplicate user class name \"%s\" (also at "
                          "$.users[%zu])",
                          json_string_value(v), i);
    u->name = apex_strdup(json_string_value(v));
    s_path_restore(p, old);

    if (s_get_weight(p, obj, &u->weight) != 0)
        return -1;

    v = json_object_get(obj, "fixed_count");
    if (v) {
        long long count;
        s_path_key(p, "fixed_count");
        if (s_get_int(p, v, 0, UINT_MAX, &count) != 0)
            return -1;
        u->fixed_count = (unsigned)count;
        s_path_restore(p, old);
    }

    u->wait.kind = APEX_WAIT_CONSTANT;
    v = json_object_get(obj, "wait");
    if (v) {
        s_path_key(p, "wait");
        if (s_parse_wait(p, v, &u->wait) != 0)
            return -1;
        s_path_restore(p, old);
    }

    v = json_object_get(obj, "on_start");
    if (v) {
        s_path_key(p, "on_start");
        if (s_parse_requests(p, v, false, &u->on_start, &u->non_start) != 0)
            return -1;
        s_path_restore(p, old);
    }

    v = json_object_get(obj, "tasks");
    if (!v)
        return s_fail_missing(p, "tasks", "a non-empty array of tasks");
    s_path_key(p, "tasks");
    if (s_parse_tasks(p, v, u) != 0)
        return -1;
    s_path_restore(p, old);
    return 0;
}

static int s_parse_env(s_parser_t *p, json_t *env)
{
    size_t old = s_path_key(p, "env");
    if (!json_is_object(env))
        return s_fail_got(p, env, "an object of strings or nulls");
    const char *key;
    json_t *value;
    json_object_foreach(env, key, value)
    {
        if (!json_is_string(value) && !json_is_null(value)) {
            s_path_key(p, key);
            return s_fail_got(p, value, "a string or null");
        }
    }
    p->env = env;
    s_path_restore(p, old);
    return 0;
}

// "host" takes environment placeholders only; empty means not given.
static int s_parse_host(s_parser_t *p, const json_t *v)
{
    size_t old = s_path_key(p, "host");
    if (!json_is_string(v))
        return s_fail_got(p, v, "a string");
    apex_template_t *host = s_template_compile(p, json_string_value(v), false);
    if (!host)
        return -1;
    const char *text = apex_template_constant(host);
    if (!text) {
        s_template_free(host);
        return s_fail(p, "expected a URL with environment placeholders only "
                         "(no capture variables or functions)");
    }
    if (text[0] != '\0')
        p->sc->host = apex_strdup(text);
    s_template_free(host);
    s_path_restore(p, old);
    return 0;
}

static int s_user_cmp(const void *a, const void *b)
{
    return strcmp(((const apex_user_class_t *)a)->name,
                  ((const apex_user_class_t *)b)->name);
}

static int s_parse_root(s_parser_t *p, json_t *root)
{
    if (!json_is_object(root))
        return s_fail_got(p, root, "an object");
    if (s_check_keys(p, root, s_root_keys) != 0)
        return -1;
    json_t *v = json_object_get(root, "env");
    if (v && s_parse_env(p, v) != 0)
        return -1;
    v = json_object_get(root, "description");
    if (v && !json_is_string(v)) {
        s_path_key(p, "description");
        return s_fail_got(p, v, "a string");
    }
    s_collect_vars(p, root);

    v = json_object_get(root, "headers");
    if (v) {
        size_t old = s_path_key(p, "headers");
        if (s_parse_headers(p, v, &p->headers, &p->nheaders) != 0)
            return -1;
        s_path_restore(p, old);
    }
    v = json_object_get(root, "host");
    if (v && s_parse_host(p, v) != 0)
        return -1;

    const char *users_what = "a non-empty array of user classes";
    v = json_object_get(root, "users");
    if (!v)
        return s_fail_missing(p, "users", users_what);
    s_path_key(p, "users");
    if (!json_is_array(v) || json_array_size(v) == 0)
        return s_fail_got(p, v, users_what);
    p->sc->users = apex_calloc(json_array_size(v), sizeof *p->sc->users);
    p->sc->nusers = json_array_size(v);
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        size_t old = s_path_index(p, i);
        if (s_parse_user(p, item, i) != 0)
            return -1;
        s_path_restore(p, old);
    }
    // Locust's dispatcher orders user classes by name.
    qsort(p->sc->users, p->sc->nusers, sizeof *p->sc->users, s_user_cmp);
    return 0;
}

apex_scenario_t *apex_scenario_parse(const char *json, size_t size,
                                     const char *origin, apex_error_t *err)
{
    apex_scenario_t *sc = apex_calloc(1, sizeof *sc);
    sc->origin = apex_strdup(origin ? origin : "scenario");
    s_parser_t p = {.sc = sc, .err = err};
    apex_buf_init(&p.path);
    apex_buf_puts(&p.path, "$");
    p.used_env = json_object();
    json_t *root = NULL;
    int rc = -1;

    if (size > APEX_SCENARIO_MAX_BYTES) {
        apex_error_set(err, "%s: too large: %zu bytes (at most %u)", sc->origin,
                       size, APEX_SCENARIO_MAX_BYTES);
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
    if (s_parse_root(&p, root) != 0)
        goto done;
    // The master reads these itself (master/shape.c, thresholds.c).
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
    json_object_set(root, "env", p.used_env);
    char *wire = json_dumps(root, APEX_JSON_DUMP_FLAGS);
    if (!wire) {
        apex_error_set(err, "%s: cannot serialize the scenario", sc->origin);
        goto done;
    }
    sc->wire = apex_strdup(wire);
    free(wire);
    rc = 0;
done:
    for (size_t i = 0; i < p.nheaders; i++) {
        free(p.headers[i].name);
        s_template_free(p.headers[i].value);
    }
    free(p.headers);
    json_decref(p.used_env);
    json_decref(root);
    apex_buf_fini(&p.path);
    if (rc != 0)
        apex_scenario_destroy(&sc);
    return sc;
}

apex_scenario_t *apex_scenario_load(const char *path, apex_error_t *err)
{
    assert(path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        apex_error_set(err, "%s: cannot read: %s", path, strerror(errno));
        return NULL;
    }
    apex_scenario_t *sc = NULL;
    char *data = NULL;
    size_t len = 0;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        apex_error_set(err, "%s: cannot read: %s", path, strerror(errno));
        goto done;
    }
    if (S_ISDIR(st.st_mode)) {
        apex_error_set(err, "%s: cannot read: %s", path, strerror(EISDIR));
        goto done;
    }
    if (S_ISREG(st.st_mode) && st.st_size > (off_t)APEX_SCENARIO_MAX_BYTES) {
        apex_error_set(err, "%s: too large: %lld bytes (at most %u)", path,
                       (long long)st.st_size, APEX_SCENARIO_MAX_BYTES);
        goto done;
    }
    // Read to the end (pipes have no size); one byte past the limit tells
    // a file that grew or a stream that is too long.
    size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1
                                     : (size_t)APEX_SCENARIO_READ_CHUNK;
    data = apex_calloc(1, cap);
    for (;;) {
        if (len == cap) {
            cap *= 2;
            data = apex_realloc(data, cap, 1);
        }
        ssize_t n = read(fd, data + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            apex_error_set(err, "%s: cannot read: %s", path, strerror(errno));
            goto done;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > APEX_SCENARIO_MAX_BYTES) {
            apex_error_set(err, "%s: too large: more than %u bytes", path,
                           APEX_SCENARIO_MAX_BYTES);
            goto done;
        }
    }
    sc = apex_scenario_parse(data, len, path, err);
done:
    close(fd);
    free(data);
    return sc;
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
    for (size_t i = 0; i < self->nvars; i++)
        free(self->vars[i]);
    free(self->vars);
    free(self->origin);
    free(self->host);
    free(self->wire);
    free(self->shape);
    free(self->thresholds);
    free(self->description);
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

// ---------------------------------------------------------------------
// Captures

static const json_t *s_jsonpath_eval(const apex_capture_t *c,
                                     const json_t *root, uint64_t *rng)
{
    const json_t *cur = root;
    for (size_t i = 0; cur && i < c->nsteps; i++) {
        const apex_jsonpath_step_t *step = &c->steps[i];
        if (step->kind == APEX_JSONPATH_KEY) {
            cur = json_object_get(cur, step->key); // NULL for non-objects
            continue;
        }
        if (!json_is_array(cur))
            return NULL;
        long long n = (long long)json_array_size(cur);
        long long at = step->index;
        if (step->kind == APEX_JSONPATH_ANY) {
            if (n == 0)
                return NULL;
            assert(rng);
            at = (long long)(apex_rng_next(rng) % (uint64_t)n);
        } else if (at < 0) {
            at += n;
        }
        if (at < 0 || at >= n)
            return NULL;
        cur = json_array_get(cur, (size_t)at);
    }
    return cur;
}

// A JSON value as text: strings as they are, numbers as Python prints
// them, containers as compact JSON.
static char *s_json_text(const json_t *v)
{
    char number[64];
    switch (json_typeof(v)) {
    case JSON_STRING:
        return apex_strndup(json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return apex_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
    case JSON_REAL:
        s_real_text(json_real_value(v), number, sizeof number);
        return apex_strdup(number);
    case JSON_TRUE:
        return apex_strdup("true");
    case JSON_FALSE:
        return apex_strdup("false");
    case JSON_NULL:
        return apex_strdup("null");
    default: {
        char *text = json_dumps(v, APEX_JSON_DUMP_FLAGS | JSON_ENCODE_ANY);
        char *copy = apex_strdup(text ? text : "");
        free(text);
        return copy;
    }
    }
}

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
    regmatch_t m[2];
    if (regexec(&c->regex, text, 2, m, 0) != 0)
        return NULL;
    const regmatch_t *g = &m[c->has_group ? 1 : 0];
    if (g->rm_so < 0) // the group took no part in the match
        return NULL;
    return apex_strndup(text + g->rm_so, (size_t)(g->rm_eo - g->rm_so));
}

// Every capture is evaluated even after one fails, so the variables that
// were found are stored; the error names the first that was not.
int apex_captures_apply(const apex_step_t *req, const char *headers,
                        size_t headers_size, const char *body, size_t body_size,
                        char **vars, uint64_t *rng, apex_error_t *err)
{
    assert(req && (vars || req->ncaptures == 0));
    json_t *doc = NULL;
    bool parsed = false;
    char *text = NULL; // the body NUL-terminated, for regexec()
    int rc = 0;
    for (size_t i = 0; i < req->ncaptures; i++) {
        const apex_capture_t *c = &req->captures[i];
        const char *kind = "";
        const char *problem = "not found in response";
        char *value = NULL;
        if (c->kind == APEX_CAPTURE_JSON) {
            if (!parsed) {
                parsed = true;
                if (body)
                    doc = json_loadb(body, body_size, JSON_DECODE_ANY, NULL);
            }
            const json_t *v = doc ? s_jsonpath_eval(c, doc, rng) : NULL;
            if (!doc)
                problem = "response body is not JSON";
            else if (v)
                value = s_json_text(v);
        } else if (c->kind == APEX_CAPTURE_HEADER) {
            kind = "header ";
            value = s_header_value(headers, headers_size, c->expr);
        } else {
            kind = "regex ";
            if (!text)
                text = body ? apex_strndup(body, body_size) : apex_strdup("");
            value = s_regex_value(c, text);
        }
        if (value) {
            free(vars[c->slot]);
            vars[c->slot] = value;
        } else if (rc == 0) {
            rc = apex_error_set(err, "capture %s: %s%s: %s", c->var, kind,
                                c->expr, problem);
        }
    }
    json_decref(doc);
    free(text);
    return rc;
}
