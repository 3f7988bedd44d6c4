// tests/fuzz/fuzz_stages.c - master_shape_parse_stages() on any text (the
// --stages / APEX_STAGES argument, "1m:50,3m:50,1m:0"). A parsed shape is
// described and sampled as the master does; its total duration must fit
// the master's timer (uint64_t microseconds, master.c s_begin_test()).
#include <math.h>

#include "master/shape.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    apex_error_t err = {""};
    master_shape_t *shape = master_shape_parse_stages(text, &err);
    if (shape) {
        FUZZ_CHECK(shape->kind == MASTER_SHAPE_STAGES && shape->nstages >= 1 &&
                       shape->nstages <= MASTER_SHAPE_MAX_STAGES,
                   "%zu stages", shape->nstages);
        for (size_t i = 0; i < shape->nstages; i++) {
            const master_stage_t *s = &shape->stages[i];
            FUZZ_CHECK(isfinite(s->duration) && s->duration > 0,
                       "stage %zu: duration %g", i, s->duration);
            FUZZ_CHECK(s->target >= 0 && s->target <= MASTER_SHAPE_MAX_USERS,
                       "stage %zu: users %g", i, s->target);
        }
        double total = master_shape_duration(shape);
        FUZZ_CHECK(total * 1e6 < 0x1p64, "total duration %g s", total);
        for (int i = 0; i <= 10; i++) {
            master_shape_point_t p = master_shape_at(shape, total * i / 10);
            FUZZ_CHECK(isfinite(p.users), "users %g", p.users);
        }
        free(master_shape_describe(shape));
    } else {
        FUZZ_CHECK(apex_error_is_set(&err), "NULL without an error");
    }
    master_shape_destroy(&shape);
    free(text);
    return 0;
}
