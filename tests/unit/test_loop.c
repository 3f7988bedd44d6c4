// tests/unit/test_loop.c - the event loop: timers fire in time order,
// re-arm, stop (also from another timer's callback), run in the next
// iteration when armed in the past, and a timer re-armed for "now" in
// its callback cannot starve I/O; I/O watchers on a pipe start, modify,
// switch descriptors and stop; apex_loop_stop and the iteration hook;
// thousands of random timers, some stopped or moved, fire sorted.
//
// Assertions are on counts and order, never on elapsed time. Every run
// has a guard timer that fails the test instead of hanging.
#include "tests/unit/tests.h"

#include <fcntl.h>
#include <unistd.h>

#include "common/rng.h"
#include "common/clock.h"
#include "common/loop.h"

#define S_GUARD_US (20 * APEX_USEC_PER_SEC) // a run that takes this is hung
#define S_MANY 5000                         // timers in the random test
#define S_MANY_SPREAD_US 30000              // their times: now .. +30 ms
#define S_SPIN_LIMIT 100000                 // firings that mean starvation

// What the callbacks write down.
typedef struct {
    int fired[64];        // ids of the timers, in firing order
    size_t nfired;        // entries used
    int iterations;       // end-of-iteration hook calls
    int io_calls;         // I/O callback calls
    uint32_t last_events; // events of the last I/O callback
    char data[64];        // bytes the I/O callback read
    size_t ndata;         // how many
    int spins;            // firings of the spinning timer
    int fired_at_iter[8]; // iteration count seen by timers, by id
    apex_timer_t *victim; // a timer to stop from a callback
    apex_timer_t *next;   // a timer to arm in the past from a callback
    int write_fd;         // pipe end the spinning timer writes to
} s_log_t;

static void s_guard(apex_loop_t *loop, apex_timer_t *timer)
{
    (void)loop;
    (void)timer;
    fprintf(stderr, "loop test: guard timer fired, the loop is stuck\n");
    CHECK(false);
}

// Run the loop with a guard timer; it must return 0.
static void s_run(apex_loop_t *loop)
{
    apex_timer_t guard;
    apex_timer_init(&guard, s_guard, NULL);
    apex_timer_start(loop, &guard, S_GUARD_US);
    apex_error_t err = {""};
    CHECK_EQ(apex_loop_run(loop, &err), 0);
    CHECK_STR(err.msg, "");
    apex_timer_stop(loop, &guard);
}

// A timer embedded in its owner, as users and sockets embed theirs.
typedef struct {
    apex_timer_t timer; // embedded, as owners do
    s_log_t *log;       // where to write
    int id;             // what to write
    int rearm_left;     // times to re-arm itself
    bool stop_loop;     // stop the loop when fired
} s_timer_t;

static void s_on_timer(apex_loop_t *loop, apex_timer_t *timer)
{
    s_timer_t *t = timer->arg;
    CHECK(!apex_timer_active(timer)); // disarmed before its callback
    CHECK(t->log->nfired < 64);
    t->log->fired[t->log->nfired++] = t->id;
    if (t->id >= 0 && t->id < 8)
        t->log->fired_at_iter[t->id] = t->log->iterations;
    if (t->log->victim) {
        apex_timer_stop(loop, t->log->victim);
        t->log->victim = NULL;
    }
    if (t->log->next) {
        apex_timer_start_at(loop, t->log->next, 1); // long past
        t->log->next = NULL;
    }
    if (t->rearm_left > 0) {
        t->rearm_left--;
        apex_timer_start(loop, timer, 100);
        CHECK(apex_timer_active(timer));
    } else if (t->stop_loop) {
        apex_loop_stop(loop);
    }
}

static void s_timer_init(s_timer_t *t, s_log_t *log, int id)
{
    memset(t, 0, sizeof *t);
    t->log = log;
    t->id = id;
    apex_timer_init(&t->timer, s_on_timer, t);
    CHECK(!apex_timer_active(&t->timer));
}

static void s_on_iteration(void *arg)
{
    s_log_t *log = arg;
    log->iterations++;
}

static void s_test_timers(apex_loop_t *loop)
{
    s_log_t log;
    memset(&log, 0, sizeof log);
    apex_loop_on_iteration(loop, s_on_iteration, &log);
    uint64_t now = apex_loop_update_now(loop);
    CHECK(now > 0);
    CHECK(apex_loop_now(loop) == now);

    // Five timers armed out of order fire in time order.
    s_timer_t t[6];
    static const uint64_t delays[] = {3000, 1000, 4000, 2000, 0};
    for (int i = 0; i < 5; i++) {
        s_timer_init(&t[i], &log, i);
        apex_timer_start_at(loop, &t[i].timer, now + delays[i]);
        CHECK(apex_timer_active(&t[i].timer));
    }
    t[2].stop_loop = true; // the last one
    CHECK_EQ(apex_loop_timer_count(loop), 5);
    s_run(loop);
    CHECK_EQ(log.nfired, 5);
    static const int order[] = {4, 1, 3, 0, 2};
    for (int i = 0; i < 5; i++)
        CHECK_EQ(log.fired[i], order[i]);
    CHECK_EQ(apex_loop_timer_count(loop), 0);
    CHECK(apex_loop_now(loop) >= now + 4000); // time moved on

    // Re-arming: a timer fires, re-arms itself 4 times, then stops the
    // loop; it is inactive afterwards.
    memset(&log, 0, sizeof log);
    s_timer_init(&t[0], &log, 7);
    t[0].rearm_left = 4;
    t[0].stop_loop = true;
    apex_timer_start(loop, &t[0].timer, 100);
    s_run(loop);
    CHECK_EQ(log.nfired, 5);
    CHECK(!apex_timer_active(&t[0].timer));

    // Re-arming an armed timer moves it (earlier and later); the moved
    // timer fires once, at its new place.
    memset(&log, 0, sizeof log);
    now = apex_loop_update_now(loop);
    for (int i = 0; i < 3; i++)
        s_timer_init(&t[i], &log, i);
    apex_timer_start_at(loop, &t[0].timer, now + 1000);
    apex_timer_start_at(loop, &t[1].timer, now + 2000);
    apex_timer_start_at(loop, &t[2].timer, now + 3000);
    apex_timer_start_at(loop, &t[2].timer, now + 500);  // earlier
    apex_timer_start_at(loop, &t[0].timer, now + 4000); // later
    CHECK_EQ(apex_loop_timer_count(loop), 3);
    t[0].stop_loop = true;
    s_run(loop);
    CHECK_EQ(log.nfired, 3);
    CHECK_EQ(log.fired[0], 2);
    CHECK_EQ(log.fired[1], 1);
    CHECK_EQ(log.fired[2], 0);

    // Stop: a stopped timer never fires, stopping twice or stopping an
    // unarmed timer is harmless, and a callback can stop a timer that is
    // due in the same pass.
    memset(&log, 0, sizeof log);
    now = apex_loop_update_now(loop);
    for (int i = 0; i < 4; i++)
        s_timer_init(&t[i], &log, i);
    apex_timer_stop(loop, &t[3].timer); // never armed
    apex_timer_start_at(loop, &t[0].timer, now + 100);
    apex_timer_start_at(loop, &t[1].timer, now + 200); // stopped below
    apex_timer_start_at(loop, &t[2].timer, now + 300); // stopped by t[0]
    apex_timer_start_at(loop, &t[3].timer, now + 5000);
    apex_timer_stop(loop, &t[1].timer);
    apex_timer_stop(loop, &t[1].timer);
    CHECK(!apex_timer_active(&t[1].timer));
    CHECK_EQ(apex_loop_timer_count(loop), 3);
    log.victim = &t[2].timer;
    t[3].stop_loop = true;
    s_run(loop);
    CHECK_EQ(log.nfired, 2);
    CHECK_EQ(log.fired[0], 0);
    CHECK_EQ(log.fired[1], 3);

    // A timer armed in the past runs in the next iteration; one armed in
    // the past by a timer callback waits for the iteration after that.
    memset(&log, 0, sizeof log);
    s_timer_init(&t[0], &log, 0);
    s_timer_init(&t[1], &log, 1);
    t[1].stop_loop = true;
    log.next = &t[1].timer;
    apex_timer_start_at(loop, &t[0].timer, 1);
    s_run(loop);
    CHECK_EQ(log.nfired, 2);
    CHECK_EQ(log.fired_at_iter[0], 0); // the first iteration
    // Not in the same pass; in the next one once the clock has moved.
    CHECK(log.fired_at_iter[1] >= 1);
    CHECK_EQ(log.iterations, log.fired_at_iter[1] + 1);
    apex_loop_on_iteration(loop, NULL, NULL);
}

// ---------------------------------------------------------------------
// I/O

typedef struct {
    apex_io_t io;   // embedded watcher
    s_log_t *log;   // where to write
    bool read_data; // read what is available
    bool stop_loop; // stop the loop when called
    int stop_after; // ... or after this many calls (0: never)
} s_watch_t;

static void s_on_io(apex_loop_t *loop, apex_io_t *io, uint32_t events)
{
    s_watch_t *w = io->arg;
    w->log->io_calls++;
    w->log->last_events = events;
    if (w->read_data && (events & EPOLLIN)) {
        size_t room = sizeof w->log->data - w->log->ndata;
        ssize_t n = read(io->fd, w->log->data + w->log->ndata, room);
        if (n > 0)
            w->log->ndata += (size_t)n;
    }
    if (w->stop_loop ||
        (w->stop_after > 0 && w->log->io_calls >= w->stop_after))
        apex_loop_stop(loop);
}

static void s_stop_timer(apex_loop_t *loop, apex_timer_t *timer)
{
    (void)timer;
    apex_loop_stop(loop);
}

// Run the loop for a few iterations (until a 5 ms timer stops it).
static void s_run_briefly(apex_loop_t *loop)
{
    apex_timer_t stop;
    apex_timer_init(&stop, s_stop_timer, NULL);
    apex_timer_start(loop, &stop, 5000);
    s_run(loop);
}

static void s_test_io(apex_loop_t *loop)
{
    s_log_t log;
    memset(&log, 0, sizeof log);
    int fds[2];
    CHECK(pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0);
    apex_error_t err = {""};

    // A reader gets EPOLLIN and the bytes.
    s_watch_t r = {.log = &log, .read_data = true, .stop_loop = true};
    apex_io_init(&r.io, s_on_io, &r);
    CHECK_EQ(r.io.fd, -1);
    CHECK_EQ(apex_io_start(loop, &r.io, fds[0], EPOLLIN, &err), 0);
    CHECK_EQ(r.io.fd, fds[0]);
    CHECK_EQ(r.io.events, EPOLLIN);
    CHECK_EQ(write(fds[1], "abc", 3), 3);
    s_run(loop);
    CHECK_EQ(log.io_calls, 1);
    CHECK(log.last_events & EPOLLIN);
    CHECK_EQ(log.ndata, 3);
    CHECK(memcmp(log.data, "abc", 3) == 0);

    // Stopped: data arrives but nobody is called.
    apex_io_stop(loop, &r.io);
    CHECK_EQ(r.io.fd, -1);
    apex_io_stop(loop, &r.io); // safe twice
    CHECK_EQ(write(fds[1], "d", 1), 1);
    s_run_briefly(loop);
    CHECK_EQ(log.io_calls, 1);
    // Started again (the fd was removed, so this is an add), it fires.
    CHECK_EQ(apex_io_start(loop, &r.io, fds[0], EPOLLIN, &err), 0);
    s_run(loop);
    CHECK_EQ(log.io_calls, 2);
    CHECK_EQ(log.ndata, 4);
    CHECK_EQ(log.data[3], 'd');

    // A writer: EPOLLOUT fires at once on an empty pipe. Modified to
    // EPOLLIN (a pipe's write end never becomes readable) it is silent.
    memset(&log, 0, sizeof log);
    s_watch_t w = {.log = &log, .stop_loop = true};
    apex_io_init(&w.io, s_on_io, &w);
    CHECK_EQ(apex_io_start(loop, &w.io, fds[1], EPOLLOUT, &err), 0);
    s_run(loop);
    CHECK_EQ(log.io_calls, 1);
    CHECK(log.last_events & EPOLLOUT);
    CHECK_EQ(apex_io_start(loop, &w.io, fds[1], EPOLLIN, &err), 0);
    CHECK_EQ(w.io.events, EPOLLIN);
    s_run_briefly(loop);
    CHECK_EQ(log.io_calls, 1);
    // ... and back to EPOLLOUT.
    CHECK_EQ(apex_io_start(loop, &w.io, fds[1], EPOLLOUT, &err), 0);
    s_run(loop);
    CHECK_EQ(log.io_calls, 2);

    // Switching an active watcher to another descriptor drops the old.
    int other[2];
    CHECK(pipe2(other, O_NONBLOCK | O_CLOEXEC) == 0);
    CHECK_EQ(apex_io_start(loop, &w.io, other[0], EPOLLIN, &err), 0);
    CHECK_EQ(w.io.fd, other[0]);
    s_run_briefly(loop); // fds[1] is writable but no longer watched
    CHECK_EQ(log.io_calls, 2);
    CHECK_EQ(write(other[1], "x", 1), 1);
    s_run(loop);
    CHECK_EQ(log.io_calls, 3);
    CHECK(log.last_events & EPOLLIN);
    apex_io_stop(loop, &w.io);

    // Closing the write end: the reader sees EPOLLHUP.
    memset(&log, 0, sizeof log);
    CHECK_EQ(apex_io_start(loop, &r.io, other[0], EPOLLIN, &err), 0);
    close(other[1]);
    s_run(loop);
    CHECK(log.last_events & EPOLLHUP);
    apex_io_stop(loop, &r.io);
    close(other[0]);

    // Errors: a closed descriptor and a regular file cannot be watched;
    // the watcher stays stopped.
    s_watch_t bad = {.log = &log};
    apex_io_init(&bad.io, s_on_io, &bad);
    CHECK_EQ(apex_io_start(loop, &bad.io, other[0], EPOLLIN, &err), -1);
    CHECK(strstr(err.msg, "epoll_ctl fd") != NULL);
    CHECK_EQ(bad.io.fd, -1);
    char path[] = "/tmp/apex-test-loop-XXXXXX";
    int file = mkstemp(path);
    CHECK(file >= 0);
    unlink(path);
    err.msg[0] = '\0';
    CHECK_EQ(apex_io_start(loop, &bad.io, file, EPOLLIN, &err), -1);
    CHECK(strstr(err.msg, "epoll_ctl fd") != NULL);
    CHECK_EQ(bad.io.fd, -1);
    CHECK_EQ(apex_io_start(loop, &bad.io, file, EPOLLIN, NULL), -1);
    close(file);

    // The iteration hook runs once per iteration, after I/O: a pipe that
    // stays readable makes every iteration call the watcher once.
    memset(&log, 0, sizeof log);
    apex_loop_on_iteration(loop, s_on_iteration, &log);
    r.read_data = false;
    r.stop_loop = false;
    r.stop_after = 3;
    CHECK_EQ(apex_io_start(loop, &r.io, fds[0], EPOLLIN, &err), 0);
    CHECK_EQ(write(fds[1], "y", 1), 1);
    s_run(loop);
    CHECK_EQ(log.io_calls, 3);
    CHECK_EQ(log.iterations, 3); // stop ends the iteration, hook included
    apex_loop_on_iteration(loop, NULL, NULL);
    apex_io_stop(loop, &r.io);
    apex_io_stop(loop, &w.io);
    close(fds[0]);
    close(fds[1]);
}

// A timer that re-arms itself for "now" forever, writing to a pipe the
// first time: the pipe's watcher must still get to run and stop the
// loop. Without the next-iteration rule this spins inside one pass.
static void s_on_spin(apex_loop_t *loop, apex_timer_t *timer)
{
    s_log_t *log = timer->arg;
    if (log->spins++ == 0)
        CHECK_EQ(write(log->write_fd, "!", 1), 1);
    CHECK(log->spins < S_SPIN_LIMIT);
    apex_timer_start(loop, timer, 0);
}

static void s_test_no_starvation(apex_loop_t *loop)
{
    s_log_t log;
    memset(&log, 0, sizeof log);
    int fds[2];
    CHECK(pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0);
    log.write_fd = fds[1];
    apex_error_t err = {""};
    s_watch_t r = {.log = &log, .read_data = true, .stop_loop = true};
    apex_io_init(&r.io, s_on_io, &r);
    CHECK_EQ(apex_io_start(loop, &r.io, fds[0], EPOLLIN, &err), 0);
    apex_timer_t spin;
    apex_timer_init(&spin, s_on_spin, &log);
    apex_timer_start(loop, &spin, 0);
    s_run(loop);
    CHECK_EQ(log.io_calls, 1);
    CHECK_EQ(log.ndata, 1);
    // The write happened in iteration 1; the read in iteration 2 at the
    // latest, so the timer ran at most twice (plus the stop iteration).
    CHECK(log.spins >= 1 && log.spins <= 3);
    CHECK(apex_timer_active(&spin));
    apex_timer_stop(loop, &spin);
    apex_io_stop(loop, &r.io);
    close(fds[0]);
    close(fds[1]);
}

// ---------------------------------------------------------------------
// Thousands of timers

typedef struct {
    apex_timer_t timer; // embedded
    uint64_t *last;     // when_us of the previous firing
    size_t *fired;      // firings so far
    size_t expected;    // firings in all
    bool should_fire;   // false for the stopped ones
    bool has_fired;     // set when fired
} s_many_t;

static void s_on_many(apex_loop_t *loop, apex_timer_t *timer)
{
    s_many_t *m = timer->arg;
    CHECK(m->should_fire);
    CHECK(!m->has_fired);
    m->has_fired = true;
    CHECK(timer->when_us >= *m->last); // never out of order
    *m->last = timer->when_us;
    if (++*m->fired == m->expected)
        apex_loop_stop(loop);
}

static void s_test_many(apex_loop_t *loop)
{
    s_many_t *timers = calloc(S_MANY, sizeof *timers);
    CHECK(timers != NULL);
    uint64_t rng = apex_rng_seed(20261127);
    uint64_t last = 0;
    size_t fired = 0, expected = 0;
    uint64_t now = apex_loop_update_now(loop);
    for (size_t i = 0; i < S_MANY; i++) {
        s_many_t *m = &timers[i];
        m->last = &last;
        m->fired = &fired;
        m->should_fire = true;
        apex_timer_init(&m->timer, s_on_many, m);
        apex_timer_start_at(loop, &m->timer,
                            now + apex_rng_next(&rng) % S_MANY_SPREAD_US);
    }
    CHECK_EQ(apex_loop_timer_count(loop), S_MANY);
    // Stop a tenth, move a tenth (some earlier, some later), and arm a
    // few at exactly the same time.
    for (size_t i = 0; i < S_MANY; i++) {
        s_many_t *m = &timers[i];
        uint64_t r = apex_rng_next(&rng) % 10;
        if (r == 0) {
            apex_timer_stop(loop, &m->timer);
            m->should_fire = false;
        } else if (r == 1) {
            apex_timer_start_at(loop, &m->timer,
                                now + apex_rng_next(&rng) % S_MANY_SPREAD_US);
        } else if (r == 2) {
            apex_timer_start_at(loop, &m->timer, now + S_MANY_SPREAD_US / 2);
        }
        if (m->should_fire)
            expected++;
    }
    CHECK_EQ(apex_loop_timer_count(loop), expected);
    for (size_t i = 0; i < S_MANY; i++)
        timers[i].expected = expected;
    s_run(loop);
    CHECK_EQ(fired, expected);
    CHECK_EQ(apex_loop_timer_count(loop), 0);
    for (size_t i = 0; i < S_MANY; i++)
        CHECK(timers[i].has_fired == timers[i].should_fire);
    free(timers);
}

void test_loop(bool verbose)
{
    (void)verbose;
    apex_error_t err = {""};
    apex_loop_t *loop = apex_loop_new(&err);
    CHECK(loop != NULL);
    CHECK_STR(err.msg, "");
    CHECK_EQ(apex_loop_timer_count(loop), 0);
    uint64_t t0 = apex_loop_now(loop);
    CHECK(apex_loop_update_now(loop) >= t0);

    s_test_timers(loop);
    s_test_io(loop);
    s_test_no_starvation(loop);
    s_test_many(loop);

    // Two loops are independent.
    apex_loop_t *other = apex_loop_new(NULL);
    CHECK(other != NULL);
    apex_timer_t t;
    apex_timer_init(&t, s_stop_timer, NULL);
    apex_timer_start(other, &t, 0);
    CHECK_EQ(apex_loop_timer_count(other), 1);
    CHECK_EQ(apex_loop_timer_count(loop), 0);
    CHECK_EQ(apex_loop_run(other, NULL), 0);
    CHECK_EQ(apex_loop_timer_count(other), 0);
    apex_loop_destroy(&other);

    apex_loop_destroy(&loop);
    CHECK(loop == NULL);
    apex_loop_destroy(&loop); // safe twice
    CHECK(loop == NULL);
}
