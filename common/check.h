// common/check.h - checks: named conditions on a step's response (k6's
// checks), compiled by the scenario loader and evaluated by a worker next
// to the captures.
//
// The form, in a step (any kind that has a response body or headers):
//   "check": {"status is done": "$.status == 'done'",     // a condition
//             "has items": {"json": "$.items.length() > 0"},
//             "says ok": {"regex": "\"ok\": *true"},       // on the body
//             "has etag": {"header": "ETag"},              // is present
//             "fast path": {"json": "$.cached", "soft": true}}
// A condition is common/jsonpath.h's (paths, ==, !=, <, <=, >, >=, &&,
// ||, !). A failed check fails its request, named in the failure text,
// unless it is soft: then it is only counted. Every check is counted,
// passed or failed, under its name (the same name in several steps is
// one count), for the master's `checks` threshold.
#ifndef APEX_CHECK_H
#define APEX_CHECK_H

#include <jansson.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/jsonpath.h"

#define APEX_CHECK_MAX_PER_STEP 64 // checks of one step
#define APEX_CHECK_MAX_NAMES 1024  // distinct check names of a scenario
#define APEX_CHECK_NAME_MAX 256    // bytes of a check's name

typedef enum {
    APEX_CHECK_JSON,  // a condition on the body parsed as JSON
    APEX_CHECK_REGEX, // a regex finds a match in the body
    APEX_CHECK_HEADER // the response has this header
} apex_check_kind_t;

typedef struct {
    apex_check_kind_t kind;     // what it looks at
    char *name;                 // its name
    size_t slot;                // its name's index in the scenario's table
    char *expr;                 // source text: condition, regex or header
    apex_jsonpath_expr_t *cond; // JSON: the compiled condition
    regex_t regex;              // REGEX: compiled (REG_EXTENDED|REG_NOSUB)
    bool soft;                  // counted only: does not fail the request
} apex_check_t;

// Free what c holds; c is zeroed afterwards (a zeroed check is fine).
void apex_check_fini(apex_check_t *c);

struct apex_step; // apex_step_t, common/scenario.h

// Compile a "check" object (obj, as in a scenario) into step's checks
// outside a scenario's loading (a scripted request's check=): the same
// forms, limits and messages; each check's slot is its index, so the
// caller counts by name. 0, or -1 with err set ("request: $.check[\"x\"]:
// expected ..."); step's checks are then to be freed as usual.
int apex_checks_compile(struct apex_step *step, const json_t *obj,
                        apex_error_t *err);

// Evaluate every check of step on a response (headers and body as for
// apex_captures_apply(); either may be NULL): passed[i] gets check i's
// outcome. A body that is not JSON fails the JSON checks; a condition
// over its budget of visits fails. Returns the index of the first failed
// check that is not soft, or -1 when there is none.
long apex_checks_apply(const struct apex_step *step, const char *headers,
                       size_t headers_size, const char *body, size_t body_size,
                       bool *passed);

#endif
