// common/url.c - see url.h.
#include "common/url.h"

#include <string.h>
#include <strings.h>

#define APEX_URL_HTTP "http://"
#define APEX_URL_HTTPS "https://"

bool apex_url_is_absolute(const char *text)
{
    return strncasecmp(text, APEX_URL_HTTP, strlen(APEX_URL_HTTP)) == 0 ||
           strncasecmp(text, APEX_URL_HTTPS, strlen(APEX_URL_HTTPS)) == 0;
}

void apex_url_join(apex_buf_t *out, const char *base, const char *path)
{
    if (!base || apex_url_is_absolute(path)) {
        apex_buf_puts(out, path);
        return;
    }
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    apex_buf_append(out, base, n);
    apex_buf_puts(out, path);
}

static bool s_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
           c == '~';
}

void apex_url_encode(apex_buf_t *out, const char *text, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (s_unreserved(c)) {
            apex_buf_putc(out, (char)c);
        } else {
            apex_buf_putc(out, '%');
            apex_buf_putc(out, hex[c >> 4]);
            apex_buf_putc(out, hex[c & 15]);
        }
    }
}
