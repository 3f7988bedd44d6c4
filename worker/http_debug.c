// worker/http_debug.c - see http_debug.h. Lines go out at INFO level so
// that --http-debug needs no -L DEBUG; bytes that are not printable are
// written as \xNN so a binary body cannot garble the log.
#include "worker/http_debug.h"

#include <string.h>

#include "common/buf.h"
#include "common/log.h"

static void s_line(char dir, const char *data, size_t len)
{
    apex_buf_t b;
    apex_buf_init(&b);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)data[i];
        if (c >= 0x20 && c != 0x7f)
            apex_buf_putc(&b, (char)c);
        else if (c == '\t')
            apex_buf_putc(&b, ' ');
        else
            apex_buf_printf(&b, "\\x%02x", c);
    }
    apex_info("http-debug: %c %s", dir, apex_buf_str(&b));
    apex_buf_fini(&b);
}

static void s_lines(char dir, const char *data, size_t len, bool blank)
{
    const char *end = data + len;
    for (const char *p = data; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        const char *stop = eol ? eol : end;
        if (stop > p && stop[-1] == '\r')
            stop--;
        if (stop > p || blank)
            s_line(dir, p, (size_t)(stop - p));
        p = next;
    }
}

void worker_http_debug_headers(char dir, const char *data, size_t len)
{
    s_lines(dir, data, len, false);
}

void worker_http_debug_body(int level, char dir, const char *data, size_t len,
                            size_t *shown)
{
    if (level < WORKER_HTTP_DEBUG_FULL || len == 0)
        return;
    size_t room = *shown < WORKER_HTTP_DEBUG_BODY_MAX
                      ? WORKER_HTTP_DEBUG_BODY_MAX - *shown
                      : 0;
    size_t n = len < room ? len : room;
    if (n)
        s_lines(dir, data, n, true);
    if (n < len && *shown + n == WORKER_HTTP_DEBUG_BODY_MAX)
        apex_info("http-debug: %c [body cut after %d bytes]", dir,
                  WORKER_HTTP_DEBUG_BODY_MAX);
    *shown += len;
}
