// master/shape.h - load shapes the master drives: stages of users (k6's
// ramping-vus: linear ramps between targets, or a step at a given spawn
// rate) and the open model of arrival rates (k6's constant- and
// ramping-arrival-rate), parsed from the scenario's "shape" or from
// --stages.
#ifndef MASTER_SHAPE_H
#define MASTER_SHAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "master/limits.h"

#define MASTER_SHAPE_MAX_STAGES 1000
#define MASTER_SHAPE_MAX_USERS MASTER_MAX_USERS // a stage's users

typedef enum {
    MASTER_SHAPE_STAGES,  // users over time
    MASTER_SHAPE_ARRIVAL, // iterations per second over time
} master_shape_kind_t;

typedef struct {
    double duration;   // seconds, > 0
    double target;     // users (stages) or iterations per time unit
    double spawn_rate; // users/s for a step; <= 0 for a linear ramp
} master_stage_t;

typedef struct {
    master_shape_kind_t kind; // which model
    master_stage_t *stages;   // in order
    size_t nstages;           // number of stages
    double time_unit;         // arrival: seconds per rate unit (default 1)
    double start_rate;        // arrival: rate at t = 0
    int64_t pre_allocated;    // arrival: users allocated up front
    int64_t max_users;        // arrival: users allocated at most
} master_shape_t;

typedef struct {
    bool over;         // past the last stage
    size_t stage;      // 1-based stage in progress
    double users;      // stages: users wanted now
    double spawn_rate; // stages: users/s to use (0: as fast as needed)
    double rate;       // arrival: iterations per second now
} master_shape_point_t;

// Parse the scenario's "shape" node (JSON text). origin names the file in
// errors: "apex.json: $.shape.stages[1].duration: expected ...". Returns
// a new shape, or NULL with err set.
master_shape_t *master_shape_parse(const char *json, const char *origin,
                                   apex_error_t *err);

// Parse --stages "1m:50,3m:50,1m:100" (DURATION:USERS[:SPAWN_RATE],...).
master_shape_t *master_shape_parse_stages(const char *arg, apex_error_t *err);

// Free *self_p and set it to NULL; does nothing if *self_p is NULL.
void master_shape_destroy(master_shape_t **self_p);

// Total duration in seconds.
double master_shape_duration(const master_shape_t *self);

// Scale every duration by time_factor and every target (users or rate)
// by load_factor (for quick runs: APEX_DURATION / APEX_USERS overrides).
void master_shape_scale(master_shape_t *self, double time_factor,
                        double load_factor);

// Fit the shape to the command line: with users >= 0 (-u given), scale
// its user numbers (and an arrival shape's rates) so that its peak is
// users; with run_time > 0 (-t given), scale its durations so that it
// lasts run_time. A shape whose peak is 0 keeps its numbers. Writes the
// factors used into *load and *time and returns true when either is not
// 1 (the shape changed).
bool master_shape_fit(master_shape_t *self, int64_t users, double run_time,
                      double *load, double *time);

// Where the shape is t seconds after the start.
master_shape_point_t master_shape_at(const master_shape_t *self, double t);

// A one-line description ("stages: 1m:50, 3m:50, ...") the caller frees.
char *master_shape_describe(const master_shape_t *self);

#endif
