// common/capture.h - captures: values a step takes from its response
// (a JSON path into the body, a header, a regex on the body, or a column
// of an SQL result's first or a random row) and stores in the user's
// variables, for templates of later steps.
//
// A scenario's captures are compiled by the scenario loader (the
// "capture" object of a step) and applied by a worker per response with
// apex_captures_apply(). Capture regexes are POSIX extended; their cost
// is bounded before regcomp() sees them (see APEX_REGEX_MAX_SIZE).
#ifndef APEX_CAPTURE_H
#define APEX_CAPTURE_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/jsonpath.h"

// glibc's regcomp copies an element once per count of the {m,n} after it
// (a{9999} costs 2 MB, and nested bounds multiply), so a regex's size
// with every bound expanded is limited, per regex and per scenario.
// Back-references (\1 to \9) are refused: they make regexec exponential
// on a body the server under test controls.
#define APEX_REGEX_MAX_SIZE 10000.0      // elements of one expanded regex
#define APEX_REGEX_MAX_SIZE_ALL 100000.0 // of all regexes of a scenario
#define APEX_REGEX_MAX_DEPTH 32          // nesting of groups

typedef enum {
    APEX_CAPTURE_JSON,   // a JSON path into the response body
    APEX_CAPTURE_HEADER, // a response header, case-insensitive
    APEX_CAPTURE_REGEX,  // a regex on the body: group 1, or the match
    APEX_CAPTURE_COLUMN  // a column of an SQL result (SQL steps only)
} apex_capture_kind_t;

typedef struct {
    apex_capture_kind_t kind; // where the value comes from
    char *var;                // variable name
    size_t slot;              // index into the user's variables
    char *expr;               // source text: path, header or regex
    apex_jsonpath_t path;     // JSON: the compiled path
    regex_t regex;            // REGEX: compiled (REG_EXTENDED)
    bool has_group;           // REGEX: the regex has a group 1
    bool random_row;          // COLUMN: of a random row, not the first
} apex_capture_t;

// The rows of an SQL result, as column captures read them.
typedef struct {
    size_t nrows; // rows in the result
    // The text of the column called name (exactly, case included) in
    // row (< nrows): 1 with *value set (borrowed until the step's result
    // is gone), 0 when the result has no such column, -1 when the value
    // is SQL NULL.
    int (*get)(const void *arg, size_t row, const char *name,
               const char **value);
    const void *arg; // passed to get
    size_t ncolumns; // columns in the result
    // The name of column col (< ncolumns), and through *value its text
    // in row (< nrows), or NULL for SQL NULL (a scripted user's rows).
    const char *(*column)(const void *arg, size_t row, size_t col,
                          const char **value);
} apex_capture_rows_t;

// Free what c holds; c is zeroed afterwards. A zeroed capture is fine,
// and so is one whose compile failed part way.
void apex_capture_fini(apex_capture_t *c);

struct apex_step; // apex_step_t, common/scenario.h

// Apply every capture of step to a response: parse the body as JSON once
// if any JSON capture needs it, evaluate each capture and store the value
// in vars[capture->slot] (freeing the old value; vars has the scenario's
// nvars slots). headers is the raw response header block ("Name: value"
// lines, CRLF or LF separated), body the raw body; either may be NULL when
// the step does not need it. A JSON value that is a string is stored
// as its text, a number as Python prints it (integers without ".0"), true
// and false as such, arrays and objects as compact JSON. rng picks the
// element of a [*] path. Returns 0, or -1 with err set for the first
// capture that found nothing, naming it: "capture task_id: $.id: not found
// in response" (the variable keeps its old value; the other captures are
// still applied).
// A column capture finds nothing here ("...: needs an SQL result").
int apex_captures_apply(const struct apex_step *step, const char *headers,
                        size_t headers_size, const char *body, size_t body_size,
                        char **vars, uint64_t *rng, apex_error_t *err);

// The same, also setting vars_json[slot] (when vars_json is not NULL): 1
// when the captured text is JSON (a number, true, false, null, an array
// or an object from a JSON path), 0 for a string, a header or a regex
// match, so a typed JSON body sends it with its type.
int apex_captures_apply_typed(const struct apex_step *step, const char *headers,
                              size_t headers_size, const char *body,
                              size_t body_size, char **vars,
                              unsigned char *vars_json, uint64_t *rng,
                              apex_error_t *err);
// The same for an SQL step's result: each column capture takes the
// column's text from the first row, or from a row rng picks; errors read
// "capture id: column id: no rows in the result", "...: no such column
// in the result" or "...: NULL in the row".
// vars_json, when not NULL, is set to 0 (column text is not JSON).
int apex_captures_apply_rows(const struct apex_step *step,
                             const apex_capture_rows_t *rows, char **vars,
                             unsigned char *vars_json, uint64_t *rng,
                             apex_error_t *err);

#endif
