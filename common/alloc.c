// common/alloc.c - see alloc.h.
#include "common/alloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_oom(size_t bytes)
{
    fprintf(stderr, "apex: out of memory allocating %zu bytes\n", bytes);
    abort();
}

void *apex_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        s_oom(n * size);
    return p;
}

void *apex_realloc(void *ptr, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        s_oom(SIZE_MAX);
    size_t bytes = n * size;
    void *p = realloc(ptr, bytes ? bytes : 1);
    if (!p)
        s_oom(bytes);
    return p;
}

char *apex_strdup(const char *s)
{
    if (!s)
        return NULL;
    return apex_strndup(s, strlen(s));
}

char *apex_strndup(const char *s, size_t len)
{
    char *p = apex_calloc(1, len + 1);
    memcpy(p, s, len);
    return p;
}

char *apex_sprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    char *p = apex_calloc(1, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}
