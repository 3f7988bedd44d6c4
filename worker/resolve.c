// worker/resolve.c - see resolve.h.
//
// One cache entry per (host, port): the first address found, or the
// error, and when it expires (WORKER_RESOLVE_TTL_US, shorter for
// errors). An entry being resolved holds glibc's request (gaicb) and the
// lookups waiting for it. getaddrinfo_a() notifies on a thread of its
// own threads without notifying anyone (SIGEV_NONE): while any entry is
// under way a timer polls them with gai_error() every
// WORKER_RESOLVE_POLL_US and answers the waiters of those done. (A
// notification thread could outlive the resolver and write to a closed
// descriptor; a poll of a few entries every 2 ms costs nothing.)
// Answers that are known at once (numeric addresses, fresh cache) are
// answered by the same timer on the next iteration, so fn is never
// called from within worker_resolve().
//
// Destroy cancels what glibc can cancel and waits (gai_suspend) for what
// it cannot.
#include "worker/resolve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/pyfmt.h"

#define WORKER_RESOLVE_TTL_US (60 * APEX_USEC_PER_SEC)      // a name's life
#define WORKER_RESOLVE_ERROR_TTL_US (5 * APEX_USEC_PER_SEC) // an error's
#define WORKER_RESOLVE_NEVER UINT64_MAX // numeric addresses never expire
#define WORKER_RESOLVE_ERROR_MAX 160    // bytes of an error text
#define WORKER_RESOLVE_SERVICE_MAX 8    // "65535" and its NUL
#define WORKER_RESOLVE_POLL_US 2000     // how often lookups under way are seen

typedef struct s_entry s_entry_t;

struct worker_lookup {
    worker_resolver_t *resolver; // owner
    s_entry_t *entry;            // the entry it waits for, or is answered by
    worker_resolved_fn *fn;      // the answer goes here
    void *arg;                   // its argument
    worker_lookup_t *next;       // in the entry's waiters or the ready list
    worker_lookup_t *prev;       // likewise
    bool ready;                  // on the ready list (else a waiter)
};

struct s_entry {
    char *host;                               // the name asked for
    int port;                                 // the port
    struct sockaddr_storage addr;             // the answer
    socklen_t addrlen;                        // its length, 0 on an error
    char error[WORKER_RESOLVE_ERROR_MAX];     // the error, "" on success
    uint64_t expires;                         // loop time it is stale from
    bool pending;                             // glibc is resolving it
    struct gaicb cb;                          // glibc's request
    struct addrinfo hints;                    // its hints
    char service[WORKER_RESOLVE_SERVICE_MAX]; // the port as text
    worker_lookup_t *waiters;                 // lookups waiting for it
    s_entry_t *next;                          // in the resolver's list
};

struct worker_resolver {
    apex_loop_t *loop;      // the loop
    apex_timer_t timer;     // answers the ready list, polls glibc
    s_entry_t *entries;     // every entry
    size_t pending;         // entries glibc is resolving
    worker_lookup_t *ready; // lookups answered on the next iteration
};

static void s_unlink(worker_lookup_t **head, worker_lookup_t *l)
{
    if (l->prev)
        l->prev->next = l->next;
    else
        *head = l->next;
    if (l->next)
        l->next->prev = l->prev;
    l->next = l->prev = NULL;
}

static void s_push(worker_lookup_t **head, worker_lookup_t *l)
{
    l->prev = NULL;
    l->next = *head;
    if (*head)
        (*head)->prev = l;
    *head = l;
}

static void s_answer(worker_lookup_t *l)
{
    const s_entry_t *e = l->entry;
    worker_resolved_fn *fn = l->fn;
    void *arg = l->arg;
    struct sockaddr_storage addr = e->addr;
    socklen_t addrlen = e->addrlen;
    char error[WORKER_RESOLVE_ERROR_MAX];
    memcpy(error, e->error, sizeof error);
    free(l);
    fn(arg, addrlen ? (struct sockaddr *)&addr : NULL, addrlen,
       addrlen ? NULL : error);
}

// Python's socket.gaierror text for a getaddrinfo() error.
static void s_gai_error(s_entry_t *e, int code)
{
    char *quoted = apex_py_repr_str(gai_strerror(code));
    snprintf(e->error, sizeof e->error, "gaierror(%d, %s)", code, quoted);
    free(quoted);
    e->addrlen = 0;
}

static void s_finish(worker_resolver_t *self, s_entry_t *e)
{
    int rc = gai_error(&e->cb);
    e->pending = false;
    uint64_t now = apex_loop_now(self->loop);
    if (rc == 0 && e->cb.ar_result) {
        const struct addrinfo *ai = e->cb.ar_result;
        memcpy(&e->addr, ai->ai_addr, ai->ai_addrlen);
        e->addrlen = ai->ai_addrlen;
        e->error[0] = '\0';
        e->expires = now + WORKER_RESOLVE_TTL_US;
    } else {
        s_gai_error(e, rc ? rc : EAI_NONAME);
        e->expires = now + WORKER_RESOLVE_ERROR_TTL_US;
    }
    freeaddrinfo(e->cb.ar_result);
    e->cb.ar_result = NULL;
    while (e->waiters) {
        worker_lookup_t *l = e->waiters;
        s_unlink(&e->waiters, l);
        s_answer(l);
    }
}

// Answer the ready lookups and the entries glibc finished; poll again
// while any is under way.
static void s_on_timer(apex_loop_t *loop, apex_timer_t *timer)
{
    worker_resolver_t *self = timer->arg;
    while (self->ready) {
        worker_lookup_t *l = self->ready;
        s_unlink(&self->ready, l);
        s_answer(l); // may ask again: that re-arms the timer
    }
    for (s_entry_t *e = self->entries; e; e = e->next) {
        if (e->pending && gai_error(&e->cb) != EAI_INPROGRESS) {
            self->pending--;
            s_finish(self, e);
        }
    }
    if (self->pending && !apex_timer_active(timer))
        apex_timer_start(loop, timer, WORKER_RESOLVE_POLL_US);
}

// True (and the entry answered) when host is a numeric address.
static bool s_numeric(s_entry_t *e)
{
    struct sockaddr_in *in = (struct sockaddr_in *)&e->addr;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&e->addr;
    memset(&e->addr, 0, sizeof e->addr);
    if (inet_pton(AF_INET, e->host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)e->port);
        e->addrlen = sizeof *in;
    } else if (inet_pton(AF_INET6, e->host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)e->port);
        e->addrlen = sizeof *in6;
    } else {
        return false;
    }
    e->expires = WORKER_RESOLVE_NEVER;
    return true;
}

// Start glibc on an entry; false (the entry holds the error) if it
// refuses at once.
static bool s_start(worker_resolver_t *self, s_entry_t *e)
{
    snprintf(e->service, sizeof e->service, "%d", e->port);
    e->hints = (struct addrinfo){.ai_family = AF_UNSPEC,
                                 .ai_socktype = SOCK_STREAM,
                                 .ai_flags = AI_ADDRCONFIG};
    e->cb = (struct gaicb){
        .ar_name = e->host, .ar_service = e->service, .ar_request = &e->hints};
    struct gaicb *list[1] = {&e->cb};
    struct sigevent sev = {.sigev_notify = SIGEV_NONE};
    int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, &sev);
    if (rc != 0) {
        s_gai_error(e, rc);
        e->expires = apex_loop_now(self->loop) + WORKER_RESOLVE_ERROR_TTL_US;
        return false;
    }
    e->pending = true;
    self->pending++;
    if (!apex_timer_active(&self->timer))
        apex_timer_start(self->loop, &self->timer, WORKER_RESOLVE_POLL_US);
    return true;
}

static s_entry_t *s_entry(worker_resolver_t *self, const char *host, int port)
{
    for (s_entry_t *e = self->entries; e; e = e->next)
        if (e->port == port && strcmp(e->host, host) == 0)
            return e;
    s_entry_t *e = apex_calloc(1, sizeof *e);
    e->host = apex_strdup(host);
    e->port = port;
    e->next = self->entries;
    self->entries = e;
    return e;
}

worker_lookup_t *worker_resolve(worker_resolver_t *self, const char *host,
                                int port, worker_resolved_fn *fn, void *arg)
{
    s_entry_t *e = s_entry(self, host, port);
    worker_lookup_t *l = apex_calloc(1, sizeof *l);
    l->resolver = self;
    l->entry = e;
    l->fn = fn;
    l->arg = arg;
    bool fresh = !e->pending && e->expires > apex_loop_now(self->loop);
    if (!fresh && !e->pending && !s_numeric(e) && s_start(self, e)) {
        s_push(&e->waiters, l);
        return l;
    }
    if (e->pending) {
        s_push(&e->waiters, l);
        return l;
    }
    l->ready = true;
    s_push(&self->ready, l);
    apex_timer_start(self->loop, &self->timer, 0);
    return l;
}

void worker_resolve_cancel(worker_lookup_t **lookup_p)
{
    if (!lookup_p || !*lookup_p)
        return;
    worker_lookup_t *l = *lookup_p;
    s_unlink(l->ready ? &l->resolver->ready : &l->entry->waiters, l);
    free(l);
    *lookup_p = NULL;
}

worker_resolver_t *worker_resolver_new(apex_loop_t *loop, apex_error_t *err)
{
    (void)err;
    worker_resolver_t *self = apex_calloc(1, sizeof *self);
    self->loop = loop;
    apex_timer_init(&self->timer, s_on_timer, self);
    return self;
}

static void s_free_waiters(worker_lookup_t *l)
{
    while (l) {
        worker_lookup_t *next = l->next;
        free(l);
        l = next;
    }
}

void worker_resolver_destroy(worker_resolver_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    worker_resolver_t *self = *self_p;
    for (s_entry_t *e = self->entries; e; e = e->next) {
        if (e->pending && gai_cancel(&e->cb) != EAI_CANCELED) {
            const struct gaicb *list[1] = {&e->cb};
            while (gai_error(&e->cb) == EAI_INPROGRESS)
                gai_suspend(list, 1, NULL);
        }
        freeaddrinfo(e->cb.ar_result);
    }
    apex_timer_stop(self->loop, &self->timer);
    while (self->entries) {
        s_entry_t *e = self->entries;
        self->entries = e->next;
        s_free_waiters(e->waiters);
        free(e->host);
        free(e);
    }
    s_free_waiters(self->ready);
    free(self);
    *self_p = NULL;
}
