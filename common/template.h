// common/template.h - templates: text with placeholders, compiled once
// when a scenario is parsed and expanded per request without parsing.
//
// Any string of a scenario that is sent (path, query values, header
// values, body) may hold placeholders:
//   ${NAME}            a user variable (set by a capture) or, when no
//                      capture defines NAME, an environment variable
//   ${NAME:-default}   NAME, or default when NAME is unset or empty
//   ${NAME:+alt}       alt when NAME is set and non-empty, else empty
//                      (alt and default may themselves hold placeholders)
//   ${uuid()}          a random version-4 UUID
//   ${random_int(a,b)} a uniform integer in [a, b]
//   ${random_string(n)} n random letters and digits (1 <= n <= 1024)
//   ${now_ms()}        unix time in milliseconds
//   ${user_index}      the user's index in the run (0, 1, ...; unique
//                      across workers), ${worker_index} its worker's,
//                      ${iteration} the tasks it finished before this one
//   ${data.SET.COLUMN} a column of the user's current row of a data set
//   $$                 a literal $
// Environment variables are resolved once, when the template is compiled
// (the caller's scope says from where), so they cost nothing per request.
// The rest is expanded per request by apex_template_expand().
//
// Typed values: in JSON mode (a "json" body), a JSON string value that is
// exactly one placeholder ("${random_int(1,3)}", "${task}") is replaced
// by the value with its own type: a number for random_int, now_ms and the
// built-ins, whatever a captured value or a JSON data cell was (a number,
// an object...), a string otherwise. Text around the placeholder keeps
// the value a string.
#ifndef APEX_TEMPLATE_H
#define APEX_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"

#define APEX_TEMPLATE_MAX_DEPTH 16    // nesting of ${A:-${B:-...}}
#define APEX_TEMPLATE_MAX_ARGS 2      // arguments of a template function
#define APEX_TEMPLATE_MAX_STRING 1024 // longest random_string(n)

typedef struct apex_template apex_template_t; // opaque, compiled

// A value with its type: its text, and whether that text is JSON (a
// number, true, false, null, an array or an object) rather than the
// contents of a string.
typedef struct {
    char *text; // the text (owned by whoever holds the value)
    bool json;  // text is JSON, not a string's contents
} apex_value_t;

// What the built-ins and data placeholders of one user read.
typedef struct {
    int64_t user_index;              // ${user_index}
    int64_t worker_index;            // ${worker_index}
    int64_t iteration;               // ${iteration}
    const apex_value_t *const *rows; // per data set: the current row (a
                                     // value per column), or NULL
} apex_template_user_t;

// What compiling needs to know about the names a template refers to; the
// scenario loader passes its variable table and environment here.
typedef struct {
    // The slot of the user variable called name (len bytes, not
    // NUL-terminated), or -1 when it is not a user variable.
    long (*var_slot)(void *arg, const char *name, size_t len);
    // Look up the environment variable called name (len bytes): *value
    // gets its text, or NULL when it is unset (borrowed; it must live as
    // long as the compile). Returns 0, or -1 with err set to what was
    // wrong; that fails the compile with err as its message. An unset
    // one read plainly (not ${NAME:-...} or ${NAME:+...}) where the
    // template would expand it fails the compile: "variable 'NAME' is
    // not set by any capture, data file, built-in or the environment".
    int (*env)(void *arg, const char *name, size_t len, const char **value,
               apex_error_t *err);
    void *arg; // passed to every callback
    // Optional: the data set and column "${data.NAME}" names (name is the
    // text after "data.", len bytes). 0, or -1 with err set ("no data
    // set 'x'"). NULL: no data sets.
    int (*data)(void *arg, const char *name, size_t len, size_t *set,
                size_t *column, apex_error_t *err);
    // Optional: told of every user variable a template reads; plain is
    // false for ${NAME:-...} and ${NAME:+...}, which read it unset too.
    void (*used)(void *arg, size_t slot, bool plain);
    bool unset_env_ok; // an unset environment variable reads "" (the
                       // scenario's "host": empty means not given)
} apex_template_scope_t;

// What expanding needs: the user's variables and random numbers.
typedef struct {
    const char *const *vars;          // user variables by slot (NULL = unset)
    uint64_t *rng;                    // the user's PRNG state (xorshift64*,
                                      // != 0)
    const unsigned char *vars_json;   // per slot: the value is JSON text (a
                                      // captured number...), or NULL: all
                                      // are strings
    const apex_template_user_t *user; // built-ins and data rows, or NULL
                                      // (built-ins read 0, data "")
} apex_template_ctx_t;

// Compile src. In JSON mode (a "json" body), src is JSON text already,
// a placeholder ends at the '"' that closes its JSON string, and every
// substituted value is escaped for a JSON string. Returns a new template
// the caller owns, or NULL with err set to what was wrong, without where
// (the caller knows where src came from), e.g.
// "unterminated \"${\" in \"/a/${id\"".
apex_template_t *apex_template_compile(const char *src, bool json,
                                       const apex_template_scope_t *scope,
                                       apex_error_t *err);

// A deep copy the caller owns, or NULL for NULL.
apex_template_t *apex_template_dup(const apex_template_t *self);

// Free *self_p and set it to NULL; does nothing if *self_p is NULL.
void apex_template_destroy(apex_template_t **self_p);

// Append the expansion of self to out. ctx may be NULL for a template
// that is constant. Never fails.
void apex_template_expand(const apex_template_t *self,
                          const apex_template_ctx_t *ctx, apex_buf_t *out);

// The name of the first user variable that expanding self with ctx
// would read while it is unset (a plain ${NAME}, or one inside a default
// or alternative that applies), or NULL when there is none. Borrowed.
const char *apex_template_unset(const apex_template_t *self,
                                const apex_template_ctx_t *ctx);

// True when self reads a user variable (so apex_template_unset() may
// find one).
bool apex_template_has_vars(const apex_template_t *self);

// The text when the template has no per-request placeholders (after
// environment resolution), else NULL. Borrowed.
const char *apex_template_constant(const apex_template_t *self);

// The literal text every expansion starts with, "" for an empty
// template, or NULL when the template starts with a placeholder that is
// expanded per request. Borrowed.
const char *apex_template_lead(const apex_template_t *self);

// The template's source text, with user variables written as {NAME}
// (used for default stats names: "/api/v1/tasks/{task_id}"). Borrowed.
const char *apex_template_display(const apex_template_t *self);

// True when c may start a name ([A-Za-z_]), or continue one
// ([A-Za-z0-9_]). Placeholders name variables this way, and so the
// scenario names its variables and classes.
bool apex_template_name_start(char c);
bool apex_template_name_char(char c);

#endif
