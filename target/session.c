// target/session.c - see session.h. The mix is splitmix64's finalizer
// applied twice with the secret in between; counts live in a jansson
// object under a mutex (a login is rare next to other requests).
#include "target/session.h"

#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/rng.h"

#define TARGET_SESSION_HALF 16 // hex digits of each half of a token

struct target_sessions {
    uint64_t secret;       // keys the check half of every token
    _Atomic uint64_t next; // the next session id
    pthread_mutex_t lock;  // guards the counts
    json_t *users;         // name -> logins since the last reset
    uint64_t total;        // logins since the last reset
    uint64_t others;       // logins of names past the table's size
};

static uint64_t s_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint64_t s_check(const target_sessions_t *self, uint64_t id)
{
    return s_mix(s_mix(id ^ self->secret) + self->secret);
}

target_sessions_t *target_sessions_new(void)
{
    target_sessions_t *self = apex_calloc(1, sizeof *self);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
                    ((uint64_t)getpid() << 40) ^ (uint64_t)(uintptr_t)self;
    self->secret = s_mix(apex_rng_seed(seed));
    atomic_init(&self->next, 1);
    pthread_mutex_init(&self->lock, NULL);
    self->users = json_object();
    return self;
}

void target_sessions_destroy(target_sessions_t **self_p)
{
    assert(self_p);
    target_sessions_t *self = *self_p;
    if (!self)
        return;
    json_decref(self->users);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

void target_sessions_login(target_sessions_t *self, const char *username,
                           char *out)
{
    assert(self && username && out);
    uint64_t id = atomic_fetch_add(&self->next, 1);
    snprintf(out, TARGET_SESSION_TOKEN_LEN + 1, "%016" PRIx64 "%016" PRIx64, id,
             s_check(self, id));
    pthread_mutex_lock(&self->lock);
    self->total++;
    json_t *n = json_object_get(self->users, username);
    if (n)
        json_integer_set(n, json_integer_value(n) + 1);
    else if (json_object_size(self->users) < TARGET_SESSION_MAX_USERS)
        json_object_set_new(self->users, username, json_integer(1));
    else
        self->others++;
    pthread_mutex_unlock(&self->lock);
}

// The value of TARGET_SESSION_HALF hex digits at s, or false.
static bool s_hex(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < TARGET_SESSION_HALF; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                       : -1;
        if (d < 0)
            return false;
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return true;
}

bool target_sessions_valid(const target_sessions_t *self, const char *token)
{
    assert(self);
    uint64_t id, check;
    return token && strlen(token) == TARGET_SESSION_TOKEN_LEN &&
           s_hex(token, &id) && s_hex(token + TARGET_SESSION_HALF, &check) &&
           check == s_check(self, id);
}

json_t *target_sessions_json(target_sessions_t *self)
{
    assert(self);
    pthread_mutex_lock(&self->lock);
    json_t *root = json_object();
    json_object_set_new(root, "total", json_integer((json_int_t)self->total));
    json_object_set_new(root, "users", json_deep_copy(self->users));
    json_object_set_new(root, "others", json_integer((json_int_t)self->others));
    pthread_mutex_unlock(&self->lock);
    return root;
}

void target_sessions_reset(target_sessions_t *self)
{
    assert(self);
    pthread_mutex_lock(&self->lock);
    json_object_clear(self->users);
    self->total = 0;
    self->others = 0;
    pthread_mutex_unlock(&self->lock);
}
