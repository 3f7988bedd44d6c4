// worker/resolve.h - host names to addresses without blocking the loop:
// glibc's getaddrinfo_a() resolves on its own threads and the loop polls
// for its answers; answers are cached per host and port for a while, and users
// asking for the same name at once share one lookup. Numeric addresses
// and cached names are answered on the next loop iteration.
#ifndef WORKER_RESOLVE_H
#define WORKER_RESOLVE_H

#include <netdb.h>

#include "common/error.h"
#include "common/loop.h"

typedef struct worker_resolver worker_resolver_t; // opaque
typedef struct worker_lookup worker_lookup_t;     // one question, opaque

// The answer: the first address (borrowed for the call), or NULL and an
// error text ("gaierror(-2, 'Name or service not known')").
typedef void(worker_resolved_fn)(void *arg, const struct sockaddr *addr,
                                 socklen_t addrlen, const char *error);

// A resolver on loop. Never fails today (err is for the future).
worker_resolver_t *worker_resolver_new(apex_loop_t *loop, apex_error_t *err);

// Free *self_p (cancelling lookups under way) and set it to NULL.
void worker_resolver_destroy(worker_resolver_t **self_p);

// Ask for host:port; fn(arg, ...) answers later, from the loop, once. The
// returned handle may be cancelled until then.
worker_lookup_t *worker_resolve(worker_resolver_t *self, const char *host,
                                int port, worker_resolved_fn *fn, void *arg);

// Forget a question (its fn is never called); *lookup_p is set to NULL.
void worker_resolve_cancel(worker_lookup_t **lookup_p);

#endif
