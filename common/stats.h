// common/stats.h - request statistics with Locust's semantics: entries
// keyed by (method, name) with counts, response times, content length, a
// microsecond histogram and per-second counts; the total entry; errors
// grouped by Locust's key with occurrences. Workers record into it and
// send deltas (report, then reset); the master merges the deltas of all
// workers exactly, histograms included. Merged counts saturate at
// APEX_COUNT_MAX (common/sat.h) instead of wrapping.
#ifndef APEX_STATS_H
#define APEX_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/histogram.h"
#include "common/pyfmt.h"

#define APEX_STATS_SECONDS 32 // per-second slots kept (a ring)
#define APEX_STATS_NO_MIN UINT64_MAX
#define APEX_STATS_TOTAL_NAME "Aggregated"
#define APEX_STATS_CURRENT_WINDOW 12 // seconds looked back for current RPS
#define APEX_STATS_CURRENT_SKIP 2    // newest seconds skipped (late reports)
#define APEX_STATS_MAX_TIME 1e11     // unix seconds beyond are not trusted
// The entry and the error that hold what is past apex_stats_set_limits().
#define APEX_STATS_OTHER_NAME "(other names, over the limit)"
#define APEX_STATS_OTHER_ERROR "(other errors, over the limit)"

typedef struct {
    int64_t sec;    // unix second this slot counts, 0 when unused
    uint64_t reqs;  // requests completed in that second
    uint64_t fails; // failures in that second
} apex_stats_second_t;

typedef struct {
    char *method;                  // "GET"; "" for the total
    char *name;                    // "/health"; "Aggregated" for the total
    uint64_t num_requests;         // requests, failures included
    uint64_t num_none_requests;    // requests without a response time
    uint64_t num_failures;         // failed requests
    uint64_t total_response_us;    // sum of response times
    uint64_t min_response_us;      // APEX_STATS_NO_MIN when none
    uint64_t max_response_us;      // 0 when none
    uint64_t total_content_length; // sum of response body sizes
    double start_time;             // unix time of creation or last reset
    double last_request_timestamp; // unix time of the last request, or 0
    apex_histogram_t *hist;        // response times
    apex_histogram_t *service;     // service times (open model), or NULL
    apex_stats_second_t seconds[APEX_STATS_SECONDS]; // by sec % SECONDS
} apex_stats_entry_t;

typedef struct {
    char key[APEX_SHA256_HEX]; // Locust's sha256 key
    char *method;              // request method
    char *name;                // request name
    char *error;               // error text as Locust shows it
    uint64_t occurrences;      // how many times
    double first_seen;         // unix time, 0 when unknown
    double last_seen;          // unix time, 0 when unknown
} apex_stats_error_t;

typedef struct apex_stats apex_stats_t; // opaque

// An empty set of statistics whose entries start at `now` (unix time).
apex_stats_t *apex_stats_new(double now);

// Bound what peers can make the statistics hold: at most max_entries
// distinct (method, name) entries and max_errors distinct errors (0 is
// unbounded, the default). Past the limit apex_stats_get() returns the
// "other" entry (method "", name APEX_STATS_OTHER_NAME: an entry like the
// others, one more than the limit) and new errors add up in one error of
// that entry (APEX_STATS_OTHER_ERROR), so every count is kept and the
// total stays exact. Counts in entries and errors saturate at
// APEX_COUNT_MAX (common/sat.h) instead of wrapping.
void apex_stats_set_limits(apex_stats_t *self, size_t max_entries,
                           size_t max_errors);

// The "other" entry, made (starting at now) if missing.
apex_stats_entry_t *apex_stats_other(apex_stats_t *self, double now);

// True once a new (method, name), or a new error, was folded into the
// other entry or error since the statistics were last cleared (errors:
// also reset).
bool apex_stats_entries_full(const apex_stats_t *self);
bool apex_stats_errors_full(const apex_stats_t *self);

// Free *self_p and set it to NULL; does nothing if *self_p is NULL.
void apex_stats_destroy(apex_stats_t **self_p);

// The entry for (method, name), created (starting at now) if missing.
// The pointer stays valid until apex_stats_clear() or destroy.
apex_stats_entry_t *apex_stats_get(apex_stats_t *self, const char *method,
                                   const char *name, double now);

// The entry for (method, name), or NULL.
apex_stats_entry_t *apex_stats_find(const apex_stats_t *self,
                                    const char *method, const char *name);

// The total ("Aggregated") entry.
apex_stats_entry_t *apex_stats_total(apex_stats_t *self);
const apex_stats_entry_t *apex_stats_total_const(const apex_stats_t *self);

// Number of entries (not counting the total) and the i-th in creation
// order.
size_t apex_stats_size(const apex_stats_t *self);
apex_stats_entry_t *apex_stats_at(const apex_stats_t *self, size_t i);

// The entries sorted by (name, method) as Locust sorts them, in a new
// array of size apex_stats_size() the caller frees (not the entries).
apex_stats_entry_t **apex_stats_sorted(const apex_stats_t *self);

// Record one completed request of entry e (and the total): response time
// in microseconds, body size in bytes, at unix time now.
void apex_stats_record(apex_stats_t *self, apex_stats_entry_t *e,
                       uint64_t response_us, uint64_t content_length,
                       double now);

// Record the service time of a request (open model: its response time,
// recorded with apex_stats_record(), is measured from the intended start;
// this is the time the server took). Allocates e->service on first use.
void apex_stats_record_service(apex_stats_entry_t *e, uint64_t service_us);

// Record that the request just recorded for e failed with `error` (the
// text Locust would show, e.g. "HTTPError('500 Server Error: ...')").
void apex_stats_record_failure(apex_stats_t *self, apex_stats_entry_t *e,
                               const char *error, double now);

// Number of distinct errors and the i-th in creation order.
size_t apex_stats_error_count(const apex_stats_t *self);
const apex_stats_error_t *apex_stats_error_at(const apex_stats_t *self,
                                              size_t i);

// Merge an error reported by a worker: occurrences add up under its key
// (trusted as sent); first/last seen widen when given (non-zero).
void apex_stats_merge_error(apex_stats_t *self, const apex_stats_error_t *e);

// Reset every entry and the total to empty, starting at now, and drop
// the errors. Entries are kept (a worker's delta report does this).
void apex_stats_reset(apex_stats_t *self, double now);

// Drop every entry and error and reset the total (a new test).
void apex_stats_clear(apex_stats_t *self, double now);

// A text filter: rewrites text in place, only ever shortening it (the
// masking of secrets, common/secrets.h); true when it changed the text.
typedef bool(apex_text_mask_fn)(const void *arg, char *text);

// From now on, a failure text is passed through fn(arg, copy) before it
// is recorded, so errors are grouped by their masked text. fn NULL: no
// filter. arg is borrowed and must outlive self (or the next call).
void apex_stats_set_mask(apex_stats_t *self, apex_text_mask_fn *fn,
                         const void *arg);

// Pass every entry's method and name and every error's method, name and
// text through fn now, in place (what a master does to a worker's
// report as it arrives). Entries whose names become equal stay apart
// (a merge adds them up); errors keep their keys.
void apex_stats_mask(apex_stats_t *self, apex_text_mask_fn *fn,
                     const void *arg);

// ---------------------------------------------------------------------
// Entries

// Reset e to empty, starting at now.
void apex_stats_entry_reset(apex_stats_entry_t *e, double now);

// Add src into dst as Locust's StatsEntry.extend() does: counts and sums
// add, min/max widen, start time takes the earlier and last request time
// the later, histograms and per-second counts add.
void apex_stats_entry_merge(apex_stats_entry_t *dst,
                            const apex_stats_entry_t *src);

// Add `reqs` requests and `fails` failures to the per-second slot of sec
// (a slot holding an older second is recycled; an older sec than the
// slot's is dropped).
void apex_stats_entry_add_second(apex_stats_entry_t *e, int64_t sec,
                                 uint64_t reqs, uint64_t fails);

// Average response time in ms over timed requests, 0 when none.
double apex_stats_entry_avg_ms(const apex_stats_entry_t *e);

// Smallest response time in ms, 0 when none.
double apex_stats_entry_min_ms(const apex_stats_entry_t *e);

// Largest response time in ms.
double apex_stats_entry_max_ms(const apex_stats_entry_t *e);

// Locust's median: the value at rank (n-1)/2, clamped to [min, max], in
// ms (rounded to the nearest ms unless clamped; 0 when empty).
double apex_stats_entry_median_ms(const apex_stats_entry_t *e);

// Percentile p in [0, 1] by Locust's rank rule, rounded to whole ms.
uint64_t apex_stats_entry_percentile_ms(const apex_stats_entry_t *e, double p);

// Failures per request (Locust's fail_ratio).
double apex_stats_entry_fail_ratio(const apex_stats_entry_t *e);

// Average body size in bytes per request.
double apex_stats_entry_avg_content_length(const apex_stats_entry_t *e);

// Requests (or failures when fails is true) per second over the whole
// run: count / (total's last request time - total's start time).
double apex_stats_total_rps(const apex_stats_t *self,
                            const apex_stats_entry_t *e, bool fails);

// Locust's current RPS (or failures/s): the average of e's per-second
// counts over seconds [L-12, L-3], L being the total's last request
// second, not before the total's start.
double apex_stats_current_rps(const apex_stats_t *self,
                              const apex_stats_entry_t *e, bool fails);

#endif
