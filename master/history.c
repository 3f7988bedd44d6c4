// master/history.c - see history.h.
//
// "Current" figures follow Locust's idea (a window of about 10 s) but are
// exact: once a second the total's cumulative histogram and sums are
// copied into a ring of MASTER_HISTORY_WINDOW + 1 snapshots, and the
// window is the current histogram minus the oldest snapshot. That costs
// 11 histograms (150 KiB) whatever the run's length; the points
// themselves are ~100 bytes each (a 4 h soak at one point a second holds
// 14 400 of them, 1.4 MB).
#include "master/history.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/clock.h"

#define MASTER_HISTORY_RING (MASTER_HISTORY_WINDOW + 1)

typedef struct {
    apex_histogram_t *hist; // cumulative total histogram
    uint64_t total_us;      // cumulative response time
    uint64_t count;         // cumulative timed requests
    bool used;              // holds a snapshot
} s_snapshot_t;

struct master_history {
    s_snapshot_t ring[MASTER_HISTORY_RING]; // one per second
    size_t next;                            // slot for the next snapshot
    master_history_point_t *points;         // oldest first
    size_t npoints;                         // used
    size_t cap;                             // allocated
};

master_history_t *master_history_new(void)
{
    master_history_t *self = apex_calloc(1, sizeof *self);
    for (size_t i = 0; i < MASTER_HISTORY_RING; i++)
        self->ring[i].hist = apex_histogram_new();
    return self;
}

void master_history_destroy(master_history_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    master_history_t *self = *self_p;
    for (size_t i = 0; i < MASTER_HISTORY_RING; i++)
        apex_histogram_destroy(&self->ring[i].hist);
    free(self->points);
    free(self);
    *self_p = NULL;
}

void master_history_clear(master_history_t *self)
{
    for (size_t i = 0; i < MASTER_HISTORY_RING; i++) {
        apex_histogram_reset(self->ring[i].hist);
        self->ring[i].used = false;
    }
    self->next = 0;
    self->npoints = 0;
}

void master_history_tick(master_history_t *self, const apex_stats_t *stats)
{
    const apex_stats_entry_t *t = apex_stats_total_const(stats);
    s_snapshot_t *s = &self->ring[self->next];
    apex_histogram_reset(s->hist);
    apex_histogram_merge(s->hist, t->hist);
    s->total_us = t->total_response_us;
    s->count = apex_histogram_count(t->hist);
    s->used = true;
    self->next = (self->next + 1) % MASTER_HISTORY_RING;
}

// The oldest snapshot in the ring (the start of the window), or NULL.
static const s_snapshot_t *s_oldest(const master_history_t *self)
{
    for (size_t k = 0; k < MASTER_HISTORY_RING; k++) {
        const s_snapshot_t *s =
            &self->ring[(self->next + k) % MASTER_HISTORY_RING];
        if (s->used)
            return s;
    }
    return NULL;
}

double master_history_current_percentile(const master_history_t *self,
                                         const apex_stats_t *stats, double p)
{
    const apex_stats_entry_t *t = apex_stats_total_const(stats);
    const s_snapshot_t *old = s_oldest(self);
    apex_histogram_t *window = apex_histogram_dup(t->hist);
    if (old)
        apex_histogram_subtract(window, old->hist);
    double v = NAN;
    if (apex_histogram_count(window))
        v = apex_ms_from_us(apex_histogram_percentile(window, p));
    apex_histogram_destroy(&window);
    return v;
}

void master_history_add(master_history_t *self, const apex_stats_t *stats,
                        master_history_point_t point)
{
    const apex_stats_entry_t *t = apex_stats_total_const(stats);
    const s_snapshot_t *old = s_oldest(self);
    apex_histogram_t *window = apex_histogram_dup(t->hist);
    uint64_t count = apex_histogram_count(t->hist);
    uint64_t total = t->total_response_us;
    if (old) {
        apex_histogram_subtract(window, old->hist);
        count = count > old->count ? count - old->count : 0;
        total = total > old->total_us ? total - old->total_us : 0;
    }
    point.p50_ms = point.p95_ms = point.avg_ms = NAN;
    if (apex_histogram_count(window)) {
        point.p50_ms = apex_ms_from_us(apex_histogram_percentile(window, 0.50));
        point.p95_ms = apex_ms_from_us(apex_histogram_percentile(window, 0.95));
    }
    if (count)
        point.avg_ms = (double)total / 1000.0 / (double)count;
    apex_histogram_destroy(&window);
    point.requests = t->num_requests;
    point.failures = t->num_failures;
    if (self->npoints == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 256;
        self->points =
            apex_realloc(self->points, self->cap, sizeof *self->points);
    }
    self->points[self->npoints++] = point;
}

size_t master_history_size(const master_history_t *self)
{
    return self->npoints;
}

const master_history_point_t *master_history_at(const master_history_t *self,
                                                size_t i)
{
    return i < self->npoints ? &self->points[i] : NULL;
}

static json_t *s_real_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *master_history_json(const master_history_t *self)
{
    json_t *list = json_array();
    for (size_t i = 0; i < self->npoints; i++) {
        const master_history_point_t *p = &self->points[i];
        json_t *o = json_object();
        json_object_set_new(o, "time", json_integer(p->time));
        json_object_set_new(o, "users", json_integer(p->users));
        json_object_set_new(o, "target_users", s_real_or_null(p->target_users));
        json_object_set_new(o, "target_rate", s_real_or_null(p->target_rate));
        json_object_set_new(o, "stage",
                            p->stage ? json_integer(p->stage) : json_null());
        json_object_set_new(o, "rps", json_real(p->rps));
        json_object_set_new(o, "fail_per_sec", json_real(p->fail_per_sec));
        json_object_set_new(o, "p50_ms", s_real_or_null(p->p50_ms));
        json_object_set_new(o, "p95_ms", s_real_or_null(p->p95_ms));
        json_object_set_new(o, "avg_ms", s_real_or_null(p->avg_ms));
        json_object_set_new(o, "requests",
                            json_integer((json_int_t)p->requests));
        json_object_set_new(o, "failures",
                            json_integer((json_int_t)p->failures));
        json_array_append_new(list, o);
    }
    return list;
}
