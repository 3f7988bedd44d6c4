// common/loop.c - see loop.h.
//
// Timers live in a binary min-heap of pointers ordered by when_us; each
// timer remembers its index so stop and re-arm are O(log n). Expired
// timers run in order after the I/O of an iteration; a timer armed for
// "now" by a callback runs in the next iteration, so a busy timer cannot
// starve I/O. epoll_wait sleeps until the earliest timer, rounded up to a
// millisecond (epoll's resolution), never less than needed.
#include "common/loop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/clock.h"

#define APEX_LOOP_EVENTS 256
#define APEX_LOOP_HEAP_MIN 64
#define APEX_TIMER_STOPPED SIZE_MAX

struct apex_loop {
    int epfd;                // epoll instance
    bool stopping;           // apex_loop_stop() was called
    uint64_t now_us;         // cached monotonic time
    apex_timer_t **heap;     // min-heap of armed timers
    size_t nheap;            // armed timers
    size_t heap_cap;         // slots allocated
    bool in_timers;          // s_run_timers() is running
    void (*iter_fn)(void *); // end-of-iteration hook, or NULL
    void *iter_arg;          // its argument
};

void apex_block_signals(bool sigchld)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    if (sigchld)
        sigaddset(&mask, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
}

apex_loop_t *apex_loop_new(apex_error_t *err)
{
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) {
        apex_error_set(err, "epoll_create1: %s", strerror(errno));
        return NULL;
    }
    apex_loop_t *self = apex_calloc(1, sizeof *self);
    self->epfd = epfd;
    self->now_us = apex_now_us();
    return self;
}

void apex_loop_destroy(apex_loop_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    apex_loop_t *self = *self_p;
    close(self->epfd);
    free(self->heap);
    free(self);
    *self_p = NULL;
}

uint64_t apex_loop_now(const apex_loop_t *self)
{
    return self->now_us;
}

uint64_t apex_loop_update_now(apex_loop_t *self)
{
    self->now_us = apex_now_us();
    return self->now_us;
}

void apex_loop_stop(apex_loop_t *self)
{
    self->stopping = true;
}

void apex_loop_on_iteration(apex_loop_t *self, void (*fn)(void *arg), void *arg)
{
    self->iter_fn = fn;
    self->iter_arg = arg;
}

// ---------------------------------------------------------------------
// Timer heap

static void s_heap_set(apex_loop_t *self, size_t i, apex_timer_t *t)
{
    self->heap[i] = t;
    t->heap_index = i;
}

static void s_sift_up(apex_loop_t *self, size_t i)
{
    apex_timer_t *t = self->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (self->heap[parent]->when_us <= t->when_us)
            break;
        s_heap_set(self, i, self->heap[parent]);
        i = parent;
    }
    s_heap_set(self, i, t);
}

static void s_sift_down(apex_loop_t *self, size_t i)
{
    apex_timer_t *t = self->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= self->nheap)
            break;
        if (child + 1 < self->nheap &&
            self->heap[child + 1]->when_us < self->heap[child]->when_us)
            child++;
        if (t->when_us <= self->heap[child]->when_us)
            break;
        s_heap_set(self, i, self->heap[child]);
        i = child;
    }
    s_heap_set(self, i, t);
}

static void s_heap_remove(apex_loop_t *self, apex_timer_t *t)
{
    size_t i = t->heap_index;
    t->heap_index = APEX_TIMER_STOPPED;
    self->nheap--;
    if (i == self->nheap)
        return;
    apex_timer_t *last = self->heap[self->nheap];
    s_heap_set(self, i, last);
    if (i > 0 && self->heap[(i - 1) / 2]->when_us > last->when_us)
        s_sift_up(self, i);
    else
        s_sift_down(self, i);
}

void apex_timer_init(apex_timer_t *timer, apex_timer_fn *fn, void *arg)
{
    timer->when_us = 0;
    timer->heap_index = APEX_TIMER_STOPPED;
    timer->fn = fn;
    timer->arg = arg;
}

bool apex_timer_active(const apex_timer_t *timer)
{
    return timer->heap_index != APEX_TIMER_STOPPED;
}

void apex_timer_stop(apex_loop_t *loop, apex_timer_t *timer)
{
    if (apex_timer_active(timer))
        s_heap_remove(loop, timer);
}

void apex_timer_start_at(apex_loop_t *loop, apex_timer_t *timer,
                         uint64_t when_us)
{
    // A timer armed for "now" while timers run waits for the next
    // iteration, so timers that re-arm themselves cannot starve I/O.
    if (loop->in_timers && when_us <= loop->now_us)
        when_us = loop->now_us + 1;
    if (apex_timer_active(timer)) {
        uint64_t old = timer->when_us;
        timer->when_us = when_us;
        if (when_us < old)
            s_sift_up(loop, timer->heap_index);
        else
            s_sift_down(loop, timer->heap_index);
        return;
    }
    if (loop->nheap == loop->heap_cap) {
        loop->heap_cap =
            loop->heap_cap ? loop->heap_cap * 2 : APEX_LOOP_HEAP_MIN;
        loop->heap =
            apex_realloc(loop->heap, loop->heap_cap, sizeof *loop->heap);
    }
    timer->when_us = when_us;
    size_t i = loop->nheap++;
    s_heap_set(loop, i, timer);
    s_sift_up(loop, i);
}

void apex_timer_start(apex_loop_t *loop, apex_timer_t *timer, uint64_t delay_us)
{
    apex_timer_start_at(loop, timer, loop->now_us + delay_us);
}

size_t apex_loop_timer_count(const apex_loop_t *self)
{
    return self->nheap;
}

// ---------------------------------------------------------------------
// I/O watchers

void apex_io_init(apex_io_t *io, apex_io_fn *fn, void *arg)
{
    io->fd = -1;
    io->events = 0;
    io->fn = fn;
    io->arg = arg;
}

int apex_io_start(apex_loop_t *loop, apex_io_t *io, int fd, uint32_t events,
                  apex_error_t *err)
{
    struct epoll_event ev = {.events = events, .data.ptr = io};
    int op = io->fd == fd ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (io->fd >= 0 && io->fd != fd)
        apex_io_stop(loop, io);
    if (epoll_ctl(loop->epfd, op, fd, &ev) != 0) {
        // A descriptor re-used after close is still known to epoll only
        // if it was never removed; retry the other operation once.
        op = op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (epoll_ctl(loop->epfd, op, fd, &ev) != 0)
            return apex_error_set(err, "epoll_ctl fd %d: %s", fd,
                                  strerror(errno));
    }
    io->fd = fd;
    io->events = events;
    return 0;
}

void apex_io_stop(apex_loop_t *loop, apex_io_t *io)
{
    if (io->fd < 0)
        return;
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    io->fd = -1;
    io->events = 0;
}

// ---------------------------------------------------------------------
// Running

static int s_timeout_ms(const apex_loop_t *self)
{
    if (self->nheap == 0)
        return 1000;
    uint64_t when = self->heap[0]->when_us;
    if (when <= self->now_us + 1)
        return 0;
    uint64_t ms = (when - self->now_us + 999) / 1000;
    return ms > 1000 ? 1000 : (int)ms;
}

static void s_run_timers(apex_loop_t *self)
{
    // Only timers that were due at the start of this pass run; a timer
    // re-armed for "now" by its callback waits for the next iteration.
    uint64_t now = self->now_us;
    self->in_timers = true;
    while (self->nheap > 0 && self->heap[0]->when_us <= now) {
        apex_timer_t *t = self->heap[0];
        s_heap_remove(self, t);
        t->fn(self, t);
    }
    self->in_timers = false;
}

int apex_loop_run(apex_loop_t *self, apex_error_t *err)
{
    struct epoll_event events[APEX_LOOP_EVENTS];
    self->stopping = false;
    while (!self->stopping) {
        int n = epoll_wait(self->epfd, events, APEX_LOOP_EVENTS,
                           s_timeout_ms(self));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return apex_error_set(err, "epoll_wait: %s", strerror(errno));
        }
        self->now_us = apex_now_us();
        for (int i = 0; i < n; i++) {
            // A callback earlier in this batch may have stopped this
            // watcher; owners that free watchers defer the free to the
            // end of the iteration, so the pointer is still valid here.
            apex_io_t *io = events[i].data.ptr;
            if (io->fd >= 0)
                io->fn(self, io, events[i].events);
        }
        s_run_timers(self);
        if (self->iter_fn)
            self->iter_fn(self->iter_arg);
    }
    return 0;
}
