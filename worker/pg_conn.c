// worker/pg_conn.c - see pg_conn.h.
//
// States: RESOLVING (a single host name is looked up off the loop; its
// first address becomes libpq's "hostaddr", the name stays "host" for
// TLS checks), CONNECTING (PQconnectPoll each time the socket is ready
// the way it last asked: readable or writable), IDLE (open, no command;
// the socket is watched for reading so a server that closes an idle
// connection is noticed at once), BUSY (a command was sent: readable ->
// PQconsumeInput, then PQgetResult while PQisBusy says a result is
// complete; writable while PQflush has output left), CLOSED.
//
// libpq may replace its socket while connecting (the next address of a
// host) and closes it when the connection is lost, so the watcher
// follows PQsocket() after every libpq call: a closed descriptor has
// already left epoll, and the loop's watcher handles one re-used under
// the same number.
//
// libpq absorbs input while it waits to send, so a command's results may
// be complete before its socket is ever readable again; a zero-delay
// timer looks then, so results never wait and never come from within a
// call the owner made. Destroying a connection during a dispatch marks
// it dead; the dispatch frees it on its way out.
#include "worker/pg_conn.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

#define WORKER_PG_DEFAULT_PORT 5432
#define WORKER_PG_APP_NAME "apex-worker"
#define WORKER_PG_OPTIONS_MAX 512 // bytes of the options we pass

struct worker_pg_target {
    char **keys;         // libpq keywords with a value, NULL-terminated
    char **values;       // their values
    size_t n;            // how many
    const char *options; // the "options" value given, or NULL
    char *resolve;       // a host name to resolve off the loop, or NULL
    int port;            // its port (for the resolver's cache)
};

typedef enum {
    S_RESOLVING,  // looking the host name up
    S_CONNECTING, // PQconnectPoll
    S_IDLE,       // open, no command
    S_BUSY,       // a command in flight
    S_CLOSED      // failed or lost; only destroy remains
} s_state_t;

struct worker_pg {
    worker_pg_env_t env;              // the loop and the resolver
    const worker_pg_target_t *target; // where to
    long timeout_ms;                  // statement_timeout for the session
    PGconn *conn;                     // libpq's connection, or NULL
    apex_io_t io;                     // its socket
    apex_timer_t kick;                // results already read by libpq
    worker_lookup_t *lookup;          // RESOLVING: the question
    s_state_t state;                  // see the top of the file
    const worker_pg_events_t *events; // the owner's
    void *arg;                        // its argument
    int busy;                         // dispatches under way
    bool dead;                        // destroyed during a dispatch
};

static void s_on_io(apex_loop_t *loop, apex_io_t *io, uint32_t events);

// ---------------------------------------------------------------------
// Targets

void worker_pg_first_line(const char *text, char *out, size_t size)
{
    size_t len = 0;
    bool space = false;
    if (size == 0)
        return;
    for (const char *s = text ? text : ""; *s && *s != '\n'; s++) {
        if (*s == ' ' || *s == '\t' || *s == '\r') {
            space = len > 0;
            continue;
        }
        if (len + space + 1 >= size)
            break;
        if (space)
            out[len++] = ' ';
        space = false;
        out[len++] = *s;
    }
    out[len] = '\0';
}

// True for a host libpq connects to without a name lookup: an address,
// a socket folder ("/run/postgresql", "@abstract"), or a list.
static bool s_no_lookup(const char *host)
{
    unsigned char addr[sizeof(struct in6_addr)];
    return host[0] == '\0' || host[0] == '/' || host[0] == '@' ||
           strchr(host, ',') || inet_pton(AF_INET, host, addr) == 1 ||
           inet_pton(AF_INET6, host, addr) == 1;
}

worker_pg_target_t *worker_pg_target_new(const char *conninfo,
                                         apex_error_t *err)
{
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &why);
    if (!opts) {
        char line[APEX_ERROR_MAX];
        worker_pg_first_line(why ? why : "out of memory", line, sizeof line);
        apex_error_set(err, "invalid connection string: %s", line);
        PQfreemem(why);
        return NULL;
    }
    worker_pg_target_t *self = apex_calloc(1, sizeof *self);
    size_t n = 0;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        n += o->val != NULL;
    self->keys = apex_calloc(n + 1, sizeof *self->keys);
    self->values = apex_calloc(n + 1, sizeof *self->values);
    const char *host = NULL, *hostaddr = NULL, *port = NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val)
            continue;
        self->keys[self->n] = apex_strdup(o->keyword);
        self->values[self->n] = apex_strdup(o->val);
        const char *v = self->values[self->n++];
        if (strcmp(o->keyword, "host") == 0)
            host = v;
        else if (strcmp(o->keyword, "hostaddr") == 0)
            hostaddr = v;
        else if (strcmp(o->keyword, "port") == 0)
            port = v;
        else if (strcmp(o->keyword, "options") == 0)
            self->options = v;
    }
    PQconninfoFree(opts);
    if (host && (!hostaddr || !hostaddr[0]) && !s_no_lookup(host)) {
        self->resolve = apex_strdup(host);
        self->port =
            port && atoi(port) > 0 ? atoi(port) : WORKER_PG_DEFAULT_PORT;
    }
    return self;
}

void worker_pg_target_destroy(worker_pg_target_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    worker_pg_target_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++) {
        free(self->keys[i]);
        free(self->values[i]);
    }
    free(self->keys);
    free(self->values);
    free(self->resolve);
    free(self);
    *self_p = NULL;
}

// ---------------------------------------------------------------------
// Connecting

// Watch libpq's socket (as it is now) for events; stop when it has none.
// While open, a socket that has not changed keeps its registration (no
// system call per command); while connecting, libpq may have closed the
// socket and opened another under the same number, so it registers anew.
static void s_watch(worker_pg_t *self, uint32_t events)
{
    int fd = self->conn ? PQsocket(self->conn) : -1;
    bool open = self->state == S_IDLE || self->state == S_BUSY;
    if (open && fd >= 0 && fd == self->io.fd && events == self->io.events)
        return;
    apex_error_t err = {""};
    if (fd < 0 || apex_io_start(self->env.loop, &self->io, fd, events, &err))
        apex_io_stop(self->env.loop, &self->io);
}

// The connection is over: tell the owner (last: it may destroy self).
static void s_closed(worker_pg_t *self, const char *error)
{
    char line[APEX_ERROR_MAX];
    worker_pg_first_line(error, line, sizeof line);
    self->state = S_CLOSED;
    apex_io_stop(self->env.loop, &self->io);
    apex_timer_stop(self->env.loop, &self->kick);
    self->events->on_close(self->arg, line[0] ? line : "connection lost");
}

static void s_no_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

// PQconnectStartParams with the target's parameters, our options and
// hostaddr when a lookup gave one.
static int s_connect(worker_pg_t *self, const char *hostaddr, apex_error_t *err)
{
    const worker_pg_target_t *t = self->target;
    const char **keys = apex_calloc(t->n + 4, sizeof *keys);
    const char **values = apex_calloc(t->n + 4, sizeof *values);
    char options[WORKER_PG_OPTIONS_MAX];
    snprintf(options, sizeof options, "%s%s-c statement_timeout=%ld",
             t->options ? t->options : "", t->options ? " " : "",
             self->timeout_ms);
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->keys[i], "options") == 0)
            continue;
        keys[n] = t->keys[i];
        values[n++] = t->values[i];
    }
    keys[n] = "options";
    values[n++] = options;
    keys[n] = "fallback_application_name";
    values[n++] = WORKER_PG_APP_NAME;
    if (hostaddr) {
        keys[n] = "hostaddr";
        values[n++] = hostaddr;
    }
    self->conn = PQconnectStartParams(keys, values, 0);
    free(keys);
    free(values);
    if (!self->conn || PQstatus(self->conn) == CONNECTION_BAD) {
        char line[APEX_ERROR_MAX];
        worker_pg_first_line(self->conn ? PQerrorMessage(self->conn)
                                        : "out of memory",
                             line, sizeof line);
        return apex_error_set(err, "%s", line);
    }
    // Notices (a query's NOTICE, the server's last words to an idle
    // connection) would go to stderr one by one: nobody reads them.
    PQsetNoticeProcessor(self->conn, s_no_notice, NULL);
    // libpq's contract: poll first when the socket is writable.
    self->state = S_CONNECTING;
    s_watch(self, EPOLLOUT);
    return 0;
}

static void s_on_resolved(void *arg, const struct sockaddr *addr,
                          socklen_t addrlen, const char *error)
{
    worker_pg_t *self = arg;
    self->lookup = NULL;
    char text[APEX_ERROR_MAX];
    char host[NI_MAXHOST];
    if (!addr) {
        snprintf(text, sizeof text,
                 "could not translate host name \"%s\" to address: %s",
                 self->target->resolve, error ? error : "no address");
        s_closed(self, text);
        return;
    }
    int rc =
        getnameinfo(addr, addrlen, host, sizeof host, NULL, 0, NI_NUMERICHOST);
    apex_error_t err = {""};
    if (rc != 0)
        apex_error_set(&err, "could not use the address of \"%s\": %s",
                       self->target->resolve, gai_strerror(rc));
    if (rc != 0 || s_connect(self, host, &err) != 0)
        s_closed(self, err.msg);
}

// One step of PQconnectPoll; the socket was ready as it asked.
static void s_connect_poll(worker_pg_t *self)
{
    switch (PQconnectPoll(self->conn)) {
    case PGRES_POLLING_READING:
        s_watch(self, EPOLLIN);
        return;
    case PGRES_POLLING_WRITING:
        s_watch(self, EPOLLOUT);
        return;
    case PGRES_POLLING_OK:
        if (PQsetnonblocking(self->conn, 1) != 0) {
            s_closed(self, PQerrorMessage(self->conn));
            return;
        }
        self->state = S_IDLE;
        s_watch(self, EPOLLIN);
        self->events->on_open(self->arg);
        return;
    default:
        s_closed(self, PQerrorMessage(self->conn));
        return;
    }
}

// ---------------------------------------------------------------------
// Commands

// Deliver every complete result of the command in flight, then on_done.
static void s_drain(worker_pg_t *self)
{
    while (self->state == S_BUSY && !self->dead && !PQisBusy(self->conn)) {
        PGresult *result = PQgetResult(self->conn);
        if (!result) {
            self->state = S_IDLE;
            s_watch(self, EPOLLIN);
            self->events->on_done(self->arg);
            return;
        }
        ExecStatusType st = PQresultStatus(result);
        self->events->on_result(self->arg, result);
        if (!self->dead && (st == PGRES_COPY_IN || st == PGRES_COPY_OUT ||
                            st == PGRES_COPY_BOTH)) {
            // libpq hands a COPY's result out until the COPY ends, and
            // nothing here speaks COPY: the connection is of no more use.
            s_closed(self, "COPY is not supported");
            return;
        }
    }
}

static void s_free_if_dead(worker_pg_t *self)
{
    if (self->dead && self->busy == 0)
        free(self);
}

static void s_on_kick(apex_loop_t *loop, apex_timer_t *timer)
{
    (void)loop;
    worker_pg_t *self = timer->arg;
    self->busy++;
    s_drain(self);
    self->busy--;
    s_free_if_dead(self);
}

// Readable or writable while open.
static void s_on_open_io(worker_pg_t *self, uint32_t events)
{
    if (events & EPOLLOUT) {
        // 1: more to send; 0: all sent; -1: failed (the results say why).
        if (PQflush(self->conn) != 1)
            s_watch(self, EPOLLIN);
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        (void)PQconsumeInput(self->conn); // a failure shows in the status
    if (self->state == S_BUSY) {
        s_drain(self);
    } else {
        PGnotify *note;
        while ((note = PQnotifies(self->conn)) != NULL)
            PQfreemem(note); // nobody listens
    }
    if (!self->dead && self->state == S_IDLE &&
        PQstatus(self->conn) == CONNECTION_BAD)
        s_closed(self, PQerrorMessage(self->conn));
}

static void s_on_io(apex_loop_t *loop, apex_io_t *io, uint32_t events)
{
    (void)loop;
    worker_pg_t *self = io->arg;
    self->busy++;
    if (self->state == S_CONNECTING)
        s_connect_poll(self);
    else if (self->state == S_IDLE || self->state == S_BUSY)
        s_on_open_io(self, events);
    else
        apex_io_stop(self->env.loop, &self->io);
    self->busy--;
    s_free_if_dead(self);
}

// ---------------------------------------------------------------------
// The API

worker_pg_t *worker_pg_open(const worker_pg_env_t *env,
                            const worker_pg_target_t *target, long timeout_ms,
                            const worker_pg_events_t *events, void *arg,
                            apex_error_t *err)
{
    worker_pg_t *self = apex_calloc(1, sizeof *self);
    self->env = *env;
    self->target = target;
    self->timeout_ms = timeout_ms;
    self->events = events;
    self->arg = arg;
    apex_io_init(&self->io, s_on_io, self);
    apex_timer_init(&self->kick, s_on_kick, self);
    if (target->resolve) {
        self->state = S_RESOLVING;
        self->lookup = worker_resolve(env->resolver, target->resolve,
                                      target->port, s_on_resolved, self);
        return self;
    }
    if (s_connect(self, NULL, err) != 0)
        worker_pg_destroy(&self);
    return self;
}

PGconn *worker_pg_conn(worker_pg_t *self)
{
    return self->conn;
}

int worker_pg_sent(worker_pg_t *self, apex_error_t *err)
{
    int rc = PQflush(self->conn);
    if (rc < 0) {
        char line[APEX_ERROR_MAX];
        worker_pg_first_line(PQerrorMessage(self->conn), line, sizeof line);
        return apex_error_set(err, "%s", line);
    }
    self->state = S_BUSY;
    s_watch(self, rc == 1 ? EPOLLIN | EPOLLOUT : EPOLLIN);
    if (!PQisBusy(self->conn)) // complete already (see the top)
        apex_timer_start(self->env.loop, &self->kick, 0);
    return 0;
}

bool worker_pg_ok(const worker_pg_t *self)
{
    return self->conn && self->state != S_CLOSED &&
           PQstatus(self->conn) == CONNECTION_OK;
}

void worker_pg_destroy(worker_pg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    worker_pg_t *self = *self_p;
    *self_p = NULL;
    worker_resolve_cancel(&self->lookup);
    // Stop watching before PQfinish closes the descriptor.
    apex_io_stop(self->env.loop, &self->io);
    apex_timer_stop(self->env.loop, &self->kick);
    if (self->conn)
        PQfinish(self->conn);
    self->conn = NULL;
    self->state = S_CLOSED;
    if (self->busy)
        self->dead = true; // the dispatch under way frees it
    else
        free(self);
}
