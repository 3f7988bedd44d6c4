// worker/worker_int.h - internal to the worker's link to the master
// (worker.c: registration, timers, the master's messages; worker_send.c:
// what the worker sends): the state both files share.
#ifndef APEX_WORKER_WORKER_INT_H
#define APEX_WORKER_WORKER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/loop.h"
#include "common/procstat.h"
#include "common/secrets.h"
#include "proto/zio.h"
#include "worker/engine.h"
#include "worker/kind.h"
#include "worker/locate.h"
#include "worker/worker.h"

#define WORKER_HEARTBEAT_US (1 * APEX_USEC_PER_SEC)
#define WORKER_REPORT_US (3 * APEX_USEC_PER_SEC)
#define WORKER_CONNECT_POLL_US (20 * APEX_USEC_PER_MSEC) // not connected yet
#define WORKER_CONNECT_MIN_US (1 * APEX_USEC_PER_SEC)
#define WORKER_CONNECT_MAX_US (5 * APEX_USEC_PER_SEC)
#define WORKER_MASTER_LOST_US (30 * APEX_USEC_PER_SEC)
#define WORKER_WAIT_LOG_US (60 * APEX_USEC_PER_SEC) // "waiting" lines
#define WORKER_QUIT_LINGER_MS 2000
#define WORKER_ID_HEX 32
#define WORKER_SPAWN_POLL_US (100 * APEX_USEC_PER_MSEC) // users still made

typedef enum {
    WORKER_CONNECTING, // client_ready sent, no ack yet
    WORKER_READY,      // registered, no users
    WORKER_SPAWNING,   // applying a spawn
    WORKER_RUNNING,    // users running
    WORKER_STOPPING,   // stopping users after stop
    WORKER_QUITTING,   // stopping users before exit
} worker_state_t;

struct worker {
    worker_options_t options;   // as given (strings borrowed)
    char endpoint[300];         // "tcp://host:port" as given
    char id[300];               // node id, also the socket identity
    apex_loop_t *loop;          // the one loop
    worker_engine_t *engine;    // users and requests
    proto_zio_t *zio;           // DEALER to the master
    worker_locate_t *locate;    // looks the master's name up, or NULL
                                // (a numeric address)
    char lookup_error[160];     // the last lookup's error, or ""
    int sigfd;                  // signalfd for SIGINT/SIGTERM
    apex_io_t sig_io;           // watches sigfd
    apex_timer_t connect_timer; // resends client_ready
    uint64_t connect_delay;     // current back-off
    uint64_t retry_at;          // loop time of the next retry, 0: now
    uint64_t wait_start;        // loop time registering began
    uint64_t wait_logged;       // loop time of the last "waiting" line
    bool ready_sent;            // client_ready went out since retry_at
    apex_timer_t heartbeat;     // every second
    apex_timer_t report;        // every 3 s
    apex_timer_t spawned;       // the last new user has begun
    bool reset_when_spawned;    // --reset-stats: at spawning_complete
    worker_state_t state;       // see worker_state_t
    int64_t index;              // from ack
    double last_spawn_ts;       // newest spawn timestamp applied
    char *scenario_text;        // scenario wire text in use, or NULL
    char *unknown_classes;      // last unknown class list warned about
    uint64_t master_heartbeat;  // loop time of the last master heartbeat
    apex_procstat_t proc;       // CPU sampling
    apex_buf_t out;             // encoded outgoing message
    int exit_code;              // what worker_run() returns
    int signals;                // signals received
    bool lost;                  // stopping because the master went silent
    bool warned_cap;            // told the master it asked too many users
    int64_t cut_off_reported;   // requests cut off, as last reported
    int64_t cut_off_now;        // and as in the report being sent
    int64_t reported[WORKER_MAX_METRICS]; // kinds' counters last reported
    size_t nmetrics;                      // how many figures the kinds have
    apex_secrets_t *secrets;              // the scenario's env values
    const apex_scenario_t *secrets_of;    // the scenario they come from
    char *secrets_host;                   // the host they leave shown
};

// Send the payload in self->out; false if ZeroMQ could not queue it (no
// master connected, or the queue is full).
bool worker_send(worker_t *self);

// The state's name in heartbeats: "ready", "spawning", "running" or
// "stopping".
const char *worker_state_name(worker_state_t state);

void worker_send_client_ready(worker_t *self);

// The scripts' exceptions, then a stats report: the deltas since the last
// report that went out. False if it could not be sent; the deltas are
// then kept for the next one.
bool worker_send_stats(worker_t *self);

void worker_send_spawning_complete(worker_t *self);

// An exception for the master's exceptions table, secrets masked.
void worker_send_exception(worker_t *self, const char *msg);

// The secrets of the scenario in use, for the host the master gave:
// masked in failure texts before they are recorded (and so before they
// are sent) and in the log. Made again when either changes.
void worker_update_secrets(worker_t *self, const char *host);

#endif
