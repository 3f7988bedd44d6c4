// tests/fuzz/fuzz_shape.c - master_shape_parse() on any text (a
// scenario's "shape" node). A parsed shape is then driven as the master
// drives it: described, sampled over its whole duration and scaled.
#include <math.h>

#include "master/shape.h"
#include "tests/fuzz/fuzz.h"

// Checks what the master relies on, at times through and past the shape.
static void s_drive(master_shape_t *shape)
{
    FUZZ_CHECK(shape->nstages >= 1 && shape->nstages <= MASTER_SHAPE_MAX_STAGES,
               "%zu stages", shape->nstages);
    double total = master_shape_duration(shape);
    // The master's timer takes uint64_t microseconds (master.c).
    FUZZ_CHECK(isfinite(total) && total > 0 && total * 1e6 < 0x1p64,
               "duration %g", total);
    for (int i = 0; i <= 11; i++) {
        master_shape_point_t p = master_shape_at(shape, total * i / 10);
        FUZZ_CHECK(p.stage <= shape->nstages, "stage %zu of %zu", p.stage,
                   shape->nstages);
        if (shape->kind == MASTER_SHAPE_STAGES)
            FUZZ_CHECK(isfinite(p.users) && p.users >= 0 &&
                           p.users <= MASTER_SHAPE_MAX_USERS,
                       "users %g at %d/10", p.users, i);
        else
            FUZZ_CHECK(isfinite(p.rate) && p.rate >= 0, "rate %g at %d/10",
                       p.rate, i);
    }
    if (shape->kind == MASTER_SHAPE_ARRIVAL)
        FUZZ_CHECK(shape->pre_allocated >= 1 &&
                       shape->max_users >= shape->pre_allocated,
                   "users %lld pre-allocated, %lld at most",
                   (long long)shape->pre_allocated,
                   (long long)shape->max_users);
    free(master_shape_describe(shape));
    // -t and -u on a shaped run (master.c): both factors stay moderate.
    master_shape_scale(shape, 0.5, 3);
    free(master_shape_describe(shape));
    (void)master_shape_at(shape, master_shape_duration(shape) / 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    apex_error_t err = {""};
    master_shape_t *shape = master_shape_parse(text, "fuzz.json", &err);
    if (shape)
        s_drive(shape);
    else
        FUZZ_CHECK(apex_error_is_set(&err), "NULL without an error");
    master_shape_destroy(&shape);
    master_shape_destroy(&shape); // a second destroy is a no-op
    free(text);
    return 0;
}
