// tests/unit/test_stats.c - request statistics with Locust's semantics
// (docs/protocol.md, "Stats reports"): recording into an entry and the
// total, the per-second ring, errors under Locust's sha256 key, merging
// workers' errors and entries (which must equal recording everything in
// one place, histogram included), reset versus clear, Locust's sort
// order, the derived figures (averages, median clamping, the percentile
// rank rule, fail ratio, total and current RPS), 10 000 entries, the
// limits on entries and errors that peers fill, and sums that saturate.
#include "tests/unit/tests.h"

#include <math.h>

#include "common/rng.h"
#include "common/sat.h"
#include "common/stats.h"

#define S_T0 1795737094.25 // a unix time from the captures
#define S_SEC0 1795737094  // its second
#define S_MANY 10000       // entries in the growth test
#define S_MANY_ERRORS 1000 // distinct errors in the growth test
#define S_MERGE_RECORDS 20000
#define S_MERGE_SECONDS 20 // seconds the merge test spreads records over

// Locust's keys, verified with Python (docs/protocol.md, "Stats
// reports").
#define S_KEY_HEALTH                                                           \
    "890e1482be6c29febbbfd4918229f7eb75a55f7e0fe196c62802e3fd57b05d31"
#define S_KEY_REFUSED                                                          \
    "dd0cb59aa487825ab3e9c886599ab24a76a8c5cb51fa7fed4c523b04097d0d87"
#define S_ERR_HEALTH "CatchResponseError('body did not match')"
#define S_ERR_REFUSED "ConnectionRefusedError(111, 'Connection refused')"

// The per-second slot of sec in e, or NULL when the ring does not hold
// that second.
static const apex_stats_second_t *s_second(const apex_stats_entry_t *e,
                                           int64_t sec)
{
    const apex_stats_second_t *s =
        &e->seconds[(uint64_t)sec % APEX_STATS_SECONDS];
    return s->sec == sec ? s : NULL;
}

static uint64_t s_reqs_at(const apex_stats_entry_t *e, int64_t sec)
{
    const apex_stats_second_t *s = s_second(e, sec);
    return s ? s->reqs : 0;
}

static uint64_t s_fails_at(const apex_stats_entry_t *e, int64_t sec)
{
    const apex_stats_second_t *s = s_second(e, sec);
    return s ? s->fails : 0;
}

static void s_check_empty_entry(const apex_stats_entry_t *e, double start)
{
    CHECK_EQ(e->num_requests, 0);
    CHECK_EQ(e->num_none_requests, 0);
    CHECK_EQ(e->num_failures, 0);
    CHECK_EQ(e->total_response_us, 0);
    CHECK(e->min_response_us == APEX_STATS_NO_MIN);
    CHECK_EQ(e->max_response_us, 0);
    CHECK_EQ(e->total_content_length, 0);
    CHECK(e->start_time == start);
    CHECK(e->last_request_timestamp == 0);
    CHECK_EQ(apex_histogram_count(e->hist), 0);
    for (size_t i = 0; i < APEX_STATS_SECONDS; i++) {
        CHECK_EQ(e->seconds[i].reqs, 0);
        CHECK_EQ(e->seconds[i].fails, 0);
    }
    CHECK(apex_stats_entry_avg_ms(e) == 0);
    CHECK(apex_stats_entry_min_ms(e) == 0);
    CHECK(apex_stats_entry_max_ms(e) == 0);
    CHECK(apex_stats_entry_median_ms(e) == 0);
    CHECK_EQ(apex_stats_entry_percentile_ms(e, .95), 0);
    CHECK(apex_stats_entry_fail_ratio(e) == 0);
    CHECK(apex_stats_entry_avg_content_length(e) == 0);
}

// Two histograms hold the same values: same wire bytes.
static void s_check_same_hist(const apex_histogram_t *a,
                              const apex_histogram_t *b)
{
    static uint8_t ea[APEX_HISTOGRAM_ENCODE_MAX], eb[APEX_HISTOGRAM_ENCODE_MAX];
    size_t la = apex_histogram_encode(a, ea);
    size_t lb = apex_histogram_encode(b, eb);
    CHECK_EQ(la, lb);
    CHECK(memcmp(ea, eb, la) == 0);
}

static void s_check_same_entry(const apex_stats_entry_t *a,
                               const apex_stats_entry_t *b)
{
    CHECK_EQ(a->num_requests, b->num_requests);
    CHECK_EQ(a->num_none_requests, b->num_none_requests);
    CHECK_EQ(a->num_failures, b->num_failures);
    CHECK_EQ(a->total_response_us, b->total_response_us);
    CHECK_EQ(a->min_response_us, b->min_response_us);
    CHECK_EQ(a->max_response_us, b->max_response_us);
    CHECK_EQ(a->total_content_length, b->total_content_length);
    CHECK(a->last_request_timestamp == b->last_request_timestamp);
    s_check_same_hist(a->hist, b->hist);
    for (size_t i = 0; i < APEX_STATS_SECONDS; i++) {
        CHECK_EQ(a->seconds[i].sec, b->seconds[i].sec);
        CHECK_EQ(a->seconds[i].reqs, b->seconds[i].reqs);
        CHECK_EQ(a->seconds[i].fails, b->seconds[i].fails);
    }
}

// A new set is empty; entries are created on demand and found again.
static void s_test_record(void)
{
    apex_stats_t *stats = apex_stats_new(S_T0);
    CHECK_EQ(apex_stats_size(stats), 0);
    CHECK_EQ(apex_stats_error_count(stats), 0);
    CHECK(apex_stats_at(stats, 0) == NULL);
    CHECK(apex_stats_error_at(stats, 0) == NULL);
    CHECK(apex_stats_find(stats, "GET", "/health") == NULL);
    apex_stats_entry_t *total = apex_stats_total(stats);
    CHECK(total == apex_stats_total_const(stats));
    CHECK_STR(total->name, APEX_STATS_TOTAL_NAME);
    CHECK_STR(total->method, "");
    s_check_empty_entry(total, S_T0);
    CHECK(apex_stats_total_rps(stats, total, false) == 0);
    CHECK(apex_stats_current_rps(stats, total, false) == 0);

    apex_stats_entry_t *health =
        apex_stats_get(stats, "GET", "/health", S_T0 + 1);
    CHECK_STR(health->method, "GET");
    CHECK_STR(health->name, "/health");
    s_check_empty_entry(health, S_T0 + 1);
    CHECK(apex_stats_get(stats, "GET", "/health", S_T0 + 5) == health);
    CHECK(health->start_time == S_T0 + 1); // not re-created
    CHECK(apex_stats_find(stats, "GET", "/health") == health);
    CHECK(apex_stats_find(stats, "POST", "/health") == NULL);
    CHECK(apex_stats_find(stats, "GET", "/healt") == NULL);
    apex_stats_entry_t *post = apex_stats_get(stats, "POST", "/", S_T0);
    CHECK(post != health);
    CHECK_EQ(apex_stats_size(stats), 2);
    CHECK(apex_stats_at(stats, 0) == health);
    CHECK(apex_stats_at(stats, 1) == post);
    CHECK(apex_stats_at(stats, 2) == NULL);

    // ("ab", "c") and ("a", "bc") are different entries.
    apex_stats_entry_t *ab = apex_stats_get(stats, "ab", "c", S_T0);
    apex_stats_entry_t *a = apex_stats_get(stats, "a", "bc", S_T0);
    CHECK(ab != a);
    CHECK(apex_stats_find(stats, "ab", "c") == ab);
    CHECK(apex_stats_find(stats, "a", "bc") == a);

    // Three requests on /health, one on POST /, in two seconds.
    apex_stats_record(stats, health, 1500, 15, S_T0 + 0.1);
    apex_stats_record(stats, health, 700, 15, S_T0 + 0.5);
    apex_stats_record(stats, health, 7698, 0, S_T0 + 1.2);
    apex_stats_record(stats, post, 3682, 3, S_T0 + 1.3);
    CHECK_EQ(health->num_requests, 3);
    CHECK_EQ(health->num_failures, 0);
    CHECK_EQ(health->total_response_us, 1500 + 700 + 7698);
    CHECK_EQ(health->min_response_us, 700);
    CHECK_EQ(health->max_response_us, 7698);
    CHECK_EQ(health->total_content_length, 30);
    CHECK(health->last_request_timestamp == S_T0 + 1.2);
    CHECK_EQ(apex_histogram_count(health->hist), 3);
    CHECK_EQ(s_reqs_at(health, S_SEC0), 2);
    CHECK_EQ(s_reqs_at(health, S_SEC0 + 1), 1);
    CHECK_EQ(s_reqs_at(health, S_SEC0 + 2), 0);
    // The total saw all four.
    CHECK_EQ(total->num_requests, 4);
    CHECK_EQ(total->total_response_us, 1500 + 700 + 7698 + 3682);
    CHECK_EQ(total->min_response_us, 700);
    CHECK_EQ(total->max_response_us, 7698);
    CHECK_EQ(total->total_content_length, 33);
    CHECK(total->last_request_timestamp == S_T0 + 1.3);
    CHECK_EQ(apex_histogram_count(total->hist), 4);
    CHECK_EQ(s_reqs_at(total, S_SEC0), 2);
    CHECK_EQ(s_reqs_at(total, S_SEC0 + 1), 2);
    // A zero response time is a real (timed) request.
    apex_stats_record(stats, post, 0, 0, S_T0 + 1.4);
    CHECK_EQ(post->min_response_us, 0);
    CHECK_EQ(total->min_response_us, 0);

    // A failure is a recorded request plus record_failure: it counts in
    // num_requests and num_failures, in the entry, the total and the
    // per-second failure counts, and its error is grouped.
    apex_stats_record(stats, health, 2000, 0, S_T0 + 1.5);
    apex_stats_record_failure(stats, health, S_ERR_HEALTH, S_T0 + 1.5);
    apex_stats_record(stats, health, 2500, 0, S_T0 + 2.5);
    apex_stats_record_failure(stats, health, S_ERR_HEALTH, S_T0 + 2.5);
    CHECK_EQ(health->num_requests, 5);
    CHECK_EQ(health->num_failures, 2);
    CHECK_EQ(total->num_failures, 2);
    CHECK_EQ(s_fails_at(health, S_SEC0 + 1), 1);
    CHECK_EQ(s_fails_at(health, S_SEC0 + 2), 1);
    CHECK_EQ(s_fails_at(total, S_SEC0 + 2), 1);
    CHECK_EQ(s_fails_at(post, S_SEC0 + 1), 0);
    CHECK_EQ(apex_stats_error_count(stats), 1);
    const apex_stats_error_t *err = apex_stats_error_at(stats, 0);
    CHECK_STR(err->key, S_KEY_HEALTH);
    CHECK_STR(err->method, "GET");
    CHECK_STR(err->name, "/health");
    CHECK_STR(err->error, S_ERR_HEALTH);
    CHECK_EQ(err->occurrences, 2);
    CHECK(err->first_seen == S_T0 + 1.5);
    CHECK(err->last_seen == S_T0 + 2.5);

    // Another error text, and the same text on another entry, are new
    // errors with their own keys.
    apex_stats_entry_t *refused = apex_stats_get(stats, "GET", "refused", S_T0);
    apex_stats_record(stats, refused, 1691, 0, S_T0 + 2.6);
    apex_stats_record_failure(stats, refused, S_ERR_REFUSED, S_T0 + 2.6);
    apex_stats_record_failure(stats, post, S_ERR_HEALTH, S_T0 + 2.7);
    apex_stats_record_failure(stats, health, "HTTPError('500 Server Error')",
                              S_T0 + 2.8);
    CHECK_EQ(apex_stats_error_count(stats), 4);
    CHECK_STR(apex_stats_error_at(stats, 1)->key, S_KEY_REFUSED);
    CHECK_STR(apex_stats_error_at(stats, 1)->name, "refused");
    const apex_stats_error_t *post_err = apex_stats_error_at(stats, 2);
    CHECK_STR(post_err->method, "POST");
    CHECK(strcmp(post_err->key, S_KEY_HEALTH) != 0);
    CHECK_EQ(strlen(post_err->key), 64);
    CHECK_EQ(apex_stats_error_at(stats, 3)->occurrences, 1);
    CHECK(apex_stats_error_at(stats, 4) == NULL);
    CHECK_EQ(apex_stats_error_at(stats, 0)->occurrences, 2); // unchanged

    // A failure with no recorded request (Locust allows it) still counts.
    CHECK_EQ(post->num_failures, 1);
    CHECK_EQ(total->num_failures, 5);
    apex_stats_destroy(&stats);
}

static void s_test_seconds(void)
{
    apex_stats_t *stats = apex_stats_new(S_T0);
    apex_stats_entry_t *e = apex_stats_get(stats, "GET", "/", S_T0);
    int64_t s0 = S_SEC0;
    apex_stats_entry_add_second(e, s0, 3, 1);
    apex_stats_entry_add_second(e, s0, 2, 0);
    CHECK_EQ(s_reqs_at(e, s0), 5);
    CHECK_EQ(s_fails_at(e, s0), 1);
    // Adding nothing is allowed.
    apex_stats_entry_add_second(e, s0, 0, 0);
    CHECK_EQ(s_reqs_at(e, s0), 5);

    // A second APEX_STATS_SECONDS later recycles the slot.
    int64_t later = s0 + APEX_STATS_SECONDS;
    apex_stats_entry_add_second(e, later, 7, 2);
    CHECK(s_second(e, s0) == NULL);
    CHECK_EQ(s_reqs_at(e, later), 7);
    CHECK_EQ(s_fails_at(e, later), 2);
    // An older second than the slot holds is dropped, not mixed in.
    apex_stats_entry_add_second(e, s0, 100, 100);
    CHECK_EQ(s_reqs_at(e, later), 7);
    CHECK_EQ(s_fails_at(e, later), 2);
    CHECK(s_second(e, s0) == NULL);

    // A full ring of consecutive seconds keeps every one of them.
    for (int64_t i = 0; i < APEX_STATS_SECONDS; i++)
        apex_stats_entry_add_second(e, later + 1 + i, (uint64_t)i + 1, 0);
    for (int64_t i = 0; i < APEX_STATS_SECONDS; i++)
        CHECK_EQ(s_reqs_at(e, later + 1 + i), i + 1);
    CHECK(s_second(e, later) == NULL); // overwritten by later + 32

    // Records run through the same ring.
    apex_stats_entry_t *r = apex_stats_get(stats, "GET", "/r", S_T0);
    for (int i = 0; i < 3 * APEX_STATS_SECONDS; i++)
        apex_stats_record(stats, r, 1000, 0, S_T0 + i);
    for (int i = 0; i < 2 * APEX_STATS_SECONDS; i++)
        CHECK(s_second(r, S_SEC0 + i) == NULL);
    for (int i = 2 * APEX_STATS_SECONDS; i < 3 * APEX_STATS_SECONDS; i++)
        CHECK_EQ(s_reqs_at(r, S_SEC0 + i), 1);
    apex_stats_destroy(&stats);
}

static void s_test_merge_error(void)
{
    apex_stats_t *stats = apex_stats_new(S_T0);
    apex_stats_entry_t *health = apex_stats_get(stats, "GET", "/health", S_T0);
    apex_stats_record(stats, health, 1000, 0, S_T0 + 2);
    apex_stats_record_failure(stats, health, S_ERR_HEALTH, S_T0 + 2);

    // A worker's error with the same key, method and name lands on the
    // locally recorded one: occurrences add, first/last seen widen.
    char method[] = "GET", name[] = "/health", text[] = S_ERR_HEALTH;
    apex_stats_error_t in = {.key = S_KEY_HEALTH,
                             .method = method,
                             .name = name,
                             .error = text,
                             .occurrences = 3,
                             .first_seen = S_T0 + 1,
                             .last_seen = S_T0 + 1.5};
    apex_stats_merge_error(stats, &in);
    CHECK_EQ(apex_stats_error_count(stats), 1);
    const apex_stats_error_t *e = apex_stats_error_at(stats, 0);
    CHECK_EQ(e->occurrences, 4);
    CHECK(e->first_seen == S_T0 + 1);
    CHECK(e->last_seen == S_T0 + 2);
    in.first_seen = S_T0 + 5;
    in.last_seen = S_T0 + 9;
    apex_stats_merge_error(stats, &in);
    CHECK_EQ(e->occurrences, 7);
    CHECK(e->first_seen == S_T0 + 1);
    CHECK(e->last_seen == S_T0 + 9);
    // 2.12.1 workers send no first/last seen (0): the times stay.
    in.first_seen = 0;
    in.last_seen = 0;
    in.occurrences = 1;
    apex_stats_merge_error(stats, &in);
    CHECK_EQ(e->occurrences, 8);
    CHECK(e->first_seen == S_T0 + 1);
    CHECK(e->last_seen == S_T0 + 9);
    // The input is not kept or changed.
    CHECK(e->error != in.error);
    CHECK_STR(in.error, S_ERR_HEALTH);
    // Recording the same failure again still finds the same error.
    apex_stats_record_failure(stats, health, S_ERR_HEALTH, S_T0 + 10);
    CHECK_EQ(apex_stats_error_count(stats), 1);
    CHECK_EQ(e->occurrences, 9);
    CHECK(e->last_seen == S_T0 + 10);

    // A new key is a new error, created as sent, with times as sent.
    apex_stats_error_t refused = {.key = S_KEY_REFUSED,
                                  .method = method,
                                  .name = (char *)"refused",
                                  .error = (char *)S_ERR_REFUSED,
                                  .occurrences = 2};
    apex_stats_merge_error(stats, &refused);
    CHECK_EQ(apex_stats_error_count(stats), 2);
    const apex_stats_error_t *r = apex_stats_error_at(stats, 1);
    CHECK_STR(r->key, S_KEY_REFUSED);
    CHECK_STR(r->name, "refused");
    CHECK_STR(r->error, S_ERR_REFUSED);
    CHECK_EQ(r->occurrences, 2);
    CHECK(r->first_seen == 0 && r->last_seen == 0);
    // Then the first error that knows its times sets them.
    refused.first_seen = S_T0 + 3;
    refused.last_seen = S_T0 + 4;
    apex_stats_merge_error(stats, &refused);
    CHECK(r->first_seen == S_T0 + 3 && r->last_seen == S_T0 + 4);

    // The key is trusted as sent (Locust's master does the same): the same
    // error under another key is another row.
    apex_stats_error_t other = in;
    memset(other.key, 'a', 64);
    other.key[64] = '\0';
    apex_stats_merge_error(stats, &other);
    CHECK_EQ(apex_stats_error_count(stats), 3);
    // Missing method, name or text (a sloppy peer) become "".
    apex_stats_error_t bare = {.key = "k", .occurrences = 5};
    apex_stats_merge_error(stats, &bare);
    apex_stats_merge_error(stats, &bare);
    CHECK_EQ(apex_stats_error_count(stats), 4);
    const apex_stats_error_t *b = apex_stats_error_at(stats, 3);
    CHECK_STR(b->method, "");
    CHECK_STR(b->name, "");
    CHECK_STR(b->error, "");
    CHECK_EQ(b->occurrences, 10);

    // Many distinct errors: the table grows and each one is found again.
    for (int i = 0; i < S_MANY_ERRORS; i++) {
        char key[APEX_SHA256_HEX];
        snprintf(key, sizeof key, "%064d", i);
        apex_stats_error_t x = {.occurrences = (uint64_t)i + 1};
        memcpy(x.key, key, sizeof key);
        x.method = method;
        x.name = name;
        x.error = text;
        apex_stats_merge_error(stats, &x);
        apex_stats_merge_error(stats, &x);
    }
    CHECK_EQ(apex_stats_error_count(stats), 4 + S_MANY_ERRORS);
    for (int i = 0; i < S_MANY_ERRORS; i++)
        CHECK_EQ(apex_stats_error_at(stats, 4 + (size_t)i)->occurrences,
                 2 * (i + 1));
    // ... and so are many recorded ones.
    apex_stats_reset(stats, S_T0 + 20);
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < S_MANY_ERRORS; i++) {
            char error[64];
            snprintf(error, sizeof error, "HTTPError('%d')", i);
            apex_stats_record_failure(stats, health, error, S_T0 + 21);
        }
    CHECK_EQ(apex_stats_error_count(stats), S_MANY_ERRORS);
    for (int i = 0; i < S_MANY_ERRORS; i++)
        CHECK_EQ(apex_stats_error_at(stats, (size_t)i)->occurrences, 2);
    apex_stats_destroy(&stats);
}

static void s_test_reset_clear(void)
{
    apex_stats_t *stats = apex_stats_new(S_T0);
    apex_stats_entry_t *a = apex_stats_get(stats, "GET", "/a", S_T0);
    apex_stats_entry_t *b = apex_stats_get(stats, "GET", "/b", S_T0);
    apex_stats_record(stats, a, 1000, 10, S_T0 + 1);
    apex_stats_record(stats, b, 2000, 20, S_T0 + 2);
    apex_stats_record_failure(stats, b, S_ERR_HEALTH, S_T0 + 2);

    // reset: a worker's delta report. Entries stay (same pointers), all
    // counts go, start times move to now, errors go.
    apex_stats_reset(stats, S_T0 + 3);
    CHECK_EQ(apex_stats_size(stats), 2);
    CHECK(apex_stats_find(stats, "GET", "/a") == a);
    CHECK(apex_stats_at(stats, 1) == b);
    s_check_empty_entry(a, S_T0 + 3);
    s_check_empty_entry(b, S_T0 + 3);
    s_check_empty_entry(apex_stats_total(stats), S_T0 + 3);
    CHECK_EQ(apex_stats_error_count(stats), 0);
    // Usable again: the same error is a new error with one occurrence.
    apex_stats_record(stats, b, 3000, 0, S_T0 + 4);
    apex_stats_record_failure(stats, b, S_ERR_HEALTH, S_T0 + 4);
    CHECK_EQ(apex_stats_error_count(stats), 1);
    CHECK_EQ(apex_stats_error_at(stats, 0)->occurrences, 1);
    CHECK(apex_stats_error_at(stats, 0)->first_seen == S_T0 + 4);
    CHECK_EQ(apex_stats_total(stats)->num_requests, 1);

    // entry_reset empties one entry only.
    apex_stats_entry_reset(b, S_T0 + 5);
    s_check_empty_entry(b, S_T0 + 5);
    CHECK_EQ(apex_stats_total(stats)->num_requests, 1);

    // clear: a new test. No entries, no errors, an empty total.
    apex_stats_clear(stats, S_T0 + 6);
    CHECK_EQ(apex_stats_size(stats), 0);
    CHECK(apex_stats_find(stats, "GET", "/a") == NULL);
    CHECK(apex_stats_at(stats, 0) == NULL);
    CHECK_EQ(apex_stats_error_count(stats), 0);
    s_check_empty_entry(apex_stats_total(stats), S_T0 + 6);
    // Usable again: entries are created afresh.
    a = apex_stats_get(stats, "GET", "/a", S_T0 + 7);
    s_check_empty_entry(a, S_T0 + 7);
    apex_stats_record(stats, a, 1000, 0, S_T0 + 7);
    apex_stats_record_failure(stats, a, S_ERR_HEALTH, S_T0 + 7);
    CHECK_EQ(apex_stats_size(stats), 1);
    CHECK_EQ(apex_stats_error_count(stats), 1);
    apex_stats_clear(stats, S_T0 + 8); // twice in a row is fine
    apex_stats_clear(stats, S_T0 + 8);
    apex_stats_reset(stats, S_T0 + 8);
    CHECK_EQ(apex_stats_size(stats), 0);
    apex_stats_destroy(&stats);
}

static void s_test_sorted(void)
{
    apex_stats_t *stats = apex_stats_new(S_T0);
    apex_stats_entry_t **sorted = apex_stats_sorted(stats);
    CHECK(sorted != NULL); // empty: a valid array of nothing
    free(sorted);
    static const char *const created[][2] = {
        {"GET", "/b"},
        {"POST", "/a"},
        {"GET", "/a"},
        {"DELETE", "/c"},
        {"CUSTOM", "synthetic"},
        {"GET", "/\xc3\xa9"}, // "/é": after "/z" in code point order
        {"GET", "/z"},
        {"GET", "/item?id=[id]"},
        {"GET", "/"},
        {"", "/a"},
    };
    static const char *const expected[][2] = {
        {"GET", "/"},
        {"", "/a"},
        {"GET", "/a"},
        {"POST", "/a"},
        {"GET", "/b"},
        {"DELETE", "/c"},
        {"GET", "/item?id=[id]"},
        {"GET", "/z"},
        {"GET", "/\xc3\xa9"},
        {"CUSTOM", "synthetic"},
    };
    size_t n = sizeof created / sizeof created[0];
    for (size_t i = 0; i < n; i++)
        apex_stats_get(stats, created[i][0], created[i][1], S_T0);
    sorted = apex_stats_sorted(stats);
    for (size_t i = 0; i < n; i++) {
        CHECK_STR(sorted[i]->method, expected[i][0]);
        CHECK_STR(sorted[i]->name, expected[i][1]);
    }
    // Sorting is a view: creation order is unchanged.
    for (size_t i = 0; i < n; i++)
        CHECK_STR(apex_stats_at(stats, i)->name, created[i][1]);
    free(sorted);
    apex_stats_destroy(&stats);
}

// Two workers record half each; merging their entries into a master
// entry must give exactly what one process recording everything has.
static void s_test_entry_merge(void)
{
    apex_stats_t *w1 = apex_stats_new(S_T0 + 0.5);
    apex_stats_t *w2 = apex_stats_new(S_T0);
    apex_stats_t *all = apex_stats_new(S_T0);
    apex_stats_entry_t *e1 = apex_stats_get(w1, "GET", "/", S_T0 + 0.5);
    apex_stats_entry_t *e2 = apex_stats_get(w2, "GET", "/", S_T0);
    apex_stats_entry_t *ea = apex_stats_get(all, "GET", "/", S_T0);
    uint64_t rng = apex_rng_seed(2026);
    for (int i = 0; i < S_MERGE_RECORDS; i++) {
        uint64_t us = apex_rng_next(&rng) % 5000000;
        uint64_t bytes = apex_rng_next(&rng) % 1000;
        // Time only moves forward, as on a real worker.
        double now = S_T0 + 1 + (double)i * S_MERGE_SECONDS / S_MERGE_RECORDS +
                     (double)(apex_rng_next(&rng) % 1000) / 1e9;
        bool fail = apex_rng_next(&rng) % 7 == 0;
        apex_stats_t *w = i % 3 ? w1 : w2;
        apex_stats_entry_t *e = i % 3 ? e1 : e2;
        apex_stats_record(w, e, us, bytes, now);
        apex_stats_record(all, ea, us, bytes, now);
        if (fail) {
            apex_stats_record_failure(w, e, S_ERR_HEALTH, now);
            apex_stats_record_failure(all, ea, S_ERR_HEALTH, now);
        }
    }
    apex_stats_t *master = apex_stats_new(S_T0 + 100);
    apex_stats_entry_t *m = apex_stats_get(master, "GET", "/", S_T0 + 100);
    apex_stats_entry_merge(m, e1);
    apex_stats_entry_merge(m, e2);
    s_check_same_entry(m, ea);
    CHECK(m->start_time == S_T0); // the earlier worker's
    // The totals merge the same way.
    apex_stats_entry_t *mt = apex_stats_total(master);
    apex_stats_entry_merge(mt, apex_stats_total(w1));
    apex_stats_entry_merge(mt, apex_stats_total(w2));
    s_check_same_entry(mt, apex_stats_total(all));
    // So do the errors, through merge_error.
    for (size_t i = 0; i < apex_stats_error_count(w1); i++)
        apex_stats_merge_error(master, apex_stats_error_at(w1, i));
    for (size_t i = 0; i < apex_stats_error_count(w2); i++)
        apex_stats_merge_error(master, apex_stats_error_at(w2, i));
    CHECK_EQ(apex_stats_error_count(master), 1);
    const apex_stats_error_t *me = apex_stats_error_at(master, 0);
    const apex_stats_error_t *ae = apex_stats_error_at(all, 0);
    CHECK_STR(me->key, ae->key);
    CHECK_EQ(me->occurrences, ae->occurrences);
    CHECK(me->first_seen == ae->first_seen);
    CHECK(me->last_seen == ae->last_seen);
    // Derived figures agree too.
    CHECK(apex_stats_entry_avg_ms(m) == apex_stats_entry_avg_ms(ea));
    CHECK(apex_stats_entry_median_ms(m) == apex_stats_entry_median_ms(ea));
    CHECK_EQ(apex_stats_entry_percentile_ms(m, .99),
             apex_stats_entry_percentile_ms(ea, .99));

    // Merging an empty entry changes nothing; merging into an empty one
    // copies (except the start time, which only moves earlier).
    apex_stats_entry_t *empty = apex_stats_get(master, "GET", "/e", S_T0 + 1);
    apex_stats_entry_merge(m, empty);
    s_check_same_entry(m, ea);
    apex_stats_entry_merge(empty, m);
    s_check_same_entry(empty, ea);
    CHECK(empty->start_time == S_T0);
    // Sources are unchanged.
    CHECK_EQ(e1->num_requests + e2->num_requests, S_MERGE_RECORDS);
    apex_stats_destroy(&w1);
    apex_stats_destroy(&w2);
    apex_stats_destroy(&all);
    apex_stats_destroy(&master);
}

static void s_test_derived(bool verbose)
{
    apex_stats_t *stats = apex_stats_new(S_T0);
    // Locust's worked example (docs/protocol.md, "Stats reports"):
    // {3: 10, 150: 2, 1200: 1}.
    apex_stats_entry_t *e = apex_stats_get(stats, "GET", "/w", S_T0);
    for (int i = 0; i < 10; i++)
        apex_stats_record(stats, e, 3000, 100, S_T0 + 1);
    apex_stats_record(stats, e, 150000, 100, S_T0 + 1);
    apex_stats_record(stats, e, 150000, 100, S_T0 + 1);
    apex_stats_record(stats, e, 1200000, 0, S_T0 + 1);
    static const struct {
        double p;        // percentile
        uint64_t ms;     // Locust's answer
        uint64_t margin; // histogram error allowed (1/128 of the value)
    } cases[] = {
        {0, 3, 0},      {.5, 3, 0},   {.66, 3, 0},    {.75, 3, 0},
        {.8, 150, 1},   {.9, 150, 1}, {.95, 1200, 0}, {.98, 1200, 0},
        {.99, 1200, 0}, {1, 1200, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t got = apex_stats_entry_percentile_ms(e, cases[i].p);
        if (verbose)
            printf("  p%g: %" PRIu64 " ms (Locust %" PRIu64 ")\n",
                   cases[i].p * 100, got, cases[i].ms);
        CHECK(got + cases[i].margin >= cases[i].ms);
        CHECK(got <= cases[i].ms + cases[i].margin);
    }
    CHECK(apex_stats_entry_median_ms(e) == 3);
    CHECK(apex_stats_entry_min_ms(e) == 3);
    CHECK(apex_stats_entry_max_ms(e) == 1200);
    CHECK_NEAR(apex_stats_entry_avg_ms(e), (30.0 + 300 + 1200) / 13, 1e-9);
    CHECK_NEAR(apex_stats_entry_avg_content_length(e), 1200.0 / 13, 1e-9);
    CHECK(apex_stats_entry_fail_ratio(e) == 0);

    // The median is clamped to [min, max]: one 1.914 ms request has a
    // median of exactly 1.914 ms (Locust's CSV shows such floats), and the
    // smaller of two close values gives exactly the min.
    apex_stats_entry_t *one = apex_stats_get(stats, "GET", "/one", S_T0);
    apex_stats_record(stats, one, 1914, 0, S_T0 + 1);
    CHECK_NEAR(apex_stats_entry_median_ms(one), 1.914, 1e-12);
    apex_stats_entry_t *two = apex_stats_get(stats, "GET", "/two", S_T0);
    apex_stats_record(stats, two, 2400, 0, S_T0 + 1);
    apex_stats_record(stats, two, 2450, 0, S_T0 + 1);
    CHECK_NEAR(apex_stats_entry_median_ms(two), 2.4, 1e-12);
    // Rank (n-1)/2: of {1, 5, 5} ms the median is 5; of {1, 1, 5, 5} it
    // is 1 (Locust takes the lower middle).
    apex_stats_entry_t *mid = apex_stats_get(stats, "GET", "/mid", S_T0);
    apex_stats_record(stats, mid, 1000, 0, S_T0 + 1);
    apex_stats_record(stats, mid, 5000, 0, S_T0 + 1);
    apex_stats_record(stats, mid, 5000, 0, S_T0 + 1);
    CHECK(apex_stats_entry_median_ms(mid) == 5);
    apex_stats_record(stats, mid, 1000, 0, S_T0 + 1);
    CHECK(apex_stats_entry_median_ms(mid) == 1);
    // Whole milliseconds: 12.4 ms and 12.6 ms in the middle of a spread.
    apex_stats_entry_t *r = apex_stats_get(stats, "GET", "/r", S_T0);
    apex_stats_record(stats, r, 1000, 0, S_T0 + 1);
    apex_stats_record(stats, r, 12400, 0, S_T0 + 1);
    apex_stats_record(stats, r, 90000, 0, S_T0 + 1);
    CHECK(apex_stats_entry_median_ms(r) == 12);
    CHECK_EQ(apex_stats_entry_percentile_ms(r, .5), 12);
    apex_stats_entry_reset(r, S_T0);
    apex_stats_record(stats, r, 1000, 0, S_T0 + 1);
    apex_stats_record(stats, r, 12600, 0, S_T0 + 1);
    apex_stats_record(stats, r, 90000, 0, S_T0 + 1);
    CHECK(apex_stats_entry_median_ms(r) == 13);
    // Sub-millisecond values: min/max/avg keep the fraction.
    apex_stats_entry_t *fast = apex_stats_get(stats, "GET", "/fast", S_T0);
    apex_stats_record(stats, fast, 818, 0, S_T0 + 1);
    apex_stats_record(stats, fast, 2501, 0, S_T0 + 1);
    CHECK_NEAR(apex_stats_entry_min_ms(fast), 0.818, 1e-12);
    CHECK_NEAR(apex_stats_entry_max_ms(fast), 2.501, 1e-12);
    CHECK_NEAR(apex_stats_entry_avg_ms(fast), 1.6595, 1e-12);

    // num_none_requests (set by decoded reports) are left out of timing.
    apex_stats_entry_t *none = apex_stats_get(stats, "GET", "/none", S_T0);
    apex_stats_record(stats, none, 4000, 0, S_T0 + 1);
    none->num_requests += 3;
    none->num_none_requests = 3;
    CHECK(apex_stats_entry_avg_ms(none) == 4);
    CHECK_NEAR(apex_stats_entry_avg_content_length(none), 0, 0);
    none->num_none_requests = 4; // only none-requests: no average
    CHECK(apex_stats_entry_avg_ms(none) == 0);

    // Fail ratio: failures per request, 1.0 with failures but no requests.
    apex_stats_entry_t *f = apex_stats_get(stats, "GET", "/f", S_T0);
    apex_stats_record_failure(stats, f, "x", S_T0 + 1);
    CHECK(apex_stats_entry_fail_ratio(f) == 1.0);
    for (int i = 0; i < 4; i++)
        apex_stats_record(stats, f, 1000, 0, S_T0 + 1);
    CHECK(apex_stats_entry_fail_ratio(f) == 0.25);
    apex_stats_destroy(&stats);
}

static void s_test_rps(void)
{
    // Total RPS: count / (total's last request - total's start).
    apex_stats_t *stats = apex_stats_new(1000.0);
    apex_stats_entry_t *e = apex_stats_get(stats, "GET", "/", 1000.0);
    apex_stats_entry_t *total = apex_stats_total(stats);
    for (int i = 0; i < 50; i++) {
        apex_stats_record(stats, e, 1000, 0, 1000.0 + i * 0.2);
        if (i % 5 == 0)
            apex_stats_record_failure(stats, e, "x", 1000.0 + i * 0.2);
    }
    apex_stats_record(stats, e, 1000, 0, 1010.0); // request 51 at +10 s
    CHECK_NEAR(apex_stats_total_rps(stats, e, false), 5.1, 1e-12);
    CHECK_NEAR(apex_stats_total_rps(stats, e, true), 1.0, 1e-12);
    CHECK_NEAR(apex_stats_total_rps(stats, total, false), 5.1, 1e-12);
    // A total whose last request is not after its start: 0.
    apex_stats_entry_reset(total, 2000.0);
    total->last_request_timestamp = 1999.0;
    CHECK(apex_stats_total_rps(stats, e, false) == 0);
    apex_stats_destroy(&stats);

    // Current RPS: the average over seconds [L-12, L-3] of L, the total's
    // last request second. Second s gets s - 999 requests and, every
    // other second, one failure.
    stats = apex_stats_new(1000.5);
    e = apex_stats_get(stats, "GET", "/", 1000.5);
    for (int s = 1000; s <= 1020; s++)
        for (int k = 0; k < s - 999; k++) {
            apex_stats_record(stats, e, 1000, 0, s + 0.7);
            if (k == 0 && s % 2 == 0)
                apex_stats_record_failure(stats, e, "x", s + 0.7);
        }
    // L = 1020: seconds 1008 .. 1017 hold 9 .. 18 requests.
    CHECK_NEAR(apex_stats_current_rps(stats, e, false), 13.5, 1e-12);
    CHECK_NEAR(apex_stats_current_rps(stats, e, true), 0.5, 1e-12);
    CHECK_NEAR(apex_stats_current_rps(stats, apex_stats_total(stats), false),
               13.5, 1e-12);
    // Silence after the last request does not change it (the window is
    // anchored at the last request, not the clock).
    CHECK_NEAR(apex_stats_current_rps(stats, e, false), 13.5, 1e-12);
    // Seconds with no requests count as zero: drop 1010's slot.
    e->seconds[1010 % APEX_STATS_SECONDS].reqs = 0;
    CHECK_NEAR(apex_stats_current_rps(stats, e, false), 13.5 - 1.1, 1e-12);
    apex_stats_destroy(&stats);

    // Not before the total's start: a test started at 1015.2 averages
    // seconds 1015 .. 1017 only.
    stats = apex_stats_new(1015.2);
    e = apex_stats_get(stats, "GET", "/", 1015.2);
    for (int s = 1015; s <= 1020; s++)
        for (int k = 0; k < s - 1014; k++)
            apex_stats_record(stats, e, 1000, 0, s + 0.5);
    CHECK_NEAR(apex_stats_current_rps(stats, e, false), 2.0, 1e-12);
    // Too young for any whole second in the window: 0.
    apex_stats_entry_reset(apex_stats_total(stats), 1019.0);
    apex_stats_total(stats)->last_request_timestamp = 1020.5;
    CHECK(apex_stats_current_rps(stats, e, false) == 0);
    apex_stats_destroy(&stats);
}

static void s_test_many(void)
{
    apex_stats_t *stats = apex_stats_new(S_T0);
    apex_stats_entry_t *first = apex_stats_get(stats, "GET", "/first", S_T0);
    char name[64];
    for (int i = 0; i < S_MANY; i++) {
        snprintf(name, sizeof name, "/item/%05d", S_MANY - 1 - i);
        apex_stats_entry_t *e =
            apex_stats_get(stats, i % 2 ? "POST" : "GET", name, S_T0);
        apex_stats_record(stats, e, (uint64_t)i, 1, S_T0 + 1);
    }
    CHECK_EQ(apex_stats_size(stats), S_MANY + 1);
    // Pointers survive the table's growth.
    CHECK(apex_stats_find(stats, "GET", "/first") == first);
    CHECK(apex_stats_at(stats, 0) == first);
    for (int i = 0; i < S_MANY; i++) {
        snprintf(name, sizeof name, "/item/%05d", S_MANY - 1 - i);
        apex_stats_entry_t *e =
            apex_stats_find(stats, i % 2 ? "POST" : "GET", name);
        CHECK(e != NULL);
        CHECK(e == apex_stats_at(stats, (size_t)i + 1));
        CHECK_EQ(e->num_requests, 1);
        CHECK_EQ(e->total_response_us, i);
        CHECK(apex_stats_find(stats, i % 2 ? "GET" : "POST", name) == NULL);
    }
    CHECK_EQ(apex_stats_total(stats)->num_requests, S_MANY);
    apex_stats_entry_t **sorted = apex_stats_sorted(stats);
    CHECK_STR(sorted[0]->name, "/first");
    for (int i = 1; i <= S_MANY; i++) {
        snprintf(name, sizeof name, "/item/%05d", i - 1);
        CHECK_STR(sorted[i]->name, name);
    }
    free(sorted);
    // A reset keeps all of them findable; a clear drops them.
    apex_stats_reset(stats, S_T0 + 2);
    CHECK(apex_stats_find(stats, "GET", "/item/09999") != NULL);
    apex_stats_clear(stats, S_T0 + 3);
    CHECK(apex_stats_find(stats, "GET", "/item/09999") == NULL);
    apex_stats_get(stats, "GET", "/item/09999", S_T0 + 3);
    CHECK_EQ(apex_stats_size(stats), 1);
    apex_stats_destroy(&stats);
}

// Past the limits a new name goes to the one "other" entry and a new
// error to the one "other" error; every count is kept.
static void s_test_limits(void)
{
    apex_stats_t *stats = apex_stats_new(S_T0);
    apex_stats_set_limits(stats, 3, 2);
    char name[32];
    for (int i = 0; i < 50; i++) {
        snprintf(name, sizeof name, "/n%d", i);
        apex_stats_entry_t *e = apex_stats_get(stats, "GET", name, S_T0);
        apex_stats_record(stats, e, 1000, 0, S_T0);
        snprintf(name, sizeof name, "error %d", i);
        apex_stats_record_failure(stats, e, name, S_T0);
    }
    CHECK_EQ(apex_stats_size(stats), 4); // 3 names and the other entry
    CHECK(apex_stats_entries_full(stats));
    apex_stats_entry_t *other =
        apex_stats_find(stats, "", APEX_STATS_OTHER_NAME);
    CHECK(other && other == apex_stats_other(stats, S_T0));
    CHECK_EQ(other->num_requests, 47);
    CHECK_EQ(other->num_failures, 47);
    CHECK(apex_stats_get(stats, "GET", "/n1", S_T0) != other);
    CHECK(apex_stats_get(stats, "GET", "/n49", S_T0) == other);
    CHECK_EQ(apex_stats_total(stats)->num_requests, 50);
    CHECK_EQ(apex_stats_error_count(stats), 3); // 2 errors and the other
    CHECK(apex_stats_errors_full(stats));
    const apex_stats_error_t *e = apex_stats_error_at(stats, 2);
    CHECK_STR(e->error, APEX_STATS_OTHER_ERROR);
    CHECK_STR(e->name, APEX_STATS_OTHER_NAME);
    CHECK_EQ(e->occurrences, 48);
    // Errors merged from a worker fold the same way.
    apex_stats_error_t src = {
        .method = "GET", .name = "/x", .error = "new", .occurrences = 5};
    snprintf(src.key, sizeof src.key, "%s", "abc");
    apex_stats_merge_error(stats, &src);
    CHECK_EQ(apex_stats_error_count(stats), 3);
    CHECK_EQ(apex_stats_error_at(stats, 2)->occurrences, 53);
    // A reset drops the errors (and their flag), a clear everything.
    apex_stats_reset(stats, S_T0);
    CHECK(!apex_stats_errors_full(stats));
    apex_stats_merge_error(stats, &src);
    CHECK_EQ(apex_stats_error_count(stats), 1);
    apex_stats_clear(stats, S_T0);
    CHECK(!apex_stats_entries_full(stats));
    CHECK_EQ(apex_stats_size(stats), 0);
    apex_stats_destroy(&stats);
}

// Counts merged from peers saturate at APEX_COUNT_MAX instead of
// wrapping (2,100 reports of 2^53 - 1 requests).
static void s_test_saturate(void)
{
    apex_stats_t *total = apex_stats_new(S_T0);
    apex_stats_t *report = apex_stats_new(S_T0);
    apex_stats_entry_t *src = apex_stats_get(report, "GET", "/x", S_T0);
    uint64_t big = (1ULL << 53) - 1;
    src->num_requests = big;
    src->num_failures = big;
    src->num_none_requests = big;
    src->total_response_us = big;
    src->total_content_length = big;
    apex_stats_entry_add_second(src, S_SEC0, big, big);
    apex_stats_error_t err = {
        .method = "GET", .name = "/x", .error = "boom", .occurrences = big};
    snprintf(err.key, sizeof err.key, "%s", "k");
    for (int i = 0; i < 2100; i++) {
        apex_stats_entry_merge(apex_stats_get(total, "GET", "/x", S_T0), src);
        apex_stats_merge_error(total, &err);
    }
    const apex_stats_entry_t *dst = apex_stats_find(total, "GET", "/x");
    CHECK(dst->num_requests == APEX_COUNT_MAX);
    CHECK(dst->num_failures == APEX_COUNT_MAX);
    CHECK(dst->num_none_requests == APEX_COUNT_MAX);
    CHECK(dst->total_response_us == APEX_COUNT_MAX);
    CHECK(dst->total_content_length == APEX_COUNT_MAX);
    CHECK(s_reqs_at(dst, S_SEC0) == APEX_COUNT_MAX);
    CHECK(s_fails_at(dst, S_SEC0) == APEX_COUNT_MAX);
    CHECK(apex_stats_error_at(total, 0)->occurrences == APEX_COUNT_MAX);
    CHECK(apex_count_add(UINT64_MAX, UINT64_MAX) == APEX_COUNT_MAX);
    CHECK(apex_count_add(1, 2) == 3);
    CHECK(apex_count_clamp(UINT64_MAX) == APEX_COUNT_MAX);
    apex_stats_destroy(&report);
    apex_stats_destroy(&total);
}

void test_stats(bool verbose)
{
    s_test_limits();
    s_test_saturate();
    s_test_record();
    s_test_seconds();
    s_test_merge_error();
    s_test_reset_clear();
    s_test_sorted();
    s_test_entry_merge();
    s_test_derived(verbose);
    s_test_rps();
    s_test_many();

    apex_stats_t *stats = apex_stats_new(S_T0);
    apex_stats_destroy(&stats);
    CHECK(stats == NULL);
    apex_stats_destroy(&stats); // safe twice
    CHECK(stats == NULL);
}
