// target/store.h - apex-target's in-memory task store: sequential ids
// "task-1", "task-2", ..., the most recent tasks kept in a bounded ring.
#ifndef APEX_TARGET_STORE_H
#define APEX_TARGET_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define APEX_TARGET_STORE_MAX_TASKS 100000
#define APEX_TARGET_STORE_MAX_BYTES (256u * 1024 * 1024)

typedef struct target_store target_store_t; // opaque

// Create an empty store that keeps at most max_tasks tasks (> 0) whose
// JSON texts take at most max_bytes together; the oldest go first. Never
// returns NULL.
target_store_t *target_store_new(size_t max_tasks, size_t max_bytes);

// Free *self_p and set it to NULL; does nothing if *self_p is NULL.
void target_store_destroy(target_store_t **self_p);

// Add a pending task created at `created` (UTC) with the next id. title
// and description are UTF-8 (as jansson gives them). Returns the task's
// JSON text, a new string the caller frees with free():
// {"id":"task-17","title":..,"description":..,"priority":..,
//  "status":"pending","created_at":"2026-11-27T10:00:00Z"}.
char *target_store_add(target_store_t *self, const char *title,
                       const char *description, int64_t priority,
                       time_t created);

// The JSON text of the task with this id ("task-17"), a new string the
// caller frees with free(); NULL if no such task is held (malformed id,
// never created, or already dropped from the ring).
char *target_store_get(target_store_t *self, const char *id);

// {"tasks":[...],"total":N}: the most recent tasks, newest first, at most
// limit of them; total is the number of tasks held. A new string the
// caller frees with free().
char *target_store_list(target_store_t *self, size_t limit);

#endif
