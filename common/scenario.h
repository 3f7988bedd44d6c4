// common/scenario.h - the scenario model: user classes with weights, wait
// times, on_start steps and weighted tasks of HTTP requests, parsed from
// JSON (jansson). Errors name the JSON path of the bad node and what was
// expected, e.g. "$.users[0].tasks[2].weight: expected an integer from 1 to
// 10000, got \"x\"".
//
// The model is immutable after parsing and shared read-only by every user
// of a worker. Text that varies per request is a compiled template (see
// "Templates" below), so the hot path never parses anything.
#ifndef APEX_SCENARIO_H
#define APEX_SCENARIO_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/rng.h"

#define APEX_SCENARIO_MAX_BYTES (16u * 1024u * 1024u) // file size limit
#define APEX_SCENARIO_MAX_WEIGHT 10000 // per task and per user class
#define APEX_SCENARIO_MAX_VARS 256     // distinct capture variables

// ---------------------------------------------------------------------
// Templates
//
// Any string that is sent (path, query values, header values, body) may
// hold placeholders:
//   ${NAME}            a user variable (set by a capture) or, when no
//                      capture defines NAME, an environment variable
//   ${NAME:-default}   NAME, or default when NAME is unset or empty
//   ${NAME:+alt}       alt when NAME is set and non-empty, else empty
//                      (alt and default may themselves hold placeholders)
//   ${uuid()}          a random version-4 UUID
//   ${random_int(a,b)} a uniform integer in [a, b]
//   ${random_string(n)} n random letters and digits (1 <= n <= 1024)
//   ${now_ms()}        unix time in milliseconds
//   $$                 a literal $
// Environment variables are resolved once, when the scenario is parsed
// (from the "env" object of the scenario when it has one, otherwise from
// the process environment), so they cost nothing per request. The rest
// is expanded per request by apex_template_expand().

typedef struct apex_template apex_template_t; // opaque, compiled

typedef struct {
    const char *const *vars; // user variables by slot (NULL = unset)
    uint64_t *rng;           // the user's PRNG state (xorshift64*, != 0)
} apex_template_ctx_t;

// Append the expansion of self to out. Never fails.
void apex_template_expand(const apex_template_t *self,
                          const apex_template_ctx_t *ctx, apex_buf_t *out);

// The text when the template has no per-request placeholders (after
// environment resolution), else NULL. Borrowed.
const char *apex_template_constant(const apex_template_t *self);

// The template's source text, with user variables written as {NAME}
// (used for default stats names: "/api/v1/tasks/{task_id}"). Borrowed.
const char *apex_template_display(const apex_template_t *self);

// ---------------------------------------------------------------------
// Model

typedef enum {
    APEX_WAIT_CONSTANT,           // a = seconds
    APEX_WAIT_BETWEEN,            // uniform in [a, b] seconds
    APEX_WAIT_CONSTANT_PACING,    // a task starts every a seconds
    APEX_WAIT_CONSTANT_THROUGHPUT // a = task runs per second per user
} apex_wait_kind_t;

typedef struct {
    apex_wait_kind_t kind; // which rule
    double a;              // first parameter (see apex_wait_kind_t)
    double b;              // second parameter (between only)
} apex_wait_t;

typedef enum {
    APEX_CAPTURE_JSON,   // a JSON path into the response body
    APEX_CAPTURE_HEADER, // a response header, case-insensitive
    APEX_CAPTURE_REGEX   // a regex on the body: group 1, or the match
} apex_capture_kind_t;

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

typedef struct {
    apex_capture_kind_t kind;    // where the value comes from
    char *var;                   // variable name
    size_t slot;                 // index into the user's variables
    char *expr;                  // source text: path, header or regex
    apex_jsonpath_step_t *steps; // JSON: compiled path
    size_t nsteps;               // JSON: number of steps
    regex_t regex;               // REGEX: compiled (REG_EXTENDED)
    bool has_group;              // REGEX: the regex has a group 1
} apex_capture_t;

typedef struct {
    char *name;             // header name
    apex_template_t *value; // value; a header expanding to "" is omitted
} apex_header_t;

typedef struct {
    char *name;             // query parameter name
    apex_template_t *value; // value, URL-encoded when expanded
} apex_query_t;

// The HTTP part of a step (kind APEX_STEP_HTTP).
typedef struct {
    char *method;           // "GET", "POST", ... (upper case)
    apex_template_t *path;  // "/api/v1/tasks/${id}" or an absolute URL
    apex_query_t *query;    // query parameters appended to the path
    size_t nquery;          // number of query parameters
    apex_header_t *headers; // scenario headers merged with the step's
    size_t nheaders;        // number of headers
    apex_template_t *body;  // request body, or NULL
    int *expect;            // accepted statuses; empty: any below 400
    size_t nexpect;         // number of accepted statuses
} apex_http_step_t;

// Which protocol runs a step. Each kind has its part of the model here
// (apex_http_step_t, ...) and one module in worker/ that runs it.
typedef enum {
    APEX_STEP_HTTP,      // an HTTP request
    APEX_STEP_KIND_COUNT // number of kinds
} apex_step_kind_t;

// One step of a task: what every kind has (stats name, captures,
// timeout) and the kind's own part.
typedef struct {
    apex_step_kind_t kind;    // which protocol runs it
    char *type;               // stats request type: "GET", "POST", ...
    char *name;               // stats name ("/api/v1/tasks/{id}")
    bool name_given;          // name came from the scenario, not the path
    apex_capture_t *captures; // values to capture from the response
    size_t ncaptures;         // number of captures
    bool needs_body;          // a JSON or regex capture reads the body
    bool needs_headers;       // a header capture reads the headers
    double timeout;           // seconds for the whole step (> 0)
    apex_http_step_t *http;   // APEX_STEP_HTTP: the request
} apex_step_t;

typedef struct {
    char *name;         // task name (for task ratios), or NULL
    unsigned weight;    // relative weight, >= 1
    apex_step_t *steps; // one step, or a sequence run in order
    size_t nsteps;      // number of steps
} apex_task_t;

typedef struct {
    char *name;            // class name the Locust protocol dispatches by
    unsigned weight;       // relative share of users, >= 1
    unsigned fixed_count;  // users of this class spawned first (0: none)
    apex_wait_t wait;      // think time after each task
    apex_step_t *on_start; // steps run once when a user starts
    size_t non_start;      // number of on_start steps
    apex_task_t *tasks;    // weighted tasks
    size_t ntasks;         // number of tasks
    uint32_t *pick;        // task indexes repeated by weight
    size_t npick;          // length of pick (sum of task weights)
} apex_user_class_t;

typedef struct {
    char *origin;             // file name, or "scenario" (for messages)
    char *host;               // resolved "host", or NULL when not given
    apex_user_class_t *users; // user classes sorted by name
    size_t nusers;            // number of user classes
    char **vars;              // capture variable names by slot
    size_t nvars;             // number of capture variables
    char *wire;               // the JSON sent to workers (see below)
    char *shape;              // the "shape" node as JSON text, or NULL
    char *thresholds;         // the "thresholds" node as JSON, or NULL
    char *description;        // the "description" node as JSON, or NULL
} apex_scenario_t;

// Parse a scenario from JSON text. origin names the source in messages.
// When the document has an "env" object, environment placeholders are
// resolved from it only; otherwise from the process environment. Returns
// a new scenario the caller owns, or NULL with err set to
// "ORIGIN: $.json.path: what was expected".
apex_scenario_t *apex_scenario_parse(const char *json, size_t size,
                                     const char *origin, apex_error_t *err);

// Read and parse a file (at most APEX_SCENARIO_MAX_BYTES). NULL with err
// set on failure ("FILE: cannot read: ...", or a parse error).
apex_scenario_t *apex_scenario_load(const char *path, apex_error_t *err);

// Free *self_p and set it to NULL; does nothing if *self_p is NULL.
void apex_scenario_destroy(apex_scenario_t **self_p);

// The user class with this name, or NULL.
const apex_user_class_t *apex_scenario_find_user(const apex_scenario_t *self,
                                                 const char *name);

// Apply every capture of step to a response: parse the body as JSON once
// if any JSON capture needs it, evaluate each capture and store the value
// in vars[capture->slot] (freeing the old value; vars has the scenario's
// nvars slots). headers is the raw response header block ("Name: value"
// lines, CRLF or LF separated), body the raw body; either may be NULL when
// the step does not need it. A JSON value that is a string is stored
// as its text, a number as Python prints it (integers without ".0"), true
// and false as such, arrays and objects as compact JSON. Returns 0, or -1
// with err set for the first capture that found nothing, naming it:
// "capture task_id: $.id: not found in response" (the variable keeps its
// old value).
int apex_captures_apply(const apex_step_t *step, const char *headers,
                        size_t headers_size, const char *body, size_t body_size,
                        char **vars, uint64_t *rng, apex_error_t *err);

// self->wire is the document as parsed plus an "env" object holding the
// value (or null) of every environment variable it refers to, so a
// worker parsing it resolves them exactly as this process did. It is what
// a master sends to workers.

#endif
