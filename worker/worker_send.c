// worker/worker_send.c - what a worker sends the master (see
// worker_int.h): client_ready, stats reports (user counts, the kinds'
// figures as deltas since the last report that went out, checks, trends,
// iterations), spawning_complete and exceptions, with the scenario's
// secrets masked. A report that cannot be sent is kept for the next one.
#include "worker/worker_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "proto/proto.h"

bool worker_send(worker_t *self)
{
    return proto_zio_send(self->zio, NULL, &self->out) == PROTO_ZIO_SENT;
}

const char *worker_state_name(worker_state_t state)
{
    switch (state) {
    case WORKER_SPAWNING:
        return "spawning";
    case WORKER_RUNNING:
        return "running";
    case WORKER_STOPPING:
    case WORKER_QUITTING:
        return "stopping";
    default:
        return "ready";
    }
}

void worker_send_client_ready(worker_t *self)
{
    proto_encode_client_ready(&self->out, NULL, self->id);
    worker_send(self);
}

// The engine's per-class user counts in the wire's form.
static proto_count_t *s_counts(worker_t *self, size_t *n)
{
    worker_count_t *users = worker_engine_counts(self->engine, n);
    proto_count_t *counts = apex_calloc(*n ? *n : 1, sizeof *counts);
    for (size_t i = 0; i < *n; i++) {
        counts[i].name = (char *)users[i].name; // borrowed: encoders read it
        counts[i].count = users[i].count;
    }
    free(users);
    return counts;
}

// The kinds' figures for the wire: counters as deltas since the last
// report that went out (self->reported), gauges as they are. Fills
// counters and gauges (WORKER_MAX_METRICS each) and the current counts
// into now; the caller commits now to self->reported after a send.
static void s_metrics(worker_t *self, proto_stats_extra_t *extra,
                      proto_metric_t *counters, proto_metric_t *gauges,
                      int64_t *now)
{
    worker_metric_t m[WORKER_MAX_METRICS];
    size_t n = worker_engine_metrics(self->engine, m, WORKER_MAX_METRICS);
    for (size_t i = 0; i < n; i++) {
        now[i] = m[i].value;
        if (m[i].gauge) {
            gauges[extra->ngauges++] =
                (proto_metric_t){(char *)m[i].name, m[i].value};
        } else {
            int64_t delta = m[i].value - self->reported[i];
            counters[extra->ncounters++] =
                (proto_metric_t){(char *)m[i].name, delta > 0 ? delta : 0};
        }
    }
    self->nmetrics = n;
    // Requests cut off at a stop follow, named only once there is one: a
    // run that cuts nothing off shows no such figure.
    self->cut_off_now = worker_engine_cut_off(self->engine);
    if (self->cut_off_now > self->cut_off_reported)
        counters[extra->ncounters++] = (proto_metric_t){
            "requests_cut_off", self->cut_off_now - self->cut_off_reported};
    extra->counters = counters;
    extra->gauges = gauges;
}

// The checks counted since the last report, with their names (borrowed
// from the scenario and the scripts): a new array of *n the caller frees.
static proto_check_t *s_checks(worker_t *self, size_t *n)
{
    worker_check_count_t *counts = worker_engine_check_counts(self->engine, n);
    proto_check_t *out = apex_calloc(*n + 1, sizeof *out);
    for (size_t i = 0; i < *n && i < PROTO_MAX_CHECKS; i++)
        out[i] = (proto_check_t){(char *)counts[i].name, counts[i].passes,
                                 counts[i].fails};
    if (*n > PROTO_MAX_CHECKS)
        *n = PROTO_MAX_CHECKS;
    free(counts);
    return out;
}

// The scripts' exceptions since the last report, each sent once with
// its count (a failed send loses them: they are in the worker's log).
static void s_send_exceptions(worker_t *self)
{
    size_t n = 0;
    worker_exception_t *e = worker_engine_take_exceptions(self->engine, &n);
    for (size_t i = 0; i < n; i++) {
        proto_encode_exception_count(&self->out, e[i].msg, e[i].traceback,
                                     e[i].count, self->id);
        worker_send(self);
        worker_exception_fini(&e[i]);
    }
    free(e);
}

bool worker_send_stats(worker_t *self)
{
    s_send_exceptions(self);
    size_t n = 0;
    proto_count_t *counts = s_counts(self, &n);
    apex_stats_t *stats = worker_engine_stats(self->engine);
    proto_stats_extra_t extra = {0};
    proto_check_t *checks = s_checks(self, &extra.nchecks);
    extra.checks = checks;
    extra.trends = worker_engine_trends(self->engine);
    proto_metric_t counters[WORKER_MAX_METRICS + 1]; // + requests_cut_off
    proto_metric_t gauges[WORKER_MAX_METRICS];
    int64_t now[WORKER_MAX_METRICS];
    s_metrics(self, &extra, counters, gauges, now);
    worker_engine_take_counters(self->engine, &extra.iterations,
                                &extra.dropped_iterations);
    proto_encode_stats(&self->out, stats, counts, n,
                       (int64_t)worker_engine_user_count(self->engine), &extra,
                       self->id);
    free(counts);
    free(checks);
    if (!worker_send(self)) {
        // Keep the deltas (and the checks' counts) for the next report.
        worker_engine_put_back_counters(self->engine, extra.iterations,
                                        extra.dropped_iterations);
        return false;
    }
    memcpy(self->reported, now, self->nmetrics * sizeof *now);
    self->cut_off_reported = self->cut_off_now;
    apex_stats_reset(stats, apex_wall_time());
    worker_engine_clear_checks(self->engine);
    return true;
}

void worker_send_spawning_complete(worker_t *self)
{
    size_t n = 0;
    proto_count_t *counts = s_counts(self, &n);
    proto_encode_spawning_complete(
        &self->out, counts, n, (int64_t)worker_engine_user_count(self->engine),
        self->id);
    free(counts);
    worker_send(self);
}

void worker_send_exception(worker_t *self, const char *msg)
{
    char *masked = apex_secrets_mask(self->secrets, msg);
    proto_encode_exception(&self->out, masked, "", self->id);
    free(masked);
    worker_send(self);
}

void worker_update_secrets(worker_t *self, const char *host)
{
    const apex_scenario_t *scn = worker_engine_scenario(self->engine);
    bool same_host =
        (!host && !self->secrets_host) ||
        (host && self->secrets_host && strcmp(host, self->secrets_host) == 0);
    if (!scn || (scn == self->secrets_of && same_host))
        return;
    apex_secrets_t *old = self->secrets;
    self->secrets = apex_secrets_new(scn, host);
    self->secrets_of = scn;
    free(self->secrets_host);
    self->secrets_host = host ? apex_strdup(host) : NULL;
    apex_stats_set_mask(worker_engine_stats(self->engine), apex_secrets_mask_fn,
                        self->secrets);
    apex_log_set_secrets(self->secrets);
    apex_secrets_destroy(&old);
}
