// worker/http_redirect.c - see http_redirect.h.
#include "worker/http_redirect.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "common/alloc.h"

bool worker_http_is_redirect(long status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 ||
           status == 308;
}

char *worker_http_header(const char *block, size_t len, const char *name)
{
    if (!block || !len) // an empty apex_buf_t has no data at all
        return NULL;
    const char *end = block + len;
    size_t n = strlen(name);
    char *found = NULL;
    for (const char *line = block; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        const char *next = eol ? eol + 1 : end;
        if (!eol)
            eol = end;
        if (eol > line && eol[-1] == '\r')
            eol--;
        if ((size_t)(eol - line) > n && line[n] == ':' &&
            strncasecmp(line, name, n) == 0) {
            const char *v = line + n + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            free(found);
            found = apex_strndup(v, (size_t)(eol - v));
        }
        line = next;
    }
    return found;
}

char *worker_http_location(const char *block, size_t len, const char *base)
{
    char *location = worker_http_header(block, len, "Location");
    if (!location)
        return NULL;
    CURLU *h = curl_url();
    char *out = NULL, *text = NULL;
    if (h && curl_url_set(h, CURLUPART_URL, base, 0) == CURLUE_OK &&
        curl_url_set(h, CURLUPART_URL, location, 0) == CURLUE_OK &&
        curl_url_get(h, CURLUPART_URL, &text, 0) == CURLUE_OK)
        out = apex_strdup(text);
    curl_free(text);
    curl_url_cleanup(h);
    free(location);
    return out;
}

const char *worker_http_redirect_method(long status, const char *method)
{
    if ((status == 303 && strcmp(method, "HEAD") != 0) ||
        ((status == 301 || status == 302) && strcmp(method, "POST") == 0))
        return "GET";
    return method;
}
