// worker/step_ws.c - the WebSocket step kind (see step_ws.h).
//
// A user's connection lives across its steps: `connect` opens it (and
// closes the one before), `send`, `receive`, `request`, `listen` and
// `ping` use it, `close` ends it. The step in flight waits for one thing
// (the upgrade, a matching message, the reply to a request, the end of a
// listen, a pong, the server's close) with its timeout on the user's
// timer. Messages nobody waits for go to a small inbox, so a `receive`
// after a `send` sees a reply that came back quickly; the oldest are
// dropped when it is full.
//
// Every step ends through s_done(), on the loop: a step that ends at once
// (a send, or one that cannot run) ends on a zero-delay timer, as
// worker/kind.h asks. A connection the server closes (or that fails)
// while no close of ours was asked is a drop; the step waiting on it
// fails, and the next step that needs a connection fails until a
// `connect` opens another.
#include "worker/step_ws.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/pyfmt.h"
#include "worker/failure.h"
#include "worker/ws_conn.h"

#define WORKER_WS_INBOX 32                // messages kept unclaimed
#define WORKER_WS_MAX_MESSAGE (16u << 20) // larger: closed with 1009
#define WORKER_WS_TYPE "WS"               // stats request type
#define WORKER_WS_MS_PER_S 1000.0

typedef struct {
    apex_loop_t *loop;             // the loop
    worker_resolver_t *resolver;   // names
    worker_tls_ctx_t *tls;         // wss://
    uint64_t rng;                  // masks and keys
    worker_ws_env_t env;           // what connections share
    worker_ws_counters_t counters; // run-wide figures
} s_kind_t;

typedef enum {
    S_IDLE,    // no step in flight
    S_OPENING, // connect: waiting for the upgrade
    S_MATCH,   // receive: a matching message
    S_REPLY,   // request: the reply with the same correlation value
    S_LISTEN,  // listen: messages until a count or a time
    S_PONG,    // ping: its pong
    S_CLOSING, // close: the server's close
    S_ENDING   // the step is over; s_done runs on the zero timer
} s_wait_t;

typedef struct {
    s_kind_t *kind;                    // the kind
    worker_user_t *user;               // its user
    worker_ws_t *ws;                   // the connection, or NULL
    const apex_step_t *step;           // the step in flight, or NULL
    s_wait_t wait;                     // what it waits for
    uint64_t started;                  // loop time the step started
    apex_timer_t timer;                // the step's timeout or its end
    apex_timer_t keepalive;            // pings while connected
    double ping_interval;              // seconds between them, 0: none
    bool opened;                       // ws got through its upgrade
    char *correlation;                 // request: the value to match
    uint64_t listened;                 // listen: messages so far
    uint64_t ping_id;                  // ping: the payload of the last ping
    apex_buf_t message;                // the message that ends the step
    char failure[WORKER_FAILURE_MAX];  // why the step failed, "" if not
    bool unrecorded;                   // the step's time is not a sample
    apex_buf_t inbox[WORKER_WS_INBOX]; // messages nobody waited for
    double inbox_at[WORKER_WS_INBOX];  // their arrival (wall clock, s)
    size_t inbox_head;                 // oldest
    size_t inbox_len;                  // how many
} s_conn_t;

static const worker_ws_events_t s_events;

// ---------------------------------------------------------------------
// Ending a step

static void s_done(s_conn_t *c)
{
    apex_timer_stop(c->kind->loop, &c->timer);
    uint64_t now = apex_loop_now(c->kind->loop);
    worker_result_t result = {
        .elapsed_us = now > c->started ? now - c->started : 0,
        .bytes = c->message.len,
        .failure = c->failure[0] ? c->failure : NULL,
        .body = apex_buf_str(&c->message),
        .body_len = c->message.len,
        .headers = "",
        .unrecorded = c->unrecorded,
    };
    c->step = NULL;
    c->wait = S_IDLE;
    free(c->correlation);
    c->correlation = NULL;
    worker_user_step_done(c->user, &result); // last: c may be freed
}

static void s_on_timer(apex_loop_t *loop, apex_timer_t *timer)
{
    s_conn_t *c = timer->arg;
    if (c->wait == S_ENDING) {
        s_done(c);
        return;
    }
    const apex_step_t *step = c->step;
    if (c->wait == S_LISTEN && step->ws->duration > 0) {
        s_done(c); // a listen for a time ends well when the time is up
        return;
    }
    // The step's timeout.
    snprintf(c->failure, sizeof c->failure,
             "WebSocketTimeout('%s: nothing within %g s')", step->name,
             step->timeout);
    if (c->wait == S_OPENING)
        worker_ws_destroy(&c->ws);
    (void)loop;
    s_done(c);
}

// End the step from the loop, on the next iteration.
static void s_end_soon(s_conn_t *c)
{
    c->wait = S_ENDING;
    apex_timer_start(c->kind->loop, &c->timer, 0);
}

static void s_fail_soon(s_conn_t *c, const char *text)
{
    snprintf(c->failure, sizeof c->failure, "%s", text);
    s_end_soon(c);
}

// ---------------------------------------------------------------------
// Messages

// The text of the node path leads to in a JSON message, or NULL.
static char *s_json_value(const apex_jsonpath_t *path, const uint8_t *data,
                          size_t len, uint64_t *rng)
{
    json_t *doc = json_loadb((const char *)data, len, JSON_DECODE_ANY, NULL);
    if (!doc)
        return NULL;
    const json_t *v = apex_jsonpath_eval(path, doc, rng);
    char *text = v ? apex_json_text(v) : NULL;
    json_decref(doc);
    return text;
}

static bool s_matches(s_conn_t *c, const apex_ws_match_t *m,
                      const uint8_t *data, size_t len)
{
    switch (m->kind) {
    case APEX_WS_MATCH_ANY:
        return true;
    case APEX_WS_MATCH_TEXT:
        return strlen(m->text) == len && memcmp(m->text, data, len) == 0;
    case APEX_WS_MATCH_REGEX: {
        char *text = apex_strndup((const char *)data, len);
        bool ok = regexec(&m->regex, text, 0, NULL, 0) == 0;
        free(text);
        return ok;
    }
    case APEX_WS_MATCH_JSON: {
        char *v = s_json_value(&m->path, data, len, &c->kind->rng);
        bool ok = v && (!m->text || strcmp(v, m->text) == 0);
        free(v);
        return ok;
    }
    }
    return false;
}

typedef enum {
    S_UNWANTED, // the step in flight does not want it
    S_COUNTED,  // a listen counted it
    S_ENDS      // it ends the step (copied into c->message)
} s_take_t;

// Would the step in flight take this message? Never ends the step itself:
// the caller does (at once from a loop event, on the zero timer from
// start()).
static s_take_t s_take(s_conn_t *c, const uint8_t *data, size_t len,
                       double arrived)
{
    const apex_ws_step_t *ws = c->step ? c->step->ws : NULL;
    bool ends = false;
    if (c->wait == S_MATCH) {
        ends = s_matches(c, &ws->match, data, len);
    } else if (c->wait == S_REPLY) {
        char *v = s_json_value(&ws->correlate, data, len, &c->kind->rng);
        ends = v && strcmp(v, c->correlation) == 0;
        free(v);
    } else if (c->wait == S_LISTEN) {
        c->listened++;
        if (ws->has_timestamp) {
            char *v = s_json_value(&ws->timestamp, data, len, &c->kind->rng);
            double ts_ms = v ? strtod(v, NULL) : 0;
            free(v);
            // Push latency: from the server's clock to our arrival
            // (both on this machine's clock in a test; across machines
            // only as good as their clocks agree).
            double now_ms = arrived * WORKER_WS_MS_PER_S;
            if (ts_ms > 0 && now_ms >= ts_ms)
                worker_user_sample(
                    c->user,
                    apex_us_from_s((now_ms - ts_ms) / WORKER_WS_MS_PER_S), len);
        }
        if (!ws->count || c->listened < ws->count)
            return S_COUNTED;
        ends = true;
    }
    if (!ends)
        return S_UNWANTED;
    apex_buf_reset(&c->message);
    apex_buf_append(&c->message, data, len);
    return S_ENDS;
}

static void s_inbox_put(s_conn_t *c, const uint8_t *data, size_t len,
                        double arrived)
{
    if (c->inbox_len == WORKER_WS_INBOX) {
        c->inbox_head = (c->inbox_head + 1) % WORKER_WS_INBOX; // drop oldest
        c->inbox_len--;
    }
    size_t i = (c->inbox_head + c->inbox_len) % WORKER_WS_INBOX;
    apex_buf_t *slot = &c->inbox[i];
    c->inbox_at[i] = arrived;
    apex_buf_reset(slot);
    apex_buf_append(slot, data, len);
    c->inbox_len++;
}

// Offer the inbox to the step just started, oldest first, as if the
// messages came now: those it does not want are passed over, as live ones
// are; one that ends it ends it soon, and what is after it stays.
static void s_inbox_drain(s_conn_t *c)
{
    while (c->inbox_len) {
        size_t i = c->inbox_head;
        apex_buf_t *slot = &c->inbox[i];
        c->inbox_head = (c->inbox_head + 1) % WORKER_WS_INBOX;
        c->inbox_len--;
        if (s_take(c, (const uint8_t *)slot->data, slot->len, c->inbox_at[i]) ==
            S_ENDS) {
            s_end_soon(c);
            return;
        }
    }
}

// ---------------------------------------------------------------------
// The connection's events

static void s_ping_later(s_conn_t *c)
{
    if (c->ping_interval > 0)
        apex_timer_start(c->kind->loop, &c->keepalive,
                         apex_us_from_s(c->ping_interval));
}

static void s_on_keepalive(apex_loop_t *loop, apex_timer_t *timer)
{
    (void)loop;
    s_conn_t *c = timer->arg;
    static const char payload[] = "keepalive";
    if (c->ws && worker_ws_is_open(c->ws) &&
        worker_ws_ping(c->ws, payload, sizeof payload - 1) == 0)
        s_ping_later(c);
}

static void s_on_open(void *arg, const char *protocol)
{
    (void)protocol;
    s_conn_t *c = arg;
    c->opened = true;
    c->kind->counters.opened++;
    c->kind->counters.open++;
    s_ping_later(c);
    if (c->wait == S_OPENING)
        s_done(c);
}

static void s_on_message(void *arg, int opcode, const uint8_t *data, size_t len)
{
    (void)opcode;
    s_conn_t *c = arg;
    c->kind->counters.msgs_received++;
    c->kind->counters.bytes_received += len;
    double arrived = apex_wall_time();
    if (c->wait == S_MATCH || c->wait == S_REPLY || c->wait == S_LISTEN) {
        if (s_take(c, data, len, arrived) == S_ENDS)
            s_done(c);
        return; // taken, counted or passed over
    }
    s_inbox_put(c, data, len, arrived); // for a later step
}

static void s_on_pong(void *arg, const uint8_t *data, size_t len)
{
    s_conn_t *c = arg;
    if (c->wait == S_PONG && len == sizeof c->ping_id &&
        memcmp(data, &c->ping_id, len) == 0)
        s_done(c);
}

static void s_on_close(void *arg, int code, const char *error, bool by_us)
{
    s_conn_t *c = arg;
    worker_ws_counters_t *n = &c->kind->counters;
    if (!c->opened) {
        n->connect_failures++;
    } else {
        n->open--;
        if (by_us)
            n->closed++;
        else
            n->dropped++;
    }
    c->opened = false;
    apex_timer_stop(c->kind->loop, &c->keepalive);
    worker_ws_destroy(&c->ws); // freed when its dispatch returns
    if (c->wait == S_IDLE || c->wait == S_ENDING)
        return;
    if (c->wait == S_CLOSING) {
        s_done(c);
        return;
    }
    if (error)
        snprintf(c->failure, sizeof c->failure, "%s", error);
    else
        snprintf(c->failure, sizeof c->failure,
                 "WebSocketClosed(%d, 'the server closed the connection')",
                 code);
    s_done(c);
}

static const worker_ws_events_t s_events = {
    .on_open = s_on_open,
    .on_message = s_on_message,
    .on_pong = s_on_pong,
    .on_close = s_on_close,
};

// ---------------------------------------------------------------------
// Starting steps

// Drop the user's connection from our side (a new connect, the user's
// end): counted as closed by us when it was open.
static void s_drop(s_conn_t *c)
{
    if (!c->ws)
        return;
    if (c->opened) {
        c->kind->counters.open--;
        c->kind->counters.closed++;
    }
    c->opened = false;
    apex_timer_stop(c->kind->loop, &c->keepalive);
    worker_ws_destroy(&c->ws);
}

static void s_expand(s_conn_t *c, const apex_template_t *t, apex_buf_t *out)
{
    apex_template_ctx_t ctx = worker_user_template_ctx(c->user);
    apex_buf_reset(out);
    apex_template_expand(t, &ctx, out);
}

static void s_start_connect(s_conn_t *c, const apex_ws_step_t *ws)
{
    s_drop(c);
    apex_buf_t url, value;
    apex_buf_init(&url);
    apex_buf_init(&value);
    s_expand(c, ws->url, &url);
    char **lines = apex_calloc(ws->nheaders + 1, sizeof *lines);
    size_t n = 0;
    for (size_t i = 0; i < ws->nheaders; i++) {
        s_expand(c, ws->headers[i].value, &value);
        if (value.len)
            lines[n++] = apex_sprintf("%s: %s", ws->headers[i].name,
                                      apex_buf_str(&value));
    }
    apex_error_t err = {""};
    c->ws = worker_ws_open(&c->kind->env, apex_buf_str(&url),
                           (const char *const *)lines, ws->protocols, &s_events,
                           c, &err);
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
    apex_buf_fini(&url);
    apex_buf_fini(&value);
    c->ping_interval = ws->ping_interval;
    if (!c->ws) {
        char text[WORKER_FAILURE_MAX];
        char *quoted = apex_py_repr_str(err.msg);
        snprintf(text, sizeof text, "WebSocketBadURL(%.*s)",
                 (int)(sizeof text - sizeof "WebSocketBadURL()"), quoted);
        free(quoted);
        s_fail_soon(c, text);
        return;
    }
    c->wait = S_OPENING;
}

// Send the step's message; false (the step failing soon) when it cannot.
static bool s_send_message(s_conn_t *c, const apex_ws_step_t *ws,
                           apex_buf_t *text)
{
    s_expand(c, ws->message, text);
    int opcode = ws->binary ? WORKER_WS_BINARY : WORKER_WS_TEXT;
    if (worker_ws_send(c->ws, opcode, text->data ? text->data : "",
                       text->len) != 0) {
        s_fail_soon(c, "WebSocketNotConnected('the connection is closing')");
        return false;
    }
    c->kind->counters.msgs_sent++;
    c->kind->counters.bytes_sent += text->len;
    return true;
}

static void s_start_request(s_conn_t *c, const apex_step_t *step)
{
    const apex_ws_step_t *ws = step->ws;
    apex_buf_t text;
    apex_buf_init(&text);
    if (s_send_message(c, ws, &text)) {
        c->correlation =
            s_json_value(&ws->correlate, (const uint8_t *)apex_buf_str(&text),
                         text.len, &c->kind->rng);
        if (!c->correlation) {
            char why[WORKER_FAILURE_MAX];
            snprintf(why, sizeof why,
                     "WebSocketRequestError('%s: the message has no value "
                     "to correlate the reply with')",
                     step->name);
            s_fail_soon(c, why);
        } else {
            c->wait = S_REPLY;
            s_inbox_drain(c);
        }
    }
    apex_buf_fini(&text);
}

static void s_start_open_step(s_conn_t *c, const apex_step_t *step)
{
    const apex_ws_step_t *ws = step->ws;
    apex_buf_t text;
    switch (ws->op) {
    case APEX_WS_SEND:
        apex_buf_init(&text);
        if (s_send_message(c, ws, &text))
            s_end_soon(c);
        apex_buf_fini(&text);
        break;
    case APEX_WS_RECEIVE:
        c->wait = S_MATCH;
        s_inbox_drain(c);
        break;
    case APEX_WS_REQUEST:
        s_start_request(c, step);
        break;
    case APEX_WS_LISTEN:
        c->wait = S_LISTEN;
        c->listened = 0;
        c->unrecorded = ws->has_timestamp; // its samples are the pushes
        s_inbox_drain(c);
        break;
    case APEX_WS_PING:
        c->ping_id++;
        if (worker_ws_ping(c->ws, &c->ping_id, sizeof c->ping_id) != 0)
            s_fail_soon(c, "WebSocketNotConnected('the connection is "
                           "closing')");
        else
            c->wait = S_PONG;
        break;
    case APEX_WS_CLOSE:
        c->wait = S_CLOSING;
        worker_ws_close(c->ws, ws->code, ws->reason);
        break;
    case APEX_WS_CONNECT:
        break;
    }
}

static int s_start(worker_kind_t *kind, void *plan, const apex_step_t *step,
                   worker_user_t *u, void **conn_p)
{
    (void)plan;
    s_kind_t *self = kind;
    s_conn_t *c = *conn_p;
    if (!c) {
        c = *conn_p = apex_calloc(1, sizeof *c);
        c->kind = self;
        c->user = u;
        apex_timer_init(&c->timer, s_on_timer, c);
        apex_timer_init(&c->keepalive, s_on_keepalive, c);
        apex_buf_init(&c->message);
        for (size_t i = 0; i < WORKER_WS_INBOX; i++)
            apex_buf_init(&c->inbox[i]);
    }
    const apex_ws_step_t *ws = step->ws;
    c->step = step;
    c->started = apex_loop_now(self->loop);
    c->failure[0] = '\0';
    c->unrecorded = !step->timed;
    apex_buf_reset(&c->message);
    bool open = c->ws && worker_ws_is_open(c->ws);
    if (ws->op == APEX_WS_CONNECT) {
        s_start_connect(c, ws);
    } else if (ws->op == APEX_WS_CLOSE && !open) {
        s_drop(c); // nothing to say goodbye to
        s_end_soon(c);
    } else if (!open) {
        char why[WORKER_FAILURE_MAX];
        snprintf(why, sizeof why,
                 "WebSocketNotConnected('%s: no open connection')", step->name);
        s_fail_soon(c, why);
    } else {
        s_start_open_step(c, step);
    }
    if (c->wait != S_ENDING) {
        bool until = ws->op == APEX_WS_LISTEN && ws->duration > 0;
        apex_timer_start(self->loop, &c->timer,
                         apex_us_from_s(until ? ws->duration : step->timeout));
    }
    return 0;
}

// ---------------------------------------------------------------------
// The kind

static void s_conn_free(worker_kind_t *kind, void *conn)
{
    s_kind_t *self = kind;
    s_conn_t *c = conn;
    apex_timer_stop(self->loop, &c->timer);
    s_drop(c);
    free(c->correlation);
    apex_buf_fini(&c->message);
    for (size_t i = 0; i < WORKER_WS_INBOX; i++)
        apex_buf_fini(&c->inbox[i]);
    free(c);
}

static void *s_plan(worker_kind_t *kind, const apex_step_t *step)
{
    (void)kind;
    return (void *)step; // nothing to prepare: URLs are templates
}

static void s_plan_free(worker_kind_t *kind, void *plan)
{
    (void)kind;
    (void)plan;
}

static worker_kind_t *s_create(apex_loop_t *loop, apex_error_t *err)
{
    s_kind_t *self = apex_calloc(1, sizeof *self);
    self->loop = loop;
    self->rng = apex_rng_seed(apex_now_us() ^ (uint64_t)(uintptr_t)self);
    self->resolver = worker_resolver_new(loop, err);
    worker_tls_options_t tls = {.verify = true};
    self->tls = worker_tls_ctx_new(&tls, err);
    if (!self->resolver || !self->tls) {
        worker_resolver_destroy(&self->resolver);
        worker_tls_ctx_free(self->tls);
        free(self);
        return NULL;
    }
    self->env = (worker_ws_env_t){.loop = loop,
                                  .resolver = self->resolver,
                                  .tls = self->tls,
                                  .rng = &self->rng,
                                  .max_message = WORKER_WS_MAX_MESSAGE};
    return self;
}

static void s_destroy(worker_kind_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_kind_t *self = *self_p;
    worker_resolver_destroy(&self->resolver);
    worker_tls_ctx_free(self->tls);
    free(self);
    *self_p = NULL;
}

const worker_ws_counters_t *worker_step_ws_counters(const worker_kind_t *kind)
{
    const s_kind_t *self = kind;
    return &self->counters;
}

// k6's names where k6 has them (ws_sessions, ws_msgs_sent,
// ws_msgs_received), ours for the rest.
static size_t s_metrics(worker_kind_t *kind, worker_metric_t *out, size_t max)
{
    const worker_ws_counters_t *n = worker_step_ws_counters(kind);
    const worker_metric_t all[] = {
        {"ws_sessions", false, (int64_t)n->opened},
        {"ws_closes", false, (int64_t)n->closed},
        {"ws_drops", false, (int64_t)n->dropped},
        {"ws_connect_failures", false, (int64_t)n->connect_failures},
        {"ws_msgs_sent", false, (int64_t)n->msgs_sent},
        {"ws_msgs_received", false, (int64_t)n->msgs_received},
        {"ws_bytes_sent", false, (int64_t)n->bytes_sent},
        {"ws_bytes_received", false, (int64_t)n->bytes_received},
        {"ws_connections", true, n->open},
    };
    return worker_metrics_copy(out, max, all, sizeof all / sizeof all[0]);
}

const worker_kind_ops_t worker_step_ws_ops = {
    .name = "ws",
    .create = s_create,
    .destroy = s_destroy,
    .plan = s_plan,
    .plan_free = s_plan_free,
    .start = s_start,
    .conn_free = s_conn_free,
    .metrics = s_metrics,
};
