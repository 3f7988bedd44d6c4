// master/web_origin.c - see web_origin.h.
//
// "Same origin" compares the scheme (https when the request came over
// TLS), the host and the port of Origin (or of Referer's URL) with those
// of the request itself: its Host header. A browser sets Host from the
// URL it was given, so a page served by the master sends an Origin equal
// to "http(s)://" + Host.
#include "master/web_origin.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

// True when url starts with the request's own origin, followed by the
// end or a '/' (so "http://h:1" is not matched by "http://h:10").
static bool s_same_origin(const master_web_request_t *req, const char *url)
{
    const char *scheme = req->tls ? "https://" : "http://";
    size_t n = strlen(scheme);
    if (!req->host || !req->host[0] || strncasecmp(url, scheme, n) != 0)
        return false;
    size_t h = strlen(req->host);
    if (strncasecmp(url + n, req->host, h) != 0)
        return false;
    char end = url[n + h];
    return end == '\0' || end == '/';
}

const char *master_web_origin_refusal(const master_web_request_t *req)
{
    if (req->fetch_site && strcmp(req->fetch_site, "same-origin") != 0 &&
        strcmp(req->fetch_site, "none") != 0)
        return "refused: the browser says this request comes from another "
               "site (Sec-Fetch-Site)";
    if (req->origin && !s_same_origin(req, req->origin))
        return "refused: the request's Origin is not this master's";
    if (req->referer && !s_same_origin(req, req->referer))
        return "refused: the request's Referer is not a page of this master";
    return NULL;
}
