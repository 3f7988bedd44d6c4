// common/template.c - templates: the compiler and the segments it builds
// the per-request expansion, the template functions and display text.
//
// A template is compiled once into segments: literal text, a user
// variable slot (with an optional default or alternative, itself a
// compiled template), or a function call with its integer arguments
// parsed. Environment placeholders are resolved while compiling and
// folded into the literals, so a template that only refers to the
// environment is constant and costs one memcpy per request. A template
// compiled in JSON mode (a "json" body) has literals that are JSON text
// already, and every substituted value is JSON-string-escaped.
//
// Whether ${NAME} is a user variable or an environment variable is the
// caller's to say (apex_template_scope_t): the scenario loader knows
// which names its captures define and which environment it resolves
// from, and records every environment lookup for its wire text. An
// optional default or alternative is compiled even when the environment
// decides it does not apply, so its errors are reported and its
// variables recorded all the same.
//
// The compiler is a recursive descent over the source: s_parse() copies
// literal text and hands each "${" to s_placeholder(), which recurses
// for a nested default or alternative (at most APEX_TEMPLATE_MAX_DEPTH
// deep, so hostile input cannot exhaust the stack). Errors say what was
// wrong and quote the template ("unterminated \"${\" in \"/a/${id\"").
//
// Memory: a template owns its segments, their text and their nested
// templates; a builder that fails is discarded with everything it holds.
#include "common/template_int.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/json.h"
#include "common/rng.h"

#define APEX_TEMPLATE_SEGS_MIN 4 // segments allocated first

static const char *const s_builtins[] = {"user_index", "worker_index",
                                         "iteration"};
#define APEX_DATA_PREFIX "data."

typedef struct {
    const char *name;  // as written in a template
    apex_tfunc_t func; // which function
    size_t nargs;      // number of integer arguments
} s_func_info_t;

static const s_func_info_t s_funcs[] = {
    {"uuid", APEX_FN_UUID, 0},
    {"random_int", APEX_FN_RANDOM_INT, 2},
    {"random_string", APEX_FN_RANDOM_STRING, 1},
    {"now_ms", APEX_FN_NOW_MS, 0},
};

// A template under construction: literal text accumulates in lit until a
// placeholder needs a segment of its own, so adjacent literals (including
// folded environment values) always end up as one segment.
typedef struct {
    apex_tseg_t *segs;  // segments so far
    size_t nsegs;       // number of segments
    size_t cap;         // allocated segments
    apex_buf_t lit;     // literal text not yet made a segment
    apex_buf_t display; // display text so far
    bool json;          // JSON mode
} s_builder_t;

// One compile: the source, the names it may refer to, the error.
typedef struct {
    const char *src;                    // the template being compiled
    const apex_template_scope_t *scope; // user variables, environment
    apex_error_t *err;                  // where the first error goes
    int dead; // > 0 inside a default or alternative the environment
              // decided against (compiled for its errors only)
} s_compiler_t;

bool apex_template_name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

bool apex_template_name_char(char c)
{
    return apex_template_name_start(c) || (c >= '0' && c <= '9');
}

// ---------------------------------------------------------------------
// Segments and the builder

static void s_builder_init(s_builder_t *b, bool json)
{
    memset(b, 0, sizeof *b);
    apex_buf_init(&b->lit);
    apex_buf_init(&b->display);
    b->json = json;
}

static void s_segment_fini(apex_tseg_t *seg)
{
    free(seg->text);
    free(seg->name);
    apex_template_destroy(&seg->sub);
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
    apex_template_put_value(&b->lit, text, strlen(text), b->json);
    apex_buf_append(&b->display, b->lit.data ? b->lit.data + before : "",
                    b->lit.len - before);
}

// Append a zeroed segment (no flush).
static apex_tseg_t *s_builder_add(s_builder_t *b, apex_tseg_kind_t kind)
{
    if (b->nsegs == b->cap) {
        b->cap = b->cap ? 2 * b->cap : APEX_TEMPLATE_SEGS_MIN;
        b->segs = apex_realloc(b->segs, b->cap, sizeof *b->segs);
    }
    apex_tseg_t *seg = &b->segs[b->nsegs++];
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
    apex_tseg_t *seg = s_builder_add(b, APEX_SEG_LITERAL);
    seg->len = len;
    seg->text = apex_buf_take(&b->lit);
}

// A new placeholder segment after the literal text so far.
static apex_tseg_t *s_builder_push(s_builder_t *b, apex_tseg_kind_t kind)
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

void apex_template_destroy(apex_template_t **self_p)
{
    assert(self_p);
    apex_template_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->nsegs; i++)
        s_segment_fini(&self->segs[i]);
    free(self->segs);
    free(self->constant);
    free(self->display);
    free(self);
    *self_p = NULL;
}

apex_template_t *apex_template_dup(const apex_template_t *self)
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
        t->segs[i].sub = apex_template_dup(self->segs[i].sub);
        t->segs[i].name = apex_strdup(self->segs[i].name);
    }
    t->constant = apex_strdup(self->constant);
    t->display = apex_strdup(self->display);
    return t;
}

// ---------------------------------------------------------------------
// The compiler

static int s_parse(s_compiler_t *c, s_builder_t *b, size_t *pos, bool nested,
                   int depth);

// True where the text of a placeholder must have ended: at the end of
// the template or, in JSON mode, at a '"' that closes the JSON string (a
// placeholder never spans two strings of a JSON body).
static bool s_at_end(const s_builder_t *b, char c)
{
    return c == '\0' || (b->json && c == '"');
}

// "WHAT in "TEMPLATE"" (printf-style WHAT).
__attribute__((format(printf, 2, 3))) static int s_fail_in(s_compiler_t *c,
                                                           const char *fmt, ...)
{
    char what[APEX_ERROR_MAX / 2];
    char quoted[APEX_ERROR_QUOTE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    apex_error_quote(c->src, quoted, sizeof quoted);
    return apex_error_set(c->err, "%s in %s", what, quoted);
}

// The integer arguments between "(" at args[-1] and stop, split at
// commas (spaces allowed around them). *nargs counts every argument,
// even past APEX_TEMPLATE_MAX_ARGS. Returns false when one is not an
// integer.
static bool s_func_args(const char *args, const char *stop,
                        long long values[APEX_TEMPLATE_MAX_ARGS], size_t *nargs)
{
    *nargs = 0;
    const char *a = args;
    while (a < stop && *a == ' ')
        a++;
    if (a == stop)
        return true; // no arguments
    a = args;
    for (;;) {
        errno = 0;
        char *end;
        long long v = strtoll(a, &end, 10);
        if (end == a || errno != 0)
            return false;
        while (*end == ' ')
            end++;
        if (*nargs < APEX_TEMPLATE_MAX_ARGS)
            values[*nargs] = v;
        (*nargs)++;
        if (end == stop)
            return true;
        if (*end != ',')
            return false;
        a = end + 1;
    }
}

static const s_func_info_t *s_func_find(const char *name, size_t namelen)
{
    for (size_t i = 0; i < sizeof s_funcs / sizeof s_funcs[0]; i++)
        if (strlen(s_funcs[i].name) == namelen &&
            strncmp(s_funcs[i].name, name, namelen) == 0)
            return &s_funcs[i];
    return NULL;
}

// Check a call's arguments against what its function takes.
static int s_func_check(s_compiler_t *c, const s_func_info_t *info,
                        const char *args, int arglen, bool ok,
                        const long long *values, size_t nargs)
{
    if (!ok || nargs != info->nargs)
        return apex_error_set(c->err,
                              "%s(%.*s): expected %zu integer "
                              "argument%s",
                              info->name, arglen, args, info->nargs,
                              info->nargs == 1 ? "" : "s");
    if (info->func == APEX_FN_RANDOM_INT && values[0] > values[1])
        return apex_error_set(c->err,
                              "random_int(%lld,%lld): min is greater than max",
                              values[0], values[1]);
    if (info->func == APEX_FN_RANDOM_STRING &&
        (values[0] < 1 || values[0] > APEX_TEMPLATE_MAX_STRING))
        return apex_error_set(c->err,
                              "random_string(%lld): expected a length from 1 "
                              "to %d",
                              values[0], APEX_TEMPLATE_MAX_STRING);
    return 0;
}

// ${name(args)}: *pos is at "(".
static int s_function(s_compiler_t *c, s_builder_t *b, size_t *pos,
                      const char *name, size_t namelen)
{
    const char *src = c->src;
    const s_func_info_t *info = s_func_find(name, namelen);
    if (!info)
        return apex_error_set(c->err,
                              "unknown function \"%.*s()\" (expected one of: "
                              "uuid(), random_int(a,b), random_string(n), "
                              "now_ms())",
                              (int)namelen, name);
    size_t open = *pos;
    size_t close = open + 1;
    while (!s_at_end(b, src[close]) && src[close] != ')' && src[close] != '}')
        close++;
    if (s_at_end(b, src[close]) ||
        (src[close] == ')' && s_at_end(b, src[close + 1])))
        return s_fail_in(c, "unterminated \"${\"");
    if (src[close] != ')' || src[close + 1] != '}')
        return s_fail_in(c, "expected \")}\" after the arguments");
    const char *args = src + open + 1;
    long long values[APEX_TEMPLATE_MAX_ARGS] = {0, 0};
    size_t nargs;
    bool ok = s_func_args(args, src + close, values, &nargs);
    if (s_func_check(c, info, args, (int)(close - open - 1), ok, values,
                     nargs) != 0)
        return -1;
    apex_tseg_t *seg = s_builder_push(b, APEX_SEG_FUNC);
    seg->func = info->func;
    memcpy(seg->args, values, sizeof values);
    apex_buf_printf(&b->display, "{%s(", info->name);
    for (size_t i = 0; i < nargs; i++)
        apex_buf_printf(&b->display, "%s%lld", i ? "," : "", values[i]);
    apex_buf_puts(&b->display, ")}");
    *pos = close + 2;
    return 0;
}

// A user variable at slot, expanded per request; *pos is past "}", ":-"
// or ":+".
static int s_user_var(s_compiler_t *c, s_builder_t *b, size_t *pos,
                      const char *name, size_t namelen, long slot,
                      apex_tvar_op_t op, int depth)
{
    apex_template_t *sub = NULL;
    if (op != APEX_VAR_PLAIN) {
        s_builder_t sb;
        s_builder_init(&sb, b->json);
        if (s_parse(c, &sb, pos, true, depth + 1) != 0) {
            s_builder_discard(&sb);
            return -1;
        }
        sub = s_builder_finish(&sb);
    }
    apex_tseg_t *seg = s_builder_push(b, APEX_SEG_VAR);
    seg->slot = (size_t)slot;
    seg->op = op;
    seg->sub = sub;
    seg->name = apex_strndup(name, namelen);
    apex_buf_printf(&b->display, "{%.*s}", (int)namelen, name);
    if (c->scope->used && !c->dead)
        c->scope->used(c->scope->arg, (size_t)slot, op == APEX_VAR_PLAIN);
    return 0;
}

// An environment variable, folded in now; *pos is past "}", ":-" or ":+".
static int s_env_var(s_compiler_t *c, s_builder_t *b, size_t *pos,
                     const char *name, size_t namelen, apex_tvar_op_t op,
                     int depth)
{
    const char *value;
    if (c->scope->env(c->scope->arg, name, namelen, &value, c->err) != 0)
        return -1;
    if (!value && op == APEX_VAR_PLAIN && !c->dead && !c->scope->unset_env_ok)
        return apex_error_set(c->err,
                              "variable '%.*s' is not set by any capture, "
                              "data file, built-in or the environment",
                              (int)namelen, name);
    bool set = value && value[0] != '\0';
    if (op == APEX_VAR_PLAIN || (op == APEX_VAR_DEFAULT && set)) {
        if (value)
            s_builder_value(b, value);
    }
    if (op == APEX_VAR_PLAIN)
        return 0;
    // The sub-template goes into b when it applies; otherwise it is still
    // compiled (to report its errors and record its variables) and dropped.
    bool take = op == APEX_VAR_DEFAULT ? !set : set;
    if (take)
        return s_parse(c, b, pos, true, depth + 1);
    s_builder_t scratch;
    s_builder_init(&scratch, b->json);
    c->dead++;
    int rc = s_parse(c, &scratch, pos, true, depth + 1);
    c->dead--;
    s_builder_discard(&scratch);
    return rc;
}

// ${user_index} and the other built-ins: *pos is past "}".
static bool s_builtin(s_builder_t *b, const char *name, size_t namelen)
{
    for (size_t i = 0; i < sizeof s_builtins / sizeof s_builtins[0]; i++) {
        if (strlen(s_builtins[i]) != namelen ||
            strncmp(s_builtins[i], name, namelen) != 0)
            continue;
        s_builder_push(b, APEX_SEG_BUILTIN)->builtin = (apex_tbuiltin_t)i;
        apex_buf_printf(&b->display, "{%s}", s_builtins[i]);
        return true;
    }
    return false;
}

// ${data.SET.COLUMN}: name is "data.SET.COLUMN".
static int s_data(s_compiler_t *c, s_builder_t *b, const char *name,
                  size_t namelen)
{
    size_t skip = sizeof APEX_DATA_PREFIX - 1;
    size_t set = 0, column = 0;
    if (namelen <= skip || strncmp(name, APEX_DATA_PREFIX, skip) != 0)
        return s_fail_in(c,
                         "unknown name \"%.*s\" (a dotted name is "
                         "data.SET.COLUMN)",
                         (int)namelen, name);
    if (!c->scope->data)
        return s_fail_in(c, "\"%.*s\": the scenario has no data sets",
                         (int)namelen, name);
    if (c->scope->data(c->scope->arg, name + skip, namelen - skip, &set,
                       &column, c->err) != 0)
        return -1;
    apex_tseg_t *seg = s_builder_push(b, APEX_SEG_DATA);
    seg->set = set;
    seg->column = column;
    apex_buf_printf(&b->display, "{%.*s}", (int)namelen, name);
    return 0;
}

// A ${NAME...} placeholder: *pos is at "$".
static int s_placeholder(s_compiler_t *c, s_builder_t *b, size_t *pos,
                         int depth)
{
    const char *src = c->src;
    size_t i = *pos + 2;
    size_t start = i;
    bool dotted = false;
    for (;;) {
        while (apex_template_name_char(src[i]))
            i++;
        if (src[i] != '.' || !apex_template_name_start(src[i + 1]))
            break;
        dotted = true;
        i++;
    }
    if (s_at_end(b, src[i]))
        return s_fail_in(c, "unterminated \"${\"");
    if (i == start || !apex_template_name_start(src[start]))
        return s_fail_in(c, "expected a name after \"${\"");
    const char *name = src + start;
    size_t namelen = i - start;
    if (dotted || (src[i] == '}' && s_builtin(b, name, namelen))) {
        *pos = i + 1;
        if (src[i] != '}')
            return s_fail_in(c, "expected \"}\" after \"${%.*s\"", (int)namelen,
                             name);
        return dotted ? s_data(c, b, name, namelen) : 0;
    }
    if (src[i] == '(') {
        *pos = i;
        return s_function(c, b, pos, name, namelen);
    }
    apex_tvar_op_t op = APEX_VAR_PLAIN;
    if (src[i] == ':' && src[i + 1] == '-')
        op = APEX_VAR_DEFAULT;
    else if (src[i] == ':' && src[i + 1] == '+')
        op = APEX_VAR_ALT;
    else if (src[i] != '}')
        return s_fail_in(c,
                         "expected \"}\", \":-\", \":+\" or \"(\" after "
                         "\"${%.*s\"",
                         (int)namelen, name);
    i += op == APEX_VAR_PLAIN ? 1 : 2;
    if (op != APEX_VAR_PLAIN && depth >= APEX_TEMPLATE_MAX_DEPTH)
        return s_fail_in(c, "placeholders nested too deeply");
    long slot = c->scope->var_slot(c->scope->arg, name, namelen);
    int rc = slot >= 0 ? s_user_var(c, b, &i, name, namelen, slot, op, depth)
                       : s_env_var(c, b, &i, name, namelen, op, depth);
    *pos = i;
    return rc;
}

// Compile the source from *pos into b, up to the end (top level) or up
// to and including the "}" that closes a nested default or alternative.
// JSON mode: the placeholder that began at start (just after an
// opening '"') and ended at *pos takes the whole string when a '"' that
// closes a value (not a key) follows: make its segment typed and drop
// the two quotes.
static void s_maybe_typed(s_builder_t *b, size_t nsegs_before, const char *src,
                          size_t *pos)
{
    // The placeholder's push made two segments: the literal text up to
    // its '"', and itself (an environment variable made none).
    if (src[*pos] != '"' || src[*pos + 1] == ':' ||
        b->nsegs != nsegs_before + 2 || b->lit.len != 0)
        return;
    apex_tseg_t *lit = &b->segs[nsegs_before];
    if (lit->kind != APEX_SEG_LITERAL || lit->len == 0 ||
        lit->text[lit->len - 1] != '"')
        return;
    lit->text[--lit->len] = '\0';
    b->segs[nsegs_before + 1].typed = true;
    (*pos)++;
}

static int s_parse(s_compiler_t *c, s_builder_t *b, size_t *pos, bool nested,
                   int depth)
{
    const char *src = c->src;
    size_t i = *pos;
    bool in_string = false; // JSON mode, top level: inside a JSON string
    size_t opened = 0;      // where that string's '"' is
    for (;;) {
        size_t run = i;
        while (src[i] && src[i] != '$' && !(nested && src[i] == '}')) {
            if (nested && s_at_end(b, src[i]))
                break;
            if (b->json && !nested && src[i] == '"') {
                in_string = !in_string;
                opened = i;
            }
            // A JSON escape is two characters: \" does not end a string.
            i += b->json && src[i] == '\\' && src[i + 1] ? 2 : 1;
        }
        s_builder_text(b, src + run, i - run);
        if (src[i] == '\0' || (nested && s_at_end(b, src[i]))) {
            if (nested)
                return s_fail_in(c, "unterminated \"${\"");
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
            bool whole = b->json && !nested && in_string && opened + 1 == i;
            size_t nsegs = b->nsegs;
            if (s_placeholder(c, b, &i, depth) != 0)
                return -1;
            if (whole) {
                size_t before = i;
                s_maybe_typed(b, nsegs, src, &i);
                in_string = i == before; // the closing '"' was taken
            }
        } else { // a lone $ is literal
            s_builder_text(b, "$", 1);
            i++;
        }
    }
}

apex_template_t *apex_template_compile(const char *src, bool json,
                                       const apex_template_scope_t *scope,
                                       apex_error_t *err)
{
    assert(src && scope && scope->var_slot && scope->env);
    s_compiler_t c = {.src = src, .scope = scope, .err = err};
    s_builder_t b;
    s_builder_init(&b, json);
    size_t pos = 0;
    if (s_parse(&c, &b, &pos, false, 0) != 0) {
        s_builder_discard(&b);
        return NULL;
    }
    return s_builder_finish(&b);
}
