// common/error.h - the error type every fallible function fills in:
// a fixed buffer holding "where: what was wrong".
#ifndef APEX_ERROR_H
#define APEX_ERROR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#define APEX_ERROR_MAX 512
#define APEX_ERROR_EXCERPT 64 // bytes of a bad value quoted in a message
#define APEX_ERROR_QUOTE_MAX (APEX_ERROR_EXCERPT + 8) // apex_error_quote()

typedef struct {
    char msg[APEX_ERROR_MAX]; // "where: what was wrong", or "" when unset
} apex_error_t;

// Format a message into err (printf-style). err may be NULL, in which
// case the message is dropped. Always returns -1, so callers can write
// `return apex_error_set(err, ...)`.
int apex_error_set(apex_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

// Same as apex_error_set() with a va_list.
int apex_error_vset(apex_error_t *err, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

// Prepend "prefix: " to the message already in err (for adding context
// such as a file name as an error travels up).
void apex_error_prefix(apex_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

// Write text in double quotes into out (size bytes, at least
// APEX_ERROR_QUOTE_MAX for the whole excerpt), for quoting a bad value in
// a message: "text", or its first APEX_ERROR_EXCERPT bytes as "text"...
// when it is longer. Nothing is escaped.
void apex_error_quote(const char *text, char *out, size_t size);

// True when err holds a message.
bool apex_error_is_set(const apex_error_t *err);

#endif
