// common/error.c - see error.h. Messages are truncated to APEX_ERROR_MAX.
#include "common/error.h"

#include <stdio.h>
#include <string.h>

int apex_error_vset(apex_error_t *err, const char *fmt, va_list ap)
{
    if (err)
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    return -1;
}

int apex_error_set(apex_error_t *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    apex_error_vset(err, fmt, ap);
    va_end(ap);
    return -1;
}

void apex_error_prefix(apex_error_t *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[APEX_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    // Build "prefix: old" by hand: snprintf of two buffers of the same
    // size would trip -Wformat-truncation, and truncation is intended.
    char old[APEX_ERROR_MAX];
    memcpy(old, err->msg, sizeof old);
    size_t n = strlen(prefix);
    size_t cap = sizeof err->msg - 1;
    if (n > cap)
        n = cap;
    memcpy(err->msg, prefix, n);
    if (n + 2 <= cap) {
        memcpy(err->msg + n, ": ", 2);
        n += 2;
    }
    size_t m = strnlen(old, sizeof old);
    if (m > cap - n)
        m = cap - n;
    memcpy(err->msg + n, old, m);
    err->msg[n + m] = '\0';
}

void apex_error_quote(const char *text, char *out, size_t size)
{
    if (strlen(text) > APEX_ERROR_EXCERPT)
        snprintf(out, size, "\"%.*s\"...", APEX_ERROR_EXCERPT, text);
    else
        snprintf(out, size, "\"%s\"", text);
}

bool apex_error_is_set(const apex_error_t *err)
{
    return err && err->msg[0] != '\0';
}
