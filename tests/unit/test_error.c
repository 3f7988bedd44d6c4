// tests/unit/test_error.c - the error buffer: set (and its va_list
// twin), prefix as an error travels up, truncation at APEX_ERROR_MAX
// without overflow, a NULL err that silently drops the message, and bad
// values quoted (and cut) for messages.
#include "tests/unit/tests.h"

#include "common/error.h"

// A function that fails the way modules do: return apex_error_set().
static int s_parse_port(const char *text, apex_error_t *err)
{
    if (strcmp(text, "5557") != 0)
        return apex_error_set(err, "port: expected 5557, got '%s'", text);
    return 0;
}

static int s_vset(apex_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int s_vset(apex_error_t *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = apex_error_vset(err, fmt, ap);
    va_end(ap);
    return rc;
}

// Quoting a bad value: whole up to APEX_ERROR_EXCERPT bytes, cut after
// that; nothing is escaped; a small buffer is not overrun.
static void s_test_quote(void)
{
    char quoted[APEX_ERROR_QUOTE_MAX];
    apex_error_quote("", quoted, sizeof quoted);
    CHECK_STR(quoted, "\"\"");
    apex_error_quote("a \"b\"", quoted, sizeof quoted);
    CHECK_STR(quoted, "\"a \"b\"\"");
    char text[APEX_ERROR_EXCERPT + 2];
    memset(text, 'q', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    apex_error_quote(text, quoted, sizeof quoted);
    CHECK_EQ(strlen(quoted), APEX_ERROR_EXCERPT + strlen("\"\"..."));
    CHECK(strcmp(quoted + APEX_ERROR_EXCERPT + 1, "\"...") == 0);
    text[APEX_ERROR_EXCERPT] = '\0'; // exactly the excerpt: whole
    apex_error_quote(text, quoted, sizeof quoted);
    CHECK_EQ(strlen(quoted), APEX_ERROR_EXCERPT + 2);
    char tiny[4];
    apex_error_quote("abcdef", tiny, sizeof tiny);
    CHECK_STR(tiny, "\"ab");
}

void test_error(bool verbose)
{
    (void)verbose;
    apex_error_t err = {""};
    CHECK(!apex_error_is_set(&err));
    CHECK(!apex_error_is_set(NULL));

    // set returns -1 and formats.
    CHECK_EQ(s_parse_port("5557", &err), 0);
    CHECK(!apex_error_is_set(&err));
    CHECK_EQ(s_parse_port("x", &err), -1);
    CHECK(apex_error_is_set(&err));
    CHECK_STR(err.msg, "port: expected 5557, got 'x'");
    CHECK_EQ(s_vset(&err, "%s: %d", "vset", 42), -1);
    CHECK_STR(err.msg, "vset: 42");

    // prefix adds context, outermost first.
    CHECK_EQ(s_parse_port("80", &err), -1);
    apex_error_prefix(&err, "--%s", "master-port");
    apex_error_prefix(&err, "apex-worker");
    CHECK_STR(err.msg, "apex-worker: --master-port: port: expected 5557, "
                       "got '80'");
    // A prefix on an empty message still reads sensibly.
    apex_error_t empty = {""};
    apex_error_prefix(&empty, "where");
    CHECK_STR(empty.msg, "where: ");

    // A NULL err drops the message but still returns -1.
    CHECK_EQ(apex_error_set(NULL, "dropped %d", 1), -1);
    CHECK_EQ(s_vset(NULL, "dropped %d", 2), -1);
    apex_error_prefix(NULL, "nothing");

    // Truncation: a message longer than the buffer is cut at
    // APEX_ERROR_MAX - 1 characters, and so is a prefixed one.
    char long_text[APEX_ERROR_MAX * 2];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    apex_error_set(&err, "%s", long_text);
    CHECK_EQ(strlen(err.msg), APEX_ERROR_MAX - 1);
    CHECK_EQ(err.msg[0], 'x');
    apex_error_prefix(&err, "stats.csv");
    CHECK_EQ(strlen(err.msg), APEX_ERROR_MAX - 1);
    CHECK(strncmp(err.msg, "stats.csv: xxx", 14) == 0);
    // A prefix longer than the buffer keeps the prefix's start only.
    apex_error_set(&err, "short");
    apex_error_prefix(&err, "%s", long_text);
    CHECK_EQ(strlen(err.msg), APEX_ERROR_MAX - 1);
    CHECK(strchr(err.msg, ':') == NULL);
    // A prefix that just fits leaves room for part of the old text.
    char fit[APEX_ERROR_MAX - 4];
    memset(fit, 'p', sizeof fit - 1);
    fit[sizeof fit - 1] = '\0';
    apex_error_set(&err, "old");
    apex_error_prefix(&err, "%s", fit);
    CHECK_EQ(strlen(err.msg), APEX_ERROR_MAX - 1);
    CHECK_STR(err.msg + strlen(fit), ": ol");

    // Format characters in the values are not interpreted.
    apex_error_set(&err, "%s", "100%s %n");
    apex_error_prefix(&err, "%s", "%d");
    CHECK_STR(err.msg, "%d: 100%s %n");

    s_test_quote();
}
