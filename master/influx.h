// master/influx.h - the InfluxDB writer of one --out influxdb=URL: a
// thread of its own that POSTs batches of line protocol with libcurl,
// fed by a bounded queue. The master's loop only appends to the queue
// (a mutex held for a pointer swap), so it never waits on InfluxDB: a
// slow or dead server fills the queue, its oldest points are dropped and
// counted, and writes are retried with back-off until it answers again.
#ifndef MASTER_INFLUX_H
#define MASTER_INFLUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "master/out.h"

#define MASTER_INFLUX_ERROR_MAX 256 // bytes of the last error's text

typedef struct master_influx master_influx_t; // opaque

// What the writer did, as counted by its thread.
typedef struct {
    uint64_t written;  // points InfluxDB accepted
    uint64_t dropped;  // points given up: queue full, refused, or unsent
                       // at the end
    uint64_t queued;   // points waiting (or being written) now
    uint64_t failures; // writes that failed (each retried or dropped)
    bool failing;      // the last write failed
    char last_error[MASTER_INFLUX_ERROR_MAX]; // its reason, or ""
} master_influx_status_t;

// Start a writer for config (taken: *config is left empty). libcurl must
// be initialised (curl_global_init) and the signals the master handles
// blocked, as the thread inherits the mask. NULL with err set when the
// thread cannot start.
master_influx_t *master_influx_new(master_out_t *config, apex_error_t *err);

// Queue a batch of npoints points (the lines in *lines, taken: the
// buffer is left empty). When the queue would hold more than the
// configured bound, the oldest batches are dropped (and counted). Never
// blocks on InfluxDB.
void master_influx_push(master_influx_t *self, apex_buf_t *lines,
                        size_t npoints);

// The counts so far.
void master_influx_status(master_influx_t *self, master_influx_status_t *out);

// The URL the logs name ("http://127.0.0.1:8086/k6").
const char *master_influx_url(const master_influx_t *self);

// Ask the thread to write what is queued for at most `seconds` more (a
// request in flight is cut off then) and end; returns at once. Later
// calls change nothing.
void master_influx_stop(master_influx_t *self, double seconds);

// Stop as master_influx_stop() (if not asked already), wait for the
// thread and free everything; what could not be written counts as
// dropped in *last (may be NULL). Sets *self_p to NULL; does nothing if
// it is NULL.
void master_influx_destroy(master_influx_t **self_p, double seconds,
                           master_influx_status_t *last);

#endif
