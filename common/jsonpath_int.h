// common/jsonpath_int.h - internal to the JSON-path module (jsonpath.c:
// paths; jsonpath_expr.c: conditions): the parser both share, the pieces
// each calls in the other (a filter holds a condition, a condition holds
// paths), and a condition's tree. Nothing else includes it.
#ifndef APEX_JSONPATH_INT_H
#define APEX_JSONPATH_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/jsonpath.h"

typedef enum {
    APEX_JP_OR,
    APEX_JP_AND,
    APEX_JP_NOT,
    APEX_JP_CMP,
    APEX_JP_PATH,
    APEX_JP_LIT
} apex_jsonpath_ekind_t;
typedef enum {
    APEX_JP_EQ,
    APEX_JP_NE,
    APEX_JP_LT,
    APEX_JP_LE,
    APEX_JP_GT,
    APEX_JP_GE
} apex_jsonpath_op_t;

struct apex_jsonpath_expr {
    apex_jsonpath_ekind_t kind; // what it is
    apex_jsonpath_op_t op;      // CMP: the operator
    apex_jsonpath_expr_t *a;    // OR, AND, NOT, CMP: the (left) operand
    apex_jsonpath_expr_t *b;    // OR, AND, CMP: the right operand
    apex_jsonpath_t path;       // PATH
    bool at;                    // PATH: from @ (the node tested), not $
    json_t *lit;                // LIT: the value
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
} apex_jsonpath_parser_t;

// "bad JSON path|condition "TEXT": what at offset N"; returns -1.
int apex_jsonpath_fail(apex_jsonpath_parser_t *ps, size_t at, const char *what);

// Skip spaces, tabs and line ends at ps->pos.
void apex_jsonpath_skip_ws(apex_jsonpath_parser_t *ps);

// True for a byte that ends an unquoted key (inside a condition also
// spaces, operators and parentheses).
bool apex_jsonpath_key_end(char c, bool condition);

// The steps after "$" or "@" (ps->pos just past it) into self: 0 or -1.
int apex_jsonpath_parse_steps(apex_jsonpath_parser_t *ps,
                              apex_jsonpath_t *self);

// A condition at ps->pos ("a || b", down to operands); NULL on error.
apex_jsonpath_expr_t *apex_jsonpath_parse_or(apex_jsonpath_parser_t *ps);

// Every node self leads to from start (root is "$"), counting visits:
// 0, or -1 over the budget.
int apex_jsonpath_query_from(const apex_jsonpath_t *self, const json_t *start,
                             const json_t *root, apex_jsonpath_nodes_t *out,
                             size_t *visits);

// Whether e holds with at as "@": 1, 0, or -1 over the budget.
int apex_jsonpath_cond(const apex_jsonpath_expr_t *e, const json_t *root,
                       const json_t *at, size_t *visits);

// Append a node.
void apex_jsonpath_push(apex_jsonpath_nodes_t *out, const json_t *node);

#endif
