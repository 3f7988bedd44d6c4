// worker/locate.c - see locate.h.
//
// Each lookup is a slot of its own, allocated with its copies of the
// name, the service and the hints: glibc's thread reads them until
// getaddrinfo() returns, and a slot may outlive the locator (destroy
// abandons what it cannot cancel). Slots are numbered in the order they
// start; an answer older than the newest one given is dropped, so a
// slow lookup that finally fails cannot undo a later success.
//
// glibc notifies nobody (SIGEV_NONE): while a slot is under way a timer
// polls gai_error() every WORKER_LOCATE_POLL_US, as worker/resolve.c
// does. Unlike resolve.c nothing is cached: the point is a fresh answer
// at every retry.
#include "worker/locate.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/pyfmt.h"

#define WORKER_LOCATE_POLL_US (10 * APEX_USEC_PER_MSEC) // lookups under way
#define WORKER_LOCATE_ERROR_MAX 160   // bytes of an error text
#define WORKER_LOCATE_ENDPOINT_MAX 80 // "tcp://[" INET6 "]:65535"
#define WORKER_LOCATE_SERVICE_MAX 8   // "65535" and its NUL

typedef struct {
    struct gaicb cb;                         // glibc's request
    struct addrinfo hints;                   // its hints
    char *host;                              // its name (a copy)
    char service[WORKER_LOCATE_SERVICE_MAX]; // the port as text
    uint64_t seq;                            // started as the seq-th lookup
    int refused;                             // getaddrinfo_a()'s error, or 0
} s_slot_t;

struct worker_locate {
    apex_loop_t *loop;                          // the loop
    char *host;                                 // the master's name
    int port;                                   // its port
    worker_located_fn *fn;                      // answers go here
    void *arg;                                  // fn's argument
    apex_timer_t timer;                         // polls the slots
    s_slot_t *slots[WORKER_LOCATE_MAX_PENDING]; // under way, or NULL
    uint64_t started;                           // lookups started
    uint64_t answered;                          // seq of the newest answer
    char endpoint[WORKER_LOCATE_ENDPOINT_MAX];  // the last one answered
    char error[WORKER_LOCATE_ERROR_MAX];        // scratch for fn
};

bool worker_locate_numeric(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, buf) == 1 ||
           inet_pton(AF_INET6, host, buf) == 1;
}

static void s_slot_free(s_slot_t *slot)
{
    freeaddrinfo(slot->cb.ar_result);
    free(slot->host);
    free(slot);
}

// addr as "tcp://ADDR:PORT" into out.
static void s_endpoint(const struct addrinfo *ai, int port, char *out,
                       size_t size)
{
    char text[INET6_ADDRSTRLEN] = "";
    if (ai->ai_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (void *)ai->ai_addr;
        inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
        snprintf(out, size, "tcp://[%s]:%d", text, port);
    } else {
        const struct sockaddr_in *in = (void *)ai->ai_addr;
        inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
        snprintf(out, size, "tcp://%s:%d", text, port);
    }
}

// The endpoint to use among a lookup's addresses: the one in use if it
// is still there, else the first IPv4 address, else the first one.
static void s_choose(worker_locate_t *self, const struct addrinfo *list)
{
    char first[WORKER_LOCATE_ENDPOINT_MAX] = "";
    char first4[WORKER_LOCATE_ENDPOINT_MAX] = "";
    for (const struct addrinfo *ai = list; ai; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        char e[WORKER_LOCATE_ENDPOINT_MAX];
        s_endpoint(ai, self->port, e, sizeof e);
        if (strcmp(e, self->endpoint) == 0)
            return; // still one of its addresses: keep it
        if (!first[0])
            snprintf(first, sizeof first, "%s", e);
        if (!first4[0] && ai->ai_family == AF_INET)
            snprintf(first4, sizeof first4, "%s", e);
    }
    snprintf(self->endpoint, sizeof self->endpoint, "%s",
             first4[0] ? first4 : first);
}

// Hand a finished slot's answer to fn, unless a newer one was given.
static void s_finish(worker_locate_t *self, s_slot_t *slot, int rc)
{
    if (slot->seq < self->answered)
        return;
    self->answered = slot->seq;
    if (rc == 0 && slot->cb.ar_result) {
        s_choose(self, slot->cb.ar_result);
        if (self->endpoint[0]) {
            self->fn(self->arg, self->endpoint, NULL);
            return;
        }
        rc = EAI_ADDRFAMILY;
    }
    char *quoted = apex_py_repr_str(gai_strerror(rc ? rc : EAI_NONAME));
    snprintf(self->error, sizeof self->error, "gaierror(%d, %s)",
             rc ? rc : EAI_NONAME, quoted);
    free(quoted);
    self->fn(self->arg, NULL, self->error);
}

static void s_on_timer(apex_loop_t *loop, apex_timer_t *timer)
{
    worker_locate_t *self = timer->arg;
    bool pending = false;
    for (size_t i = 0; i < WORKER_LOCATE_MAX_PENDING; i++) {
        s_slot_t *slot = self->slots[i];
        if (!slot)
            continue;
        int rc = slot->refused ? slot->refused : gai_error(&slot->cb);
        if (rc == EAI_INPROGRESS) {
            pending = true;
            continue;
        }
        self->slots[i] = NULL;
        s_finish(self, slot, rc); // fn may ask again: a free slot is used
        s_slot_free(slot);
    }
    for (size_t i = 0; i < WORKER_LOCATE_MAX_PENDING; i++)
        pending = pending || self->slots[i];
    if (pending && !apex_timer_active(timer))
        apex_timer_start(loop, timer, WORKER_LOCATE_POLL_US);
}

worker_locate_t *worker_locate_new(apex_loop_t *loop, const char *host,
                                   int port, worker_located_fn *fn, void *arg)
{
    worker_locate_t *self = apex_calloc(1, sizeof *self);
    self->loop = loop;
    self->host = apex_strdup(host);
    self->port = port;
    self->fn = fn;
    self->arg = arg;
    apex_timer_init(&self->timer, s_on_timer, self);
    return self;
}

void worker_locate_destroy(worker_locate_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    worker_locate_t *self = *self_p;
    apex_timer_stop(self->loop, &self->timer);
    for (size_t i = 0; i < WORKER_LOCATE_MAX_PENDING; i++) {
        s_slot_t *slot = self->slots[i];
        if (slot && (slot->refused || gai_cancel(&slot->cb) != EAI_NOTCANCELED))
            s_slot_free(slot);
        // else: glibc's thread still uses it; abandoned (see locate.h)
    }
    free(self->host);
    free(self);
    *self_p = NULL;
}

void worker_locate_again(worker_locate_t *self)
{
    size_t i = 0;
    while (i < WORKER_LOCATE_MAX_PENDING && self->slots[i])
        i++;
    if (i == WORKER_LOCATE_MAX_PENDING)
        return; // as many as allowed are waiting for the DNS server
    s_slot_t *slot = apex_calloc(1, sizeof *slot);
    slot->host = apex_strdup(self->host);
    snprintf(slot->service, sizeof slot->service, "%d", self->port);
    slot->hints = (struct addrinfo){.ai_family = AF_UNSPEC,
                                    .ai_socktype = SOCK_STREAM,
                                    .ai_flags = AI_ADDRCONFIG};
    slot->cb = (struct gaicb){.ar_name = slot->host,
                              .ar_service = slot->service,
                              .ar_request = &slot->hints};
    slot->seq = ++self->started;
    struct gaicb *list[1] = {&slot->cb};
    struct sigevent sev = {.sigev_notify = SIGEV_NONE};
    // When glibc refuses (no thread), the timer answers with its error.
    slot->refused = getaddrinfo_a(GAI_NOWAIT, list, 1, &sev);
    self->slots[i] = slot;
    apex_timer_start(self->loop, &self->timer, 0);
}

unsigned long worker_locate_lookups(const worker_locate_t *self)
{
    return (unsigned long)self->started;
}
