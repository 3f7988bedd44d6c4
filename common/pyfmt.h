// common/pyfmt.h - text exactly as Python prints it, where Locust's
// files or hashes depend on it: repr() of a str and of a float, and
// Locust's error key (sha256 of "method.name.repr(error)").
#ifndef APEX_PYFMT_H
#define APEX_PYFMT_H

#include <stddef.h>

#define APEX_PY_FLOAT_MAX 32
#define APEX_SHA256_HEX 65

// Python's repr() of a str given as UTF-8: single quotes unless the text
// holds ' and no ", backslash escapes for \\ \n \r \t and the quote, \xNN
// for other control characters and DEL; other characters as they are.
// Returns a new string the caller frees.
char *apex_py_repr_str(const char *utf8);

// Python's repr() of a float: the shortest text that reads back as the
// same double ("3.0", "0.1", "1e-05", "1.5e+16", "inf", "nan").
// Writes at most APEX_PY_FLOAT_MAX bytes including the NUL.
void apex_py_float_repr(double value, char *out);

// SHA-256 of data as 64 lowercase hex digits plus NUL.
void apex_sha256_hex(const void *data, size_t size, char out[APEX_SHA256_HEX]);

// Locust's error key: sha256(f"{method}.{name}.{error!r}") in hex, where
// error is the text Locust shows (e.g. "HTTPError('500 ...')").
void apex_locust_error_key(const char *method, const char *name,
                           const char *error, char out[APEX_SHA256_HEX]);

#endif
