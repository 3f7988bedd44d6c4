// common/alloc.h - allocation that never returns NULL: out of memory
// aborts with a message (as redis zmalloc does).
#ifndef APEX_ALLOC_H
#define APEX_ALLOC_H

#include <stddef.h>

// calloc(n, size); aborts on overflow or out of memory.
void *apex_calloc(size_t n, size_t size);

// realloc to n * size bytes; aborts on overflow or out of memory.
void *apex_realloc(void *ptr, size_t n, size_t size);

// strdup; returns NULL for a NULL argument.
char *apex_strdup(const char *s);

// Copy of the first len bytes of s, NUL-terminated.
char *apex_strndup(const char *s, size_t len);

// printf into a new string the caller frees.
char *apex_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
