// master/registry.h - the workers a master knows: the registered ones
// (client_ready to client_stopped or quit) with their Locust node state,
// heartbeat liveness and the users dispatched to them, and a record of
// every worker ever seen (its index, kind, figures and last state) for the
// final workers table. Peers that never registered are counted here too.
#ifndef MASTER_REGISTRY_H
#define MASTER_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "master/api.h"
#include "master/report.h"
#include "master/figures.h"
#include "master/limits.h"
#include "proto/proto.h"

#define MASTER_LIVENESS 3            // ticks without a heartbeat before missing
#define MASTER_DEAD_TICKS 60         // ticks missing before a worker is dropped
#define MASTER_MAX_UNKNOWN_LOGGED 16 // log lines about unknown peers

typedef enum {
    MASTER_WORKER_READY,    // registered, no users
    MASTER_WORKER_SPAWNING, // starting users
    MASTER_WORKER_RUNNING,  // running its users
    MASTER_WORKER_STOPPING, // stopping its users
    MASTER_WORKER_MISSING,  // no heartbeat for MASTER_LIVENESS ticks
} master_worker_state_t;

// A registered worker. The registry owns it; a pointer stays valid until
// the worker is removed, re-registers, or the registry is destroyed.
typedef struct {
    const char *id;              // node id (the registry's copy)
    size_t index;                // acked index: the same for an id forever
    master_worker_state_t state; // Locust's node state
    int liveness;                // heartbeat counter (3 .. -60)
    char *version;               // version text it sent ("-1" for the int)
    bool apex;                   // an apex-worker (heartbeat extension)
    bool python_old;             // a Locust before 2.19 (no heartbeat reply)
    int64_t user_count;          // users it reported
    int64_t *assigned;           // per class: what the last spawn gave it
    uint64_t last_heartbeat;     // loop time of its last heartbeat
    master_figures_t gauges;     // run-wide gauges it last reported
    size_t names_left;           // new stats names its reports may add
    char *address;               // IP address it registered from, or NULL
    bool confirmed;              // sent a heartbeat since it registered
} master_worker_t;

// What the registry refused or dropped since it was made.
typedef struct {
    uint64_t refused; // client_ready refused (limits, another address)
    uint64_t expired; // registrations dropped: no heartbeat came
    uint64_t foreign; // messages for a worker from another address
    uint64_t lost;    // workers marked missing when a send to them failed
} master_registry_counts_t;

typedef struct master_registry master_registry_t; // opaque

// An empty registry for a scenario of nclasses user classes.
master_registry_t *master_registry_new(size_t nclasses);

// Free *self_p and set it to NULL; does nothing if *self_p is NULL.
void master_registry_destroy(master_registry_t **self_p);

// Registered workers: their number and the i-th, in registration order.
size_t master_registry_size(const master_registry_t *self);
master_worker_t *master_registry_at(const master_registry_t *self, size_t i);

// The registered worker with this id, or NULL.
master_worker_t *master_registry_find(const master_registry_t *self,
                                      const char *id);

// client_ready: register the sender as a new READY worker (replacing its
// registration, if any: *replaced says so) with the index it had before,
// or the next one, bound to the address it came from
// (msg->peer_address). Logs what Locust logs, and warns about odd
// versions. now is the loop time. Returns NULL when refused (logged once
// per address, counted): the id is registered from another address and
// not missing, MASTER_MAX_WORKERS_PER_ADDRESS workers are registered
// from this address, or MASTER_MAX_WORKERS in all.
master_worker_t *master_registry_ready(master_registry_t *self,
                                       const proto_msg_t *msg, uint64_t now,
                                       bool *replaced);

// True when msg, for worker w, came from the address w registered from
// (or either is unknown); otherwise it is counted, logged (bounded) and
// must be dropped: a node id cannot be used from elsewhere.
bool master_registry_from_peer(master_registry_t *self,
                               const master_worker_t *w,
                               const proto_msg_t *msg);

// A message to w could not be sent (its queue is full, or it is gone):
// w is missing now (logged, bounded); it heals with its next heartbeat.
void master_registry_lost(master_registry_t *self, master_worker_t *w,
                          const char *why);

// What was refused and dropped so far.
const master_registry_counts_t *
master_registry_counts(const master_registry_t *self);

// A heartbeat from w: liveness restored, state, CPU and memory taken from
// it. Returns true when w was missing (it healed; logged).
bool master_registry_heartbeat(master_registry_t *self, master_worker_t *w,
                               const proto_msg_t *msg, uint64_t now);

// w reported users running (stats, spawning_complete); < 0 is no report.
void master_registry_users(master_registry_t *self, master_worker_t *w,
                           int64_t users);

// Requests and failures merged from w's stats.
void master_registry_count(master_registry_t *self, master_worker_t *w,
                           uint64_t requests, uint64_t failures);

// Forget w (it stopped or quit); its record shows state (static text).
void master_registry_remove(master_registry_t *self, master_worker_t *w,
                            const char *state);

// Called for a worker that just went missing, in the registry's order,
// and with NULL once when workers with users were dropped.
typedef void(master_registry_missing_fn)(void *arg, master_worker_t *w);

// Once a second, as Locust's heartbeat_worker: count liveness down, mark
// a worker without heartbeats missing (users 0; fn is called for it) and
// drop one missing for MASTER_DEAD_TICKS. A worker that never sent a
// heartbeat since it registered is dropped instead of going missing.
void master_registry_tick(master_registry_t *self,
                          master_registry_missing_fn *fn, void *arg);

// True unless w is missing.
bool master_worker_active(const master_worker_t *w);

// Workers not missing; workers in a state.
size_t master_registry_active(const master_registry_t *self);
size_t master_registry_in_state(const master_registry_t *self,
                                master_worker_state_t state);

// Users the active workers reported.
int64_t master_registry_reported_users(const master_registry_t *self);

// Users the last spawns gave the active workers, per class: adds into
// per_class (nclasses slots).
void master_registry_assigned(const master_registry_t *self,
                              int64_t *per_class);

// A row per worker ever seen, for the workers table and the reports: a
// new array of *n rows the caller frees (the strings are borrowed).
master_worker_row_t *master_registry_rows(const master_registry_t *self,
                                          size_t *n);

// The registered workers as GET /stats/requests shows them, heartbeat
// ages counted to now: a new array of master_registry_size() entries the
// caller frees (the strings are borrowed).
master_api_worker_t *master_registry_api(const master_registry_t *self,
                                         uint64_t now);

// A message from id that is not registered: logged (at most
// MASTER_MAX_UNKNOWN_LOGGED times), except heartbeats.
void master_registry_unknown(master_registry_t *self, const proto_msg_t *msg);

// The gauges in w's stats report (proto's apex_gauges) replace those it
// reported before; names beyond MASTER_FIGURES_MAX are ignored.
void master_registry_gauges(master_registry_t *self, master_worker_t *w,
                            const proto_metric_t *gauges, size_t n);

// Every gauge summed over the registered workers into out (cleared
// first): the run-wide value now.
void master_registry_gauge_totals(const master_registry_t *self,
                                  master_figures_t *out);

// A state's name as the UI, the API and /metrics show it, and every name.
const char *master_worker_state_name(master_worker_state_t state);
const char *const *master_worker_state_names(size_t *n);

#endif
