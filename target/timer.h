// target/timer.h - a thread that calls a function at given monotonic
// times: how apex-target wakes delayed requests without holding a pool
// thread while they wait.
#ifndef APEX_TARGET_TIMER_H
#define APEX_TARGET_TIMER_H

#include <stdint.h>

#include "common/error.h"

typedef struct target_timer target_timer_t; // opaque

// Called on the timer thread with the arg given to target_timer_add().
typedef void(target_timer_fn)(void *arg);

// Start the timer thread, which will call fn. Returns a new timer the
// caller owns, or NULL with err set if the thread cannot be started.
target_timer_t *target_timer_new(target_timer_fn *fn, apex_error_t *err);

// Call fn(arg) at wake_us (apex_now_us() time) or soon after. Once the
// timer is closed, calls fn(arg) at once on the caller's thread instead.
void target_timer_add(target_timer_t *self, uint64_t wake_us, void *arg);

// Fire every pending wake-up now and make later ones fire at once, then
// stop the thread. For shutdown; safe to call more than once.
void target_timer_close(target_timer_t *self);

// Close, free *self_p and set it to NULL; does nothing if *self_p is NULL.
void target_timer_destroy(target_timer_t **self_p);

#endif
