// common/jsonpath_expr.c - conditions (see jsonpath.h): compiled by a
// recursive descent (or, and, not, comparison, operand) into a tree whose
// depth is bounded, and evaluated against a document with "@" the node a
// filter tests. A comparison holds when any pair of its operands' values
// does (!= is the negation of ==), so a path that leads to several nodes
// reads as "any of them".
#include "common/jsonpath_int.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"

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

// ---------------------------------------------------------------------
// Conditions

static apex_jsonpath_expr_t *s_new(apex_jsonpath_ekind_t kind)
{
    apex_jsonpath_expr_t *e = apex_calloc(1, sizeof *e);
    e->kind = kind;
    return e;
}

// 'text' or "text" at ps->pos (backslash takes the next byte).
static apex_jsonpath_expr_t *s_string(apex_jsonpath_parser_t *ps)
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
        apex_jsonpath_fail(ps, at,
                           ps->src[at] ? "expected UTF-8 text"
                                       : "expected the string's closing quote");
        return NULL;
    }
    apex_jsonpath_expr_t *e = s_new(APEX_JP_LIT);
    e->lit = lit;
    ps->pos = at + 1;
    return e;
}

// A number, true, false or null at ps->pos.
static apex_jsonpath_expr_t *s_literal(apex_jsonpath_parser_t *ps)
{
    const char *p = ps->src + ps->pos;
    static const char *const words[] = {"true", "false", "null"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(words[i]);
        if (strncmp(p, words[i], n) == 0 && apex_jsonpath_key_end(p[n], true)) {
            apex_jsonpath_expr_t *e = s_new(APEX_JP_LIT);
            e->lit = i == 0 ? json_true() : i == 1 ? json_false() : json_null();
            ps->pos += n;
            return e;
        }
    }
    char *end = NULL;
    double v = (*p == '-' || (*p >= '0' && *p <= '9')) ? strtod(p, &end) : 0;
    if (!end || end == p || !isfinite(v)) {
        apex_jsonpath_fail(
            ps, ps->pos,
            "expected a path, a string, a number, true, false or null");
        return NULL;
    }
    apex_jsonpath_expr_t *e = s_new(APEX_JP_LIT);
    e->lit = json_real(v);
    ps->pos = (size_t)(end - ps->src);
    return e;
}

static apex_jsonpath_expr_t *s_operand(apex_jsonpath_parser_t *ps)
{
    apex_jsonpath_skip_ws(ps);
    char c = ps->src[ps->pos];
    if (c == '(') {
        if (++ps->depth > APEX_JSONPATH_MAX_DEPTH) {
            apex_jsonpath_fail(ps, ps->pos, "nested too deeply");
            return NULL;
        }
        ps->pos++;
        apex_jsonpath_expr_t *e = apex_jsonpath_parse_or(ps);
        apex_jsonpath_skip_ws(ps);
        if (e && ps->src[ps->pos] != ')') {
            apex_jsonpath_expr_destroy(&e);
            apex_jsonpath_fail(ps, ps->pos, "expected \")\"");
        }
        ps->pos += e ? 1 : 0;
        ps->depth--;
        return e;
    }
    if (c == '$' || c == '@') {
        if (c == '@' && ps->filters == 0) {
            apex_jsonpath_fail(ps, ps->pos, "\"@\" is only inside a filter");
            return NULL;
        }
        apex_jsonpath_expr_t *e = s_new(APEX_JP_PATH);
        e->at = c == '@';
        ps->pos++;
        bool was = ps->condition;
        ps->condition = true;
        int rc = apex_jsonpath_parse_steps(ps, &e->path);
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
static bool s_operator(apex_jsonpath_parser_t *ps, apex_jsonpath_op_t *op)
{
    static const struct {
        const char *text;      // as written
        apex_jsonpath_op_t op; // which
    } ops[] = {{"==", APEX_JP_EQ}, {"!=", APEX_JP_NE}, {"<=", APEX_JP_LE},
               {">=", APEX_JP_GE}, {"<", APEX_JP_LT},  {">", APEX_JP_GT}};
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

static apex_jsonpath_expr_t *s_unary(apex_jsonpath_parser_t *ps)
{
    apex_jsonpath_skip_ws(ps);
    if (ps->src[ps->pos] == '!' && ps->src[ps->pos + 1] != '=') {
        if (++ps->depth > APEX_JSONPATH_MAX_DEPTH) {
            apex_jsonpath_fail(ps, ps->pos, "nested too deeply");
            return NULL;
        }
        ps->pos++;
        apex_jsonpath_expr_t *a = s_unary(ps);
        ps->depth--;
        if (!a)
            return NULL;
        apex_jsonpath_expr_t *e = s_new(APEX_JP_NOT);
        e->a = a;
        return e;
    }
    apex_jsonpath_expr_t *a = s_operand(ps);
    if (!a)
        return NULL;
    apex_jsonpath_skip_ws(ps);
    apex_jsonpath_op_t op;
    if (!s_operator(ps, &op))
        return a;
    apex_jsonpath_expr_t *b = s_operand(ps);
    if (!b) {
        apex_jsonpath_expr_destroy(&a);
        return NULL;
    }
    apex_jsonpath_expr_t *e = s_new(APEX_JP_CMP);
    e->op = op;
    e->a = a;
    e->b = b;
    return e;
}

// a (OP b)* for "&&" (APEX_JP_AND, from s_unary) or "||" (APEX_JP_OR, from
// s_and).
static apex_jsonpath_expr_t *
s_chain(apex_jsonpath_parser_t *ps, apex_jsonpath_ekind_t kind,
        apex_jsonpath_expr_t *(*next)(apex_jsonpath_parser_t *))
{
    const char *word = kind == APEX_JP_AND ? "&&" : "||";
    apex_jsonpath_expr_t *a = next(ps);
    for (;;) {
        if (!a)
            return NULL;
        apex_jsonpath_skip_ws(ps);
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

static apex_jsonpath_expr_t *s_and(apex_jsonpath_parser_t *ps)
{
    return s_chain(ps, APEX_JP_AND, s_unary);
}

apex_jsonpath_expr_t *apex_jsonpath_parse_or(apex_jsonpath_parser_t *ps)
{
    if (++ps->depth > APEX_JSONPATH_MAX_DEPTH) {
        apex_jsonpath_fail(ps, ps->pos, "nested too deeply");
        return NULL;
    }
    apex_jsonpath_expr_t *e = s_chain(ps, APEX_JP_OR, s_and);
    ps->depth--;
    return e;
}

apex_jsonpath_expr_t *apex_jsonpath_expr_compile(const char *text,
                                                 apex_error_t *err)
{
    assert(text);
    apex_jsonpath_parser_t ps = {
        .src = text, .condition = true, .whole_condition = true, .err = err};
    if (strlen(text) > APEX_JSONPATH_MAX_LEN) {
        apex_jsonpath_fail(&ps, APEX_JSONPATH_MAX_LEN,
                           "longer than 1024 bytes");
        return NULL;
    }
    apex_jsonpath_expr_t *e = apex_jsonpath_parse_or(&ps);
    apex_jsonpath_skip_ws(&ps);
    if (e && ps.src[ps.pos] != '\0') {
        apex_jsonpath_expr_destroy(&e);
        apex_jsonpath_fail(&ps, ps.pos,
                           "expected an operator, \"&&\", \"||\" or the end");
    }
    return e;
}

// Two values under op: numbers as numbers, strings by bytes, the rest
// only for (in)equality.
static bool s_compare(const json_t *x, const json_t *y, apex_jsonpath_op_t op)
{
    int c;
    if (json_is_number(x) && json_is_number(y)) {
        double a = json_number_value(x), b = json_number_value(y);
        c = a < b ? -1 : a > b;
    } else if (json_is_string(x) && json_is_string(y)) {
        c = strcmp(json_string_value(x), json_string_value(y));
    } else {
        bool eq = json_equal((json_t *)x, (json_t *)y);
        return op == APEX_JP_EQ ? eq : op == APEX_JP_NE ? !eq : false;
    }
    switch (op) {
    case APEX_JP_EQ:
        return c == 0;
    case APEX_JP_NE:
        return c != 0;
    case APEX_JP_LT:
        return c < 0;
    case APEX_JP_LE:
        return c <= 0;
    case APEX_JP_GT:
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
    if (e->kind == APEX_JP_LIT) {
        apex_jsonpath_push(out, e->lit);
        return 0;
    }
    if (e->kind == APEX_JP_PATH)
        return apex_jsonpath_query_from(&e->path, e->at ? at : root, root, out,
                                        visits);
    int v = apex_jsonpath_cond(e, root, at, visits);
    if (v >= 0)
        apex_jsonpath_push(out, v ? json_true() : json_false());
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
    apex_jsonpath_op_t op = e->op == APEX_JP_NE ? APEX_JP_EQ : e->op;
    bool any = false;
    for (size_t i = 0; rc == 0 && !any && i < l.n; i++)
        for (size_t j = 0; !any && j < r.n; j++)
            any = s_compare(l.nodes[i], r.nodes[j], op);
    apex_jsonpath_nodes_fini(&l);
    apex_jsonpath_nodes_fini(&r);
    if (rc != 0)
        return -1;
    return e->op == APEX_JP_NE ? !any : any;
}

int apex_jsonpath_cond(const apex_jsonpath_expr_t *e, const json_t *root,
                       const json_t *at, size_t *visits)
{
    int a, n;
    apex_jsonpath_nodes_t nodes;
    switch (e->kind) {
    case APEX_JP_OR:
    case APEX_JP_AND:
        a = apex_jsonpath_cond(e->a, root, at, visits);
        if (a < 0 || (e->kind == APEX_JP_OR ? a : !a))
            return a;
        return apex_jsonpath_cond(e->b, root, at, visits);
    case APEX_JP_NOT:
        a = apex_jsonpath_cond(e->a, root, at, visits);
        return a < 0 ? -1 : !a;
    case APEX_JP_CMP:
        return s_eval_cmp(e, root, at, visits);
    case APEX_JP_PATH:
        apex_jsonpath_nodes_init(&nodes);
        a = apex_jsonpath_query_from(&e->path, e->at ? at : root, root, &nodes,
                                     visits);
        n = nodes.n > 0;
        apex_jsonpath_nodes_fini(&nodes);
        return a < 0 ? -1 : n;
    case APEX_JP_LIT:
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
    return apex_jsonpath_cond(self, root, root, &visits);
}
