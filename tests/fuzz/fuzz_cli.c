// tests/fuzz/fuzz_cli.c - apex_parse_duration(), apex_parse_long() and
// apex_parse_double() on any text (option values, APEX_* variables and
// the web UI's /swarm form fields). What they accept must be what they
// promise: a number inside the range asked for, and a finite duration
// >= 0 that fits in uint64_t microseconds, since every caller converts it
// so for a timer (master.c: --run-time, --autoquit, --stop-timeout and
// /swarm's run_time). The same bytes are then a configuration file given
// with --config (Locust's locust.conf format): every value a handler gets
// is a C string of the file, never an option name, and a bad file is an
// error, not a crash.
#include <float.h>
#include <limits.h>
#include <math.h>

#include <sys/mman.h>
#include <unistd.h>

#include "common/cli.h"
#include "tests/fuzz/fuzz.h"

enum { S_USERS, S_RATE, S_FLAG, S_NAME, S_TAGS };

static const apex_cli_option_t s_options[] = {
    {"users", 'u', true, "APEX_FUZZ_USERS", "N", "users", S_USERS},
    {"spawn-rate", 'r', true, NULL, "R", "rate", S_RATE},
    {"headless", 0, false, NULL, NULL, "a flag", S_FLAG},
    {"host", 0, true, NULL, "URL", "text", S_NAME},
    {"tags", 'T', APEX_CLI_LIST, NULL, "TAG", "a list", S_TAGS},
};

static int s_handler(int id, const char *arg, void *user, apex_error_t *err)
{
    (void)user;
    FUZZ_CHECK((id == S_FLAG) == (arg == NULL), "option %d value %p", id,
               (const void *)arg);
    if (arg)
        FUZZ_CHECK(strlen(arg) < 4096, "a value of %zu bytes", strlen(arg));
    long n = 0;
    double d = 0;
    switch (id) {
    case S_USERS:
        return apex_parse_long(arg, 1, 1000, &n, err);
    case S_RATE:
        return apex_parse_double(arg, 0.001, 1e6, &d, err);
    default:
        return 0;
    }
}

// The input as a configuration file (a memfd, read through /proc).
static void s_config(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz.conf", 0);
    if (fd < 0)
        return;
    FUZZ_CHECK(write(fd, data, size) == (ssize_t)size, "memfd write");
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    char *argv[] = {(char *)"fuzz", (char *)"--config", path, NULL};
    apex_error_t err = {""};
    int rc = apex_cli_parse(s_options, sizeof s_options / sizeof s_options[0],
                            3, argv, s_handler, NULL, "usage", "v", NULL, &err);
    FUZZ_CHECK(rc == 0 || (rc == -1 && apex_error_is_set(&err)),
               "rc %d, error '%s'", rc, err.msg);
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    apex_error_t err = {""};

    double seconds = -1;
    if (apex_parse_duration(text, &seconds, &err) == 0)
        FUZZ_CHECK(isfinite(seconds) && seconds >= 0 && seconds * 1e6 < 0x1p64,
                   "duration '%s' parsed as %g seconds", text, seconds);
    else
        FUZZ_CHECK(apex_error_is_set(&err), "-1 without an error");

    static const long ranges[][2] = {
        {LONG_MIN, LONG_MAX}, {0, 10000000}, {-1, 1024}, {1, 65535}};
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        long v = 0;
        err.msg[0] = '\0';
        if (apex_parse_long(text, ranges[i][0], ranges[i][1], &v, &err) == 0)
            FUZZ_CHECK(v >= ranges[i][0] && v <= ranges[i][1],
                       "'%s' parsed as %ld", text, v);
        else
            FUZZ_CHECK(apex_error_is_set(&err), "-1 without an error");
    }

    static const double dranges[][2] = {{-DBL_MAX, DBL_MAX}, {0.001, 1e6}};
    for (size_t i = 0; i < sizeof dranges / sizeof dranges[0]; i++) {
        double v = 0;
        err.msg[0] = '\0';
        if (apex_parse_double(text, dranges[i][0], dranges[i][1], &v, &err) ==
            0)
            FUZZ_CHECK(isfinite(v) && v >= dranges[i][0] && v <= dranges[i][1],
                       "'%s' parsed as %g", text, v);
        else
            FUZZ_CHECK(apex_error_is_set(&err), "-1 without an error");
    }
    free(text);
    s_config(data, size);
    return 0;
}
