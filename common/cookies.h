// common/cookies.h - a cookie jar (RFC 6265): one per simulated user, fed
// the Set-Cookie headers of its responses and asked for the Cookie header
// of each request. It knows no HTTP library: any HTTP engine (libcurl
// today, our own HTTP/1.1 later) hands it URLs and header text, so both
// behave the same.
//
// What it follows: the Set-Cookie syntax and storage model of RFC 6265
// sections 5.2 and 5.3 (Domain, Path, Expires, Max-Age, Secure, HttpOnly;
// host-only cookies; the cookie-date algorithm of 5.1.1; a cookie replaced
// by name, domain and path keeps its creation time; an expired cookie
// deletes its namesake), domain- and path-matching (5.1.3, 5.1.4) and the
// Cookie header's order (5.4: longer paths first, then older cookies).
// Without a public suffix list, a Domain attribute with no dot inside is
// taken only when it names the request host itself ("localhost").
#ifndef APEX_COOKIES_H
#define APEX_COOKIES_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

#define APEX_COOKIE_MAX_BYTES 4096 // name plus value of one cookie
#define APEX_COOKIE_MAX_COUNT                                                  \
    180                               // cookies in one jar (RFC 6265: >= 3000
                                      // for browsers; a user needs few)
#define APEX_COOKIE_MAX_PER_DOMAIN 50 // as RFC 6265 section 6.1 suggests

typedef struct apex_cookie_jar apex_cookie_jar_t; // opaque

// An empty jar the caller owns. Never returns NULL.
apex_cookie_jar_t *apex_cookie_jar_new(void);

// Free *self_p and set it to NULL; does nothing if *self_p is NULL.
void apex_cookie_jar_destroy(apex_cookie_jar_t **self_p);

// Forget every cookie.
void apex_cookie_jar_clear(apex_cookie_jar_t *self);

// Cookies stored now (expired ones included until a lookup drops them).
size_t apex_cookie_jar_size(const apex_cookie_jar_t *self);

// Store what one Set-Cookie value (len bytes, without "Set-Cookie:") says
// for a response to url (http://, https://, ws:// or wss://) at wall time
// now (unix seconds). Returns true when the header was taken (a cookie
// stored or replaced, or an expiry that deletes), false when RFC 6265 says
// to ignore it (no
// "=", an empty name, a Domain the host does not match, too large, a URL
// that is not absolute). Bad input never fails otherwise.
bool apex_cookie_jar_set(apex_cookie_jar_t *self, const char *url,
                         const char *value, size_t len, double now);

// Store every Set-Cookie line of a raw response header block ("Name:
// value" lines, CRLF or LF). Returns how many changed the jar.
size_t apex_cookie_jar_set_from_headers(apex_cookie_jar_t *self,
                                        const char *url, const char *headers,
                                        size_t len, double now);

// Append the Cookie header value for a request to url at time now ("a=1;
// b=2", nothing when no cookie applies) to out, dropping expired cookies.
// Returns how many cookies were appended.
size_t apex_cookie_jar_header(apex_cookie_jar_t *self, const char *url,
                              double now, apex_buf_t *out);

// Parse an RFC 6265 cookie-date ("Wed, 21 Oct 2015 07:28:00 GMT", and the
// other forms its algorithm accepts) into unix seconds. false when it is
// not one.
bool apex_cookie_parse_date(const char *text, size_t len, double *out);

#endif
