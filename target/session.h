// target/session.h - the demo API's login sessions: tokens that need no
// table (an id and a keyed check of it), and who logged in how often, for
// /stats.
//
// A token is 32 hex digits: a 64-bit session id, then a 64-bit mix of
// the id and a secret drawn at start. Checking one recomputes the mix, so
// any number of sessions cost nothing to keep and threads share nothing
// but the secret. It is a demo's session, not a security boundary.
#ifndef APEX_TARGET_SESSION_H
#define APEX_TARGET_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define TARGET_SESSION_COOKIE "apex_session" // the cookie's name
#define TARGET_SESSION_TOKEN_LEN 32          // hex digits of a token
#define TARGET_SESSION_MAX_USERS 10000       // names counted in /stats

typedef struct target_sessions target_sessions_t; // opaque

// Sessions with a fresh secret. Never returns NULL.
target_sessions_t *target_sessions_new(void);

// Free *self_p and set it to NULL; does nothing if *self_p is NULL.
void target_sessions_destroy(target_sessions_t **self_p);

// A new session for username: its token into out (at least
// TARGET_SESSION_TOKEN_LEN + 1 bytes), and a count for the name (the
// first TARGET_SESSION_MAX_USERS names; later ones in "others").
// Thread-safe.
void target_sessions_login(target_sessions_t *self, const char *username,
                           char *out);

// True when token (NULL allowed) is one this object issued.
bool target_sessions_valid(const target_sessions_t *self, const char *token);

// {"total": n, "users": {name: n, ...}, "others": n} since the last reset,
// a new reference.
json_t *target_sessions_json(target_sessions_t *self);

// Forget the counts (tokens stay valid).
void target_sessions_reset(target_sessions_t *self);

#endif
