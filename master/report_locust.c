// master/report_locust.c - --json: the final stats on stdout as Locust's
// --json prints them (stats.py print_stats_json): a JSON array of one
// StatsEntryDict per request entry that saw a request or a failure, in
// creation order, with times in float milliseconds, response_times keyed
// by Locust's rounded buckets and the per-second counts we keep (the
// last APEX_STATS_SECONDS seconds; Locust keeps the whole run).
#include "master/report.h"

#include <jansson.h>
#include <stdlib.h>

#include "common/alloc.h"
#include "common/histogram.h"

#define S_US_PER_MS 1000.0

static json_t *s_ms(uint64_t us)
{
    return json_real((double)us / S_US_PER_MS);
}

// A float unix time, or null when never set.
static json_t *s_time(double t)
{
    return t > 0 ? json_real(t) : json_null();
}

// {"<ms bucket>": count, ...} in ascending order.
static json_t *s_response_times(const apex_histogram_t *hist)
{
    json_t *out = json_object();
    apex_locust_bucket_t *b = apex_calloc(APEX_HISTOGRAM_BUCKETS, sizeof *b);
    size_t n = apex_histogram_to_locust(hist, b, APEX_HISTOGRAM_BUCKETS);
    for (size_t i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "%lld", (long long)b[i].ms);
        json_object_set_new(out, key, json_integer((json_int_t)b[i].count));
    }
    free(b);
    return out;
}

// {"<unix second>": count, ...}, oldest first.
static json_t *s_seconds(const apex_stats_entry_t *e, bool fails)
{
    json_t *out = json_object();
    int64_t oldest = INT64_MAX;
    for (size_t i = 0; i < APEX_STATS_SECONDS; i++)
        if (e->seconds[i].sec && e->seconds[i].sec < oldest)
            oldest = e->seconds[i].sec;
    for (int64_t k = 0; oldest != INT64_MAX && k < APEX_STATS_SECONDS; k++) {
        const apex_stats_second_t *s =
            &e->seconds[(size_t)((oldest + k) % APEX_STATS_SECONDS)];
        uint64_t v = fails ? s->fails : s->reqs;
        if (s->sec != oldest + k || !v)
            continue;
        char key[32];
        snprintf(key, sizeof key, "%lld", (long long)s->sec);
        json_object_set_new(out, key, json_integer((json_int_t)v));
    }
    return out;
}

static json_t *s_entry(const apex_stats_entry_t *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(e->name));
    json_object_set_new(o, "method", json_string(e->method));
    json_object_set_new(o, "last_request_timestamp",
                        s_time(e->last_request_timestamp));
    json_object_set_new(o, "start_time", json_real(e->start_time));
    json_object_set_new(o, "num_requests",
                        json_integer((json_int_t)e->num_requests));
    json_object_set_new(o, "num_none_requests",
                        json_integer((json_int_t)e->num_none_requests));
    json_object_set_new(o, "num_failures",
                        json_integer((json_int_t)e->num_failures));
    json_object_set_new(o, "total_response_time", s_ms(e->total_response_us));
    json_object_set_new(o, "max_response_time", s_ms(e->max_response_us));
    json_object_set_new(o, "min_response_time",
                        e->min_response_us == APEX_STATS_NO_MIN
                            ? json_null()
                            : s_ms(e->min_response_us));
    json_object_set_new(o, "total_content_length",
                        json_integer((json_int_t)e->total_content_length));
    json_object_set_new(o, "response_times", s_response_times(e->hist));
    json_object_set_new(o, "num_reqs_per_sec", s_seconds(e, false));
    json_object_set_new(o, "num_fail_per_sec", s_seconds(e, true));
    return o;
}

char *master_report_locust_json(const apex_stats_t *stats)
{
    json_t *list = json_array();
    for (size_t i = 0; i < apex_stats_size(stats); i++) {
        const apex_stats_entry_t *e = apex_stats_at(stats, i);
        if (e->num_requests || e->num_failures)
            json_array_append_new(list, s_entry(e));
    }
    char *text = json_dumps(list, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
    json_decref(list);
    return text;
}
