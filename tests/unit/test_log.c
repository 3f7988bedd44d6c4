// tests/unit/test_log.c - level names, the level filter, and the exact
// line format Locust uses ("[2026-11-27 10:00:00,123] host/INFO/name:
// message"), checked by sending stderr to a temporary file. The logger is
// process-wide state, which is fine here: each test runs in its own fork.
#include "tests/unit/tests.h"

#include <ctype.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

#define S_LINE_MAX 4096    // the logger's own limit on a line
#define S_LONG_TEXT 10000  // a message longer than that
#define S_CLOCK_SLACK 3600 // seconds; only catches a wrong date format

typedef struct {
    const char *text;       // level name as a user types it
    apex_log_level_t level; // what it parses to
} s_level_case_t;

static const s_level_case_t s_levels[] = {
    {"DEBUG", APEX_LOG_DEBUG},       {"debug", APEX_LOG_DEBUG},
    {"INFO", APEX_LOG_INFO},         {"Info", APEX_LOG_INFO},
    {"WARNING", APEX_LOG_WARNING},   {"warn", APEX_LOG_WARNING},
    {"ERROR", APEX_LOG_ERROR},       {"error", APEX_LOG_ERROR},
    {"CRITICAL", APEX_LOG_CRITICAL},
};

// Run the logging calls of `fn` with stderr sent to a file, and return
// what was written (the caller frees it).
static char *s_capture(void (*fn)(void))
{
    char path[] = "/tmp/apex-test-log-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    CHECK(saved >= 0);
    CHECK(dup2(fd, STDERR_FILENO) == STDERR_FILENO);
    fn();
    fflush(stderr);
    CHECK(dup2(saved, STDERR_FILENO) == STDERR_FILENO);
    close(saved);

    off_t size = lseek(fd, 0, SEEK_END);
    CHECK(size >= 0);
    char *text = calloc(1, (size_t)size + 1);
    CHECK(text != NULL);
    CHECK(pread(fd, text, (size_t)size, 0) == size);
    close(fd);
    return text;
}

static void s_log_some(void)
{
    apex_log_init("apex.test", APEX_LOG_INFO);
    apex_debug("hidden %d", 1);
    apex_info("spawning %d users", 42);
    apex_warn("%s", "100% sure: %s is not expanded");
    apex_err("worker %s missing", "vm_c77b");
    apex_log(APEX_LOG_CRITICAL, "bye");
}

static void s_log_long(void)
{
    char *text = malloc(S_LONG_TEXT + 1);
    CHECK(text != NULL);
    memset(text, 'z', S_LONG_TEXT);
    text[S_LONG_TEXT] = '\0';
    apex_log_init("apex.long", APEX_LOG_DEBUG);
    apex_debug("%s", text);
    apex_info("after");
    free(text);
}

// Check one line: "[YYYY-MM-DD HH:MM:SS,mmm] host/LEVEL/name: message",
// with a timestamp near now in local time.
static void s_check_line(const char *line, size_t len, const char *level,
                         const char *message)
{
    static const char shape[] = "[dddd-dd-dd dd:dd:dd,ddd] ";
    size_t n = sizeof shape - 1;
    CHECK(len > n);
    for (size_t i = 0; i < n; i++) {
        if (shape[i] == 'd')
            CHECK(isdigit((unsigned char)line[i]));
        else
            CHECK_EQ(line[i], shape[i]);
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    CHECK(strptime(line + 1, "%Y-%m-%d %H:%M:%S", &tm) == line + 20);
    tm.tm_isdst = -1;
    double age = difftime(time(NULL), mktime(&tm));
    CHECK(age > -S_CLOCK_SLACK && age < S_CLOCK_SLACK);

    char host[64] = "";
    CHECK(gethostname(host, sizeof host) == 0);
    host[sizeof host - 1] = '\0';
    char expected[512];
    snprintf(expected, sizeof expected, "%s/%s/apex.test: %s", host, level,
             message);
    CHECK_EQ(len - n, strlen(expected));
    CHECK(memcmp(line + n, expected, len - n) == 0);
}

void test_log(bool verbose)
{
    // Level names, in any case; unknown names leave *level alone.
    for (size_t i = 0; i < sizeof s_levels / sizeof s_levels[0]; i++) {
        apex_log_level_t level = APEX_LOG_CRITICAL;
        CHECK_EQ(apex_log_level_parse(s_levels[i].text, &level), 0);
        CHECK_EQ(level, s_levels[i].level);
    }
    apex_log_level_t level = APEX_LOG_INFO;
    CHECK_EQ(apex_log_level_parse("verbose", &level), -1);
    CHECK_EQ(apex_log_level_parse("", &level), -1);
    CHECK_EQ(apex_log_level_parse("INFOX", &level), -1);
    CHECK_EQ(level, APEX_LOG_INFO);

    // The filter: messages at or above the level.
    apex_log_init("apex.test", APEX_LOG_WARNING);
    CHECK(!apex_log_enabled(APEX_LOG_DEBUG));
    CHECK(!apex_log_enabled(APEX_LOG_INFO));
    CHECK(apex_log_enabled(APEX_LOG_WARNING));
    CHECK(apex_log_enabled(APEX_LOG_ERROR));
    CHECK(apex_log_enabled(APEX_LOG_CRITICAL));
    apex_log_init("apex.test", APEX_LOG_DEBUG);
    CHECK(apex_log_enabled(APEX_LOG_DEBUG));

    // The lines: one per call, DEBUG filtered out, format intact.
    char *text = s_capture(s_log_some);
    if (verbose)
        printf("%s", text);
    const char *expected[][2] = {
        {"INFO", "spawning 42 users"},
        {"WARNING", "100% sure: %s is not expanded"},
        {"ERROR", "worker vm_c77b missing"},
        {"CRITICAL", "bye"},
    };
    const char *p = text;
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        const char *nl = strchr(p, '\n');
        CHECK(nl != NULL);
        s_check_line(p, (size_t)(nl - p), expected[i][0], expected[i][1]);
        p = nl + 1;
    }
    CHECK_STR(p, "");
    CHECK(strstr(text, "hidden") == NULL);
    free(text);

    // A message longer than a line is cut, never overflows, and the next
    // line is whole.
    text = s_capture(s_log_long);
    const char *nl = strchr(text, '\n');
    CHECK(nl != NULL);
    CHECK((size_t)(nl - text) < S_LINE_MAX);
    CHECK(strstr(text, "/DEBUG/apex.long: zzz") != NULL);
    CHECK(strstr(nl + 1, "/INFO/apex.long: after\n") != NULL);
    free(text);
}
