// common/buf.h - a growable byte buffer embedded in its owner (like
// curl's dynbuf): init/fini instead of new/destroy, always NUL-terminated.
#ifndef APEX_BUF_H
#define APEX_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct {
    char *data; // the bytes, NUL-terminated; NULL until the first append
    size_t len; // bytes used, not counting the NUL
    size_t cap; // bytes allocated
} apex_buf_t;

// Start empty.
void apex_buf_init(apex_buf_t *self);

// Free the memory; the buffer is empty and reusable afterwards.
void apex_buf_fini(apex_buf_t *self);

// Forget the contents but keep the memory.
void apex_buf_reset(apex_buf_t *self);

// Append size bytes.
void apex_buf_append(apex_buf_t *self, const void *data, size_t size);

// Append a NUL-terminated string.
void apex_buf_puts(apex_buf_t *self, const char *text);

// Append one byte.
void apex_buf_putc(apex_buf_t *self, char c);

// Append printf-style text.
void apex_buf_printf(apex_buf_t *self, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

// Return the contents as a string the caller owns (never NULL) and leave
// the buffer empty.
char *apex_buf_take(apex_buf_t *self);

// The contents as a string ("" when empty); borrowed.
const char *apex_buf_str(const apex_buf_t *self);

#endif
