// tests/fuzz/fuzz_checks.c - a step's "check" object parsed from any
// text, then evaluated on any response: the check parser (conditions,
// regexes, headers, soft) and apex_checks_apply().
//
// Input: the first line is the value of one check (JSON: a condition
// string or an object; text that is not JSON is taken as a condition),
// the rest is both the response's header block and its body. Checked: a
// refused scenario says why; a hard failure index names a check that is
// not soft.
#include <jansson.h>

#include "common/json.h"
#include "common/scenario.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nl = size ? memchr(text, '\n', size) : NULL;
    size_t first = nl ? (size_t)(nl - text) : size;
    json_t *spec = json_loadb(text, first, JSON_DECODE_ANY, NULL);
    if (!spec)
        spec = json_stringn(text, first); // NULL when not UTF-8
    if (!spec)
        return 0;
    json_t *doc = json_pack("{s:[{s:s, s:[{s:s, s:{s:O}}]}]}", "users", "name",
                            "U", "tasks", "path", "/", "check", "c", spec);
    json_decref(spec);
    char *scenario = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    apex_error_t err = {""};
    apex_scenario_t *sc =
        scenario ? apex_scenario_parse(scenario, strlen(scenario), "f", &err)
                 : NULL;
    FUZZ_CHECK(sc || !scenario || apex_error_is_set(&err),
               "refused without an error");
    if (sc) {
        const apex_step_t *step = &sc->users[0].tasks[0].steps[0];
        const char *rest = nl ? nl + 1 : "";
        size_t len = nl ? size - first - 1 : 0;
        char *body = apex_calloc(1, len + 1); // exact size for ASan
        memcpy(body, rest, len);
        bool passed[APEX_CHECK_MAX_PER_STEP];
        long hard = apex_checks_apply(step, body, len, body, len, passed);
        FUZZ_CHECK(hard < 0 || (size_t)hard < step->nchecks, "index %ld", hard);
        FUZZ_CHECK(hard < 0 || !step->checks[hard].soft, "a soft one failed");
        free(body);
    }
    apex_scenario_destroy(&sc);
    free(scenario);
    return 0;
}
