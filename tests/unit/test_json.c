// tests/unit/test_json.c - JSON text helpers (common/json.c): escaping
// every class of byte for a JSON string (the result must parse back to
// the input), and the plain text of a value of every type.
#include "tests/unit/tests.h"

#include <stdlib.h>

#include "common/buf.h"
#include "common/json.h"

#define S_CONTROL_END 0x20 // bytes below are control characters

// The text of the JSON value parsed from json (a new string).
static char *s_text(const char *json)
{
    json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
    CHECK(v);
    char *text = apex_json_text(v);
    json_decref(v);
    return text;
}

#define CHECK_TEXT(json, expected)                                             \
    do {                                                                       \
        char *text_ = s_text(json);                                            \
        CHECK_STR(text_, (expected));                                          \
        free(text_);                                                           \
    } while (0)

static void s_test_escape(void)
{
    apex_buf_t out;
    apex_buf_init(&out);
    apex_json_escape(&out, "", 0);
    CHECK_STR(apex_buf_str(&out), "");
    apex_json_escape(&out, "plain é", 8);
    CHECK_STR(apex_buf_str(&out), "plain é");
    apex_buf_reset(&out);
    apex_json_escape(&out, "\"\\\n\r\t\b\f\x01\x1f/", 10);
    CHECK_STR(apex_buf_str(&out), "\\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u001f/");
    // Every byte below 0x20, and a NUL in the middle, round-trip.
    char all[S_CONTROL_END + 2];
    for (int i = 0; i < S_CONTROL_END; i++)
        all[i] = (char)i;
    all[S_CONTROL_END] = '"';
    all[S_CONTROL_END + 1] = 'x';
    apex_buf_reset(&out);
    apex_buf_putc(&out, '"');
    apex_json_escape(&out, all, sizeof all);
    apex_buf_putc(&out, '"');
    json_t *v =
        json_loadb(out.data, out.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    CHECK(json_is_string(v));
    CHECK_EQ(json_string_length(v), sizeof all);
    CHECK(memcmp(json_string_value(v), all, sizeof all) == 0);
    json_decref(v);
    apex_buf_fini(&out);
}

static void s_test_text(void)
{
    CHECK_TEXT("\"text\"", "text");
    CHECK_TEXT("\"\"", "");
    CHECK_TEXT("42", "42");
    CHECK_TEXT("-9223372036854775808", "-9223372036854775808");
    CHECK_TEXT("2.5", "2.5");
    CHECK_TEXT("0.1", "0.1");
    CHECK_TEXT("1e-05", "1e-05");
    CHECK_TEXT("2.0", "2.0");
    CHECK_TEXT("1e300", "1e+300");
    CHECK_TEXT("true", "true");
    CHECK_TEXT("false", "false");
    CHECK_TEXT("null", "null");
    CHECK_TEXT("[1, {\"b\": 2, \"a\": [\"x\"]}]",
               "[1,{\"b\":2,\"a\":[\"x\"]}]");
    CHECK_TEXT("{}", "{}");
}

void test_json(bool verbose)
{
    (void)verbose;
    s_test_escape();
    s_test_text();
}
