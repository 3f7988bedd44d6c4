// worker/locate.h - where the master is: its host name looked up afresh
// whenever the worker retries, on glibc's threads (getaddrinfo_a), so a
// slow or silent DNS server never blocks the loop nor ZeroMQ, and a name
// that resolves late (the master's container or Service appears after
// the worker) or moves (a restarted master on another address) is
// followed. ZeroMQ is then told a numeric endpoint: left to resolve
// "tcp://master:5557" itself, it would do so synchronously in its I/O
// thread, where one lookup a DNS server does not answer holds every
// later retry up for the resolver's whole timeout.
#ifndef WORKER_LOCATE_H
#define WORKER_LOCATE_H

#include <stdbool.h>

#include "common/loop.h"

#define WORKER_LOCATE_MAX_PENDING 4 // lookups under way at once, at most

typedef struct worker_locate worker_locate_t; // opaque

// The answer to the newest lookup that finished (older ones finishing
// later are ignored): endpoint "tcp://10.0.0.5:5557" or
// "tcp://[fd00::5]:5557" and error NULL, or endpoint NULL and error
// ("gaierror(-2, 'Name or service not known')"). Both borrowed for the
// call. An IPv4 address is preferred (the master binds IPv4 unless told
// otherwise); the endpoint answered last is kept as long as it is among
// the name's addresses, so a name with several does not flap.
typedef void(worker_located_fn)(void *arg, const char *endpoint,
                                const char *error);

// A locator of host:port on loop; fn is called from the loop, never from
// within worker_locate_again(), and must not destroy the locator. Never
// returns NULL.
worker_locate_t *worker_locate_new(apex_loop_t *loop, const char *host,
                                   int port, worker_located_fn *fn, void *arg);

// Cancel the lookups under way and free *self_p; sets it to NULL, does
// nothing if NULL. A lookup glibc cannot cancel (its thread is waiting
// for a DNS server) is left to finish on its own: its memory stays
// reachable from glibc's request list, so this never waits for it.
void worker_locate_destroy(worker_locate_t **self_p);

// Look the name up once more, now; the answer comes through fn. With
// WORKER_LOCATE_MAX_PENDING lookups still under way (a DNS server that
// does not answer), nothing more is started until one finishes.
void worker_locate_again(worker_locate_t *self);

// How many lookups were started so far.
unsigned long worker_locate_lookups(const worker_locate_t *self);

// True when host is a numeric IPv4 or IPv6 address: nothing to look up.
bool worker_locate_numeric(const char *host);

#endif
