// common/buf.c - see buf.h. Capacity doubles, so appends are amortised
// O(1); the data is always NUL-terminated once allocated.
#include "common/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

#define APEX_BUF_MIN_CAP 64

void apex_buf_init(apex_buf_t *self)
{
    self->data = NULL;
    self->len = 0;
    self->cap = 0;
}

void apex_buf_fini(apex_buf_t *self)
{
    free(self->data);
    apex_buf_init(self);
}

void apex_buf_reset(apex_buf_t *self)
{
    self->len = 0;
    if (self->data)
        self->data[0] = '\0';
}

static void s_reserve(apex_buf_t *self, size_t extra)
{
    size_t need = self->len + extra + 1;
    if (need <= self->cap)
        return;
    size_t cap = self->cap ? self->cap : APEX_BUF_MIN_CAP;
    while (cap < need)
        cap *= 2;
    self->data = apex_realloc(self->data, cap, 1);
    self->cap = cap;
}

void apex_buf_append(apex_buf_t *self, const void *data, size_t size)
{
    s_reserve(self, size);
    if (size)
        memcpy(self->data + self->len, data, size);
    self->len += size;
    self->data[self->len] = '\0';
}

void apex_buf_puts(apex_buf_t *self, const char *text)
{
    apex_buf_append(self, text, strlen(text));
}

void apex_buf_putc(apex_buf_t *self, char c)
{
    apex_buf_append(self, &c, 1);
}

void apex_buf_printf(apex_buf_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    s_reserve(self, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(self->data + self->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    self->len += (size_t)n;
}

char *apex_buf_take(apex_buf_t *self)
{
    char *data = self->data ? self->data : apex_strdup("");
    apex_buf_init(self);
    return data;
}

const char *apex_buf_str(const apex_buf_t *self)
{
    return self->data ? self->data : "";
}
