// tests/unit/test_cookies.c - the cookie jar: RFC 6265's storage model
// (domain, path, expiry, Secure, replacement and deletion), the Cookie
// header's order, cookie dates, limits and hostile input.
#include "tests/unit/tests.h"

#include <math.h>

#include "common/buf.h"
#include "common/cookies.h"

#define T0 1700000000.0 // a wall time for the tests

// The Cookie header for url at time now, as a string in a static buffer.
static const char *s_header(apex_cookie_jar_t *jar, const char *url, double now)
{
    static char text[1024];
    apex_buf_t out;
    apex_buf_init(&out);
    apex_cookie_jar_header(jar, url, now, &out);
    snprintf(text, sizeof text, "%s", apex_buf_str(&out));
    apex_buf_fini(&out);
    return text;
}

static bool s_set(apex_cookie_jar_t *jar, const char *url, const char *v,
                  double now)
{
    return apex_cookie_jar_set(jar, url, v, strlen(v), now);
}

static void s_test_scope(void)
{
    apex_cookie_jar_t *jar = apex_cookie_jar_new();
    const char *login = "http://api.example.com:8080/api/v1/login";
    CHECK(s_set(jar, login, "sid=abc; Path=/; HttpOnly", T0));
    CHECK(s_set(jar, login, "pref=1", T0)); // default path /api/v1
    CHECK(s_set(jar, login, "wide=w; Domain=.Example.com; Path=/api", T0));
    CHECK_EQ(apex_cookie_jar_size(jar), 3);
    CHECK_STR(s_header(jar, "http://api.example.com/api/v1/tasks", T0),
              "pref=1; wide=w; sid=abc");
    CHECK_STR(s_header(jar, "http://api.example.com/health", T0), "sid=abc");
    // Host-only: not for a subdomain; the Domain cookie is.
    CHECK_STR(s_header(jar, "http://x.api.example.com/api/q", T0), "wide=w");
    CHECK_STR(s_header(jar, "http://example.com/api", T0), "wide=w");
    // /api does not path-match /apis.
    CHECK_STR(s_header(jar, "http://example.com/apis", T0), "");
    CHECK_STR(s_header(jar, "http://other.com/", T0), "");
    // A Domain the host does not match, or a dotless one, is ignored.
    CHECK(!s_set(jar, login, "x=1; Domain=other.com", T0));
    CHECK(!s_set(jar, login, "x=1; Domain=com", T0));
    CHECK(s_set(jar, "http://localhost:1/", "l=1; Domain=localhost", T0));
    CHECK_STR(s_header(jar, "http://localhost:2/a", T0), "l=1");
    // IP addresses match only themselves.
    CHECK(s_set(jar, "http://127.0.0.1:9/", "ip=1", T0));
    CHECK_STR(s_header(jar, "http://127.0.0.1:10/z", T0), "ip=1");
    CHECK(!s_set(jar, "http://1.127.0.0.1/", "ip=2; Domain=127.0.0.1", T0));
    apex_cookie_jar_destroy(&jar);
}

static void s_test_expiry(void)
{
    apex_cookie_jar_t *jar = apex_cookie_jar_new();
    const char *u = "https://h.test/";
    CHECK(s_set(jar, u, "a=1; Max-Age=10", T0));
    CHECK(s_set(jar, u, "b=2; Expires=Wed, 21 Oct 2099 07:28:00 GMT", T0));
    CHECK(s_set(jar, u, "c=3; Expires=Wed, 21 Oct 2000 07:28:00 GMT", T0));
    CHECK(s_set(jar, u,
                "d=4; Max-Age=100; Expires=Thu, 01 Jan 1970 "
                "00:00:00 GMT",
                T0)); // Max-Age wins
    CHECK_STR(s_header(jar, u, T0), "a=1; b=2; d=4");
    CHECK_STR(s_header(jar, u, T0 + 11), "b=2; d=4");
    CHECK_EQ(apex_cookie_jar_size(jar), 2);
    // Deleting by an expiry in the past, and by Max-Age=0.
    CHECK(s_set(jar, u, "b=; Max-Age=0", T0));
    CHECK(s_set(jar, u, "d=x; Max-Age=-5", T0));
    CHECK_STR(s_header(jar, u, T0), "");
    CHECK_EQ(apex_cookie_jar_size(jar), 0);
    // A bad Max-Age or Expires is ignored: a session cookie.
    CHECK(s_set(jar, u, "s=1; Max-Age=1x; Expires=never", T0));
    CHECK_STR(s_header(jar, u, T0 + 1e9), "s=1");
    apex_cookie_jar_destroy(&jar);
}

static void s_test_replace_and_order(void)
{
    apex_cookie_jar_t *jar = apex_cookie_jar_new();
    const char *u = "http://h.test/a/b/c";
    CHECK(s_set(jar, u, "x=1; Path=/", T0));
    CHECK(s_set(jar, u, "y=2; Path=/", T0));
    CHECK(s_set(jar, u, "z=3; Path=/a/b", T0));
    CHECK(s_set(jar, u, "x=9; Path=/", T0)); // replaced, keeps its age
    CHECK_EQ(apex_cookie_jar_size(jar), 3);
    CHECK_STR(s_header(jar, u, T0), "z=3; x=9; y=2");
    // Same name, other path: two cookies.
    CHECK(s_set(jar, u, "x=8; Path=/a", T0));
    CHECK_STR(s_header(jar, u, T0), "z=3; x=8; x=9; y=2");
    apex_cookie_jar_clear(jar);
    CHECK_EQ(apex_cookie_jar_size(jar), 0);
    apex_cookie_jar_destroy(&jar);
}

static void s_test_secure(void)
{
    apex_cookie_jar_t *jar = apex_cookie_jar_new();
    CHECK(s_set(jar, "https://h.test/", "s=1; Secure", T0));
    CHECK(s_set(jar, "https://h.test/", "p=2", T0));
    CHECK_STR(s_header(jar, "https://h.test/x", T0), "s=1; p=2");
    CHECK_STR(s_header(jar, "http://h.test/x", T0), "p=2");
    CHECK_STR(s_header(jar, "wss://h.test/ws", T0), "s=1; p=2");
    apex_cookie_jar_destroy(&jar);
}

static void s_test_headers(void)
{
    apex_cookie_jar_t *jar = apex_cookie_jar_new();
    const char block[] = "HTTP/1.1 200 OK\r\n"
                         "Content-Type: text/plain\r\n"
                         "set-cookie: a=1\r\n"
                         "Set-Cookie:  b = two ; Path=/\r\n"
                         "Set-Cookie: bad\r\n"
                         "Set-Cookie: c=3"; // no line end
    CHECK_EQ(apex_cookie_jar_set_from_headers(jar, "http://h.test/", block,
                                              sizeof block - 1, T0),
             3);
    CHECK_STR(s_header(jar, "http://h.test/", T0), "a=1; b=two; c=3");
    CHECK_EQ(
        apex_cookie_jar_set_from_headers(jar, "http://h.test/", NULL, 0, T0),
        0);
    apex_cookie_jar_destroy(&jar);
}

static void s_test_dates(void)
{
    double t = 0;
    CHECK(apex_cookie_parse_date("Wed, 21 Oct 2015 07:28:00 GMT", 29, &t));
    CHECK_EQ((long long)t, 1445412480LL);
    CHECK(apex_cookie_parse_date("Sunday, 06-Nov-94 08:49:37 GMT", 30, &t));
    CHECK_EQ((long long)t, 784111777LL);
    CHECK(apex_cookie_parse_date("Sun Nov  6 08:49:37 1994", 24, &t));
    CHECK_EQ((long long)t, 784111777LL);
    CHECK(!apex_cookie_parse_date("31 Feb 2020 00:00:00", 20, &t));
    CHECK(!apex_cookie_parse_date("1 Jan 1600 00:00:00", 19, &t));
    CHECK(!apex_cookie_parse_date("1 Jan 2020 24:00:00", 19, &t));
    CHECK(!apex_cookie_parse_date("", 0, &t));
    CHECK(!apex_cookie_parse_date("12:00:00", 8, &t));
}

static void s_test_hostile(void)
{
    apex_cookie_jar_t *jar = apex_cookie_jar_new();
    const char *u = "http://h.test/";
    CHECK(!s_set(jar, u, "", T0));
    CHECK(!s_set(jar, u, "noequals", T0));
    CHECK(!s_set(jar, u, "=value", T0));
    CHECK(!s_set(jar, u, "a=b\rInjected: 1", T0));
    CHECK(!s_set(jar, "ftp://h.test/", "a=1", T0));
    CHECK(!s_set(jar, "/relative", "a=1", T0));
    CHECK(!s_set(jar, "http://", "a=1", T0));
    CHECK(!s_set(jar, "http://[::1/", "a=1", T0));
    CHECK(s_set(jar, "http://user:pw@[::1]:80/p?q#f", "v6=1", T0));
    CHECK_STR(s_header(jar, "http://[::1]/", T0), "v6=1");
    char big[APEX_COOKIE_MAX_BYTES + 8];
    memset(big, 'v', sizeof big - 1);
    big[0] = 'k';
    big[1] = '=';
    big[sizeof big - 1] = '\0';
    CHECK(!s_set(jar, u, big, T0));
    CHECK(apex_cookie_jar_set(jar, u, ";;;=;", 5, T0) == false);
    // Limits: per domain, then in all, the least recently used go.
    for (int i = 0; i < APEX_COOKIE_MAX_PER_DOMAIN + 5; i++) {
        char v[32];
        snprintf(v, sizeof v, "c%d=%d", i, i);
        CHECK(s_set(jar, u, v, T0));
    }
    CHECK_EQ(apex_cookie_jar_size(jar), APEX_COOKIE_MAX_PER_DOMAIN + 1);
    for (int i = 0; i < APEX_COOKIE_MAX_COUNT * 2; i++) {
        char host[64], v[32];
        snprintf(host, sizeof host, "http://h%d.test/", i);
        snprintf(v, sizeof v, "c=%d", i);
        CHECK(s_set(jar, host, v, T0));
    }
    CHECK_EQ(apex_cookie_jar_size(jar), APEX_COOKIE_MAX_COUNT);
    apex_cookie_jar_destroy(&jar);
    apex_cookie_jar_destroy(&jar); // safe twice
    CHECK(jar == NULL);
}

void test_cookies(bool verbose)
{
    (void)verbose;
    s_test_scope();
    s_test_expiry();
    s_test_replace_and_order();
    s_test_secure();
    s_test_headers();
    s_test_dates();
    s_test_hostile();
}
