// common/jsonpath.h - JSON paths: "$" then any chain of .key, ["key"],
// [3], [-1] (from the end) and [*] (a random element of an array), e.g.
// "$.dags[*].id", "$[0].id", "$.a.b[2][\"c d\"]". Compiled once into
// steps, evaluated on a parsed document (jansson) per response.
#ifndef APEX_JSONPATH_H
#define APEX_JSONPATH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"

typedef enum {
    APEX_JSONPATH_KEY,   // .name or ["name"]
    APEX_JSONPATH_INDEX, // [3] (negative counts from the end)
    APEX_JSONPATH_ANY    // [*]: a random element
} apex_jsonpath_kind_t;

typedef struct {
    apex_jsonpath_kind_t kind; // which step
    char *key;                 // for KEY
    long index;                // for INDEX
} apex_jsonpath_step_t;

// A compiled path, embedded in its owner (a capture): zeroed is empty.
typedef struct {
    apex_jsonpath_step_t *steps; // steps from the root, in order
    size_t nsteps;               // number of steps ("$" alone has none)
} apex_jsonpath_t;

// Compile expr into *self, which must be empty. Returns 0, or -1 with
// err set to what was wrong, without where (the caller knows), e.g.
// "bad JSON path \"$[1\": expected \"]\" at offset 3"; *self is empty then.
// Inside ["..."] or ['...'], a backslash takes the next byte as it is.
int apex_jsonpath_compile(apex_jsonpath_t *self, const char *expr,
                          apex_error_t *err);

// Free the steps; *self is empty afterwards (fini twice is safe).
void apex_jsonpath_fini(apex_jsonpath_t *self);

// The node of root that self leads to, borrowed from root, or NULL when
// there is none (a missing key, an index out of range, a step into a
// value of the wrong type, [*] on an empty array). rng picks the element
// of each [*]; it may be NULL only for a path without [*].
const json_t *apex_jsonpath_eval(const apex_jsonpath_t *self,
                                 const json_t *root, uint64_t *rng);

#endif
