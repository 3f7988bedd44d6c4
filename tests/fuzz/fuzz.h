// tests/fuzz/fuzz.h - what every libFuzzer target shares: the entry
// point's prototype, a check that fails loudly, and NUL-terminated copies
// of the input for decoders that take C strings.
//
// A target feeds the input to one decoder, then uses whatever it decoded
// the way the programs do, and frees everything: a crash, a sanitizer
// report, a leak or a failed FUZZ_CHECK is a finding.
#ifndef APEX_FUZZ_H
#define APEX_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

// libFuzzer calls this once per input; 0 keeps the input in the corpus.
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// An invariant of the code under test: on failure print where and why,
// then abort so libFuzzer saves the input as a crash.
#define FUZZ_CHECK(cond, ...)                                                  \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: ", __FILE__,        \
                    __LINE__, #cond);                                          \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            abort();                                                           \
        }                                                                      \
    } while (0)

// The input as a C string the caller frees (text after a NUL byte is
// cut off, as it would be by any C string API).
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    return size ? apex_strndup((const char *)data, size) : apex_strdup("");
}

#endif
