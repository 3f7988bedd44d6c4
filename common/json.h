// common/json.h - JSON text the scenario modules share (jansson values
// in, text out): a string escaped for the inside of a JSON string, and a
// value as the plain text a capture stores or a query parameter sends.
#ifndef APEX_JSON_H
#define APEX_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "common/buf.h"

// How the scenario modules serialize JSON: compact, keys in document
// order (bodies, the wire text and the nodes the master reads).
#define APEX_JSON_DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)

// Append len bytes of s escaped for the inside of a JSON string: '"' and
// '\' get a backslash, \n \r \t \b \f their short escapes, the other
// control characters \u00XX; every other byte (UTF-8 included) as is.
void apex_json_escape(apex_buf_t *out, const char *s, size_t len);

// A value as plain text: a string as its text, a number
// as Python prints it (42, 2.5, 0.1, 1e-05), true, false and null as
// such, arrays and objects as compact JSON. Returns a new string the
// caller frees; never NULL.
char *apex_json_text(const json_t *value);

#endif
