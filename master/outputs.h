// master/outputs.h - what --out sends while the master runs: every push
// interval (APEX_INFLUXDB_PUSH_INTERVAL, 1 s) one batch of InfluxDB points
// per output, built from what the workers reported since the last batch
// and from the state /metrics shows, handed to each output's writer
// (master/influx.h). Measurements carry k6's names where the meaning is
// k6's (http_reqs, http_req_duration, http_req_failed, vus, iterations,
// dropped_iterations, the workers' run-wide figures), so k6 dashboards
// mostly work; the README has the mapping.
#ifndef MASTER_OUTPUTS_H
#define MASTER_OUTPUTS_H

#include "common/error.h"
#include "master/routes.h"
#include "proto/proto.h"

#define MASTER_OUTPUTS_FLUSH_S 2.0 // at the end: writers get this long

typedef struct master_outputs master_outputs_t; // opaque

// A writer per --out of ctx->options (parsed with the APEX_INFLUXDB_*
// variables), pushing on ctx->loop every interval, reading the state
// through ctx (which must outlive the outputs). NULL with err set (a
// usage error: a bad variable) or, without --out, NULL and err unset.
master_outputs_t *master_outputs_new(const master_routes_ctx_t *ctx,
                                     apex_error_t *err);

// Merge a worker's stats report into the interval's deltas (self may be
// NULL).
void master_outputs_merge(master_outputs_t *self, const proto_msg_t *report);

// The run is over: push the last batch now (self may be NULL). Returns
// at once; the writers send it while the reports are written.
void master_outputs_flush(master_outputs_t *self);

// Give the writers MASTER_OUTPUTS_FLUSH_S to send what they hold, log
// what each wrote and dropped, and free everything. Sets *self_p to NULL;
// does nothing if it is NULL.
void master_outputs_destroy(master_outputs_t **self_p);

#endif
