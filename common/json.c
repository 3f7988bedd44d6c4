// common/json.c - see json.h. Escaping copies runs of plain bytes with
// one append each, so text that needs no escape costs one memcpy. Reals
// go through apex_py_float_repr() so that a captured 0.1 reads "0.1", as
// in Locust, not "0.10000000000000001".
#include "common/json.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/alloc.h"
#include "common/pyfmt.h"

#define APEX_JSON_CONTROL_END 0x20 // below: control characters to escape
#define APEX_JSON_HEX_ESCAPE_MAX 8 // "\u00XX" and its NUL

// The escape of byte c in a JSON string, or NULL when it needs none.
// hex receives \u00XX escapes.
static const char *s_escape_of(unsigned char c,
                               char hex[APEX_JSON_HEX_ESCAPE_MAX])
{
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    case '\b':
        return "\\b";
    case '\f':
        return "\\f";
    default:
        if (c >= APEX_JSON_CONTROL_END)
            return NULL;
        snprintf(hex, APEX_JSON_HEX_ESCAPE_MAX, "\\u%04x", c);
        return hex;
    }
}

void apex_json_escape(apex_buf_t *out, const char *s, size_t len)
{
    size_t run = 0; // bytes before i that need no escape
    for (size_t i = 0; i < len; i++) {
        char hex[APEX_JSON_HEX_ESCAPE_MAX];
        const char *esc = s_escape_of((unsigned char)s[i], hex);
        if (!esc) {
            run++;
            continue;
        }
        apex_buf_append(out, s + i - run, run);
        apex_buf_puts(out, esc);
        run = 0;
    }
    apex_buf_append(out, s + len - run, run);
}

char *apex_json_text(const json_t *value)
{
    char number[APEX_PY_FLOAT_MAX];
    switch (json_typeof(value)) {
    case JSON_STRING:
        return apex_strndup(json_string_value(value),
                            json_string_length(value));
    case JSON_INTEGER:
        return apex_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(value));
    case JSON_REAL:
        apex_py_float_repr(json_real_value(value), number);
        return apex_strdup(number);
    case JSON_TRUE:
        return apex_strdup("true");
    case JSON_FALSE:
        return apex_strdup("false");
    case JSON_NULL:
        return apex_strdup("null");
    default: {
        char *text = json_dumps(value, APEX_JSON_DUMP_FLAGS | JSON_ENCODE_ANY);
        char *copy = apex_strdup(text ? text : "");
        free(text);
        return copy;
    }
    }
}
