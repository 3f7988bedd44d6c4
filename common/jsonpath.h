// common/jsonpath.h - JSON paths and the conditions built on them.
//
// A path is "$" then any chain of .key, ["key"], [3], [-1] (from the
// end), [*] or .* (every element or member), ..step (that step on the
// node and on all its descendants: "$..id"), [?(condition)] (the
// elements or members for which the condition holds, with @ the one
// tested: "$.tasks[?(@.priority > 1)].id"), and a final .length() (the
// size of an array or object, or the characters of a string). Compiled
// once into steps, evaluated on a parsed document (jansson) per response.
//
// A condition compares paths and literals: "$.status == \"done\"",
// "$.items.length() > 0", "@.priority >= 2 && @.owner", with ==, !=, <,
// <=, >, >=, &&, ||, !, parentheses, strings in ' or ", numbers, true,
// false and null. A path alone is true when it leads somewhere. A
// comparison holds when any node the path leads to satisfies it (!= is
// the negation of ==); numbers compare as numbers, strings by their
// bytes, other values only for equality.
//
// Cost is bounded: a path or condition is at most APEX_JSONPATH_MAX_LEN
// bytes with conditions nested at most APEX_JSONPATH_MAX_DEPTH deep, and
// one evaluation visits at most APEX_JSONPATH_MAX_VISITS nodes (a "$.."
// over a large body, or filters within filters, stop there with an
// error rather than stall a worker's loop).
#ifndef APEX_JSONPATH_H
#define APEX_JSONPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"

#define APEX_JSONPATH_MAX_LEN 1024      // bytes of a path or condition
#define APEX_JSONPATH_MAX_DEPTH 16      // conditions within conditions
#define APEX_JSONPATH_MAX_VISITS 100000 // nodes one evaluation may visit

typedef struct apex_jsonpath_expr apex_jsonpath_expr_t; // a condition

typedef enum {
    APEX_JSONPATH_KEY,    // .name or ["name"]
    APEX_JSONPATH_INDEX,  // [3] (negative counts from the end)
    APEX_JSONPATH_ANY,    // [*] or .*: every element or member
    APEX_JSONPATH_FILTER, // [?(condition)]
    APEX_JSONPATH_LENGTH  // .length(), last
} apex_jsonpath_kind_t;

typedef struct {
    apex_jsonpath_kind_t kind;    // which step
    char *key;                    // for KEY
    long index;                   // for INDEX
    apex_jsonpath_expr_t *filter; // for FILTER
    bool descend; // after "..": on the node and all its descendants
} apex_jsonpath_step_t;

// A compiled path, embedded in its owner (a capture): zeroed is empty.
typedef struct {
    apex_jsonpath_step_t *steps; // steps from the root, in order
    size_t nsteps;               // number of steps ("$" alone has none)
} apex_jsonpath_t;

// The nodes an evaluation found, in document order, embedded in its
// owner: _init, then any number of queries, then _fini.
typedef struct {
    const json_t **nodes; // borrowed from the document, or from owned
    size_t n;             // their number
    size_t cap;           // slots allocated
    json_t *owned;        // values made by length(), or NULL
    size_t visits;        // nodes visited by the last query
} apex_jsonpath_nodes_t;

// Compile expr into *self, which must be empty. Returns 0, or -1 with
// err set to what was wrong, without where (the caller knows), e.g.
// "bad JSON path \"$[1\": expected \"]\" at offset 3"; *self is empty then.
// Inside ["..."] or ['...'], a backslash takes the next byte as it is.
int apex_jsonpath_compile(apex_jsonpath_t *self, const char *expr,
                          apex_error_t *err);

// Free the steps; *self is empty afterwards (fini twice is safe).
void apex_jsonpath_fini(apex_jsonpath_t *self);

// True when the path has a [*] or .* (a capture then takes a random one
// of its nodes, not the first).
bool apex_jsonpath_has_any(const apex_jsonpath_t *self);

void apex_jsonpath_nodes_init(apex_jsonpath_nodes_t *nodes);
void apex_jsonpath_nodes_fini(apex_jsonpath_nodes_t *nodes);

// Every node self leads to in root, into out (emptied first). Returns 0,
// or -1 when the evaluation visited more than APEX_JSONPATH_MAX_VISITS
// nodes (out then holds what was found so far).
int apex_jsonpath_query(const apex_jsonpath_t *self, const json_t *root,
                        apex_jsonpath_nodes_t *out);

// One node of root that self leads to, borrowed from root, or NULL when
// there is none (a missing key, an index out of range, a step into a
// value of the wrong type, nothing passes a filter, over the budget, a
// path ending in length()). With several, a path with [*] draws one from
// rng (which must not be NULL then), another takes the first.
const json_t *apex_jsonpath_eval(const apex_jsonpath_t *self,
                                 const json_t *root, uint64_t *rng);

// Compile a condition rooted at "$" (a check: "$.status == 'done'").
// NULL with err set ("bad condition \"...\": expected ... at offset N").
apex_jsonpath_expr_t *apex_jsonpath_expr_compile(const char *text,
                                                 apex_error_t *err);

// Free *self_p and set it to NULL; does nothing if *self_p is NULL.
void apex_jsonpath_expr_destroy(apex_jsonpath_expr_t **self_p);

// Whether the condition holds on root: 1 or 0, or -1 when it visited
// more than APEX_JSONPATH_MAX_VISITS nodes.
int apex_jsonpath_expr_eval(const apex_jsonpath_expr_t *self,
                            const json_t *root);

#endif
