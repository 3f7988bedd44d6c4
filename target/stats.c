// target/stats.c - see stats.h.
//
// Each thread that records gets its own slot of counters, found through a
// thread-local pointer and registered under the mutex on the thread's
// first call, so the hot path is two relaxed atomic load/store pairs on
// memory no other thread writes (wrk's per-thread stats). Padding keeps
// two slots off the same cache line. Readers sum all slots under the
// mutex; a slot is only freed with the whole object.
//
// Reset never writes into another thread's slot: it stores the current
// sums as a baseline, and reads report sum - baseline. Counters only grow,
// so the difference is never negative.
//
// The WebSocket counters ride in the same slots. "open" is the one level
// among them: opened minus ended, computed from the raw sums, so a reset
// does not make it negative.
//
// Statuses are counted for 100..599; the ones the API produces are always
// printed, any other only when it was seen.
#include "target/stats.h"

#include <assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

#define APEX_TARGET_CACHE_LINE 64
#define APEX_TARGET_STATUS_MIN 100
#define APEX_TARGET_STATUS_MAX 599
#define APEX_TARGET_STATUS_SPAN                                                \
    (APEX_TARGET_STATUS_MAX - APEX_TARGET_STATUS_MIN + 1)

// The statuses apex-target answers with, printed even when zero.
static const unsigned s_usual_statuses[] = {200, 201, 202, 400,
                                            404, 405, 413, 500};

typedef struct {
    uint64_t requests[APEX_TARGET_STATS_MAX_KEYS]; // per route key
    uint64_t statuses[APEX_TARGET_STATUS_SPAN];    // per status - MIN
    uint64_t injected;                             // injected 500s
    uint64_t ws[TARGET_STATS_WS_COUNT];            // WebSocket counters
} s_counts_t;

typedef struct s_slot {
    char pad_before[APEX_TARGET_CACHE_LINE]; // keeps neighbours' lines apart
    _Atomic uint64_t requests[APEX_TARGET_STATS_MAX_KEYS]; // per route key
    _Atomic uint64_t statuses[APEX_TARGET_STATUS_SPAN];    // per status - MIN
    _Atomic uint64_t injected;                             // injected 500s
    _Atomic uint64_t ws[TARGET_STATS_WS_COUNT];            // WebSocket
    char pad_after[APEX_TARGET_CACHE_LINE]; // keeps neighbours' lines apart
    struct s_slot *next;                    // next registered slot
} s_slot_t;

struct target_stats {
    const char *const *keys; // route key names, borrowed
    size_t nkeys;            // number of route keys
    pthread_mutex_t lock;    // guards slots and baseline
    s_slot_t *slots;         // one per thread that recorded
    s_counts_t baseline;     // sums at the last reset
};

// This thread's slot and the object it belongs to. MHD owns the pool
// threads, so a thread-local is the one place to keep per-thread state.
static _Thread_local struct {
    const target_stats_t *owner; // object the slot was registered with
    s_slot_t *slot;              // this thread's counters
} s_mine;

target_stats_t *target_stats_new(const char *const *keys, size_t nkeys)
{
    assert(keys);
    assert(nkeys <= APEX_TARGET_STATS_MAX_KEYS);
    target_stats_t *self = apex_calloc(1, sizeof *self);
    self->keys = keys;
    self->nkeys = nkeys;
    pthread_mutex_init(&self->lock, NULL);
    return self;
}

void target_stats_destroy(target_stats_t **self_p)
{
    assert(self_p);
    target_stats_t *self = *self_p;
    if (!self)
        return;
    s_slot_t *slot = self->slots;
    while (slot) {
        s_slot_t *next = slot->next;
        free(slot);
        slot = next;
    }
    if (s_mine.owner == self)
        s_mine.owner = NULL;
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

static s_slot_t *s_my_slot(target_stats_t *self)
{
    if (s_mine.owner == self)
        return s_mine.slot;
    s_slot_t *slot = apex_calloc(1, sizeof *slot);
    pthread_mutex_lock(&self->lock);
    slot->next = self->slots;
    self->slots = slot;
    pthread_mutex_unlock(&self->lock);
    s_mine.owner = self;
    s_mine.slot = slot;
    return slot;
}

// Add one to a counter only this thread writes: a plain load and store,
// atomic only so that readers on other threads see whole values.
static void s_add(_Atomic uint64_t *counter, uint64_t n)
{
    uint64_t v = atomic_load_explicit(counter, memory_order_relaxed);
    atomic_store_explicit(counter, v + n, memory_order_relaxed);
}

static void s_bump(_Atomic uint64_t *counter)
{
    s_add(counter, 1);
}

void target_stats_record(target_stats_t *self, size_t key, unsigned status,
                         bool injected)
{
    assert(self);
    assert(key < self->nkeys);
    s_slot_t *slot = s_my_slot(self);
    s_bump(&slot->requests[key]);
    if (status >= APEX_TARGET_STATUS_MIN && status <= APEX_TARGET_STATUS_MAX)
        s_bump(&slot->statuses[status - APEX_TARGET_STATUS_MIN]);
    if (injected)
        s_bump(&slot->injected);
}

void target_stats_ws_add(target_stats_t *self, target_stats_ws_t counter,
                         uint64_t n)
{
    assert(self);
    assert(counter < TARGET_STATS_WS_COUNT);
    s_add(&s_my_slot(self)->ws[counter], n);
}

// Sum all slots into *sums. Caller holds the lock.
static void s_sum(target_stats_t *self, s_counts_t *sums)
{
    memset(sums, 0, sizeof *sums);
    for (s_slot_t *slot = self->slots; slot; slot = slot->next) {
        for (size_t i = 0; i < self->nkeys; i++)
            sums->requests[i] +=
                atomic_load_explicit(&slot->requests[i], memory_order_relaxed);
        for (size_t i = 0; i < APEX_TARGET_STATUS_SPAN; i++)
            sums->statuses[i] +=
                atomic_load_explicit(&slot->statuses[i], memory_order_relaxed);
        sums->injected +=
            atomic_load_explicit(&slot->injected, memory_order_relaxed);
        for (size_t i = 0; i < TARGET_STATS_WS_COUNT; i++)
            sums->ws[i] +=
                atomic_load_explicit(&slot->ws[i], memory_order_relaxed);
    }
}

void target_stats_reset(target_stats_t *self)
{
    assert(self);
    pthread_mutex_lock(&self->lock);
    s_sum(self, &self->baseline);
    pthread_mutex_unlock(&self->lock);
}

static bool s_is_usual(unsigned status)
{
    for (size_t i = 0; i < sizeof s_usual_statuses / sizeof *s_usual_statuses;
         i++) {
        if (s_usual_statuses[i] == status)
            return true;
    }
    return false;
}

// The "websocket" object: counts since the last reset in now, and the
// connections open now from the raw sums.
static json_t *s_ws_json(const s_counts_t *now, const s_counts_t *raw)
{
    static const char *const names[TARGET_STATS_WS_RECEIVED_ECHO] = {
        [TARGET_STATS_WS_OPENED] = "opened",
        [TARGET_STATS_WS_REJECTED] = "rejected",
        [TARGET_STATS_WS_CLOSED_BY_CLIENT] = "closed_by_client",
        [TARGET_STATS_WS_CLOSED_BY_SERVER] = "closed_by_server",
        [TARGET_STATS_WS_ABORTED] = "aborted",
        [TARGET_STATS_WS_PROTOCOL_ERRORS] = "protocol_errors",
        [TARGET_STATS_WS_DROPPED] = "dropped",
        [TARGET_STATS_WS_BYTES_RECEIVED] = "bytes_received",
        [TARGET_STATS_WS_BYTES_SENT] = "bytes_sent",
    };
    static const char *const routes[APEX_TARGET_STATS_WS_ROUTES] = {
        "echo", "events", "chat"};
    _Static_assert(TARGET_STATS_WS_SENT_ECHO - TARGET_STATS_WS_RECEIVED_ECHO ==
                           APEX_TARGET_STATS_WS_ROUTES &&
                       TARGET_STATS_WS_COUNT - TARGET_STATS_WS_SENT_ECHO ==
                           APEX_TARGET_STATS_WS_ROUTES,
                   "one received and one sent counter per route");
    uint64_t ended = raw->ws[TARGET_STATS_WS_CLOSED_BY_CLIENT] +
                     raw->ws[TARGET_STATS_WS_CLOSED_BY_SERVER] +
                     raw->ws[TARGET_STATS_WS_ABORTED];
    // Slots are read one counter at a time while threads write them, so
    // an end may be seen before its opening.
    uint64_t opened = raw->ws[TARGET_STATS_WS_OPENED];
    uint64_t open = opened > ended ? opened - ended : 0;
    json_t *received = json_object();
    json_t *sent = json_object();
    for (size_t i = 0; i < APEX_TARGET_STATS_WS_ROUTES; i++) {
        json_object_set_new(
            received, routes[i],
            json_integer(
                (json_int_t)now->ws[TARGET_STATS_WS_RECEIVED_ECHO + i]));
        json_object_set_new(
            sent, routes[i],
            json_integer((json_int_t)now->ws[TARGET_STATS_WS_SENT_ECHO + i]));
    }
    json_t *ws = json_object();
    for (size_t i = 0; i < TARGET_STATS_WS_BYTES_RECEIVED; i++) {
        json_object_set_new(ws, names[i], json_integer((json_int_t)now->ws[i]));
        if (i == TARGET_STATS_WS_OPENED)
            json_object_set_new(ws, "open", json_integer((json_int_t)open));
    }
    json_object_set_new(ws, "messages_received", received);
    json_object_set_new(ws, "messages_sent", sent);
    for (size_t i = TARGET_STATS_WS_BYTES_RECEIVED;
         i < TARGET_STATS_WS_RECEIVED_ECHO; i++)
        json_object_set_new(ws, names[i], json_integer((json_int_t)now->ws[i]));
    return ws;
}

char *target_stats_json(target_stats_t *self, json_t *logins)
{
    assert(self);
    s_counts_t now;
    s_counts_t raw;
    pthread_mutex_lock(&self->lock);
    s_sum(self, &now);
    raw = now;
    for (size_t i = 0; i < self->nkeys; i++)
        now.requests[i] -= self->baseline.requests[i];
    for (size_t i = 0; i < APEX_TARGET_STATUS_SPAN; i++)
        now.statuses[i] -= self->baseline.statuses[i];
    now.injected -= self->baseline.injected;
    for (size_t i = 0; i < TARGET_STATS_WS_COUNT; i++)
        now.ws[i] -= self->baseline.ws[i];
    pthread_mutex_unlock(&self->lock);

    uint64_t total = 0;
    json_t *requests = json_object();
    for (size_t i = 0; i < self->nkeys; i++) {
        total += now.requests[i];
        json_object_set_new(requests, self->keys[i],
                            json_integer((json_int_t)now.requests[i]));
    }
    json_t *statuses = json_object();
    for (size_t i = 0; i < APEX_TARGET_STATUS_SPAN; i++) {
        unsigned status = (unsigned)i + APEX_TARGET_STATUS_MIN;
        if (now.statuses[i] == 0 && !s_is_usual(status))
            continue;
        char name[8];
        snprintf(name, sizeof name, "%u", status);
        json_object_set_new(statuses, name,
                            json_integer((json_int_t)now.statuses[i]));
    }
    json_t *root = json_object();
    json_object_set_new(root, "total", json_integer((json_int_t)total));
    json_object_set_new(root, "requests", requests);
    json_object_set_new(root, "status", statuses);
    json_object_set_new(root, "errors_injected",
                        json_integer((json_int_t)now.injected));
    json_object_set_new(root, "websocket", s_ws_json(&now, &raw));
    if (logins)
        json_object_set_new(root, "logins", logins);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!text)
        abort(); // jansson only fails to dump when out of memory
    return text;
}
