// target/store.c - see store.h.
//
// Tasks live in a ring of max_tasks slots indexed by id % max_tasks. Ids
// are handed out in order under the mutex, and the store holds exactly
// the ids [oldest, next): adding a task when the ring is full, or when its
// text would push the total past max_bytes, first drops the oldest tasks.
// A dropped id (older than the ring keeps: at most the most recent
// 100000 tasks, fewer if they are large) answers 404 like one that never
// existed. The byte budget bounds memory even when every task is a
// 1 MiB body.
//
// Each slot keeps the task's JSON text minus its id member: everything
// after the opening brace ("\"title\":...}"), built by jansson before the
// lock is taken. Readers format {"id":"task-N", in front of it while
// holding the lock, so the lock is held only for copies.
#include "target/store.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

#define APEX_TARGET_TASK_PREFIX "task-"
#define APEX_TARGET_TASK_PREFIX_LEN (sizeof APEX_TARGET_TASK_PREFIX - 1)
// Room for {"id":"task-18446744073709551615", and a NUL.
#define APEX_TARGET_ID_MEMBER_MAX 48
#define APEX_TARGET_STAMP_MAX 32

typedef struct {
    char *rest;  // JSON text after the opening brace; NULL when empty
    size_t size; // strlen(rest)
} s_slot_t;

struct target_store {
    pthread_mutex_t lock; // guards everything below
    s_slot_t *ring;       // max_tasks slots, id % max_tasks
    size_t max_tasks;     // ring size
    size_t max_bytes;     // budget for all rest texts together
    size_t bytes;         // sum of size over held tasks
    uint64_t oldest;      // smallest id held (== next when empty)
    uint64_t next;        // id the next task gets
};

target_store_t *target_store_new(size_t max_tasks, size_t max_bytes)
{
    assert(max_tasks > 0);
    target_store_t *self = apex_calloc(1, sizeof *self);
    pthread_mutex_init(&self->lock, NULL);
    self->ring = apex_calloc(max_tasks, sizeof *self->ring);
    self->max_tasks = max_tasks;
    self->max_bytes = max_bytes;
    self->oldest = 1;
    self->next = 1;
    return self;
}

void target_store_destroy(target_store_t **self_p)
{
    assert(self_p);
    target_store_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->max_tasks; i++)
        free(self->ring[i].rest);
    free(self->ring);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

static s_slot_t *s_slot(target_store_t *self, uint64_t id)
{
    return &self->ring[id % self->max_tasks];
}

// Write {"id":"task-N", into out (APEX_TARGET_ID_MEMBER_MAX bytes) and
// return its length.
static size_t s_id_member(uint64_t id, char *out)
{
    int n = snprintf(out, APEX_TARGET_ID_MEMBER_MAX,
                     "{\"id\":\"" APEX_TARGET_TASK_PREFIX "%" PRIu64 "\",", id);
    assert(n > 0 && n < APEX_TARGET_ID_MEMBER_MAX);
    return (size_t)n;
}

// A task's full JSON text: the id member and rest. Caller frees.
static char *s_task_text(uint64_t id, const char *rest, size_t size)
{
    char member[APEX_TARGET_ID_MEMBER_MAX];
    size_t n = s_id_member(id, member);
    char *text = apex_calloc(1, n + size + 1);
    memcpy(text, member, n);
    memcpy(text + n, rest, size);
    return text;
}

// Drop the oldest task. Caller holds the lock; the store is not empty.
static void s_drop_oldest(target_store_t *self)
{
    assert(self->oldest < self->next);
    s_slot_t *slot = s_slot(self, self->oldest);
    self->bytes -= slot->size;
    free(slot->rest);
    *slot = (s_slot_t){NULL, 0};
    self->oldest++;
}

char *target_store_add(target_store_t *self, const char *title,
                       const char *description, int64_t priority,
                       time_t created)
{
    assert(self);
    assert(title);
    assert(description);
    struct tm tm;
    char stamp[APEX_TARGET_STAMP_MAX] = "1970-01-01T00:00:00Z";
    if (gmtime_r(&created, &tm))
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);

    json_t *task = json_object();
    json_object_set_new(task, "title", json_string(title));
    json_object_set_new(task, "description", json_string(description));
    json_object_set_new(task, "priority", json_integer((json_int_t)priority));
    json_object_set_new(task, "status", json_string("pending"));
    json_object_set_new(task, "created_at", json_string(stamp));
    char *dumped = json_dumps(task, JSON_COMPACT);
    json_decref(task);
    if (!dumped)
        abort(); // jansson only fails to dump when out of memory
    // Keep what follows the '{' as the slot's text.
    size_t size = strlen(dumped) - 1;
    char *rest = apex_strndup(dumped + 1, size);
    free(dumped);

    // The caller's copy is allocated before the lock and filled under it,
    // while rest is still certain to be alive.
    char *text = apex_calloc(1, APEX_TARGET_ID_MEMBER_MAX + size);
    pthread_mutex_lock(&self->lock);
    uint64_t id = self->next++;
    size_t n = s_id_member(id, text);
    memcpy(text + n, rest, size + 1);
    while (self->oldest < id && (id - self->oldest >= self->max_tasks ||
                                 self->bytes + size > self->max_bytes))
        s_drop_oldest(self);
    *s_slot(self, id) = (s_slot_t){rest, size};
    self->bytes += size;
    pthread_mutex_unlock(&self->lock);
    return text;
}

// Parse "task-N" (N a decimal without sign or leading zeros) into *id.
static bool s_parse_id(const char *text, uint64_t *id)
{
    if (strncmp(text, APEX_TARGET_TASK_PREFIX, APEX_TARGET_TASK_PREFIX_LEN) !=
        0)
        return false;
    const char *digits = text + APEX_TARGET_TASK_PREFIX_LEN;
    if (digits[0] < '1' || digits[0] > '9')
        return false;
    uint64_t v = 0;
    for (const char *p = digits; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *id = v;
    return true;
}

char *target_store_get(target_store_t *self, const char *id_text)
{
    assert(self);
    assert(id_text);
    uint64_t id = 0;
    if (!s_parse_id(id_text, &id))
        return NULL;
    char *text = NULL;
    pthread_mutex_lock(&self->lock);
    if (id >= self->oldest && id < self->next) {
        s_slot_t *slot = s_slot(self, id);
        text = s_task_text(id, slot->rest, slot->size);
    }
    pthread_mutex_unlock(&self->lock);
    return text;
}

char *target_store_list(target_store_t *self, size_t limit)
{
    assert(self);
    static const char head[] = "{\"tasks\":[";
    static const char tail_fmt[] = "],\"total\":%" PRIu64 "}";
    char tail[APEX_TARGET_ID_MEMBER_MAX];

    pthread_mutex_lock(&self->lock);
    uint64_t held = self->next - self->oldest;
    uint64_t count = held < limit ? held : (uint64_t)limit;
    // Size first, so the text is allocated once.
    size_t size = sizeof head - 1;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t id = self->next - 1 - i;
        char member[APEX_TARGET_ID_MEMBER_MAX];
        size += s_id_member(id, member) + s_slot(self, id)->size + 1;
    }
    int tail_len = snprintf(tail, sizeof tail, tail_fmt, held);
    assert(tail_len > 0 && (size_t)tail_len < sizeof tail);
    size += (size_t)tail_len;

    char *text = apex_calloc(1, size + 1);
    char *p = text;
    memcpy(p, head, sizeof head - 1);
    p += sizeof head - 1;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t id = self->next - 1 - i;
        s_slot_t *slot = s_slot(self, id);
        if (i > 0)
            *p++ = ',';
        char member[APEX_TARGET_ID_MEMBER_MAX];
        size_t n = s_id_member(id, member);
        memcpy(p, member, n);
        p += n;
        memcpy(p, slot->rest, slot->size);
        p += slot->size;
    }
    pthread_mutex_unlock(&self->lock);
    memcpy(p, tail, (size_t)tail_len);
    return text;
}
