// common/loop.h - a single-threaded event loop: epoll for file
// descriptors and a binary min-heap for timers. Watchers and timers are
// embedded in their owners (a user, a socket), so starting and stopping
// them never allocates. One loop per thread; nothing here is shared.
#ifndef APEX_LOOP_H
#define APEX_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "common/error.h"

typedef struct apex_loop apex_loop_t; // opaque
typedef struct apex_io apex_io_t;
typedef struct apex_timer apex_timer_t;

// Called with the epoll events that fired (EPOLLIN, EPOLLOUT, ...).
typedef void(apex_io_fn)(apex_loop_t *loop, apex_io_t *io, uint32_t events);

// Called when the timer expires; it may restart itself.
typedef void(apex_timer_fn)(apex_loop_t *loop, apex_timer_t *timer);

struct apex_io {
    int fd;          // the watched descriptor, -1 when stopped
    uint32_t events; // epoll events asked for
    apex_io_fn *fn;  // callback
    void *arg;       // owner's data
};

struct apex_timer {
    uint64_t when_us;  // expiry on the loop clock (apex_now_us)
    size_t heap_index; // position in the heap, SIZE_MAX when stopped
    apex_timer_fn *fn; // callback
    void *arg;         // owner's data
};

// Block SIGINT and SIGTERM (and SIGCHLD when asked) in the calling thread
// and every thread it starts afterwards, so they can be read from a
// signalfd on a loop; ignore SIGPIPE. Call from main() before any thread.
void apex_block_signals(bool sigchld);

// Create a loop. NULL with err set if epoll cannot be created.
apex_loop_t *apex_loop_new(apex_error_t *err);

// Free *self_p and set it to NULL. Watchers must have been stopped.
void apex_loop_destroy(apex_loop_t **self_p);

// Run until apex_loop_stop(). Returns 0, or -1 with err set when
// epoll_wait fails for a reason other than EINTR.
int apex_loop_run(apex_loop_t *self, apex_error_t *err);

// Make apex_loop_run() return after the current iteration.
void apex_loop_stop(apex_loop_t *self);

// The loop's cached monotonic time in microseconds, updated after every
// wait; cheap to call on hot paths.
uint64_t apex_loop_now(const apex_loop_t *self);

// Refresh and return the cached time.
uint64_t apex_loop_update_now(apex_loop_t *self);

// Call fn(arg) at the end of every iteration, after I/O and timers (for
// work that must be re-checked, such as ZeroMQ's edge-triggered fd).
void apex_loop_on_iteration(apex_loop_t *self, void (*fn)(void *arg),
                            void *arg);

// Prepare a watcher (does not start it).
void apex_io_init(apex_io_t *io, apex_io_fn *fn, void *arg);

// Watch fd for events; if io is already active it is modified instead.
// Returns 0, or -1 with err set (epoll_ctl failed).
int apex_io_start(apex_loop_t *loop, apex_io_t *io, int fd, uint32_t events,
                  apex_error_t *err);

// Stop watching (safe when stopped). Does not close the fd.
void apex_io_stop(apex_loop_t *loop, apex_io_t *io);

// Prepare a timer (does not start it).
void apex_timer_init(apex_timer_t *timer, apex_timer_fn *fn, void *arg);

// (Re)arm the timer to fire at loop time when_us.
void apex_timer_start_at(apex_loop_t *loop, apex_timer_t *timer,
                         uint64_t when_us);

// (Re)arm the timer to fire delay_us after the loop's cached time.
void apex_timer_start(apex_loop_t *loop, apex_timer_t *timer,
                      uint64_t delay_us);

// Disarm (safe when not armed).
void apex_timer_stop(apex_loop_t *loop, apex_timer_t *timer);

// True when the timer is armed.
bool apex_timer_active(const apex_timer_t *timer);

// Number of armed timers.
size_t apex_loop_timer_count(const apex_loop_t *self);

#endif
