// common/template_int.h - internal to the template module
// (template.c compiles, template_expand.c expands): what a compiled
// template is made of. Nothing else includes it.
#ifndef APEX_TEMPLATE_INT_H
#define APEX_TEMPLATE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/template.h"

typedef enum {
    APEX_SEG_LITERAL, // text copied as is
    APEX_SEG_VAR,     // a user variable, maybe with a default or alt
    APEX_SEG_FUNC,    // a function call
    APEX_SEG_BUILTIN, // ${user_index}, ${worker_index}, ${iteration}
    APEX_SEG_DATA     // ${data.SET.COLUMN}
} apex_tseg_kind_t;

typedef enum {
    APEX_BUILTIN_USER_INDEX,   // user_index
    APEX_BUILTIN_WORKER_INDEX, // worker_index
    APEX_BUILTIN_ITERATION     // iteration
} apex_tbuiltin_t;

typedef enum {
    APEX_VAR_PLAIN,   // ${NAME}
    APEX_VAR_DEFAULT, // ${NAME:-sub}: sub when NAME is unset or empty
    APEX_VAR_ALT      // ${NAME:+sub}: sub when NAME is set and non-empty
} apex_tvar_op_t;

typedef enum {
    APEX_FN_UUID,          // uuid()
    APEX_FN_RANDOM_INT,    // random_int(a, b)
    APEX_FN_RANDOM_STRING, // random_string(n)
    APEX_FN_NOW_MS         // now_ms()
} apex_tfunc_t;

typedef struct {
    apex_tseg_kind_t kind;                  // which kind of segment
    char *text;                             // LITERAL: the text
    size_t len;                             // LITERAL: its length
    size_t slot;                            // VAR: index into the variables
    apex_tvar_op_t op;                      // VAR: plain, default or alt
    apex_template_t *sub;                   // VAR: default or alt, or NULL
    apex_tfunc_t func;                      // FUNC: which function
    long long args[APEX_TEMPLATE_MAX_ARGS]; // FUNC: its arguments
    char *name;                             // VAR: the variable's name
    apex_tbuiltin_t builtin;                // BUILTIN: which
    size_t set;                             // DATA: the data set
    size_t column;                          // DATA: the column
    bool typed; // JSON mode: the whole JSON string value, typed
} apex_tseg_t;

struct apex_template {
    apex_tseg_t *segs; // segments in order
    size_t nsegs;      // number of segments
    bool json;         // substituted text is escaped for a JSON string
    char *constant;    // the whole text when every segment is literal
    size_t constlen;   // its length
    char *display;     // source with user variables written as {NAME}
};

// Append substituted text (len bytes of s): escaped for a JSON string in
// JSON mode, as is otherwise.
void apex_template_put_value(apex_buf_t *out, const char *s, size_t len,
                             bool json);

#endif
