// tests/unit/check.h - assertions for unit tests: on failure they print
// file:line and the values, and end the (forked) test with exit code 1.
#ifndef APEX_TEST_CHECK_H
#define APEX_TEST_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

#define CHECK_EQ(a, b)                                                         \
    do {                                                                       \
        long long check_a_ = (long long)(a);                                   \
        long long check_b_ = (long long)(b);                                   \
        if (check_a_ != check_b_) {                                            \
            fprintf(stderr, "%s:%d: CHECK_EQ(%s, %s) failed: %lld != %lld\n",  \
                    __FILE__, __LINE__, #a, #b, check_a_, check_b_);           \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

#define CHECK_STR(a, b)                                                        \
    do {                                                                       \
        const char *check_a_ = (a);                                            \
        const char *check_b_ = (b);                                            \
        if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {       \
            fprintf(stderr,                                                    \
                    "%s:%d: CHECK_STR(%s, %s) failed: \"%s\" != "              \
                    "\"%s\"\n",                                                \
                    __FILE__, __LINE__, #a, #b,                                \
                    check_a_ ? check_a_ : "(null)",                            \
                    check_b_ ? check_b_ : "(null)");                           \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                  \
    do {                                                                       \
        double check_a_ = (double)(a);                                         \
        double check_b_ = (double)(b);                                         \
        double check_d_ = check_a_ - check_b_;                                 \
        if (check_d_ < 0)                                                      \
            check_d_ = -check_d_;                                              \
        if (check_d_ > (double)(tol)) {                                        \
            fprintf(stderr,                                                    \
                    "%s:%d: CHECK_NEAR(%s, %s) failed: %.17g vs "              \
                    "%.17g\n",                                                 \
                    __FILE__, __LINE__, #a, #b, check_a_, check_b_);           \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

#endif
