// master/registry.c - see registry.h.
//
// Workers follow Locust's life cycle (docs/protocol.md, "Registration
// and liveness"): a client_ready creates or re-creates a worker, acked
// with an index that stays the same for that id; heartbeats reset a
// liveness counter of MASTER_LIVENESS that the once-a-second tick
// decrements; below 0 the worker is missing, and after another
// MASTER_DEAD_TICKS ticks it is forgotten.
//
// Memory: every id seen has a record in `seen`, found through an
// open-addressing index by id; a registered worker is a separate
// allocation in `workers` (registration order) whose id points at its
// record's copy (records move when the array grows, their strings do
// not), and the record points back at it. A record is kept after its
// worker goes (its index is never given to another id, and the final
// table shows it), except the record of a worker that never sent a
// heartbeat: that one is recycled when the worker expires.
//
// Hostile peers (the review of issue 19 registered 5,000 identities):
// registrations are bounded in total (MASTER_MAX_WORKERS) and per peer
// address (MASTER_MAX_WORKERS_PER_ADDRESS, counted in master/peers.c); a
// worker that sends no heartbeat within MASTER_LIVENESS ticks of
// registering is dropped at once rather than kept missing for a minute;
// a node id is bound to the address that registered it, so messages (and
// a new client_ready, while it is alive) under that id from elsewhere
// are refused. Refusals are logged once per address, and counted.
#include "master/registry.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/sat.h"
#include "master/peers.h"

#define MASTER_VERSION_MAX 64 // a worker's version text, truncated
#define MASTER_LOCUST_HEARTBEAT_VERSION "2.19" // Locust answers heartbeats

// What we remember of every worker ever seen.
typedef struct {
    char *id;                // node id, NULL when the record is free
    master_worker_t *worker; // registered now under this id, or NULL
    char *kind;              // "apex 0.1.0", "locust 2.12.1", ...
    const char *state;       // last state shown in the table
    int64_t users;           // most users it reported at once
    double cpu;              // last reported CPU %
    uint64_t memory;         // last reported RSS
    uint64_t requests;       // requests merged from it
    uint64_t failures;       // failures merged from it
} s_seen_t;

struct master_registry {
    size_t nclasses;                 // user classes (assigned[] slots)
    s_seen_t *seen;                  // every worker seen (some records free)
    size_t nseen;                    // their number
    size_t *free_seen;               // indexes of free records
    size_t nfree;                    // their number
    master_worker_t **workers;       // registered workers
    size_t nworkers;                 // their number
    uint64_t unknown_logged;         // messages from unknown ids logged
    uint64_t refused_logged;         // refused registrations logged
    uint64_t foreign_logged;         // messages from another address logged
    uint64_t expired_logged;         // expired registrations logged
    uint64_t lost_logged;            // workers lost to a failed send logged
    master_registry_counts_t counts; // what was refused and dropped
    master_peers_t *peers;           // workers registered per address
    master_figures_t totals;         // every worker's gauges summed, kept up to
                                     // date as they report (not summed again)
    size_t *slots;                   // open-addressing index of seen by id:
                                     // record + 1, 0 = empty
    size_t nslots;                   // a power of two, > 2 * nseen
};

// A gauge a worker reports is clamped here, so sums over any number of
// workers stay exact (no saturation to undo).
#define S_GAUGE_MAX ((int64_t)1 << 40)

// State names as the UI, the API and /metrics show them.
static const char *const s_state_names[] = {
    [MASTER_WORKER_READY] = "ready",     [MASTER_WORKER_SPAWNING] = "spawning",
    [MASTER_WORKER_RUNNING] = "running", [MASTER_WORKER_STOPPING] = "stopping",
    [MASTER_WORKER_MISSING] = "missing",
};
#define S_NSTATES (sizeof s_state_names / sizeof s_state_names[0])

const char *master_worker_state_name(master_worker_state_t state)
{
    assert((size_t)state < S_NSTATES);
    return s_state_names[state];
}

const char *const *master_worker_state_names(size_t *n)
{
    *n = S_NSTATES;
    return s_state_names;
}

master_registry_t *master_registry_new(size_t nclasses)
{
    master_registry_t *self = apex_calloc(1, sizeof *self);
    self->nclasses = nclasses;
    self->peers = master_peers_new();
    return self;
}

static void s_worker_free(master_worker_t *w)
{
    if (!w)
        return;
    free(w->address);
    free(w->version);
    free(w->assigned);
    master_figures_clear(&w->gauges);
    free(w);
}

void master_registry_destroy(master_registry_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    master_registry_t *self = *self_p;
    for (size_t i = 0; i < self->nworkers; i++)
        s_worker_free(self->workers[i]);
    free(self->workers);
    for (size_t i = 0; i < self->nseen; i++) {
        free(self->seen[i].id);
        free(self->seen[i].kind);
    }
    free(self->seen);
    free(self->free_seen);
    master_peers_destroy(&self->peers);
    master_figures_clear(&self->totals);
    free(self->slots);
    free(self);
    *self_p = NULL;
}

size_t master_registry_size(const master_registry_t *self)
{
    return self->nworkers;
}

master_worker_t *master_registry_at(const master_registry_t *self, size_t i)
{
    assert(i < self->nworkers);
    return self->workers[i];
}

static size_t s_position(const master_registry_t *self,
                         const master_worker_t *w)
{
    for (size_t i = 0; i < self->nworkers; i++)
        if (self->workers[i] == w)
            return i;
    assert(!"the worker is registered");
    return 0;
}

// FNV-1a of a node id.
static size_t s_hash(const char *id)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return (size_t)h;
}

// Rebuild the index of the records by id, with room for one more
// (after growth, and after records were freed).
static void s_reindex(master_registry_t *self)
{
    size_t want = 16;
    while (want <= 2 * (self->nseen + 1))
        want *= 2;
    if (want != self->nslots) {
        free(self->slots);
        self->slots = apex_calloc(want, sizeof *self->slots);
        self->nslots = want;
    } else {
        memset(self->slots, 0, want * sizeof *self->slots);
    }
    for (size_t i = 0; i < self->nseen; i++) {
        if (!self->seen[i].id)
            continue;
        size_t k = s_hash(self->seen[i].id) & (self->nslots - 1);
        while (self->slots[k])
            k = (k + 1) & (self->nslots - 1);
        self->slots[k] = i + 1;
    }
}

// The record of id, or NULL.
static s_seen_t *s_lookup(const master_registry_t *self, const char *id)
{
    if (!self->nslots)
        return NULL;
    for (size_t k = s_hash(id) & (self->nslots - 1); self->slots[k];
         k = (k + 1) & (self->nslots - 1)) {
        s_seen_t *seen = &self->seen[self->slots[k] - 1];
        if (strcmp(seen->id, id) == 0)
            return seen;
    }
    return NULL;
}

master_worker_t *master_registry_find(const master_registry_t *self,
                                      const char *id)
{
    const s_seen_t *seen = s_lookup(self, id);
    return seen ? seen->worker : NULL;
}

static s_seen_t *s_seen(const master_registry_t *self, const master_worker_t *w)
{
    return &self->seen[w->index];
}

// The record of id, made on first sight (in a free record if any);
// returns its index.
static size_t s_seen_index(master_registry_t *self, const char *id)
{
    const s_seen_t *known = s_lookup(self, id);
    if (known)
        return (size_t)(known - self->seen);
    size_t i;
    if (self->nfree) {
        i = self->free_seen[--self->nfree];
    } else {
        self->seen =
            apex_realloc(self->seen, self->nseen + 1, sizeof *self->seen);
        i = self->nseen++;
    }
    s_seen_t *s = &self->seen[i];
    memset(s, 0, sizeof *s);
    s->id = apex_strdup(id);
    s->kind = apex_strdup("?");
    s->state = "ready";
    if (2 * (self->nseen + 1) >= self->nslots) {
        s_reindex(self);
    } else {
        size_t k = s_hash(id) & (self->nslots - 1);
        while (self->slots[k])
            k = (k + 1) & (self->nslots - 1);
        self->slots[k] = i + 1;
    }
    return i;
}

// Free the record of a worker that never sent a heartbeat (its id may
// come back as a new worker); the index is rebuilt by the caller.
static void s_seen_recycle(master_registry_t *self, size_t i)
{
    s_seen_t *s = &self->seen[i];
    free(s->id);
    free(s->kind);
    memset(s, 0, sizeof *s);
    self->free_seen =
        apex_realloc(self->free_seen, self->nfree + 1, sizeof *self->free_seen);
    self->free_seen[self->nfree++] = i;
}

// Take w out of the array (not freed).
// Take w's gauges out of the totals (before they change, or w goes).
static void s_untotal(master_registry_t *self, const master_worker_t *w)
{
    for (size_t j = 0; j < w->gauges.n; j++)
        master_figures_add(&self->totals, w->gauges.items[j].name,
                           -w->gauges.items[j].value);
}

static void s_unlink(master_registry_t *self, master_worker_t *w)
{
    s_untotal(self, w);
    size_t pos = s_position(self, w);
    memmove(&self->workers[pos], &self->workers[pos + 1],
            (self->nworkers - pos - 1) * sizeof *self->workers);
    self->nworkers--;
    s_seen(self, w)->worker = NULL;
    master_peers_add(self->peers, w->address, -1);
}

// The version text of a client_ready, with warnings about odd ones.
static void s_version(const proto_msg_t *msg, char *out, size_t size)
{
    if (msg->version)
        snprintf(out, size, "%s", msg->version);
    else
        snprintf(out, size, "%lld", (long long)msg->version_int);
    if (msg->version && msg->version[0] == '\0')
        apex_warn("worker %s sent an empty version (Debian's python3-locust "
                  "2.12.1 does): accepting it",
                  msg->node_id);
    else if (!msg->version && msg->version_int != -1)
        apex_warn("worker %s sent version %s: accepting it", msg->node_id, out);
}

// Mark w missing: users 0, its record says so.
static void s_missing(master_registry_t *self, master_worker_t *w)
{
    w->state = MASTER_WORKER_MISSING;
    w->user_count = 0;
    s_seen(self, w)->state = "missing";
}

// True when address (NULL: unknown) may be w's: the one it registered
// from, or either is unknown (ZeroMQ gives none for inproc).
static bool s_same_address(const master_worker_t *w, const char *address)
{
    return !w->address || !address || strcmp(w->address, address) == 0;
}

bool master_registry_from_peer(master_registry_t *self,
                               const master_worker_t *w, const proto_msg_t *msg)
{
    if (s_same_address(w, msg->peer_address))
        return true;
    self->counts.foreign++;
    if (self->foreign_logged++ < MASTER_MAX_UNKNOWN_LOGGED)
        apex_warn("discarding %s for worker %s from %s: it registered from "
                  "%s",
                  msg->type_name, w->id, msg->peer_address, w->address);
    return false;
}

void master_registry_lost(master_registry_t *self, master_worker_t *w,
                          const char *why)
{
    if (!master_worker_active(w))
        return;
    self->counts.lost++;
    if (self->lost_logged++ < MASTER_MAX_UNKNOWN_LOGGED)
        apex_warn("Worker %s: %s, setting state to missing.", w->id, why);
    s_missing(self, w);
}

const master_registry_counts_t *
master_registry_counts(const master_registry_t *self)
{
    return &self->counts;
}

// Log a refused registration: once per address, and at most
// MASTER_MAX_UNKNOWN_LOGGED lines in all.
static void s_refused(master_registry_t *self, const proto_msg_t *msg,
                      const char *why)
{
    self->counts.refused++;
    if (!master_peers_first_refusal(self->peers, msg->peer_address) ||
        self->refused_logged++ >= MASTER_MAX_UNKNOWN_LOGGED)
        return;
    apex_warn("refusing client_ready from worker %s at %s: %s (further "
              "refusals for that address are counted, not logged)",
              msg->node_id, msg->peer_address ? msg->peer_address : "?", why);
}

// Why a client_ready must be refused, or NULL: the id is registered from
// another address and alive, or a limit is reached (old, the id's
// current registration, leaves room for the new one).
static const char *s_refusal(master_registry_t *self, const proto_msg_t *msg,
                             const master_worker_t *old, char *why, size_t size)
{
    if (old && old->state != MASTER_WORKER_MISSING &&
        !s_same_address(old, msg->peer_address)) {
        snprintf(why, size, "that id is registered from %s",
                 old->address ? old->address : "?");
        return why;
    }
    size_t here = master_peers_count(self->peers, msg->peer_address);
    if (old && old->address && msg->peer_address &&
        strcmp(old->address, msg->peer_address) == 0)
        here--;
    if (here >= MASTER_MAX_WORKERS_PER_ADDRESS) {
        snprintf(why, size, "%d workers are registered from that address",
                 MASTER_MAX_WORKERS_PER_ADDRESS);
        return why;
    }
    if (!old && self->nworkers >= MASTER_MAX_WORKERS) {
        snprintf(why, size, "%d workers are registered", MASTER_MAX_WORKERS);
        return why;
    }
    return NULL;
}

master_worker_t *master_registry_ready(master_registry_t *self,
                                       const proto_msg_t *msg, uint64_t now,
                                       bool *replaced)
{
    master_worker_t *old = master_registry_find(self, msg->node_id);
    char why[128];
    *replaced = false;
    if (s_refusal(self, msg, old, why, sizeof why)) {
        s_refused(self, msg, why);
        return NULL;
    }
    char version[MASTER_VERSION_MAX];
    s_version(msg, version, sizeof version);
    *replaced = old != NULL;
    if (old) {
        s_unlink(self, old);
        s_worker_free(old);
    }
    master_worker_t *w = apex_calloc(1, sizeof *w);
    w->index = s_seen_index(self, msg->node_id);
    w->id = self->seen[w->index].id;
    w->address = msg->peer_address ? apex_strdup(msg->peer_address) : NULL;
    master_peers_add(self->peers, w->address, 1);
    w->state = MASTER_WORKER_READY;
    w->liveness = MASTER_LIVENESS;
    w->last_heartbeat = now;
    w->version = apex_strdup(version);
    w->assigned = apex_calloc(self->nclasses + 1, sizeof *w->assigned);
    w->names_left = MASTER_MAX_WORKER_NAMES;
    // Locust before 2.19 knows neither the master's heartbeat nor its
    // spawning_complete and logs each as an unknown message; an empty
    // version is Debian's 2.12.1.
    w->python_old =
        msg->version &&
        (msg->version[0] == '\0' ||
         strverscmp(msg->version, MASTER_LOCUST_HEARTBEAT_VERSION) < 0);
    self->workers =
        apex_realloc(self->workers, self->nworkers + 1, sizeof *self->workers);
    self->workers[self->nworkers++] = w;
    s_seen_t *seen = s_seen(self, w);
    seen->worker = w;
    free(seen->kind);
    if (msg->version && !msg->version[0])
        seen->kind = apex_strdup("locust (no version)");
    else if (msg->version)
        seen->kind = apex_sprintf("locust %s", version);
    else
        seen->kind = apex_sprintf("client %s", version);
    seen->state = "ready";
    if (!old)
        apex_info("Worker %s (index %zu) reported as ready. %zu workers "
                  "connected.",
                  msg->node_id, w->index, self->nworkers);
    return w;
}

static master_worker_state_t s_parse_state(const char *state,
                                           master_worker_state_t current)
{
    if (!state)
        return current;
    if (strcmp(state, "spawning") == 0)
        return MASTER_WORKER_SPAWNING;
    if (strcmp(state, "running") == 0)
        return MASTER_WORKER_RUNNING;
    if (strcmp(state, "stopping") == 0)
        return MASTER_WORKER_STOPPING;
    return MASTER_WORKER_READY;
}

bool master_registry_heartbeat(master_registry_t *self, master_worker_t *w,
                               const proto_msg_t *msg, uint64_t now)
{
    s_seen_t *seen = s_seen(self, w);
    w->liveness = MASTER_LIVENESS;
    w->confirmed = true;
    bool healed = w->state == MASTER_WORKER_MISSING;
    w->state = s_parse_state(msg->state, w->state);
    seen->state = master_worker_state_name(w->state);
    w->last_heartbeat = now;
    seen->cpu = msg->cpu_usage;
    seen->memory = msg->memory_usage;
    if (msg->apex_version && !w->apex) {
        w->apex = true;
        free(seen->kind);
        seen->kind = apex_sprintf("apex %s", msg->apex_version);
    }
    if (healed)
        apex_info("Worker %s self-healed with heartbeat, setting state to "
                  "%s.",
                  w->id, seen->state);
    return healed;
}

void master_registry_users(master_registry_t *self, master_worker_t *w,
                           int64_t users)
{
    if (users < 0)
        return;
    w->user_count = users;
    if (users > s_seen(self, w)->users)
        s_seen(self, w)->users = users;
}

void master_registry_count(master_registry_t *self, master_worker_t *w,
                           uint64_t requests, uint64_t failures)
{
    s_seen_t *seen = s_seen(self, w);
    seen->requests = apex_count_add(seen->requests, requests);
    seen->failures = apex_count_add(seen->failures, failures);
}

void master_registry_remove(master_registry_t *self, master_worker_t *w,
                            const char *state)
{
    s_seen(self, w)->state = state;
    s_unlink(self, w);
    s_worker_free(w);
}

// Drop a worker that sent no heartbeat since it registered, and free its
// record (the caller rebuilds the index). True when it was active (its
// users must go to the others).
static bool s_expire(master_registry_t *self, master_worker_t *w)
{
    self->counts.expired++;
    if (self->expired_logged++ < MASTER_MAX_UNKNOWN_LOGGED)
        apex_info("Worker %s sent no heartbeat since it registered, "
                  "dropping it%s.",
                  w->id,
                  self->expired_logged == MASTER_MAX_UNKNOWN_LOGGED
                      ? " (further ones are counted, not logged)"
                      : "");
    size_t record = w->index;
    bool was_active = master_worker_active(w);
    master_registry_remove(self, w, "gone");
    s_seen_recycle(self, record);
    return was_active;
}

void master_registry_tick(master_registry_t *self,
                          master_registry_missing_fn *fn, void *arg)
{
    size_t expired = self->counts.expired;
    bool lost_active = false;
    for (size_t i = 0; i < self->nworkers;) {
        master_worker_t *w = self->workers[i];
        if (w->state == MASTER_WORKER_MISSING &&
            w->liveness <= -MASTER_DEAD_TICKS) {
            apex_info("Worker %s has been missing for %d s, removing it.",
                      w->id, MASTER_DEAD_TICKS);
            master_registry_remove(self, w, "gone");
            continue;
        }
        bool unconfirmed = !w->confirmed;
        if (unconfirmed && w->liveness < 0) {
            lost_active = s_expire(self, w) || lost_active;
            continue;
        }
        if (w->liveness < 0 && w->state != MASTER_WORKER_MISSING) {
            apex_info("Worker %s failed to send heartbeat, setting state "
                      "to missing.",
                      w->id);
            s_missing(self, w);
            fn(arg, w);
        }
        w->liveness--;
        i++;
    }
    if (self->counts.expired != expired)
        s_reindex(self);
    if (lost_active)
        fn(arg, NULL); // their users go to the others
}

bool master_worker_active(const master_worker_t *w)
{
    return w->state != MASTER_WORKER_MISSING;
}

size_t master_registry_active(const master_registry_t *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->nworkers; i++)
        if (master_worker_active(self->workers[i]))
            n++;
    return n;
}

size_t master_registry_in_state(const master_registry_t *self,
                                master_worker_state_t state)
{
    size_t n = 0;
    for (size_t i = 0; i < self->nworkers; i++)
        if (self->workers[i]->state == state)
            n++;
    return n;
}

int64_t master_registry_reported_users(const master_registry_t *self)
{
    int64_t n = 0;
    for (size_t i = 0; i < self->nworkers; i++)
        if (master_worker_active(self->workers[i]) &&
            self->workers[i]->user_count > 0)
            n += self->workers[i]->user_count;
    return n;
}

void master_registry_assigned(const master_registry_t *self, int64_t *per_class)
{
    for (size_t i = 0; i < self->nworkers; i++)
        for (size_t c = 0; c < self->nclasses; c++)
            if (master_worker_active(self->workers[i]))
                per_class[c] += self->workers[i]->assigned[c];
}

master_worker_row_t *master_registry_rows(const master_registry_t *self,
                                          size_t *n)
{
    master_worker_row_t *rows = apex_calloc(self->nseen + 1, sizeof *rows);
    *n = 0;
    for (size_t i = 0; i < self->nseen; i++) {
        const s_seen_t *seen = &self->seen[i];
        if (!seen->id)
            continue; // a recycled record
        rows[*n] = (master_worker_row_t){
            seen->id,  seen->kind,   seen->state,    seen->users,
            seen->cpu, seen->memory, seen->requests, seen->failures,
        };
        (*n)++;
    }
    return rows;
}

master_api_worker_t *master_registry_api(const master_registry_t *self,
                                         uint64_t now)
{
    master_api_worker_t *out = apex_calloc(self->nworkers + 1, sizeof *out);
    for (size_t i = 0; i < self->nworkers; i++) {
        const master_worker_t *w = self->workers[i];
        const s_seen_t *seen = s_seen(self, w);
        out[i].id = seen->id;
        out[i].kind = seen->kind;
        out[i].state = master_worker_state_name(w->state);
        out[i].users = w->user_count;
        out[i].cpu = seen->cpu;
        out[i].memory = seen->memory;
        out[i].heartbeat_age = apex_s_from_us(now - w->last_heartbeat);
        out[i].requests = seen->requests;
        out[i].failures = seen->failures;
    }
    return out;
}

void master_registry_unknown(master_registry_t *self, const proto_msg_t *msg)
{
    if (msg->type != PROTO_HEARTBEAT &&
        self->unknown_logged++ < MASTER_MAX_UNKNOWN_LOGGED)
        apex_info("discarding %s from unknown worker %s", msg->type_name,
                  msg->node_id);
}

void master_registry_gauges(master_registry_t *self, master_worker_t *w,
                            const proto_metric_t *gauges, size_t n)
{
    s_untotal(self, w);
    master_figures_clear(&w->gauges);
    for (size_t i = 0; i < n; i++) {
        int64_t v = gauges[i].value;
        v = v < 0 ? 0 : v > S_GAUGE_MAX ? S_GAUGE_MAX : v;
        // Only what the totals hold is w's, once per name: subtracting it
        // later is exact.
        if (!master_figures_has(&w->gauges, gauges[i].name) &&
            master_figures_add(&self->totals, gauges[i].name, v))
            master_figures_set(&w->gauges, gauges[i].name, v);
    }
}

void master_registry_gauge_totals(const master_registry_t *self,
                                  master_figures_t *out)
{
    master_figures_clear(out);
    for (size_t j = 0; j < self->totals.n; j++)
        master_figures_set(out, self->totals.items[j].name,
                           self->totals.items[j].value);
}
