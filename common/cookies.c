// common/cookies.c - see cookies.h.
//
// A jar is an array of cookies searched linearly: a simulated user holds a
// handful, so a scan is cheaper than any index. Each cookie owns its name,
// value, domain and path; creation order is a counter (not the clock), so
// two cookies set in the same second still sort as RFC 6265 asks.
//
// URLs are split here (scheme, host, path) rather than by an HTTP
// library, so every engine feeding the jar scopes cookies alike. Hosts are
// compared in lower case; an IP address (v4, or v6 in brackets) never
// domain-matches anything but itself.
//
// Limits: a cookie over APEX_COOKIE_MAX_BYTES is ignored; past
// APEX_COOKIE_MAX_PER_DOMAIN cookies for a domain, or APEX_COOKIE_MAX_COUNT
// in all, expired cookies go first, then the least recently used.
#include "common/cookies.h"

#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/alloc.h"

#define APEX_COOKIE_MIN_YEAR 1601 // RFC 6265 5.1.1: earlier years fail
#define APEX_COOKIE_MAX_AGE 1e11  // seconds; later is "never" enough
#define APEX_COOKIE_HOST_MAX 255  // bytes of a host name

typedef struct {
    char *name;       // cookie name
    char *value;      // its value
    char *domain;     // lower case, no leading dot
    char *path;       // starts with "/"
    double expires;   // unix seconds; INFINITY for a session cookie
    uint64_t created; // creation order
    uint64_t used;    // last use order (for eviction)
    bool host_only;   // sent to domain exactly, not its subdomains
    bool secure;      // only over https:// and wss://
    bool http_only;   // kept for completeness: we are an HTTP API
} s_cookie_t;

struct apex_cookie_jar {
    s_cookie_t *cookies; // stored cookies, unordered
    size_t n;            // their number
    size_t cap;          // slots allocated
    uint64_t clock;      // creation and use counter
};

// A request URL taken apart: host and path point into a buffer.
typedef struct {
    bool secure;                         // https:// or wss://
    char host[APEX_COOKIE_HOST_MAX + 1]; // lower case, no port, no brackets
    const char *path;                    // from the first "/" (or "/")
    size_t path_len;                     // up to "?" or "#"
} s_url_t;

apex_cookie_jar_t *apex_cookie_jar_new(void)
{
    return apex_calloc(1, sizeof(apex_cookie_jar_t));
}

static void s_cookie_fini(s_cookie_t *c)
{
    free(c->name);
    free(c->value);
    free(c->domain);
    free(c->path);
    memset(c, 0, sizeof *c);
}

void apex_cookie_jar_clear(apex_cookie_jar_t *self)
{
    assert(self);
    for (size_t i = 0; i < self->n; i++)
        s_cookie_fini(&self->cookies[i]);
    self->n = 0;
}

void apex_cookie_jar_destroy(apex_cookie_jar_t **self_p)
{
    assert(self_p);
    apex_cookie_jar_t *self = *self_p;
    if (!self)
        return;
    apex_cookie_jar_clear(self);
    free(self->cookies);
    free(self);
    *self_p = NULL;
}

size_t apex_cookie_jar_size(const apex_cookie_jar_t *self)
{
    assert(self);
    return self->n;
}

// Remove cookie i (order does not matter).
static void s_remove(apex_cookie_jar_t *self, size_t i)
{
    s_cookie_fini(&self->cookies[i]);
    self->cookies[i] = self->cookies[--self->n];
}

// ---------------------------------------------------------------------
// URLs, domains and paths

static bool s_scheme(const char *url, const char *scheme, const char **rest)
{
    size_t n = strlen(scheme);
    if (strncasecmp(url, scheme, n) != 0 || strncmp(url + n, "://", 3) != 0)
        return false;
    *rest = url + n + 3;
    return true;
}

// Split an absolute URL; false when it is not one we know.
static bool s_parse_url(const char *url, s_url_t *out)
{
    const char *p;
    if (s_scheme(url, "https", &p) || s_scheme(url, "wss", &p))
        out->secure = true;
    else if (s_scheme(url, "http", &p) || s_scheme(url, "ws", &p))
        out->secure = false;
    else
        return false;
    size_t auth_len = strcspn(p, "/?#");
    const char *auth = p;
    const char *at = memrchr(auth, '@', auth_len);
    if (at) {
        auth_len -= (size_t)(at + 1 - auth);
        auth = at + 1;
    }
    size_t host_len = auth_len;
    if (auth_len && auth[0] == '[') {
        const char *close = memchr(auth, ']', auth_len);
        if (!close)
            return false;
        auth++;
        host_len = (size_t)(close - auth);
    } else {
        const char *colon = memchr(auth, ':', auth_len);
        if (colon)
            host_len = (size_t)(colon - auth);
    }
    if (host_len == 0 || host_len > APEX_COOKIE_HOST_MAX)
        return false;
    for (size_t i = 0; i < host_len; i++)
        out->host[i] = (char)tolower((unsigned char)auth[i]);
    out->host[host_len] = '\0';
    if (out->host[host_len - 1] == '.') // "example.com." is example.com
        out->host[host_len - 1] = '\0';
    const char *path = p + strcspn(p, "/?#");
    out->path = *path == '/' ? path : "/";
    out->path_len = *path == '/' ? strcspn(path, "?#") : 1;
    return out->host[0] != '\0';
}

// True for a dotted IPv4 address or an IPv6 one (it has a ':').
static bool s_is_ip(const char *host)
{
    if (strchr(host, ':'))
        return true;
    for (const char *p = host; *p; p++)
        if (!isdigit((unsigned char)*p) && *p != '.')
            return false;
    return true;
}

// RFC 6265 5.1.3.
static bool s_domain_match(const char *host, const char *domain)
{
    if (strcmp(host, domain) == 0)
        return true;
    size_t h = strlen(host), d = strlen(domain);
    return h > d && host[h - d - 1] == '.' &&
           strcmp(host + h - d, domain) == 0 && !s_is_ip(host);
}

// RFC 6265 5.1.4.
static bool s_path_match(const s_url_t *u, const char *cookie_path)
{
    size_t n = strlen(cookie_path);
    if (n > u->path_len || strncmp(u->path, cookie_path, n) != 0)
        return false;
    return n == u->path_len || cookie_path[n - 1] == '/' || u->path[n] == '/';
}

// RFC 6265 5.1.4's default-path: the request path up to its last "/".
static char *s_default_path(const s_url_t *u)
{
    const char *last = memrchr(u->path, '/', u->path_len);
    if (!last || last == u->path)
        return apex_strdup("/");
    return apex_strndup(u->path, (size_t)(last - u->path));
}

// ---------------------------------------------------------------------
// Dates (RFC 6265 5.1.1)

static bool s_delimiter(unsigned char c)
{
    return c == 0x09 || (c >= 0x20 && c <= 0x2F) || (c >= 0x3B && c <= 0x40) ||
           (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
}

// 1 to max digits at t (len bytes), then anything but a digit. -1 if not.
static int s_digits(const char *t, size_t len, size_t min, size_t max)
{
    size_t i = 0;
    int v = 0;
    while (i < len && isdigit((unsigned char)t[i]) && i < max)
        v = v * 10 + (t[i++] - '0');
    if (i < min || (i < len && isdigit((unsigned char)t[i])))
        return -1;
    return v;
}

// "h:m:s" with 1-2 digits each, then non-digits.
static bool s_time(const char *t, size_t len, int hms[3])
{
    size_t i = 0;
    for (int k = 0; k < 3; k++) {
        int v = s_digits(t + i, len - i, 1, 2);
        if (v < 0)
            return false;
        hms[k] = v;
        while (i < len && isdigit((unsigned char)t[i]))
            i++;
        if (k < 2 && (i >= len || t[i++] != ':'))
            return false;
    }
    return true;
}

static int s_month(const char *t, size_t len)
{
    static const char *const months[] = {"jan", "feb", "mar", "apr",
                                         "may", "jun", "jul", "aug",
                                         "sep", "oct", "nov", "dec"};
    if (len < 3)
        return -1;
    for (int m = 0; m < 12; m++)
        if (strncasecmp(t, months[m], 3) == 0)
            return m;
    return -1;
}

// The fields a cookie-date's tokens give.
typedef struct {
    int hms[3];     // time
    int day;        // day of month
    int month;      // 0..11
    int year;       // full year
    bool has_time;  // found
    bool has_day;   // found
    bool has_month; // found
    bool has_year;  // found
} s_date_t;

static void s_date_token(s_date_t *d, const char *t, size_t len)
{
    if (!d->has_time && s_time(t, len, d->hms)) {
        d->has_time = true;
        return;
    }
    int day = d->has_day ? -1 : s_digits(t, len, 1, 2);
    if (day >= 0) {
        d->has_day = true;
        d->day = day;
        return;
    }
    int month = d->has_month ? -1 : s_month(t, len);
    if (month >= 0) {
        d->has_month = true;
        d->month = month;
        return;
    }
    int year = d->has_year ? -1 : s_digits(t, len, 2, 4);
    if (year >= 0) {
        d->has_year = true;
        d->year = year;
    }
}

bool apex_cookie_parse_date(const char *text, size_t len, double *out)
{
    s_date_t d;
    memset(&d, 0, sizeof d);
    for (size_t i = 0; i < len;) {
        while (i < len && s_delimiter((unsigned char)text[i]))
            i++;
        size_t start = i;
        while (i < len && !s_delimiter((unsigned char)text[i]))
            i++;
        if (i > start)
            s_date_token(&d, text + start, i - start);
    }
    if (d.has_year && d.year >= 70 && d.year <= 99)
        d.year += 1900;
    else if (d.has_year && d.year <= 69)
        d.year += 2000;
    if (!d.has_time || !d.has_day || !d.has_month || !d.has_year || d.day < 1 ||
        d.day > 31 || d.year < APEX_COOKIE_MIN_YEAR || d.hms[0] > 23 ||
        d.hms[1] > 59 || d.hms[2] > 59)
        return false;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = d.year - 1900;
    tm.tm_mon = d.month;
    tm.tm_mday = d.day;
    tm.tm_hour = d.hms[0];
    tm.tm_min = d.hms[1];
    tm.tm_sec = d.hms[2];
    time_t t = timegm(&tm);
    if (tm.tm_mday != d.day) // 31 Feb rolled over into March
        return false;
    *out = (double)t;
    return true;
}

// ---------------------------------------------------------------------
// Set-Cookie

// True when [s, e) holds a control character (RFC 6265bis ignores such
// cookies; sent on, a CR would split our Cookie header).
static bool s_has_control(const char *s, const char *e)
{
    for (; s < e; s++)
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
            return true;
    return false;
}

// [s, e) without leading and trailing spaces and tabs.
static void s_trim(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
}

// What the attributes of one Set-Cookie say.
typedef struct {
    double expires; // from Expires, or NAN
    double max_age; // from Max-Age (seconds), or NAN
    char *domain;   // lower case without a leading dot, or NULL
    char *path;     // or NULL (the default path)
    bool secure;    // Secure
    bool http_only; // HttpOnly
} s_attrs_t;

// A Max-Age value: an optional "-" then digits only.
static bool s_max_age(const char *v, size_t len, double *out)
{
    size_t i = len && v[0] == '-' ? 1 : 0;
    if (i == len)
        return false;
    double age = 0;
    for (size_t k = i; k < len; k++) {
        if (!isdigit((unsigned char)v[k]))
            return false;
        if (age < APEX_COOKIE_MAX_AGE)
            age = age * 10 + (v[k] - '0');
    }
    *out = i ? -age : age;
    return true;
}

static void s_attribute(s_attrs_t *a, const char *name, size_t nlen,
                        const char *v, size_t vlen)
{
    double t;
#define S_IS(word)                                                             \
    (nlen == sizeof word - 1 && strncasecmp(name, word, nlen) == 0)
    if (S_IS("expires") && apex_cookie_parse_date(v, vlen, &t)) {
        a->expires = t;
    } else if (S_IS("max-age") && s_max_age(v, vlen, &t)) {
        a->max_age = t;
    } else if (S_IS("domain") && vlen > 0) {
        if (v[0] == '.') {
            v++;
            vlen--;
        }
        free(a->domain);
        a->domain = apex_strndup(v, vlen);
        for (char *p = a->domain; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    } else if (S_IS("path")) {
        free(a->path);
        a->path = vlen > 0 && v[0] == '/' ? apex_strndup(v, vlen) : NULL;
    } else if (S_IS("secure")) {
        a->secure = true;
    } else if (S_IS("httponly")) {
        a->http_only = true;
    }
#undef S_IS
}

// Parse the attributes after the name-value pair (from ';' at p to end).
static void s_attributes(s_attrs_t *a, const char *p, const char *end)
{
    while (p < end) {
        p++; // the ';'
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *av_end = semi ? semi : end;
        const char *eq = memchr(p, '=', (size_t)(av_end - p));
        const char *n = p, *ne = eq ? eq : av_end;
        const char *v = eq ? eq + 1 : av_end, *ve = av_end;
        s_trim(&n, &ne);
        s_trim(&v, &ve);
        s_attribute(a, n, (size_t)(ne - n), v, (size_t)(ve - v));
        p = av_end;
    }
}

// Make room for one more cookie of domain: drop expired cookies, then
// the least recently used of the domain (or of the jar).
static void s_make_room(apex_cookie_jar_t *self, const char *domain, double now)
{
    for (size_t i = self->n; i-- > 0;)
        if (self->cookies[i].expires <= now)
            s_remove(self, i);
    size_t same = 0;
    for (size_t i = 0; i < self->n; i++)
        same += strcmp(self->cookies[i].domain, domain) == 0;
    while (same >= APEX_COOKIE_MAX_PER_DOMAIN ||
           self->n >= APEX_COOKIE_MAX_COUNT) {
        bool per_domain = same >= APEX_COOKIE_MAX_PER_DOMAIN;
        size_t victim = self->n;
        for (size_t i = 0; i < self->n; i++) {
            if (per_domain && strcmp(self->cookies[i].domain, domain) != 0)
                continue;
            if (victim == self->n ||
                self->cookies[i].used < self->cookies[victim].used)
                victim = i;
        }
        if (per_domain)
            same--;
        s_remove(self, victim);
    }
}

// Store c (owned) as RFC 6265 5.3 steps 11 and 12 say.
static void s_store(apex_cookie_jar_t *self, s_cookie_t *c, double now)
{
    for (size_t i = 0; i < self->n; i++) {
        s_cookie_t *old = &self->cookies[i];
        if (strcmp(old->name, c->name) != 0 ||
            strcmp(old->domain, c->domain) != 0 ||
            strcmp(old->path, c->path) != 0)
            continue;
        c->created = old->created;
        s_remove(self, i);
        break;
    }
    if (c->expires <= now) { // a deletion
        s_cookie_fini(c);
        return;
    }
    s_make_room(self, c->domain, now);
    if (self->n == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 8;
        self->cookies =
            apex_realloc(self->cookies, self->cap, sizeof *self->cookies);
    }
    c->used = ++self->clock;
    self->cookies[self->n++] = *c;
}

// The cookie's domain from its attribute, or false to ignore the cookie.
static bool s_scope(s_cookie_t *c, s_attrs_t *a, const s_url_t *u)
{
    if (!a->domain || strcmp(a->domain, u->host) == 0) {
        c->host_only = true;
        c->domain = apex_strdup(u->host);
        return true;
    }
    // No public suffix list: a dotless domain ("com") only as the host.
    if (!strchr(a->domain, '.') || !s_domain_match(u->host, a->domain))
        return false;
    c->domain = a->domain;
    a->domain = NULL;
    return true;
}

bool apex_cookie_jar_set(apex_cookie_jar_t *self, const char *url,
                         const char *value, size_t len, double now)
{
    assert(self && url && (value || len == 0));
    s_url_t u;
    if (!s_parse_url(url, &u))
        return false;
    const char *end = value + len;
    const char *semi = memchr(value, ';', len);
    const char *pair_end = semi ? semi : end;
    const char *eq = memchr(value, '=', (size_t)(pair_end - value));
    if (!eq)
        return false;
    const char *n = value, *ne = eq, *v = eq + 1, *ve = pair_end;
    s_trim(&n, &ne);
    s_trim(&v, &ve);
    if (ne == n ||
        (size_t)(ne - n) + (size_t)(ve - v) > APEX_COOKIE_MAX_BYTES ||
        s_has_control(n, ne) || s_has_control(v, ve))
        return false;
    s_attrs_t a = {.expires = NAN, .max_age = NAN};
    s_attributes(&a, pair_end, end);
    s_cookie_t c;
    memset(&c, 0, sizeof c);
    bool ok = s_scope(&c, &a, &u);
    if (ok) {
        c.name = apex_strndup(n, (size_t)(ne - n));
        c.value = apex_strndup(v, (size_t)(ve - v));
        c.path = a.path ? a.path : s_default_path(&u);
        a.path = NULL;
        c.expires = !isnan(a.max_age)   ? now + a.max_age
                    : !isnan(a.expires) ? a.expires
                                        : INFINITY;
        c.secure = a.secure;
        c.http_only = a.http_only;
        c.created = ++self->clock;
        s_store(self, &c, now);
    }
    free(a.domain);
    free(a.path);
    return ok;
}

size_t apex_cookie_jar_set_from_headers(apex_cookie_jar_t *self,
                                        const char *url, const char *headers,
                                        size_t len, double now)
{
    static const char name[] = "set-cookie:";
    size_t changed = 0;
    const char *end = headers + len;
    for (const char *line = headers; headers && line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        const char *next = eol ? eol + 1 : end;
        if (!eol)
            eol = end;
        if (eol > line && eol[-1] == '\r')
            eol--;
        if ((size_t)(eol - line) >= sizeof name - 1 &&
            strncasecmp(line, name, sizeof name - 1) == 0)
            changed += apex_cookie_jar_set(
                self, url, line + sizeof name - 1,
                (size_t)(eol - line) - (sizeof name - 1), now);
        line = next;
    }
    return changed;
}

// ---------------------------------------------------------------------
// Cookie

// RFC 6265 5.4 step 2: longer paths first, then earlier creation.
static int s_order(const void *a, const void *b)
{
    const s_cookie_t *x = *(const s_cookie_t *const *)a;
    const s_cookie_t *y = *(const s_cookie_t *const *)b;
    size_t lx = strlen(x->path), ly = strlen(y->path);
    if (lx != ly)
        return lx > ly ? -1 : 1;
    return x->created < y->created ? -1 : x->created > y->created;
}

size_t apex_cookie_jar_header(apex_cookie_jar_t *self, const char *url,
                              double now, apex_buf_t *out)
{
    assert(self && url && out);
    s_url_t u;
    if (self->n == 0 || !s_parse_url(url, &u))
        return 0;
    for (size_t i = self->n; i-- > 0;)
        if (self->cookies[i].expires <= now)
            s_remove(self, i);
    s_cookie_t **pick = apex_calloc(self->n + 1, sizeof *pick);
    size_t n = 0;
    for (size_t i = 0; i < self->n; i++) {
        s_cookie_t *c = &self->cookies[i];
        bool domain = c->host_only ? strcmp(u.host, c->domain) == 0
                                   : s_domain_match(u.host, c->domain);
        if (domain && s_path_match(&u, c->path) && (!c->secure || u.secure))
            pick[n++] = c;
    }
    qsort(pick, n, sizeof *pick, s_order);
    for (size_t i = 0; i < n; i++) {
        pick[i]->used = ++self->clock;
        apex_buf_printf(out, "%s%s=%s", i ? "; " : "", pick[i]->name,
                        pick[i]->value);
    }
    free(pick);
    return n;
}
