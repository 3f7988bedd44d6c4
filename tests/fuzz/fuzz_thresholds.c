// tests/fuzz/fuzz_thresholds.c - master_thresholds_parse_json() on any
// text (a scenario's "thresholds" node). Whatever was added, even before
// an error, is evaluated on empty and on filled statistics, as the master
// does during and after a run, then freed. Odd-sized inputs allow the
// scripts' custom metrics.
#include "master/thresholds.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_thresholds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    apex_error_t err = {""};
    // Half the inputs as a scenario with scripts: unknown names are
    // custom metrics then.
    master_thresholds_t th = {.custom = size % 2 == 1};
    if (master_thresholds_parse_json(&th, text, "fuzz.json", &err) != 0)
        FUZZ_CHECK(apex_error_is_set(&err), "-1 without an error");
    fuzz_thresholds_use(&th);
    master_thresholds_fini(&th);
    master_thresholds_fini(&th); // the set is reusable: fini again is fine
    free(text);
    return 0;
}
