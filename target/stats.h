// target/stats.h - apex-target's request counters: per route key, per
// HTTP status and injected errors, counted per thread without locks and
// summed when read.
#ifndef APEX_TARGET_STATS_H
#define APEX_TARGET_STATS_H

#include <stdbool.h>
#include <stddef.h>

#define APEX_TARGET_STATS_MAX_KEYS 16

typedef struct target_stats target_stats_t; // opaque

// Create zeroed counters for nkeys route keys (at most
// APEX_TARGET_STATS_MAX_KEYS) named by keys, which must outlive the
// object. Never returns NULL.
target_stats_t *target_stats_new(const char *const *keys, size_t nkeys);

// Free *self_p and set it to NULL; does nothing if *self_p is NULL. No
// thread may record into it any more.
void target_stats_destroy(target_stats_t **self_p);

// Count one response: its route key (< nkeys), its status and whether it
// was an injected error. Lock-free: each thread writes its own counters
// (registered, under the lock, on its first call).
void target_stats_record(target_stats_t *self, size_t key, unsigned status,
                         bool injected);

// Make every count read zero from now on.
void target_stats_reset(target_stats_t *self);

// The counts since start or the last reset as JSON text:
// {"total":N,"requests":{key:n,...},"status":{"200":n,...},
//  "errors_injected":n}. Every key and the usual statuses are always
// present. Returns a new string the caller frees with free().
char *target_stats_json(target_stats_t *self);

#endif
