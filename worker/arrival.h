// worker/arrival.h - the open model (k6's constant- and ramping-arrival-
// rate executors): iterations start on a schedule whatever the response
// times; each runs one task on a free user, on a new user while fewer
// than max_users exist, after waiting for the next free user (at most one
// waiting iteration per user), or is dropped and counted.
#ifndef WORKER_ARRIVAL_H
#define WORKER_ARRIVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/loop.h"
#include "worker/engine.h"
#include "worker/kind.h"

// The open model's state, embedded in the engine.
typedef struct {
    bool on;            // iterations on schedule instead of think times
    double rate;        // iterations per second
    int64_t max_users;  // users allocated at most
    uint64_t next;      // loop time of the next iteration
    apex_timer_t timer; // fires at next
    uint64_t dropped;   // iterations that found no user (reported deltas)
    uint64_t *queue;    // intended starts waiting for a user (a ring)
    size_t head;        // oldest entry
    size_t len;         // entries waiting
    size_t cap;         // ring size (= max_users)
} worker_arrival_t;

// Prepare the state of engine's open model (off).
void worker_arrival_init(worker_arrival_t *self, worker_engine_t *engine);

// Stop its timer and free the queue.
void worker_arrival_fini(worker_arrival_t *self, apex_loop_t *loop);

// Put u in its class's idle stack (free for an iteration); no-op if there.
void worker_arrival_push_idle(worker_user_t *u);

// Take u out of its class's idle stack; no-op if not there.
void worker_arrival_remove_idle(worker_user_t *u);

// u finished a task (or its on_start) in the open model: it runs the
// iteration that waited for its on_start or for a free user, or goes idle.
void worker_arrival_task_done(worker_user_t *u, bool was_on_start);

#endif
