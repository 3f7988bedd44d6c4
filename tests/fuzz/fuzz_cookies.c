// tests/fuzz/fuzz_cookies.c - the cookie jar on any Set-Cookie header a
// server under test could send: the input's lines are header lines of
// responses to a few URLs (the first byte of each line picks the URL and
// the clock), then the jar answers Cookie headers for those URLs.
//
// Checked: a Cookie header never holds a CR, LF or NUL (it goes into a
// request as it is), and never more cookies than the jar has.
#include "common/buf.h"
#include "common/cookies.h"
#include "tests/fuzz/fuzz.h"

static const char *const s_urls[] = {
    "http://api.example.com/api/v1/login",
    "https://example.com/",
    "http://127.0.0.1:8080/a/b/c?q=1",
    "wss://x.api.example.com/ws",
    "http://[::1]:80/",
    "http://localhost/p/",
};
#define S_NURLS (sizeof s_urls / sizeof s_urls[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apex_cookie_jar_t *jar = apex_cookie_jar_new();
    const char *text = (const char *)data;
    const char *end = text + size;
    double now = 1700000000.0;
    for (const char *line = text; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        const char *next = eol ? eol + 1 : end;
        if (!eol)
            eol = end;
        if (eol > line) {
            unsigned char pick = (unsigned char)line[0];
            now += pick >> 4; // the clock moves on
            // Exactly-sized copy, so ASan sees any overread.
            size_t len = (size_t)(eol - line - 1);
            char *exact = apex_calloc(1, len + 1);
            memcpy(exact, line + 1, len);
            apex_cookie_jar_set(jar, s_urls[pick % S_NURLS], exact, len, now);
            apex_cookie_jar_set_from_headers(jar, s_urls[(pick + 1) % S_NURLS],
                                             exact, len, now);
            free(exact);
        }
        line = next;
    }
    apex_buf_t out;
    apex_buf_init(&out);
    for (size_t i = 0; i < S_NURLS; i++) {
        apex_buf_reset(&out);
        size_t n = apex_cookie_jar_header(jar, s_urls[i], now, &out);
        FUZZ_CHECK(n <= apex_cookie_jar_size(jar), "%zu cookies of %zu", n,
                   apex_cookie_jar_size(jar));
        FUZZ_CHECK(!memchr(out.data ? out.data : "", '\r', out.len) &&
                       !memchr(out.data ? out.data : "", '\n', out.len) &&
                       !memchr(out.data ? out.data : "", '\0', out.len),
                   "a control byte in the Cookie header");
    }
    double t;
    apex_cookie_parse_date(text, size, &t);
    apex_buf_fini(&out);
    apex_cookie_jar_destroy(&jar);
    return 0;
}
