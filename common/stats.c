// common/stats.c - see stats.h.
//
// Entries live in an array of pointers (creation order) indexed by an
// open-addressing hash table on (method, name); the table doubles when
// half full, so lookups stay O(1). Errors use the same scheme on
// (method, name, error text); Locust's sha256 key is computed once, when
// an error is first seen, not on every failure. Per-second counts are a
// ring of APEX_STATS_SECONDS slots indexed by second modulo its size:
// enough for a worker's 3 s delta and for the master's 12 s window.
//
// Limits (apex_stats_set_limits) exist for statistics that peers fill:
// past max_entries a new (method, name) lands in one "other" entry, past
// max_errors a new error in one "other" error, so a report with 50,000
// names costs one entry, not 50,000 histograms. Sums saturate
// (common/sat.h): merged counts never wrap.
#include "common/stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/sat.h"

#define APEX_STATS_TABLE_MIN 16

struct apex_stats {
    apex_stats_entry_t total;        // the "Aggregated" entry
    apex_stats_entry_t **entries;    // in creation order
    size_t nentries;                 // entries used
    size_t entries_cap;              // entries allocated
    size_t *table;                   // hash slots: index + 1, 0 = empty
    size_t table_cap;                // slots (a power of two)
    apex_stats_error_t **errors;     // in creation order
    size_t nerrors;                  // errors used
    size_t errors_cap;               // errors allocated
    size_t *etable;                  // error hash slots: index + 1
    size_t etable_cap;               // slots (a power of two)
    size_t max_entries;              // entries before "other", 0 = no limit
    size_t max_errors;               // errors before "other", 0 = no limit
    apex_stats_entry_t *other;       // the other entry, or NULL
    apex_stats_error_t *other_error; // the other error, or NULL
    bool entries_full;               // a new name went to the other entry
    bool errors_full;                // a new error went to the other error
    apex_text_mask_fn *mask;         // failure texts' filter, or NULL
    const void *mask_arg;            // its argument
};

static uint64_t s_hash(uint64_t h, const char *text)
{
    // FNV-1a, with a separator so ("ab","c") and ("a","bc") differ.
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    h ^= 0xff;
    h *= 1099511628211ULL;
    return h;
}

static void s_entry_init(apex_stats_entry_t *e, const char *method,
                         const char *name, double now)
{
    memset(e, 0, sizeof *e);
    e->method = apex_strdup(method ? method : "");
    e->name = apex_strdup(name ? name : "");
    e->hist = apex_histogram_new();
    apex_stats_entry_reset(e, now);
}

static void s_entry_fini(apex_stats_entry_t *e)
{
    free(e->method);
    free(e->name);
    apex_histogram_destroy(&e->hist);
    apex_histogram_destroy(&e->service);
}

void apex_stats_entry_reset(apex_stats_entry_t *e, double now)
{
    e->num_requests = 0;
    e->num_none_requests = 0;
    e->num_failures = 0;
    e->total_response_us = 0;
    e->min_response_us = APEX_STATS_NO_MIN;
    e->max_response_us = 0;
    e->total_content_length = 0;
    e->start_time = now;
    e->last_request_timestamp = 0;
    apex_histogram_reset(e->hist);
    if (e->service)
        apex_histogram_reset(e->service);
    memset(e->seconds, 0, sizeof e->seconds);
}

apex_stats_t *apex_stats_new(double now)
{
    apex_stats_t *self = apex_calloc(1, sizeof *self);
    s_entry_init(&self->total, "", APEX_STATS_TOTAL_NAME, now);
    return self;
}

static void s_drop_all(apex_stats_t *self)
{
    for (size_t i = 0; i < self->nentries; i++) {
        s_entry_fini(self->entries[i]);
        free(self->entries[i]);
    }
    for (size_t i = 0; i < self->nerrors; i++) {
        apex_stats_error_t *e = self->errors[i];
        free(e->method);
        free(e->name);
        free(e->error);
        free(e);
    }
    self->nentries = 0;
    self->nerrors = 0;
    self->other = NULL;
    self->other_error = NULL;
    self->entries_full = false;
    self->errors_full = false;
    if (self->table)
        memset(self->table, 0, self->table_cap * sizeof *self->table);
    if (self->etable)
        memset(self->etable, 0, self->etable_cap * sizeof *self->etable);
}

void apex_stats_destroy(apex_stats_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    apex_stats_t *self = *self_p;
    s_drop_all(self);
    s_entry_fini(&self->total);
    free(self->entries);
    free(self->table);
    free(self->errors);
    free(self->etable);
    free(self);
    *self_p = NULL;
}

// ---------------------------------------------------------------------
// Entry lookup

static uint64_t s_entry_hash(const char *method, const char *name)
{
    return s_hash(s_hash(14695981039346656037ULL, method), name);
}

static void s_table_insert(size_t *table, size_t cap, uint64_t hash,
                           size_t index)
{
    size_t mask = cap - 1;
    size_t slot = (size_t)hash & mask;
    while (table[slot])
        slot = (slot + 1) & mask;
    table[slot] = index + 1;
}

static void s_grow_table(apex_stats_t *self)
{
    size_t cap = self->table_cap ? self->table_cap * 2 : APEX_STATS_TABLE_MIN;
    free(self->table);
    self->table = apex_calloc(cap, sizeof *self->table);
    self->table_cap = cap;
    for (size_t i = 0; i < self->nentries; i++) {
        apex_stats_entry_t *e = self->entries[i];
        s_table_insert(self->table, cap, s_entry_hash(e->method, e->name), i);
    }
}

apex_stats_entry_t *apex_stats_find(const apex_stats_t *self,
                                    const char *method, const char *name)
{
    if (!self->table_cap)
        return NULL;
    method = method ? method : "";
    name = name ? name : "";
    size_t mask = self->table_cap - 1;
    size_t slot = (size_t)s_entry_hash(method, name) & mask;
    while (self->table[slot]) {
        apex_stats_entry_t *e = self->entries[self->table[slot] - 1];
        if (strcmp(e->name, name) == 0 && strcmp(e->method, method) == 0)
            return e;
        slot = (slot + 1) & mask;
    }
    return NULL;
}

void apex_stats_set_limits(apex_stats_t *self, size_t max_entries,
                           size_t max_errors)
{
    self->max_entries = max_entries;
    self->max_errors = max_errors;
}

bool apex_stats_entries_full(const apex_stats_t *self)
{
    return self->entries_full;
}

bool apex_stats_errors_full(const apex_stats_t *self)
{
    return self->errors_full;
}

static apex_stats_entry_t *s_new_entry(apex_stats_t *self, const char *method,
                                       const char *name, double now);

apex_stats_entry_t *apex_stats_other(apex_stats_t *self, double now)
{
    if (!self->other) {
        self->other = apex_stats_find(self, "", APEX_STATS_OTHER_NAME);
        if (!self->other)
            self->other = s_new_entry(self, "", APEX_STATS_OTHER_NAME, now);
    }
    return self->other;
}

apex_stats_entry_t *apex_stats_get(apex_stats_t *self, const char *method,
                                   const char *name, double now)
{
    apex_stats_entry_t *e = apex_stats_find(self, method, name);
    if (e)
        return e;
    size_t used = self->nentries - (self->other ? 1 : 0);
    if (self->max_entries && used >= self->max_entries) {
        self->entries_full = true;
        return apex_stats_other(self, now);
    }
    return s_new_entry(self, method, name, now);
}

static apex_stats_entry_t *s_new_entry(apex_stats_t *self, const char *method,
                                       const char *name, double now)
{
    apex_stats_entry_t *e;
    if (self->nentries == self->entries_cap) {
        self->entries_cap = self->entries_cap ? self->entries_cap * 2 : 8;
        self->entries = apex_realloc(self->entries, self->entries_cap,
                                     sizeof *self->entries);
    }
    if ((self->nentries + 1) * 2 > self->table_cap)
        s_grow_table(self);
    e = apex_calloc(1, sizeof *e);
    s_entry_init(e, method, name, now);
    size_t index = self->nentries++;
    self->entries[index] = e;
    s_table_insert(self->table, self->table_cap,
                   s_entry_hash(e->method, e->name), index);
    return e;
}

apex_stats_entry_t *apex_stats_total(apex_stats_t *self)
{
    return &self->total;
}

const apex_stats_entry_t *apex_stats_total_const(const apex_stats_t *self)
{
    return &self->total;
}

size_t apex_stats_size(const apex_stats_t *self)
{
    return self->nentries;
}

apex_stats_entry_t *apex_stats_at(const apex_stats_t *self, size_t i)
{
    return i < self->nentries ? self->entries[i] : NULL;
}

static int s_cmp_entries(const void *a, const void *b)
{
    const apex_stats_entry_t *x = *(apex_stats_entry_t *const *)a;
    const apex_stats_entry_t *y = *(apex_stats_entry_t *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->method, y->method);
}

apex_stats_entry_t **apex_stats_sorted(const apex_stats_t *self)
{
    apex_stats_entry_t **out =
        apex_calloc(self->nentries ? self->nentries : 1, sizeof *out);
    if (self->nentries)
        memcpy(out, self->entries, self->nentries * sizeof *out);
    qsort(out, self->nentries, sizeof *out, s_cmp_entries);
    return out;
}

// ---------------------------------------------------------------------
// Recording

void apex_stats_entry_add_second(apex_stats_entry_t *e, int64_t sec,
                                 uint64_t reqs, uint64_t fails)
{
    apex_stats_second_t *slot = &e->seconds[(uint64_t)sec % APEX_STATS_SECONDS];
    if (slot->sec != sec) {
        if (slot->sec > sec)
            return; // older than the ring remembers
        slot->sec = sec;
        slot->reqs = 0;
        slot->fails = 0;
    }
    slot->reqs = apex_count_add(slot->reqs, reqs);
    slot->fails = apex_count_add(slot->fails, fails);
}

static void s_record(apex_stats_entry_t *e, uint64_t us, uint64_t bytes,
                     double now)
{
    e->num_requests++;
    e->total_response_us += us;
    if (us < e->min_response_us)
        e->min_response_us = us;
    if (us > e->max_response_us)
        e->max_response_us = us;
    e->total_content_length += bytes;
    e->last_request_timestamp = now;
    apex_histogram_record(e->hist, us);
    apex_stats_entry_add_second(e, (int64_t)now, 1, 0);
}

void apex_stats_record(apex_stats_t *self, apex_stats_entry_t *e,
                       uint64_t response_us, uint64_t content_length,
                       double now)
{
    s_record(e, response_us, content_length, now);
    s_record(&self->total, response_us, content_length, now);
}

static uint64_t s_error_hash(const char *method, const char *name,
                             const char *error)
{
    return s_hash(s_entry_hash(method, name), error);
}

static void s_grow_etable(apex_stats_t *self)
{
    size_t cap = self->etable_cap ? self->etable_cap * 2 : APEX_STATS_TABLE_MIN;
    free(self->etable);
    self->etable = apex_calloc(cap, sizeof *self->etable);
    self->etable_cap = cap;
    for (size_t i = 0; i < self->nerrors; i++) {
        apex_stats_error_t *e = self->errors[i];
        s_table_insert(self->etable, cap,
                       s_error_hash(e->method, e->name, e->key), i);
    }
}

// Errors are hashed on (method, name, key) so that errors merged from
// workers (which come with a key) and recorded locally land together.
static apex_stats_error_t *s_find_error(const apex_stats_t *self,
                                        const char *method, const char *name,
                                        const char *key)
{
    if (!self->etable_cap)
        return NULL;
    size_t mask = self->etable_cap - 1;
    size_t slot = (size_t)s_error_hash(method, name, key) & mask;
    while (self->etable[slot]) {
        apex_stats_error_t *e = self->errors[self->etable[slot] - 1];
        if (strcmp(e->key, key) == 0 && strcmp(e->name, name) == 0 &&
            strcmp(e->method, method) == 0)
            return e;
        slot = (slot + 1) & mask;
    }
    return NULL;
}

static apex_stats_error_t *s_add_error(apex_stats_t *self, const char *key,
                                       const char *method, const char *name,
                                       const char *error)
{
    if (self->nerrors == self->errors_cap) {
        self->errors_cap = self->errors_cap ? self->errors_cap * 2 : 8;
        self->errors =
            apex_realloc(self->errors, self->errors_cap, sizeof *self->errors);
    }
    if ((self->nerrors + 1) * 2 > self->etable_cap)
        s_grow_etable(self);
    apex_stats_error_t *e = apex_calloc(1, sizeof *e);
    snprintf(e->key, sizeof e->key, "%s", key);
    e->method = apex_strdup(method);
    e->name = apex_strdup(name);
    e->error = apex_strdup(error);
    size_t index = self->nerrors++;
    self->errors[index] = e;
    s_table_insert(self->etable, self->etable_cap,
                   s_error_hash(method, name, key), index);
    return e;
}

// The error that holds new errors past max_errors, made if missing.
static apex_stats_error_t *s_other_error(apex_stats_t *self)
{
    self->errors_full = true;
    if (self->other_error)
        return self->other_error;
    char key[APEX_SHA256_HEX];
    apex_locust_error_key("", APEX_STATS_OTHER_NAME, APEX_STATS_OTHER_ERROR,
                          key);
    self->other_error = s_find_error(self, "", APEX_STATS_OTHER_NAME, key);
    if (!self->other_error)
        self->other_error = s_add_error(self, key, "", APEX_STATS_OTHER_NAME,
                                        APEX_STATS_OTHER_ERROR);
    return self->other_error;
}

// True when a new error must go to the other error.
static bool s_errors_at_limit(const apex_stats_t *self)
{
    size_t used = self->nerrors - (self->other_error ? 1 : 0);
    return self->max_errors && used >= self->max_errors;
}

void apex_stats_record_service(apex_stats_entry_t *e, uint64_t service_us)
{
    if (!e->service)
        e->service = apex_histogram_new();
    apex_histogram_record(e->service, service_us);
}

void apex_stats_set_mask(apex_stats_t *self, apex_text_mask_fn *fn,
                         const void *arg)
{
    self->mask = fn;
    self->mask_arg = arg;
}

static void s_record_failure(apex_stats_t *self, apex_stats_entry_t *e,
                             const char *error, double now);

void apex_stats_record_failure(apex_stats_t *self, apex_stats_entry_t *e,
                               const char *error, double now)
{
    if (!self->mask) {
        s_record_failure(self, e, error, now);
        return;
    }
    char *masked = apex_strdup(error ? error : "");
    self->mask(self->mask_arg, masked);
    s_record_failure(self, e, masked, now);
    free(masked);
}

void apex_stats_mask(apex_stats_t *self, apex_text_mask_fn *fn, const void *arg)
{
    bool renamed = false, errors = false;
    for (size_t i = 0; i < self->nentries; i++) {
        apex_stats_entry_t *e = self->entries[i];
        renamed |= fn(arg, e->method);
        renamed |= fn(arg, e->name);
    }
    for (size_t i = 0; i < self->nerrors; i++) {
        apex_stats_error_t *e = self->errors[i];
        errors |= fn(arg, e->method);
        errors |= fn(arg, e->name);
        fn(arg, e->error); // not part of the index: errors hash on the key
    }
    if (renamed && self->table_cap) {
        memset(self->table, 0, self->table_cap * sizeof *self->table);
        for (size_t i = 0; i < self->nentries; i++)
            s_table_insert(
                self->table, self->table_cap,
                s_entry_hash(self->entries[i]->method, self->entries[i]->name),
                i);
    }
    if (errors && self->etable_cap) {
        memset(self->etable, 0, self->etable_cap * sizeof *self->etable);
        for (size_t i = 0; i < self->nerrors; i++) {
            apex_stats_error_t *e = self->errors[i];
            s_table_insert(self->etable, self->etable_cap,
                           s_error_hash(e->method, e->name, e->key), i);
        }
    }
}

static void s_record_failure(apex_stats_t *self, apex_stats_entry_t *e,
                             const char *error, double now)
{
    e->num_failures++;
    self->total.num_failures++;
    apex_stats_entry_add_second(e, (int64_t)now, 0, 1);
    apex_stats_entry_add_second(&self->total, (int64_t)now, 0, 1);

    // Look the error up by its text first (cheap), and only compute the
    // sha256 key for an error not seen since the last reset.
    apex_stats_error_t *err = NULL;
    for (size_t i = self->nerrors; i-- > 0;) {
        apex_stats_error_t *cand = self->errors[i];
        if (strcmp(cand->error, error) == 0 &&
            strcmp(cand->name, e->name) == 0 &&
            strcmp(cand->method, e->method) == 0) {
            err = cand;
            break;
        }
    }
    if (!err && s_errors_at_limit(self)) {
        err = s_other_error(self);
        if (err->first_seen == 0)
            err->first_seen = now;
    } else if (!err) {
        char key[APEX_SHA256_HEX];
        apex_locust_error_key(e->method, e->name, error, key);
        err = s_add_error(self, key, e->method, e->name, error);
        err->first_seen = now;
    }
    err->occurrences = apex_count_add(err->occurrences, 1);
    err->last_seen = now;
}

size_t apex_stats_error_count(const apex_stats_t *self)
{
    return self->nerrors;
}

const apex_stats_error_t *apex_stats_error_at(const apex_stats_t *self,
                                              size_t i)
{
    return i < self->nerrors ? self->errors[i] : NULL;
}

void apex_stats_merge_error(apex_stats_t *self, const apex_stats_error_t *src)
{
    const char *method = src->method ? src->method : "";
    const char *name = src->name ? src->name : "";
    apex_stats_error_t *e = s_find_error(self, method, name, src->key);
    if (!e && !s_errors_at_limit(self)) {
        e = s_add_error(self, src->key, method, name,
                        src->error ? src->error : "");
        e->first_seen = src->first_seen;
        e->last_seen = src->last_seen;
    } else {
        if (!e)
            e = s_other_error(self);
        if (src->first_seen > 0 &&
            (e->first_seen == 0 || src->first_seen < e->first_seen))
            e->first_seen = src->first_seen;
        if (src->last_seen > e->last_seen)
            e->last_seen = src->last_seen;
    }
    e->occurrences = apex_count_add(e->occurrences, src->occurrences);
}

void apex_stats_reset(apex_stats_t *self, double now)
{
    for (size_t i = 0; i < self->nentries; i++)
        apex_stats_entry_reset(self->entries[i], now);
    apex_stats_entry_reset(&self->total, now);
    for (size_t i = 0; i < self->nerrors; i++) {
        apex_stats_error_t *e = self->errors[i];
        free(e->method);
        free(e->name);
        free(e->error);
        free(e);
    }
    self->nerrors = 0;
    self->other_error = NULL;
    self->errors_full = false;
    if (self->etable)
        memset(self->etable, 0, self->etable_cap * sizeof *self->etable);
}

void apex_stats_clear(apex_stats_t *self, double now)
{
    s_drop_all(self);
    apex_stats_entry_reset(&self->total, now);
}

// ---------------------------------------------------------------------
// Merging and derived figures

void apex_stats_entry_merge(apex_stats_entry_t *dst,
                            const apex_stats_entry_t *src)
{
    if (src->last_request_timestamp > dst->last_request_timestamp)
        dst->last_request_timestamp = src->last_request_timestamp;
    if (src->start_time > 0 && src->start_time < dst->start_time)
        dst->start_time = src->start_time;
    dst->num_requests = apex_count_add(dst->num_requests, src->num_requests);
    dst->num_none_requests =
        apex_count_add(dst->num_none_requests, src->num_none_requests);
    dst->num_failures = apex_count_add(dst->num_failures, src->num_failures);
    dst->total_response_us =
        apex_count_add(dst->total_response_us, src->total_response_us);
    dst->total_content_length =
        apex_count_add(dst->total_content_length, src->total_content_length);
    if (src->max_response_us > dst->max_response_us)
        dst->max_response_us = src->max_response_us;
    if (src->min_response_us < dst->min_response_us)
        dst->min_response_us = src->min_response_us;
    apex_histogram_merge(dst->hist, src->hist);
    if (src->service && apex_histogram_count(src->service)) {
        if (!dst->service)
            dst->service = apex_histogram_new();
        apex_histogram_merge(dst->service, src->service);
    }
    for (size_t i = 0; i < APEX_STATS_SECONDS; i++) {
        const apex_stats_second_t *s = &src->seconds[i];
        if (s->sec && (s->reqs || s->fails))
            apex_stats_entry_add_second(dst, s->sec, s->reqs, s->fails);
    }
}

static uint64_t s_timed(const apex_stats_entry_t *e)
{
    return e->num_requests > e->num_none_requests
               ? e->num_requests - e->num_none_requests
               : 0;
}

double apex_stats_entry_avg_ms(const apex_stats_entry_t *e)
{
    uint64_t n = s_timed(e);
    return n ? apex_ms_from_us(e->total_response_us) / (double)n : 0.0;
}

double apex_stats_entry_min_ms(const apex_stats_entry_t *e)
{
    return e->min_response_us == APEX_STATS_NO_MIN
               ? 0.0
               : apex_ms_from_us(e->min_response_us);
}

double apex_stats_entry_max_ms(const apex_stats_entry_t *e)
{
    return apex_ms_from_us(e->max_response_us);
}

double apex_stats_entry_median_ms(const apex_stats_entry_t *e)
{
    if (apex_histogram_count(e->hist) == 0)
        return 0.0;
    double ms = nearbyint(apex_ms_from_us(apex_histogram_median(e->hist)));
    double max = apex_stats_entry_max_ms(e);
    double min = apex_stats_entry_min_ms(e);
    if (ms > max)
        return max;
    if (ms < min)
        return min;
    return ms;
}

uint64_t apex_stats_entry_percentile_ms(const apex_stats_entry_t *e, double p)
{
    if (apex_histogram_count(e->hist) == 0)
        return 0;
    double us = (double)apex_histogram_percentile(e->hist, p);
    return (uint64_t)nearbyint(us / 1000.0);
}

double apex_stats_entry_fail_ratio(const apex_stats_entry_t *e)
{
    if (e->num_requests == 0)
        return e->num_failures ? 1.0 : 0.0;
    return (double)e->num_failures / (double)e->num_requests;
}

double apex_stats_entry_avg_content_length(const apex_stats_entry_t *e)
{
    return e->num_requests
               ? (double)e->total_content_length / (double)e->num_requests
               : 0.0;
}

double apex_stats_total_rps(const apex_stats_t *self,
                            const apex_stats_entry_t *e, bool fails)
{
    double span = self->total.last_request_timestamp - self->total.start_time;
    if (self->total.last_request_timestamp == 0 ||
        self->total.start_time == 0 || span <= 0)
        return 0.0;
    return (double)(fails ? e->num_failures : e->num_requests) / span;
}

double apex_stats_current_rps(const apex_stats_t *self,
                              const apex_stats_entry_t *e, bool fails)
{
    // Timestamps come from peers; the decoder bounds them, and this keeps
    // the conversions defined whatever a caller stored.
    double lt = self->total.last_request_timestamp;
    double st = self->total.start_time;
    if (!(lt > 0 && lt < APEX_STATS_MAX_TIME))
        return 0.0;
    int64_t last = (int64_t)lt;
    int64_t start = last - APEX_STATS_CURRENT_WINDOW;
    if (st > 0 && st < APEX_STATS_MAX_TIME && (int64_t)st > start)
        start = (int64_t)st;
    int64_t end = last - APEX_STATS_CURRENT_SKIP; // exclusive
    uint64_t sum = 0;
    int64_t n = 0;
    for (int64_t sec = start; sec < end; sec++, n++) {
        const apex_stats_second_t *s =
            &e->seconds[(uint64_t)sec % APEX_STATS_SECONDS];
        if (s->sec == sec)
            sum += fails ? s->fails : s->reqs;
    }
    return n > 0 ? (double)sum / (double)n : 0.0;
}
