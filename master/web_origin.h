// master/web_origin.h - who may change the test through the web API
// (POST /swarm, /stop, /stats/reset): the UI's own pages and clients that
// are not browsers (curl, scripts, Locust's tooling), but not a page of
// another site the operator happens to have open (cross-site request
// forgery: the review's finding 10). A browser says where a request
// comes from: Origin on every POST (and on cross-origin fetches),
// Sec-Fetch-Site on every request (Chrome 76, Firefox 90, Safari 16.4
// and later), Referer unless the page hides it. Other clients send none
// of these and are let through; a request whose headers name another
// origin is refused.
//
// Locust's API changes the test with GET /stop and GET /stats/reset; a
// GET is what an <img> on any page can send, so it is let through only
// when nothing says it comes from elsewhere, and the UI uses POST. The
// gap left: a browser too old for Sec-Fetch-Site, on a page that hides
// its Referer (README, "Security").
#ifndef MASTER_WEB_ORIGIN_H
#define MASTER_WEB_ORIGIN_H

#include "master/web.h"

// NULL when req (its method and headers) may change the test; otherwise
// why not, a static text for the 403 answer.
const char *master_web_origin_refusal(const master_web_request_t *req);

#endif
