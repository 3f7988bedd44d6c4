// common/jsonpath.c - see jsonpath.h.
//
// Compiling: one recursive-descent parser reads paths (here) and the
// conditions of filters (jsonpath_expr.c). A path at the top level (a capture)
// keeps the original rule that an unquoted key runs to the next "." or "[";
// inside a condition a key stops at spaces, operators and parentheses too.
// Filters hold conditions, which hold paths, so the parser recurses; its depth
// is counted and bounded, and so is the text's length.
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
#include "common/jsonpath_int.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/rng.h"

int apex_jsonpath_fail(apex_jsonpath_parser_t *ps, size_t at, const char *what)
{
    char quoted[APEX_ERROR_QUOTE_MAX];
    apex_error_quote(ps->src, quoted, sizeof quoted);
    return apex_error_set(ps->err, "bad %s %s: %s at offset %zu",
                          ps->whole_condition ? "condition" : "JSON path",
                          quoted, what, at);
}

void apex_jsonpath_skip_ws(apex_jsonpath_parser_t *ps)
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
static int s_quoted_key(apex_jsonpath_parser_t *ps, apex_jsonpath_t *self,
                        bool descend)
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
        return apex_jsonpath_fail(ps, at, "expected a quoted key, then \"]\"");
    }
    s_add(self, APEX_JSONPATH_KEY, descend)->key = apex_buf_take(&key);
    apex_buf_fini(&key);
    ps->pos = at + 2;
    return 0;
}

// [3] or [-1] at ps->pos; moves past the "]".
static int s_index(apex_jsonpath_parser_t *ps, apex_jsonpath_t *self,
                   bool descend)
{
    const char *digits = ps->src + ps->pos + 1;
    bool ok = (*digits >= '0' && *digits <= '9') ||
              (*digits == '-' && digits[1] >= '0' && digits[1] <= '9');
    char *end = (char *)digits;
    errno = 0;
    long index = ok ? strtol(digits, &end, 10) : 0;
    if (!ok || errno != 0)
        return apex_jsonpath_fail(ps, ps->pos + 1,
                                  "expected an index, \"*\" or a quoted key");
    if (*end != ']')
        return apex_jsonpath_fail(ps, (size_t)(end - ps->src),
                                  "expected \"]\"");
    s_add(self, APEX_JSONPATH_INDEX, descend)->index = index;
    ps->pos = (size_t)(end - ps->src) + 1;
    return 0;
}

// [?(condition)] or [?condition] at ps->pos; moves past the "]".
static int s_filter(apex_jsonpath_parser_t *ps, apex_jsonpath_t *self,
                    bool descend)
{
    ps->pos += 2;
    ps->filters++;
    apex_jsonpath_expr_t *cond = apex_jsonpath_parse_or(ps);
    ps->filters--;
    if (!cond)
        return -1;
    apex_jsonpath_skip_ws(ps);
    if (ps->src[ps->pos] != ']') {
        apex_jsonpath_expr_destroy(&cond);
        return apex_jsonpath_fail(ps, ps->pos,
                                  "expected \"]\" after the filter");
    }
    ps->pos++;
    s_add(self, APEX_JSONPATH_FILTER, descend)->filter = cond;
    return 0;
}

// A byte that ends an unquoted key inside a condition.
bool apex_jsonpath_key_end(char c, bool condition)
{
    if (c == '\0' || c == '.' || c == '[')
        return true;
    return condition && strchr(" \t\r\n]()!=<>&|,'\"", c) != NULL;
}

// .key, .*, .length() or (after "..") the same; at ps->pos just past
// the dots.
static int s_dot_step(apex_jsonpath_parser_t *ps, apex_jsonpath_t *self,
                      bool descend)
{
    const char *e = ps->src;
    size_t start = ps->pos;
    static const char length[] = "length()";
    if (strncmp(e + start, length, sizeof length - 1) == 0 &&
        apex_jsonpath_key_end(e[start + sizeof length - 1], true) &&
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
    while (!apex_jsonpath_key_end(e[i], ps->condition))
        i++;
    if (i == start)
        return apex_jsonpath_fail(ps, i, "expected a key after \".\"");
    s_add(self, APEX_JSONPATH_KEY, descend)->key =
        apex_strndup(e + start, i - start);
    ps->pos = i;
    return 0;
}

// The steps after "$" or "@" (ps->pos just past it) into self.
int apex_jsonpath_parse_steps(apex_jsonpath_parser_t *ps, apex_jsonpath_t *self)
{
    const char *e = ps->src;
    for (;;) {
        char c = e[ps->pos];
        if (self->nsteps &&
            self->steps[self->nsteps - 1].kind == APEX_JSONPATH_LENGTH &&
            (c == '.' || c == '['))
            return apex_jsonpath_fail(ps, ps->pos,
                                      "expected the end after length()");
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
            return apex_jsonpath_fail(ps, ps->pos, "expected \".\" or \"[\"");
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
    apex_jsonpath_parser_t ps = {.src = expr, .err = err};
    int rc;
    if (strlen(expr) > APEX_JSONPATH_MAX_LEN)
        rc = apex_jsonpath_fail(&ps, APEX_JSONPATH_MAX_LEN,
                                "longer than 1024 bytes");
    else if (expr[0] != '$')
        rc = apex_jsonpath_fail(&ps, 0, "expected \"$\"");
    else {
        ps.pos = 1;
        rc = apex_jsonpath_parse_steps(&ps, self);
    }
    if (rc != 0)
        apex_jsonpath_fini(self);
    return rc;
}

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

void apex_jsonpath_push(apex_jsonpath_nodes_t *out, const json_t *node)
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
    apex_jsonpath_push(
        out, json_array_get(out->owned, json_array_size(out->owned) - 1));
}

// ---------------------------------------------------------------------
// Evaluation

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
            apex_jsonpath_push(out, v);
        return 0;
    }
    if (step->kind == APEX_JSONPATH_INDEX) {
        long long n =
            json_is_array(node) ? (long long)json_array_size(node) : 0;
        long long i = step->index < 0 ? step->index + n : step->index;
        if (i >= 0 && i < n)
            apex_jsonpath_push(out, json_array_get(node, (size_t)i));
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
                       : apex_jsonpath_cond(step->filter, root, child, visits);
        if (keep < 0 || s_visit(visits) != 0)
            return -1;
        if (keep)
            apex_jsonpath_push(out, child);
    }
    json_object_foreach((json_t *)node, key, child)
    {
        int keep = step->kind == APEX_JSONPATH_ANY
                       ? 1
                       : apex_jsonpath_cond(step->filter, root, child, visits);
        if (keep < 0 || s_visit(visits) != 0)
            return -1;
        if (keep)
            apex_jsonpath_push(out, child);
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

int apex_jsonpath_query_from(const apex_jsonpath_t *self, const json_t *start,
                             const json_t *root, apex_jsonpath_nodes_t *out,
                             size_t *visits)
{
    apex_jsonpath_nodes_t cur, next;
    apex_jsonpath_nodes_init(&cur);
    apex_jsonpath_nodes_init(&next);
    apex_jsonpath_push(&cur, start);
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
        apex_jsonpath_push(out, cur.nodes[i]);
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
    return apex_jsonpath_query_from(self, root, root, out, &out->visits);
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
