// common/scenario_sleep.c - the JSON form of a pause inside a flow (kind
// APEX_STEP_SLEEP, marked by "sleep"), in a sequence or on_start:
//
//   {"sleep": 1.5}         // seconds, >= 0
//   {"sleep": [0.5, 2]}    // uniform in [min, max], 0 <= min <= max
//
// A pause is no request: it has no stats row and never fails; a user told
// to stop while it sleeps is one with a step in flight (worker/engine.c).
#include "common/scenario_parse.h"

#include <stdlib.h>

#include "common/alloc.h"

#define APEX_SLEEP_MAX_S 86400.0 // a day: longer is a mistake

static const char *const s_keys[] = {"sleep", NULL};

static int s_parse(apex_parser_t *p, const json_t *obj, apex_step_t *step)
{
    apex_sleep_step_t *s = step->sleep = apex_calloc(1, sizeof *step->sleep);
    json_t *v = json_object_get(obj, "sleep");
    size_t old = apex_parse_path_key(p, "sleep");
    const char *what = "a number of seconds from 0 to 86400 or [min, max]";
    if (json_is_number(v)) {
        s->min = s->max = json_number_value(v);
    } else if (json_is_array(v) && json_array_size(v) == 2 &&
               json_is_number(json_array_get(v, 0)) &&
               json_is_number(json_array_get(v, 1))) {
        s->min = json_number_value(json_array_get(v, 0));
        s->max = json_number_value(json_array_get(v, 1));
    } else {
        return apex_parse_fail_got(p, v, what);
    }
    if (!(s->min >= 0 && s->min <= s->max && s->max <= APEX_SLEEP_MAX_S))
        return apex_parse_fail_got(p, v, what);
    apex_parse_path_restore(p, old);
    step->type = apex_strdup("SLEEP");
    step->name = apex_strdup("sleep");
    step->timed = false;
    return 0;
}

static void s_fini(apex_step_t *step)
{
    free(step->sleep);
    step->sleep = NULL;
}

const apex_step_parser_t apex_sleep_step_parser = {
    .key = "sleep",
    .keys = s_keys,
    .parse = s_parse,
    .fini = s_fini,
};
