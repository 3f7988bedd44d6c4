// common/url.h - the few URL rules the suite shares: what counts as an
// absolute http(s) URL, joining a base URL and a path, and encoding a
// query component. Parsing URLs is libcurl's job (or a step kind's).
#ifndef APEX_URL_H
#define APEX_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

// True when text starts with "http://" or "https://", in any case (URI
// schemes are case-insensitive, RFC 3986 section 3.1).
bool apex_url_is_absolute(const char *text);

// Append base + path to out without a doubled slash; an absolute path,
// or a NULL base, is appended alone.
void apex_url_join(apex_buf_t *out, const char *base, const char *path);

// Append text percent-encoded as a query name or value: everything but
// RFC 3986's unreserved characters (A-Z a-z 0-9 - _ . ~) becomes %XX.
void apex_url_encode(apex_buf_t *out, const char *text, size_t len);

#endif
