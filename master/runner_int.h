// master/runner_int.h - internal to the runner (runner.c: the state,
// start, stop, quit and the timers' ends; runner_dispatch.c: dispatch and
// the ramp; runner_tick.c: beginning a test and the once-a-second tick:
// waiting, shapes, thresholds, history): the runner's struct and the
// functions each calls in another. Nothing else includes it.
#ifndef MASTER_RUNNER_INT_H
#define MASTER_RUNNER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/loop.h"
#include "master/dispatch.h"
#include "master/runner.h"

struct master_runner {
    master_runner_config_t config;  // as given
    const master_options_t *o;      // config.options
    master_registry_t *registry;    // config.registry
    master_results_t *results;      // config.results
    apex_loop_t *loop;              // config.loop
    master_class_t *classes;        // dispatch view of the user classes
    size_t nclasses;                // their number
    master_run_state_t state;       // where the test is
    master_run_end_t end;           // how it ended
    master_run_params_t params;     // users, rate, run time, host
    int64_t target;                 // users the current ramp goes to
    double rate;                    // its spawn rate
    int64_t dispatched;             // users in the current distribution
    double spawn_ts;                // last spawn timestamp sent
    uint64_t wait_started;          // loop time WAITING began
    master_shape_t *shape;          // load shape, or NULL
    uint64_t shape_started;         // loop time the shape began
    master_shape_point_t point;     // where the shape is
    double arrival_sent;            // arrival rate last sent, -1 none
    bool warned_arrival;            // told once that Locust workers sit out
    master_thresholds_t thresholds; // k6-style thresholds
    apex_timer_t dispatch_timer;    // next ramp step
    apex_timer_t report_wait;       // ramp done: wait for worker reports
    apex_timer_t run_timer;         // run time, or the shape's end
    apex_timer_t quit_timer;        // bounds the wait for workers' quit
    apex_timer_t autoquit_timer;    // --autoquit after a stop
    apex_buf_t out;                 // encoded outgoing message
};

// runner.c: test control.

// -> SPAWNING towards users at rate; a new test when none was running.
void master_runner_start(master_runner_t *self, int64_t users, double rate);
// -> QUITTING: quit every worker and wait for their last stats and quit
// messages (bounded), then finish.
void master_runner_quit(master_runner_t *self, const char *why);

// runner_dispatch.c: dispatch and the ramp.

// Send worker w a message with no data of this type.
void master_runner_send_empty(master_runner_t *self, const master_worker_t *w,
                              const char *type);
// Send every dispatchable worker its share of `total` users.
void master_runner_dispatch_send(master_runner_t *self, int64_t total);
// The dispatch timer: one ramp step: max(1, floor(rate)) users towards the
// target.
void master_runner_on_dispatch(apex_loop_t *loop, apex_timer_t *timer);
// The report wait timer: the ramp is complete, reported or not.
void master_runner_on_report_wait(apex_loop_t *loop, apex_timer_t *timer);

#endif
