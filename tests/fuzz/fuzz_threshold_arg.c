// tests/fuzz/fuzz_threshold_arg.c - master_thresholds_parse_arg() on any
// text (a --threshold 'metric{filter}: expression' argument), twice into
// the same set; what was added is evaluated as the master does.
#include "master/thresholds.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_thresholds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    master_thresholds_t th = {.custom = size % 2 == 1};
    for (int i = 0; i < 2; i++) {
        apex_error_t err = {""};
        size_t before = th.n;
        if (master_thresholds_parse_arg(&th, text, &err) != 0)
            FUZZ_CHECK(apex_error_is_set(&err) && th.n == before,
                       "a failed parse added %zu thresholds", th.n - before);
        else
            FUZZ_CHECK(th.n == before + 1, "a parse added %zu thresholds",
                       th.n - before);
    }
    fuzz_thresholds_use(&th);
    master_thresholds_fini(&th);
    free(text);
    return 0;
}
