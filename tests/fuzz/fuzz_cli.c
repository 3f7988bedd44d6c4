// tests/fuzz/fuzz_cli.c - apex_parse_duration(), apex_parse_long() and
// apex_parse_double() on any text (option values, APEX_* variables and
// the web UI's /swarm form fields). What they accept must be what they
// promise: a number inside the range asked for, and a finite duration
// >= 0 that fits in uint64_t microseconds, since every caller converts it
// so for a timer (master.c: --run-time, --autoquit, --stop-timeout and
// /swarm's run_time).
#include <float.h>
#include <limits.h>
#include <math.h>

#include "common/cli.h"
#include "tests/fuzz/fuzz.h"

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
    return 0;
}
