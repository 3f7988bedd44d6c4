// worker/http1_target.c - see http1_target.h. The checks are those that
// make libcurl 7.88 refuse a URL (CURLE_URL_MALFORMAT): no spaces or
// control characters anywhere, a host of name characters or a bracketed
// IPv6 address, a decimal port up to 65535, no user information (which
// libcurl would turn into credentials: the plain engine leaves such URLs
// to it). A fragment is not sent.
#include "worker/http1_target.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WORKER_HTTP1_PORT_MAX 65535 // the highest TCP port
#define WORKER_HTTP1_PORT_HTTP 80   // http:// without a port

static bool s_host_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_';
}

// host[:port] (or [v6][:port]) of len bytes into out.
static worker_http1_url_t s_authority(const char *a, size_t len,
                                      worker_http1_target_t *out)
{
    const char *end = a + len, *host = a, *host_end;
    if (len == 0)
        return WORKER_HTTP1_URL_BAD;
    if (*a == '[') {
        const char *close = memchr(a, ']', len);
        if (!close)
            return WORKER_HTTP1_URL_BAD;
        host = a + 1;
        host_end = close;
        out->ipv6 = true;
        for (const char *c = host; c < host_end; c++)
            if (!isxdigit((unsigned char)*c) && *c != ':' && *c != '.')
                return WORKER_HTTP1_URL_BAD;
        a = close + 1;
    } else {
        while (a < end && *a != ':')
            if (!s_host_char(*a++))
                return WORKER_HTTP1_URL_BAD;
        host_end = a;
    }
    size_t hlen = (size_t)(host_end - host);
    if (hlen == 0 || hlen >= sizeof out->host)
        return WORKER_HTTP1_URL_BAD;
    memcpy(out->host, host, hlen);
    out->host[hlen] = '\0';
    out->port = WORKER_HTTP1_PORT_HTTP;
    if (a == end)
        return WORKER_HTTP1_URL_OK;
    if (*a != ':' || a + 1 == end)
        return a + 1 == end && *a == ':' ? WORKER_HTTP1_URL_OK
                                         : WORKER_HTTP1_URL_BAD;
    long port = 0;
    for (const char *c = a + 1; c < end; c++) {
        if (!isdigit((unsigned char)*c) || port > WORKER_HTTP1_PORT_MAX)
            return WORKER_HTTP1_URL_BAD;
        port = port * 10 + (*c - '0');
    }
    if (port > WORKER_HTTP1_PORT_MAX)
        return WORKER_HTTP1_URL_BAD;
    out->port = (int)port;
    return WORKER_HTTP1_URL_OK;
}

worker_http1_url_t worker_http1_target_parse(const char *url,
                                             worker_http1_target_t *out)
{
    memset(out, 0, sizeof *out);
    const char *sep = strstr(url, "://");
    if (!sep)
        return WORKER_HTTP1_URL_SCHEME; // libcurl guesses one: not ours
    for (const char *c = url; c < sep; c++)
        if (!isalnum((unsigned char)*c) && *c != '+' && *c != '-' && *c != '.')
            return WORKER_HTTP1_URL_BAD;
    size_t slen = (size_t)(sep - url);
    bool http = slen == 4 && strncasecmp(url, "http", 4) == 0;
    bool https = slen == 5 && strncasecmp(url, "https", 5) == 0;
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            return WORKER_HTTP1_URL_BAD;
    if (https)
        return WORKER_HTTP1_URL_HTTPS;
    if (!http)
        return WORKER_HTTP1_URL_SCHEME;
    const char *a = sep + 3;
    size_t alen = strcspn(a, "/?#");
    if (memchr(a, '@', alen))
        return WORKER_HTTP1_URL_SCHEME; // credentials: libcurl's job
    worker_http1_url_t rc = s_authority(a, alen, out);
    if (rc != WORKER_HTTP1_URL_OK)
        return rc;
    out->authority = a;
    out->authority_len = alen;
    const char *t = a + alen;
    out->target_len = strcspn(t, "#");
    out->target = t;
    return WORKER_HTTP1_URL_OK;
}

// True when the NO_PROXY list no names host: "*", an exact name or
// address, or a domain it ends in (".example.com" or "example.com").
static bool s_no_proxy(const char *no, const char *host)
{
    size_t hlen = strlen(host);
    while (*no) {
        no += strspn(no, ", \t");
        size_t n = strcspn(no, ", \t");
        const char *e = no;
        if (n == 1 && *e == '*')
            return true;
        if (n > 0 && *e == '.') {
            e++;
            n--;
        }
        if (n > 0 && n <= hlen && strncasecmp(host + hlen - n, e, n) == 0 &&
            (n == hlen || host[hlen - n - 1] == '.'))
            return true;
        no += n;
    }
    return false;
}

void worker_http1_env_read(worker_http1_env_t *env)
{
    const char *proxy = getenv("http_proxy");
    if (!proxy || !*proxy)
        proxy = getenv("all_proxy");
    if (!proxy || !*proxy)
        proxy = getenv("ALL_PROXY");
    const char *no = getenv("no_proxy");
    if (!no || !*no)
        no = getenv("NO_PROXY");
    env->proxy = proxy && *proxy ? proxy : NULL;
    env->no_proxy = no && *no ? no : NULL;
}

bool worker_http1_env_proxy(const worker_http1_env_t *env, const char *host)
{
    if (!env->proxy)
        return false;
    return !(env->no_proxy && s_no_proxy(env->no_proxy, host));
}
