// worker/step_http.c - the HTTP step kind (see step_http.h): a plan of
// each engine per step, a user's state of each engine (the one it has
// used), and the choice.
//
// The choice per step: the user class's or document's "engine", else the
// run's (--engine, APEX_ENGINE), else auto. curl: libcurl. http1 and
// auto: the plain engine unless the step's options need libcurl; then
// auto takes libcurl and http1 fails the step with an EngineError that
// says why. Per request the plain engine may still decline (an https://
// URL, a proxy from the environment for that host): auto then takes
// libcurl for that request, http1 fails it.
//
// A user may run steps of both engines (an http:// and an https://
// host): each keeps its own connection.
#include "worker/step_http.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/alloc.h"
#include "common/log.h"
#include "worker/failure.h"
#include "worker/http1.h"
#include "worker/http_curl.h"

typedef struct {
    worker_kind_t *curl;       // the libcurl engine
    worker_kind_t *h1;         // the plain engine
    apex_http_engine_t engine; // the run's choice (UNSET: auto)
} s_http_t;

typedef struct {
    void *curl;        // libcurl's plan
    void *h1;          // the plain engine's plan
    const char *needs; // what the step needs libcurl for, or NULL
} s_plan_t;

typedef struct {
    void *curl; // the user's libcurl state, or NULL
    void *h1;   // its plain engine state, or NULL
} s_conn_t;

const char *worker_step_http_needs_curl(const apex_http_options_t *o)
{
    if (o->http2 == APEX_HTTP2_ON || o->http2 == APEX_HTTP2_PRIOR)
        return "HTTP/2";
    if (o->proxy && o->proxy[0])
        return "a proxy";
    if (o->compression == 1)
        return "compression";
    if (o->client_cert)
        return "a client certificate";
    return NULL;
}

static worker_kind_t *s_create(apex_loop_t *loop, apex_error_t *err)
{
    s_http_t *self = apex_calloc(1, sizeof *self);
    self->curl = worker_http_curl_ops.create(loop, err);
    if (self->curl)
        self->h1 = worker_http1_ops.create(loop, err);
    if (!self->h1) {
        if (self->curl)
            worker_http_curl_ops.destroy(&self->curl);
        free(self);
        return NULL;
    }
    return self;
}

static void s_destroy(worker_kind_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_http_t *self = *self_p;
    worker_http1_ops.destroy(&self->h1);
    worker_http_curl_ops.destroy(&self->curl);
    free(self);
    *self_p = NULL;
}

static void *s_plan(worker_kind_t *kind, const apex_step_t *step)
{
    s_http_t *self = kind;
    s_plan_t *plan = apex_calloc(1, sizeof *plan);
    plan->curl = worker_http_curl_ops.plan(self->curl, step);
    plan->h1 = worker_http1_ops.plan(self->h1, step);
    plan->needs = worker_step_http_needs_curl(&step->http->opts);
    return plan;
}

static void s_plan_free(worker_kind_t *kind, void *p)
{
    s_http_t *self = kind;
    s_plan_t *plan = p;
    worker_http_curl_ops.plan_free(self->curl, plan->curl);
    worker_http1_ops.plan_free(self->h1, plan->h1);
    free(plan);
}

static void s_set_base(worker_kind_t *kind, const char *base)
{
    s_http_t *self = kind;
    worker_http_curl_ops.set_base(self->curl, base);
    worker_http1_ops.set_base(self->h1, base);
}

static int s_start(worker_kind_t *kind, void *p, const apex_step_t *step,
                   worker_user_t *u, void **conn_p)
{
    s_http_t *self = kind;
    s_plan_t *plan = p;
    s_conn_t *conn = *conn_p;
    if (!conn)
        conn = *conn_p = apex_calloc(1, sizeof *conn);
    apex_http_engine_t engine = step->http->engine != APEX_ENGINE_UNSET
                                    ? step->http->engine
                                    : self->engine;
    if (engine == APEX_ENGINE_CURL ||
        (engine != APEX_ENGINE_HTTP1 && plan->needs))
        return worker_http_curl_ops.start(self->curl, plan->curl, step, u,
                                          &conn->curl);
    char why[WORKER_FAILURE_MAX];
    if (plan->needs) {
        snprintf(why, sizeof why,
                 "engine http1 cannot run a step that needs %s: use engine "
                 "curl or auto",
                 plan->needs);
        char text[WORKER_FAILURE_MAX];
        worker_failure_engine(text, sizeof text, why);
        return worker_http1_fail(self->h1, plan->h1, u, &conn->h1, text);
    }
    int rc = worker_http1_ops.start(self->h1, plan->h1, step, u, &conn->h1);
    if (rc != WORKER_HTTP1_DECLINED)
        return rc;
    if (engine == APEX_ENGINE_HTTP1) {
        char text[WORKER_FAILURE_MAX];
        worker_failure_engine(text, sizeof text,
                              "engine http1 runs plain http:// without a "
                              "proxy only: use engine curl or auto");
        return worker_http1_fail(self->h1, plan->h1, u, &conn->h1, text);
    }
    return worker_http_curl_ops.start(self->curl, plan->curl, step, u,
                                      &conn->curl);
}

static void s_conn_free(worker_kind_t *kind, void *c)
{
    s_http_t *self = kind;
    s_conn_t *conn = c;
    if (conn->curl)
        worker_http_curl_ops.conn_free(self->curl, conn->curl);
    if (conn->h1)
        worker_http1_ops.conn_free(self->h1, conn->h1);
    free(conn);
}

static void s_after_iteration(worker_kind_t *kind)
{
    s_http_t *self = kind;
    worker_http_curl_ops.after_iteration(self->curl);
}

static void s_configure(worker_kind_t *kind, const worker_run_options_t *o)
{
    s_http_t *self = kind;
    self->engine = o->engine;
    worker_http_curl_set_debug(self->curl, o->http_debug);
    worker_http1_set_debug(self->h1, o->http_debug);
}

const worker_kind_ops_t worker_step_http_ops = {
    .name = "http",
    .create = s_create,
    .destroy = s_destroy,
    .plan = s_plan,
    .plan_free = s_plan_free,
    .set_base = s_set_base,
    .start = s_start,
    .conn_free = s_conn_free,
    .after_iteration = s_after_iteration,
    .configure = s_configure,
};
