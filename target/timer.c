// target/timer.c - see timer.h.
//
// A binary min-heap of (wake time, arg) ordered by wake time, guarded by
// one mutex, and one thread that sleeps on a condition variable (on
// CLOCK_MONOTONIC, the clock apex_now_us() reads) until the earliest wake
// time or until an earlier entry is pushed. Due entries are popped one at
// a time and their callback runs without the lock held, so a callback may
// add new entries. Adding and popping are O(log n); the heap array only
// grows (doubling) and is freed with the timer.
//
// Closing fires everything still pending, in wake-time order, and sets a
// flag under the lock: any later add fires at once on its caller's
// thread, so no entry is ever lost at shutdown.
#include "target/timer.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/clock.h"

#define APEX_TARGET_TIMER_INITIAL 1024

typedef struct {
    uint64_t wake_us; // when to fire, apex_now_us() time
    void *arg;        // passed to the callback
} s_entry_t;

struct target_timer {
    target_timer_fn *fn;  // the callback
    pthread_mutex_t lock; // guards everything below
    pthread_cond_t wake;  // signalled on a new earliest entry or close
    s_entry_t *heap;      // min-heap on wake_us
    size_t size;          // entries in heap
    size_t capacity;      // slots allocated in heap
    bool closed;          // adds fire at once; the thread drains and ends
    bool started;         // the thread runs and must be joined
    pthread_t thread;     // the timer thread
};

static void s_swap(s_entry_t *a, s_entry_t *b)
{
    s_entry_t t = *a;
    *a = *b;
    *b = t;
}

// Push an entry. Caller holds the lock. Returns true if it is the new top.
static bool s_push(target_timer_t *self, uint64_t wake_us, void *arg)
{
    if (self->size == self->capacity) {
        self->capacity *= 2;
        self->heap =
            apex_realloc(self->heap, self->capacity, sizeof *self->heap);
    }
    size_t i = self->size++;
    self->heap[i] = (s_entry_t){wake_us, arg};
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (self->heap[parent].wake_us <= self->heap[i].wake_us)
            break;
        s_swap(&self->heap[parent], &self->heap[i]);
        i = parent;
    }
    return i == 0;
}

// Remove and return the top entry. Caller holds the lock; heap not empty.
static s_entry_t s_pop(target_timer_t *self)
{
    assert(self->size > 0);
    s_entry_t top = self->heap[0];
    self->heap[0] = self->heap[--self->size];
    size_t i = 0;
    for (;;) {
        size_t left = 2 * i + 1;
        size_t right = left + 1;
        size_t least = i;
        if (left < self->size &&
            self->heap[left].wake_us < self->heap[least].wake_us)
            least = left;
        if (right < self->size &&
            self->heap[right].wake_us < self->heap[least].wake_us)
            least = right;
        if (least == i)
            break;
        s_swap(&self->heap[least], &self->heap[i]);
        i = least;
    }
    return top;
}

static void *s_run(void *arg)
{
    target_timer_t *self = arg;
    pthread_mutex_lock(&self->lock);
    for (;;) {
        if (self->size == 0) {
            if (self->closed)
                break;
            pthread_cond_wait(&self->wake, &self->lock);
            continue;
        }
        uint64_t now = apex_now_us();
        uint64_t wake_us = self->heap[0].wake_us;
        if (wake_us > now && !self->closed) {
            struct timespec until = {
                .tv_sec = (time_t)(wake_us / APEX_USEC_PER_SEC),
                .tv_nsec = (long)(wake_us % APEX_USEC_PER_SEC) * 1000,
            };
            pthread_cond_timedwait(&self->wake, &self->lock, &until);
            continue;
        }
        s_entry_t due = s_pop(self);
        pthread_mutex_unlock(&self->lock);
        self->fn(due.arg);
        pthread_mutex_lock(&self->lock);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

target_timer_t *target_timer_new(target_timer_fn *fn, apex_error_t *err)
{
    assert(fn);
    target_timer_t *self = apex_calloc(1, sizeof *self);
    self->fn = fn;
    self->capacity = APEX_TARGET_TIMER_INITIAL;
    self->heap = apex_calloc(self->capacity, sizeof *self->heap);
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&self->wake, &attr);
    pthread_condattr_destroy(&attr);
    int rc = pthread_create(&self->thread, NULL, s_run, self);
    if (rc != 0) {
        apex_error_set(err, "timer: cannot start thread: %s", strerror(rc));
        target_timer_destroy(&self);
        return NULL;
    }
    self->started = true;
    return self;
}

void target_timer_add(target_timer_t *self, uint64_t wake_us, void *arg)
{
    assert(self);
    pthread_mutex_lock(&self->lock);
    if (self->closed) {
        pthread_mutex_unlock(&self->lock);
        self->fn(arg);
        return;
    }
    if (s_push(self, wake_us, arg))
        pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
}

void target_timer_close(target_timer_t *self)
{
    assert(self);
    pthread_mutex_lock(&self->lock);
    bool was_closed = self->closed;
    self->closed = true;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
    if (!was_closed && self->started)
        pthread_join(self->thread, NULL);
}

void target_timer_destroy(target_timer_t **self_p)
{
    assert(self_p);
    target_timer_t *self = *self_p;
    if (!self)
        return;
    target_timer_close(self);
    // Without a thread (start failed) nothing drained the heap; it is
    // empty then, since nobody could add before new() returned.
    assert(self->size == 0);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    free(self->heap);
    free(self);
    *self_p = NULL;
}
