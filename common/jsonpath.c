// common/jsonpath.c - see jsonpath.h.
//
// Compiling: one recursive-descent parser reads paths and conditions
// left to right. A path at the top level (a capture) keeps the original
// rule that an unquoted key runs to the next "." or "["; inside a
// condition a key stops at spaces, operators and parentheses too. Filters
// hold conditions, which hold paths, so the parser recurses; its depth is
// counted and bounded, and so is the text's length.
//
// Evaluating: a path maps a list of nodes to the next list, step by step
// (a step after ".." runs on each node and every descendant, in document
// order). Every node a step examines counts as a visit, and so do those
// of the paths inside filters, against one budget per evaluation; past
// it the evaluation stops with -1. length() makes values that are not in
// the document: the nodes list owns them (an array in `owned`).
//
// A capture's [*] keeps its meaning of "a random element": with several
// nodes, a path with [*] draws one with the user's PRNG, so a user's
// choices replay with its seed; any other path takes the first.
#include "common/jsonpath.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/rng.h"

typedef enum { S_OR, S_AND, S_NOT, S_CMP, S_PATH, S_LIT } s_ekind_t;
typedef enum { S_EQ, S_NE, S_LT, S_LE, S_GT, S_GE } s_op_t;

struct apex_jsonpath_expr {
    s_ekind_t kind;          // what it is
    s_op_t op;               // CMP: the operator
    apex_jsonpath_expr_t *a; // OR, AND, NOT, CMP: the (left) operand
    apex_jsonpath_expr_t *b; // OR, AND, CMP: the right operand
    apex_jsonpath_t path;    // PATH
    bool at;                 // PATH: from @ (the node tested), not $
    json_t *lit;             // LIT: the value
};

// One compile: the text, where we are, how deep, what went wrong.
typedef struct {
    const char *src;      // the whole text
    size_t pos;           // where the parser is
    int depth;            // conditions and parentheses open
    int filters;          // filters open (where @ means something)
    bool condition;       // inside a condition (keys end at operators)
    bool whole_condition; // the text is a condition (for messages)
    apex_error_t *err;    // where the first error goes
} s_parser_t;

static apex_jsonpath_expr_t *s_or(s_parser_t *ps);
static int s_query_from(const apex_jsonpath_t *self, const json_t *start,
                        const json_t *root, apex_jsonpath_nodes_t *out,
                        size_t *visits);

static int s_fail(s_parser_t *ps, size_t at, const char *what)
{
    char quoted[APEX_ERROR_QUOTE_MAX];
    apex_error_quote(ps->src, quoted, sizeof quoted);
    return apex_error_set(ps->err, "bad %s %s: %s at offset %zu",
                          ps->whole_condition ? "condition" : "JSON path",
                          quoted, what, at);
}

static void s_skip_ws(s_parser_t *ps)
{
    while (ps->src[ps->pos] == ' ' || ps->src[ps->pos] == '\t' ||
           ps->src[ps->pos] == '\n' || ps->src[ps->pos] == '\r')
        ps->pos++;
}

// ---------------------------------------------------------------------
// Freeing

static void s_step_fini(apex_jsonpath_step_t *step)
{
    free(step->key);
    apex_jsonpath_expr_destroy(&step->filter);
}

void apex_jsonpath_fini(apex_jsonpath_t *self)
{
    assert(self);
    for (size_t i = 0; i < self->nsteps; i++)
        s_step_fini(&self->steps[i]);
    free(self->steps);
    self->steps = NULL;
    self->nsteps = 0;
}

void apex_jsonpath_expr_destroy(apex_jsonpath_expr_t **self_p)
{
    assert(self_p);
    apex_jsonpath_expr_t *e = *self_p;
    if (!e)
        return;
    apex_jsonpath_expr_destroy(&e->a);
    apex_jsonpath_expr_destroy(&e->b);
    apex_jsonpath_fini(&e->path);
    json_decref(e->lit);
    free(e);
    *self_p = NULL;
}

bool apex_jsonpath_has_any(const apex_jsonpath_t *self)
{
    for (size_t i = 0; i < self->nsteps; i++)
        if (self->steps[i].kind == APEX_JSONPATH_ANY)
            return true;
    return false;
}

// ---------------------------------------------------------------------
// Paths

static apex_jsonpath_step_t *s_add(apex_jsonpath_t *self,
                                   apex_jsonpath_kind_t kind, bool descend)
{
    self->steps =
        apex_realloc(self->steps, self->nsteps + 1, sizeof *self->steps);
    apex_jsonpath_step_t *step = &self->steps[self->nsteps++];
    memset(step, 0, sizeof *step);
    step->kind = kind;
    step->descend = descend;
    return step;
}

// ["key"] or ['key'] at ps->pos; moves past the "]".
static int s_quoted_key(s_parser_t *ps, apex_jsonpath_t *self, bool descend)
{
    const char *e = ps->src;
    char quote = e[ps->pos + 1];
    apex_buf_t key;
    apex_buf_init(&key);
    size_t at = ps->pos + 2;
    for (; e[at] && e[at] != quote; at++) {
        if (e[at] == '\\' && e[at + 1])
            at++;
        apex_buf_putc(&key, e[at]);
    }
    if (e[at] != quote || e[at + 1] != ']') {
        apex_buf_fini(&key);
        return s_fail(ps, at, "expected a quoted key, then \"]\"");
    }
    s_add(self, APEX_JSONPATH_KEY, descend)->key = apex_buf_take(&key);
    apex_buf_fini(&key);
    ps->pos = at + 2;
    return 0;
}

// [3] or [-1] at ps->pos; moves past the "]".
static int s_index(s_parser_t *ps, apex_jsonpath_t *self, bool descend)
{
    const char *digits = ps->src + ps->pos + 1;
    bool ok = (*digits >= '0' && *digits <= '9') ||
              (*digits == '-' && digits[1] >= '0' && digits[1] <= '9');
    char *end = (char *)digits;
    errno = 0;
    long index = ok ? strtol(digits, &end, 10) : 0;
    if (!ok || errno != 0)
        return s_fail(ps, ps->pos + 1,
                      "expected an index, \"*\" or a quoted key");
    if (*end != ']')
        return s_fail(ps, (size_t)(end - ps->src), "expected \"]\"");
    s_add(self, APEX_JSONPATH_INDEX, descend)->index = index;
    ps->pos = (size_t)(end - ps->src) + 1;
    return 0;
}

// [?(condition)] or [?condition] at ps->pos; moves past the "]".
static int s_filter(s_parser_t *ps, apex_jsonpath_t *self, bool descend)
{
    ps->pos += 2;
    ps->filters++;
    apex_jsonpath_expr_t *cond = s_or(ps);
    ps->filters--;
    if (!cond)
        return -1;
    s_skip_ws(ps);
    if (ps->src[ps->pos] != ']') {
        apex_jsonpath_expr_destroy(&cond);
        return s_fail(ps, ps->pos, "expected \"]\" after the filter");
    }
    ps->pos++;
    s_add(self, APEX_JSONPATH_FILTER, descend)->filter = cond;
    return 0;
}

// A byte that ends an unquoted key inside a condition.
static bool s_key_end(char c, bool condition)
{
    if (c == '\0' || c == '.' || c == '[')
        return true;
    return condition && strchr(" \t\r\n]()!=<>&|,'\"", c) != NULL;
}

// .key, .*, .length() or (after "..") the same; at ps->pos just past
// the dots.
static int s_dot_step(s_parser_t *ps, apex_jsonpath_t *self, bool descend)
{
    const char *e = ps->src;
    size_t start = ps->pos;
    static const char length[] = "length()";
    if (strncmp(e + start, length, sizeof length - 1) == 0 &&
        s_key_end(e[start + sizeof length - 1], true) &&
        e[start + sizeof length - 1] != '.' &&
        e[start + sizeof length - 1] != '[') {
        s_add(self, APEX_JSONPATH_LENGTH, descend);
        ps->pos += sizeof length - 1;
        return 0;
    }
    if (e[start] == '*') {
        s_add(self, APEX_JSONPATH_ANY, descend);
        ps->pos++;
        return 0;
    }
    size_t i = start;
    while (!s_key_end(e[i], ps->condition))
        i++;
    if (i == start)
        return s_fail(ps, i, "expected a key after \".\"");
    s_add(self, APEX_JSONPATH_KEY, descend)->key =
        apex_strndup(e + start, i - start);
    ps->pos = i;
    return 0;
}

// The steps after "$" or "@" (ps->pos just past it) into self.
static int s_steps(s_parser_t *ps, apex_jsonpath_t *self)
{
    const char *e = ps->src;
    for (;;) {
        char c = e[ps->pos];
        if (self->nsteps &&
            self->steps[self->nsteps - 1].kind == APEX_JSONPATH_LENGTH &&
            (c == '.' || c == '['))
            return s_fail(ps, ps->pos, "expected the end after length()");
        bool descend = c == '.' && e[ps->pos + 1] == '.';
        int rc = 0;
        if (c == '\0' || (ps->condition && c != '.' && c != '['))
            return 0;
        if (descend && e[ps->pos + 2] == '[') {
            ps->pos += 2;
            c = '[';
        } else if (c == '.') {
            ps->pos += descend ? 2 : 1;
            rc = s_dot_step(ps, self, descend);
            if (rc != 0)
                return -1;
            continue;
        } else if (c != '[') {
            return s_fail(ps, ps->pos, "expected \".\" or \"[\"");
        }
        if (e[ps->pos + 1] == '*' && e[ps->pos + 2] == ']') {
            s_add(self, APEX_JSONPATH_ANY, descend);
            ps->pos += 3;
        } else if (e[ps->pos + 1] == '?') {
            rc = s_filter(ps, self, descend);
        } else if (e[ps->pos + 1] == '"' || e[ps->pos + 1] == '\'') {
            rc = s_quoted_key(ps, self, descend);
        } else {
            rc = s_index(ps, self, descend);
        }
        if (rc != 0)
            return -1;
    }
}

int apex_jsonpath_compile(apex_jsonpath_t *self, const char *expr,
                          apex_error_t *err)
{
    assert(self && expr && self->nsteps == 0);
    s_parser_t ps = {.src = expr, .err = err};
    int rc;
    if (strlen(expr) > APEX_JSONPATH_MAX_LEN)
        rc = s_fail(&ps, APEX_JSONPATH_MAX_LEN, "longer than 1024 bytes");
    else if (expr[0] != '$')
        rc = s_fail(&ps, 0, "expected \"$\"");
    else {
        ps.pos = 1;
        rc = s_steps(&ps, self);
    }
    if (rc != 0)
        apex_jsonpath_fini(self);
    return rc;
}

// ---------------------------------------------------------------------
// Conditions

static apex_jsonpath_expr_t *s_new(s_ekind_t kind)
{
    apex_jsonpath_expr_t *e = apex_calloc(1, sizeof *e);
    e->kind = kind;
    return e;
}

// 'text' or "text" at ps->pos (backslash takes the next byte).
static apex_jsonpath_expr_t *s_string(s_parser_t *ps)
{
    char quote = ps->src[ps->pos];
    size_t at = ps->pos + 1;
    apex_buf_t text;
    apex_buf_init(&text);
    for (; ps->src[at] && ps->src[at] != quote; at++) {
        if (ps->src[at] == '\\' && ps->src[at + 1])
            at++;
        apex_buf_putc(&text, ps->src[at]);
    }
    json_t *lit = ps->src[at] == quote
                      ? json_stringn(text.data ? text.data : "", text.len)
                      : NULL;
    apex_buf_fini(&text);
    if (!lit) {
        s_fail(ps, at,
               ps->src[at] ? "expected UTF-8 text"
                           : "expected the string's closing quote");
        return NULL;
    }
    apex_jsonpath_expr_t *e = s_new(S_LIT);
    e->lit = lit;
    ps->pos = at + 1;
    return e;
}

// A number, true, false or null at ps->pos.
static apex_jsonpath_expr_t *s_literal(s_parser_t *ps)
{
    const char *p = ps->src + ps->pos;
    static const char *const words[] = {"true", "false", "null"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(words[i]);
        if (strncmp(p, words[i], n) == 0 && s_key_end(p[n], true)) {
            apex_jsonpath_expr_t *e = s_new(S_LIT);
            e->lit = i == 0 ? json_true() : i == 1 ? json_false() : json_null();
            ps->pos += n;
            return e;
        }
    }
    char *end = NULL;
    double v = (*p == '-' || (*p >= '0' && *p <= '9')) ? strtod(p, &end) : 0;
    if (!end || end == p || !isfinite(v)) {
        s_fail(ps, ps->pos,
               "expected a path, a string, a number, true, false or null");
        return NULL;
    }
    apex_jsonpath_expr_t *e = s_new(S_LIT);
    e->lit = json_real(v);
    ps->pos = (size_t)(end - ps->src);
    return e;
}

static apex_jsonpath_expr_t *s_operand(s_parser_t *ps)
{
    s_skip_ws(ps);
    char c = ps->src[ps->pos];
    if (c == '(') {
        if (++ps->depth > APEX_JSONPATH_MAX_DEPTH) {
            s_fail(ps, ps->pos, "nested too deeply");
            return NULL;
        }
        ps->pos++;
        apex_jsonpath_expr_t *e = s_or(ps);
        s_skip_ws(ps);
        if (e && ps->src[ps->pos] != ')') {
            apex_jsonpath_expr_destroy(&e);
            s_fail(ps, ps->pos, "expected \")\"");
        }
        ps->pos += e ? 1 : 0;
        ps->depth--;
        return e;
    }
    if (c == '$' || c == '@') {
        if (c == '@' && ps->filters == 0) {
            s_fail(ps, ps->pos, "\"@\" is only inside a filter");
            return NULL;
        }
        apex_jsonpath_expr_t *e = s_new(S_PATH);
        e->at = c == '@';
        ps->pos++;
        bool was = ps->condition;
        ps->condition = true;
        int rc = s_steps(ps, &e->path);
        ps->condition = was;
        if (rc != 0)
            apex_jsonpath_expr_destroy(&e);
        return e;
    }
    if (c == '\'' || c == '"')
        return s_string(ps);
    return s_literal(ps);
}

// The operator at ps->pos, or false.
static bool s_operator(s_parser_t *ps, s_op_t *op)
{
    static const struct {
        const char *text; // as written
        s_op_t op;        // which
    } ops[] = {{"==", S_EQ}, {"!=", S_NE}, {"<=", S_LE},
               {">=", S_GE}, {"<", S_LT},  {">", S_GT}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t n = strlen(ops[i].text);
        if (strncmp(ps->src + ps->pos, ops[i].text, n) == 0) {
            *op = ops[i].op;
            ps->pos += n;
            return true;
        }
    }
    return false;
}

static apex_jsonpath_expr_t *s_unary(s_parser_t *ps)
{
    s_skip_ws(ps);
    if (ps->src[ps->pos] == '!' && ps->src[ps->pos + 1] != '=') {
        if (++ps->depth > APEX_JSONPATH_MAX_DEPTH) {
            s_fail(ps, ps->pos, "nested too deeply");
            return NULL;
        }
        ps->pos++;
        apex_jsonpath_expr_t *a = s_unary(ps);
        ps->depth--;
        if (!a)
            return NULL;
        apex_jsonpath_expr_t *e = s_new(S_NOT);
        e->a = a;
        return e;
    }
    apex_jsonpath_expr_t *a = s_operand(ps);
    if (!a)
        return NULL;
    s_skip_ws(ps);
    s_op_t op;
    if (!s_operator(ps, &op))
        return a;
    apex_jsonpath_expr_t *b = s_operand(ps);
    if (!b) {
        apex_jsonpath_expr_destroy(&a);
        return NULL;
    }
    apex_jsonpath_expr_t *e = s_new(S_CMP);
    e->op = op;
    e->a = a;
    e->b = b;
    return e;
}

// a (OP b)* for "&&" (S_AND, from s_unary) or "||" (S_OR, from s_and).
static apex_jsonpath_expr_t *
s_chain(s_parser_t *ps, s_ekind_t kind,
        apex_jsonpath_expr_t *(*next)(s_parser_t *))
{
    const char *word = kind == S_AND ? "&&" : "||";
    apex_jsonpath_expr_t *a = next(ps);
    for (;;) {
        if (!a)
            return NULL;
        s_skip_ws(ps);
        if (strncmp(ps->src + ps->pos, word, 2) != 0)
            return a;
        ps->pos += 2;
        apex_jsonpath_expr_t *b = next(ps);
        if (!b) {
            apex_jsonpath_expr_destroy(&a);
            return NULL;
        }
        apex_jsonpath_expr_t *e = s_new(kind);
        e->a = a;
        e->b = b;
        a = e;
    }
}

static apex_jsonpath_expr_t *s_and(s_parser_t *ps)
{
    return s_chain(ps, S_AND, s_unary);
}

static apex_jsonpath_expr_t *s_or(s_parser_t *ps)
{
    if (++ps->depth > APEX_JSONPATH_MAX_DEPTH) {
        s_fail(ps, ps->pos, "nested too deeply");
        return NULL;
    }
    apex_jsonpath_expr_t *e = s_chain(ps, S_OR, s_and);
    ps->depth--;
    return e;
}

apex_jsonpath_expr_t *apex_jsonpath_expr_compile(const char *text,
                                                 apex_error_t *err)
{
    assert(text);
    s_parser_t ps = {
        .src = text, .condition = true, .whole_condition = true, .err = err};
    if (strlen(text) > APEX_JSONPATH_MAX_LEN) {
        s_fail(&ps, APEX_JSONPATH_MAX_LEN, "longer than 1024 bytes");
        return NULL;
    }
    apex_jsonpath_expr_t *e = s_or(&ps);
    s_skip_ws(&ps);
    if (e && ps.src[ps.pos] != '\0') {
        apex_jsonpath_expr_destroy(&e);
        s_fail(&ps, ps.pos, "expected an operator, \"&&\", \"||\" or the end");
    }
    return e;
}

// ---------------------------------------------------------------------
// Node lists

void apex_jsonpath_nodes_init(apex_jsonpath_nodes_t *nodes)
{
    memset(nodes, 0, sizeof *nodes);
}

void apex_jsonpath_nodes_fini(apex_jsonpath_nodes_t *nodes)
{
    free(nodes->nodes);
    json_decref(nodes->owned);
    memset(nodes, 0, sizeof *nodes);
}

static void s_push(apex_jsonpath_nodes_t *out, const json_t *node)
{
    if (out->n == out->cap) {
        out->cap = out->cap ? out->cap * 2 : 8;
        out->nodes = apex_realloc(out->nodes, out->cap, sizeof *out->nodes);
    }
    out->nodes[out->n++] = node;
}

// A value made by the evaluation, owned by out.
static void s_push_made(apex_jsonpath_nodes_t *out, json_t *value)
{
    if (!out->owned)
        out->owned = json_array();
    json_array_append_new(out->owned, value);
    s_push(out, json_array_get(out->owned, json_array_size(out->owned) - 1));
}

// ---------------------------------------------------------------------
// Evaluation

static int s_eval(const apex_jsonpath_expr_t *e, const json_t *root,
                  const json_t *at, size_t *visits);

// The characters of a UTF-8 string.
static size_t s_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

static int s_visit(size_t *visits)
{
    return ++*visits > APEX_JSONPATH_MAX_VISITS ? -1 : 0;
}

// Apply one step (its descend aside) to node, appending to out.
static int s_apply(const apex_jsonpath_step_t *step, const json_t *node,
                   const json_t *root, apex_jsonpath_nodes_t *out,
                   size_t *visits)
{
    if (step->kind == APEX_JSONPATH_KEY) {
        const json_t *v = json_object_get(node, step->key);
        if (v)
            s_push(out, v);
        return 0;
    }
    if (step->kind == APEX_JSONPATH_INDEX) {
        long long n =
            json_is_array(node) ? (long long)json_array_size(node) : 0;
        long long i = step->index < 0 ? step->index + n : step->index;
        if (i >= 0 && i < n)
            s_push(out, json_array_get(node, (size_t)i));
        return 0;
    }
    if (step->kind == APEX_JSONPATH_LENGTH) {
        if (json_is_array(node) || json_is_object(node))
            s_push_made(
                out, json_integer((json_int_t)(json_is_array(node)
                                                   ? json_array_size(node)
                                                   : json_object_size(node))));
        else if (json_is_string(node))
            s_push_made(
                out, json_integer((json_int_t)s_chars(
                         json_string_value(node), json_string_length(node))));
        return 0;
    }
    // ANY and FILTER: the elements or the members' values.
    size_t i;
    const char *key;
    json_t *child;
    json_array_foreach(node, i, child)
    {
        int keep = step->kind == APEX_JSONPATH_ANY
                       ? 1
                       : s_eval(step->filter, root, child, visits);
        if (keep < 0 || s_visit(visits) != 0)
            return -1;
        if (keep)
            s_push(out, child);
    }
    json_object_foreach((json_t *)node, key, child)
    {
        int keep = step->kind == APEX_JSONPATH_ANY
                       ? 1
                       : s_eval(step->filter, root, child, visits);
        if (keep < 0 || s_visit(visits) != 0)
            return -1;
        if (keep)
            s_push(out, child);
    }
    return 0;
}

// The step on node and every descendant, depth first in document order.
static int s_descend(const apex_jsonpath_step_t *step, const json_t *node,
                     const json_t *root, apex_jsonpath_nodes_t *out,
                     size_t *visits)
{
    if (s_visit(visits) != 0 || s_apply(step, node, root, out, visits) != 0)
        return -1;
    size_t i;
    const char *key;
    json_t *child;
    json_array_foreach(node, i, child)
    {
        if (s_descend(step, child, root, out, visits) != 0)
            return -1;
    }
    json_object_foreach((json_t *)node, key, child)
    {
        if (s_descend(step, child, root, out, visits) != 0)
            return -1;
    }
    return 0;
}

static int s_query_from(const apex_jsonpath_t *self, const json_t *start,
                        const json_t *root, apex_jsonpath_nodes_t *out,
                        size_t *visits)
{
    apex_jsonpath_nodes_t cur, next;
    apex_jsonpath_nodes_init(&cur);
    apex_jsonpath_nodes_init(&next);
    s_push(&cur, start);
    int rc = 0;
    for (size_t s = 0; s < self->nsteps && rc == 0 && cur.n; s++) {
        const apex_jsonpath_step_t *step = &self->steps[s];
        next.n = 0;
        for (size_t i = 0; i < cur.n && rc == 0; i++)
            rc = step->descend
                     ? s_descend(step, cur.nodes[i], root, &next, visits)
                     : s_apply(step, cur.nodes[i], root, &next, visits);
        // Made values move with their nodes: next's owner goes on.
        if (cur.owned && !next.owned) {
            next.owned = cur.owned;
            cur.owned = NULL;
        }
        apex_jsonpath_nodes_t t = cur;
        cur = next;
        next = t;
    }
    out->n = 0;
    for (size_t i = 0; i < cur.n; i++)
        s_push(out, cur.nodes[i]);
    json_decref(out->owned);
    out->owned = cur.owned;
    cur.owned = NULL;
    apex_jsonpath_nodes_fini(&cur);
    apex_jsonpath_nodes_fini(&next);
    return rc;
}

int apex_jsonpath_query(const apex_jsonpath_t *self, const json_t *root,
                        apex_jsonpath_nodes_t *out)
{
    assert(self && out);
    out->visits = 0;
    if (!root) {
        out->n = 0;
        return 0;
    }
    return s_query_from(self, root, root, out, &out->visits);
}

const json_t *apex_jsonpath_eval(const apex_jsonpath_t *self,
                                 const json_t *root, uint64_t *rng)
{
    assert(self);
    apex_jsonpath_nodes_t nodes;
    apex_jsonpath_nodes_init(&nodes);
    const json_t *v = NULL;
    if (apex_jsonpath_query(self, root, &nodes) == 0 && nodes.n &&
        !nodes.owned) {
        size_t pick = 0;
        if (nodes.n > 1 && apex_jsonpath_has_any(self)) {
            assert(rng);
            pick = (size_t)(apex_rng_next(rng) % nodes.n);
        }
        v = nodes.nodes[pick];
    }
    apex_jsonpath_nodes_fini(&nodes);
    return v;
}

// Two values under op: numbers as numbers, strings by bytes, the rest
// only for (in)equality.
static bool s_compare(const json_t *x, const json_t *y, s_op_t op)
{
    int c;
    if (json_is_number(x) && json_is_number(y)) {
        double a = json_number_value(x), b = json_number_value(y);
        c = a < b ? -1 : a > b;
    } else if (json_is_string(x) && json_is_string(y)) {
        c = strcmp(json_string_value(x), json_string_value(y));
    } else {
        bool eq = json_equal((json_t *)x, (json_t *)y);
        return op == S_EQ ? eq : op == S_NE ? !eq : false;
    }
    switch (op) {
    case S_EQ:
        return c == 0;
    case S_NE:
        return c != 0;
    case S_LT:
        return c < 0;
    case S_LE:
        return c <= 0;
    case S_GT:
        return c > 0;
    default:
        return c >= 0;
    }
}

// An operand's values into out.
static int s_values(const apex_jsonpath_expr_t *e, const json_t *root,
                    const json_t *at, apex_jsonpath_nodes_t *out,
                    size_t *visits)
{
    if (e->kind == S_LIT) {
        s_push(out, e->lit);
        return 0;
    }
    if (e->kind == S_PATH)
        return s_query_from(&e->path, e->at ? at : root, root, out, visits);
    int v = s_eval(e, root, at, visits);
    if (v >= 0)
        s_push(out, v ? json_true() : json_false());
    return v < 0 ? -1 : 0;
}

// Any pair (left, right) satisfies op; != is the negation of ==.
static int s_eval_cmp(const apex_jsonpath_expr_t *e, const json_t *root,
                      const json_t *at, size_t *visits)
{
    apex_jsonpath_nodes_t l, r;
    apex_jsonpath_nodes_init(&l);
    apex_jsonpath_nodes_init(&r);
    int rc = s_values(e->a, root, at, &l, visits) != 0 ||
                     s_values(e->b, root, at, &r, visits) != 0
                 ? -1
                 : 0;
    s_op_t op = e->op == S_NE ? S_EQ : e->op;
    bool any = false;
    for (size_t i = 0; rc == 0 && !any && i < l.n; i++)
        for (size_t j = 0; !any && j < r.n; j++)
            any = s_compare(l.nodes[i], r.nodes[j], op);
    apex_jsonpath_nodes_fini(&l);
    apex_jsonpath_nodes_fini(&r);
    if (rc != 0)
        return -1;
    return e->op == S_NE ? !any : any;
}

static int s_eval(const apex_jsonpath_expr_t *e, const json_t *root,
                  const json_t *at, size_t *visits)
{
    int a, n;
    apex_jsonpath_nodes_t nodes;
    switch (e->kind) {
    case S_OR:
    case S_AND:
        a = s_eval(e->a, root, at, visits);
        if (a < 0 || (e->kind == S_OR ? a : !a))
            return a;
        return s_eval(e->b, root, at, visits);
    case S_NOT:
        a = s_eval(e->a, root, at, visits);
        return a < 0 ? -1 : !a;
    case S_CMP:
        return s_eval_cmp(e, root, at, visits);
    case S_PATH:
        apex_jsonpath_nodes_init(&nodes);
        a = s_query_from(&e->path, e->at ? at : root, root, &nodes, visits);
        n = nodes.n > 0;
        apex_jsonpath_nodes_fini(&nodes);
        return a < 0 ? -1 : n;
    case S_LIT:
        break;
    }
    return json_is_true(e->lit);
}

int apex_jsonpath_expr_eval(const apex_jsonpath_expr_t *self,
                            const json_t *root)
{
    assert(self);
    size_t visits = 0;
    if (!root)
        return 0;
    return s_eval(self, root, root, &visits);
}
