// tests/unit/test_url.c - absolute URLs in any case, joining without a
// doubled slash, percent-encoding of everything but unreserved bytes.
#include "tests/unit/tests.h"

#include <string.h>

#include "common/buf.h"
#include "common/url.h"

static void s_check_join(const char *base, const char *path,
                         const char *expected)
{
    apex_buf_t out;
    apex_buf_init(&out);
    apex_url_join(&out, base, path);
    CHECK_STR(apex_buf_str(&out), expected);
    apex_buf_fini(&out);
}

void test_url(bool verbose)
{
    (void)verbose;
    CHECK(apex_url_is_absolute("http://127.0.0.1:8080/x"));
    CHECK(apex_url_is_absolute("https://example.test"));
    CHECK(apex_url_is_absolute("HTTPS://EXAMPLE.TEST"));
    CHECK(apex_url_is_absolute("Http://x"));
    CHECK(!apex_url_is_absolute("/api/v1/tasks"));
    CHECK(!apex_url_is_absolute("ftp://x"));
    CHECK(!apex_url_is_absolute("file:///etc/passwd"));
    CHECK(!apex_url_is_absolute("http:/x"));
    CHECK(!apex_url_is_absolute(""));

    s_check_join("http://h:1", "/a", "http://h:1/a");
    s_check_join("http://h:1/", "/a", "http://h:1/a");
    s_check_join("http://h:1///", "/a?b=c", "http://h:1/a?b=c");
    s_check_join("http://h:1", "https://other/x", "https://other/x");
    s_check_join(NULL, "/a", "/a");
    s_check_join("", "/a", "/a");

    apex_buf_t out;
    apex_buf_init(&out);
    const char raw[] = "a b&c=d/é~._-\x01";
    apex_url_encode(&out, raw, strlen(raw));
    CHECK_STR(apex_buf_str(&out), "a%20b%26c%3Dd%2F%C3%A9~._-%01");
    apex_buf_reset(&out);
    apex_url_encode(&out, "x\0y", 3); // a NUL byte is data too
    CHECK_STR(apex_buf_str(&out), "x%00y");
    apex_buf_fini(&out);
}
