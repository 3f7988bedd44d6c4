// tests/unit/tests.h - every unit test: one per module of common/ and
// proto/, and those of master/ that have one.
#ifndef APEX_TESTS_H
#define APEX_TESTS_H
#include <stdbool.h>
#include "tests/unit/check.h"
#define APEX_UNIT_TESTS(X)                                                     \
    X(histogram)                                                               \
    X(pyfmt)                                                                   \
    X(scenario)                                                                \
    X(stats)                                                                   \
    X(proto)                                                                   \
    X(loop)                                                                    \
    X(cli)                                                                     \
    X(buf)                                                                     \
    X(error)                                                                   \
    X(alloc)                                                                   \
    X(clock)                                                                   \
    X(rng)                                                                     \
    X(url)                                                                     \
    X(log)                                                                     \
    X(procstat)                                                                \
    X(dispatch)                                                                \
    X(fs)                                                                      \
    X(thresholds)                                                              \
    X(shape)                                                                   \
    X(routes)
#define APEX_DECLARE_TEST(name) void test_##name(bool verbose);
APEX_UNIT_TESTS(APEX_DECLARE_TEST)
#undef APEX_DECLARE_TEST
#endif
