// tests/unit/test_thresholds.c - k6-style thresholds (master/thresholds.h):
// every metric with every aggregation it takes, every operator, filters by
// name and method, the scenario's JSON forms with abortOnFail and
// delayAbortEval, evaluation on merged statistics, the abort rule, units,
// and the exact error text of each kind of bad expression. Doubles as the
// module's usage example.
#include "tests/unit/tests.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/stats.h"
#include "master/thresholds.h"

#define S_NOW 1700000000.0                  // unix time the statistics start at
#define S_FAST_US (10 * APEX_USEC_PER_MSEC) // most GET /a responses
#define S_SLOW_US (100 * APEX_USEC_PER_MSEC) // the slowest tenth
#define S_POST_US (50 * APEX_USEC_PER_MSEC)  // every POST /b response
#define S_FAST 90                            // GET /a fast responses
#define S_SLOW 10                            // GET /a slow responses
#define S_POSTS 5                            // POST /b responses
#define S_REQUESTS (S_FAST + S_SLOW + S_POSTS)
#define S_DURATION 10.0  // seconds the test ran, for rates
#define S_ITERATIONS 40  // tasks completed
#define S_DROPPED 3      // arrival iterations not started
#define S_TOLERANCE 0.02 // the histogram's relative error, rounded up

// GET /a: 90 at 10 ms and 10 at 100 ms; POST /b: 5 at 50 ms, one failed.
static apex_stats_t *s_stats(void)
{
    apex_stats_t *stats = apex_stats_new(S_NOW);
    apex_stats_entry_t *a = apex_stats_get(stats, "GET", "/a", S_NOW);
    apex_stats_entry_t *b = apex_stats_get(stats, "POST", "/b", S_NOW);
    for (int i = 0; i < S_FAST; i++)
        apex_stats_record(stats, a, S_FAST_US, 0, S_NOW);
    for (int i = 0; i < S_SLOW; i++)
        apex_stats_record(stats, a, S_SLOW_US, 0, S_NOW);
    for (int i = 0; i < S_POSTS; i++)
        apex_stats_record(stats, b, S_POST_US, 0, S_NOW);
    apex_stats_record_failure(stats, b, "HTTPError('500')", S_NOW);
    return stats;
}

// Add one --threshold and evaluate it alone; returns it (in *th).
static const master_threshold_t *
s_eval(master_thresholds_t *th, const char *arg, const master_th_input_t *in)
{
    master_thresholds_fini(th);
    apex_error_t err = {""};
    if (master_thresholds_parse_arg(th, arg, &err) != 0) {
        fprintf(stderr, "%s: %s\n", arg, err.msg);
        CHECK(!"the threshold parses");
    }
    CHECK_EQ(th->n, 1);
    master_thresholds_evaluate(th, in);
    return &th->items[0];
}

static void s_check_ok(master_thresholds_t *th, const char *arg,
                       const master_th_input_t *in, bool ok)
{
    const master_threshold_t *t = s_eval(th, arg, in);
    if (t->ok != ok)
        fprintf(stderr, "%s: observed %g\n", arg, t->observed);
    CHECK(t->ok == ok);
}

// The threshold must be rejected with exactly this message.
static void s_check_arg_error(const char *arg, const char *expected)
{
    master_thresholds_t th = {0};
    apex_error_t err = {""};
    CHECK_EQ(master_thresholds_parse_arg(&th, arg, &err), -1);
    CHECK_STR(err.msg, expected);
    CHECK_EQ(th.n, 0);
    master_thresholds_fini(&th);
}

static void s_check_json_error(const char *json, const char *expected)
{
    master_thresholds_t th = {0};
    apex_error_t err = {""};
    CHECK_EQ(master_thresholds_parse_json(&th, json, "s.json", &err), -1);
    CHECK_STR(err.msg, expected);
    master_thresholds_fini(&th);
}

static void s_test_durations(const master_th_input_t *in)
{
    master_thresholds_t th = {0};
    const master_threshold_t *t =
        s_eval(&th, "http_req_duration: p(95)<500", in);
    CHECK(t->ok && t->has_observed);
    CHECK_NEAR(t->observed, 100, 100 * S_TOLERANCE);
    CHECK_STR(t->source, "http_req_duration: p(95)<500");
    CHECK_STR(master_threshold_unit(t), "ms");
    CHECK_EQ(t->agg, TH_P);
    CHECK_NEAR(t->p, 0.95, 1e-12);
    t = s_eval(&th, "http_req_duration: p(50)<20", in);
    CHECK(t->ok);
    CHECK_NEAR(t->observed, 10, 10 * S_TOLERANCE);
    t = s_eval(&th, "http_req_duration: p(0)>=0", in);
    CHECK(t->ok);
    t = s_eval(&th, "http_req_duration: p(100)<=100", in);
    CHECK_NEAR(t->observed, 100, 100 * S_TOLERANCE);
    t = s_eval(&th, "http_req_duration: p(99.9)<1", in);
    CHECK(!t->ok);
    t = s_eval(&th, "http_req_duration: med<11", in);
    CHECK(t->ok);
    CHECK_NEAR(t->observed, 10, 10 * S_TOLERANCE);
    // Average: (90 * 10 + 10 * 100 + 5 * 50) / 105 ms, exact.
    t = s_eval(&th, "http_req_duration: avg<21", in);
    CHECK_NEAR(t->observed, (90.0 * 10 + 10 * 100 + 5 * 50) / 105, 1e-9);
    CHECK(t->ok);
    t = s_eval(&th, "http_req_duration: min==10", in);
    CHECK(t->ok);
    t = s_eval(&th, "http_req_duration: max>100", in);
    CHECK(!t->ok);
    CHECK_NEAR(t->observed, 100, 1e-9);
    master_thresholds_fini(&th);
}

static void s_test_counts_and_rates(const master_th_input_t *in)
{
    master_thresholds_t th = {0};
    const master_threshold_t *t =
        s_eval(&th, "http_req_failed: rate<0.005", in);
    CHECK(!t->ok);
    CHECK_NEAR(t->observed, 1.0 / S_REQUESTS, 1e-12);
    CHECK_STR(master_threshold_unit(t), "");
    t = s_eval(&th, "http_reqs: count==105", in);
    CHECK(t->ok);
    CHECK_STR(master_threshold_unit(t), "");
    t = s_eval(&th, "http_reqs: rate>10", in);
    CHECK(t->ok);
    CHECK_NEAR(t->observed, S_REQUESTS / S_DURATION, 1e-12);
    CHECK_STR(master_threshold_unit(t), "/s");
    t = s_eval(&th, "iterations: count==40", in);
    CHECK(t->ok);
    t = s_eval(&th, "iterations: rate==4", in);
    CHECK(t->ok);
    t = s_eval(&th, "dropped_iterations: count<1", in);
    CHECK(!t->ok);
    CHECK_NEAR(t->observed, S_DROPPED, 0);
    t = s_eval(&th, "dropped_iterations: rate<=0.3", in);
    CHECK(t->ok);

    // Every operator, on the exact request count (105).
    s_check_ok(&th, "http_reqs: count<106", in, true);
    s_check_ok(&th, "http_reqs: count<105", in, false);
    s_check_ok(&th, "http_reqs: count<=105", in, true);
    s_check_ok(&th, "http_reqs: count<=104", in, false);
    s_check_ok(&th, "http_reqs: count>104", in, true);
    s_check_ok(&th, "http_reqs: count>105", in, false);
    s_check_ok(&th, "http_reqs: count>=105", in, true);
    s_check_ok(&th, "http_reqs: count>=106", in, false);
    s_check_ok(&th, "http_reqs: count==105", in, true);
    s_check_ok(&th, "http_reqs: count==104", in, false);
    s_check_ok(&th, "http_reqs: count===105", in, true);
    s_check_ok(&th, "http_reqs: count===1e3", in, false);
    s_check_ok(&th, "http_reqs: count!=104", in, true);
    s_check_ok(&th, "http_reqs: count!=105", in, false);
    s_check_ok(&th, "  http_reqs  :   count  <  106  ", in, true);
    CHECK_STR(th.items[0].source, "http_reqs: count  <  106");

    // A rate needs a run time: none yet gives 0.
    master_th_input_t early = *in;
    early.duration = 0;
    s_check_ok(&th, "http_reqs: rate<0.5", &early, true);
    master_thresholds_fini(&th);
}

static void s_test_filters(const master_th_input_t *in)
{
    master_thresholds_t th = {0};
    const master_threshold_t *t =
        s_eval(&th, "http_req_duration{name:/b}: min>=50", in);
    CHECK(t->ok);
    CHECK_NEAR(t->observed, 50, 1e-9);
    CHECK_STR(t->filter_key, "name");
    CHECK_STR(t->filter_value, "/b");
    CHECK_STR(t->source, "http_req_duration{name:/b}: min>=50");
    // "METHOD name" names one entry; a colon inside the value is fine.
    t = s_eval(&th, "http_req_duration{name:GET /a}: max<=100", in);
    CHECK(t->ok);
    t = s_eval(&th, "http_reqs{name:POST /a}: count==0", in);
    CHECK(t->ok);
    t = s_eval(&th, "http_reqs{name:http://x:1/a}: count==0", in);
    CHECK_STR(t->filter_value, "http://x:1/a");
    // A method, in any case, takes every entry of that method.
    t = s_eval(&th, "http_req_failed{method:post}: rate==0.2", in);
    CHECK(t->ok);
    t = s_eval(&th, "http_reqs{ method : GET }: count==100", in);
    CHECK(t->ok);
    CHECK_STR(t->filter, "method : GET");
    CHECK_STR(t->filter_key, "method");
    CHECK_STR(t->filter_value, "GET");
    // No entry matches: no data, which passes (as in k6).
    t = s_eval(&th, "http_req_duration{name:/none}: p(95)<1", in);
    CHECK(t->ok && !t->has_observed);
    master_thresholds_fini(&th);
}

static void s_test_arg_errors(void)
{
    s_check_arg_error("nope", "'nope': expected 'metric: expression', such "
                              "as 'http_req_duration: p(95)<500'");
    s_check_arg_error("", "'': expected 'metric: expression', such as "
                          "'http_req_duration: p(95)<500'");
    s_check_arg_error("foo: p(95)<5",
                      "--threshold: unknown metric 'foo' (expected one of: "
                      "http_req_duration, http_req_failed, http_reqs, "
                      "iterations, dropped_iterations, ws_connecting, "
                      "ws_msg_latency, ws_ping, ws_sessions, ws_msgs_sent, "
                      "ws_msgs_received, ws_drop_rate, ws_connections, checks, "
                      "sql_duration, sql_failed, sql_connections)");
    s_check_arg_error(": count<1", "--threshold: unknown metric '' (expected "
                                   "one of: http_req_duration, "
                                   "http_req_failed, http_reqs, iterations, "
                                   "dropped_iterations, ws_connecting, "
                                   "ws_msg_latency, ws_ping, ws_sessions, "
                                   "ws_msgs_sent, ws_msgs_received, "
                                   "ws_drop_rate, ws_connections, checks, "
                                   "sql_duration, sql_failed, "
                                   "sql_connections)");
    s_check_arg_error("http_req_duration: p(101)<5",
                      "--threshold: 'p(101)<5': expected p(N) with N from 0 "
                      "to 100");
    s_check_arg_error("http_req_duration: p(-1)<5",
                      "--threshold: 'p(-1)<5': expected p(N) with N from 0 "
                      "to 100");
    s_check_arg_error("http_req_duration: p(x)<5",
                      "--threshold: 'p(x)<5': expected p(N) with N from 0 "
                      "to 100");
    s_check_arg_error("http_req_duration: p(95<5",
                      "--threshold: 'p(95<5': expected p(N) with N from 0 "
                      "to 100");
    s_check_arg_error("http_req_duration: p(nan)<5",
                      "--threshold: 'p(nan)<5': expected p(N) with N from 0 "
                      "to 100");
    s_check_arg_error("http_req_duration: rate<5",
                      "--threshold: 'rate<5': http_req_duration takes p(N), "
                      "avg, med, min, max");
    s_check_arg_error("http_req_duration: count<5",
                      "--threshold: 'count<5': http_req_duration takes p(N), "
                      "avg, med, min, max");
    s_check_arg_error("http_req_failed: p(95)<5",
                      "--threshold: 'p(95)<5': http_req_failed takes rate");
    s_check_arg_error("http_req_failed: count<5",
                      "--threshold: 'count<5': http_req_failed takes rate");
    s_check_arg_error("http_reqs: avg<5",
                      "--threshold: 'avg<5': http_reqs takes count, rate");
    s_check_arg_error("iterations: p(50)<5",
                      "--threshold: 'p(50)<5': iterations takes count, rate");
    s_check_arg_error("dropped_iterations: max<5",
                      "--threshold: 'max<5': dropped_iterations takes count, "
                      "rate");
    s_check_arg_error("http_reqs: total<5",
                      "--threshold: 'total<5': expected an aggregation "
                      "(count, rate) then an operator and a number");
    s_check_arg_error("http_reqs: counter<5",
                      "--threshold: 'counter<5': expected an aggregation "
                      "(count, rate) then an operator and a number");
    s_check_arg_error("http_req_duration:   ",
                      "--threshold: '': expected an aggregation (p(N), avg, "
                      "med, min, max) then an operator and a number");
    s_check_arg_error("http_reqs: count 5",
                      "--threshold: 'count 5': expected an operator (<, <=, "
                      ">, >=, ==, !=) after the aggregation");
    s_check_arg_error("http_reqs: count=5",
                      "--threshold: 'count=5': expected an operator (<, <=, "
                      ">, >=, ==, !=) after the aggregation");
    s_check_arg_error("http_reqs: count<",
                      "--threshold: 'count<': expected a number after the "
                      "operator");
    s_check_arg_error("http_reqs: count<inf",
                      "--threshold: 'count<inf': expected a number after the "
                      "operator");
    s_check_arg_error("http_reqs: count<nan",
                      "--threshold: 'count<nan': expected a number after the "
                      "operator");
    s_check_arg_error("http_reqs: count<1e999",
                      "--threshold: 'count<1e999': expected a number after "
                      "the operator");
    s_check_arg_error("http_reqs: count<5 ms",
                      "--threshold: 'count<5 ms': unexpected 'ms' after the "
                      "number");
    s_check_arg_error("http_reqs: count<5<6",
                      "--threshold: 'count<5<6': unexpected '<6' after the "
                      "number");
}

static void s_test_filter_errors(void)
{
    s_check_arg_error("http_req_duration{name:/a: p(95)<5",
                      "--threshold: 'http_req_duration{name': expected a "
                      "filter {tag:value} at the end of the metric");
    s_check_arg_error("http_req_duration{name:/a}x: p(95)<5",
                      "--threshold: 'http_req_duration{name:/a}x': expected a "
                      "filter {tag:value} at the end of the metric");
    s_check_arg_error("http_req_duration{name}: p(95)<5",
                      "--threshold: 'http_req_duration{name}': expected "
                      "{name:VALUE} or {method:VALUE}");
    s_check_arg_error("http_req_duration{tag:x}: p(95)<5",
                      "--threshold: 'http_req_duration{tag:x}': unknown "
                      "filter 'tag' (expected name or method)");
    s_check_arg_error("http_req_duration{name: }: p(95)<5",
                      "--threshold: 'http_req_duration{name: }': empty "
                      "filter value");
    s_check_arg_error("iterations{name:/a}: count<5",
                      "--threshold: 'iterations{name:/a}': iterations takes "
                      "no filter");
    s_check_arg_error("dropped_iterations{method:GET}: count<5",
                      "--threshold: 'dropped_iterations{method:GET}': "
                      "dropped_iterations takes no filter");
}

static void s_test_json(const master_th_input_t *in)
{
    master_thresholds_t th = {0};
    apex_error_t err = {""};
    const char *doc =
        "{\"http_req_duration\": \"p(95)<500\","
        " \"http_reqs\": [\"count>0\", {\"threshold\": \"rate>100\","
        "  \"abortOnFail\": true, \"delayAbortEval\": \"30s\"}],"
        " \"http_req_failed\": {\"threshold\": \"rate<0.001\","
        "  \"abort_on_fail\": true, \"delay_abort_eval\": 5},"
        " \"iterations\": {\"threshold\": \"count>=0\","
        "  \"abortOnFail\": false}}";
    CHECK_EQ(master_thresholds_parse_json(&th, doc, "s.json", &err), 0);
    CHECK_EQ(th.n, 5);
    CHECK_STR(th.items[0].source, "http_req_duration: p(95)<500");
    CHECK_STR(th.items[1].source, "http_reqs: count>0");
    CHECK(!th.items[1].abort_on_fail);
    CHECK_STR(th.items[2].source, "http_reqs: rate>100");
    CHECK(th.items[2].abort_on_fail);
    CHECK_NEAR(th.items[2].delay_abort_eval, 30, 0);
    CHECK(th.items[3].abort_on_fail);
    CHECK_NEAR(th.items[3].delay_abort_eval, 5, 0);
    CHECK(!th.items[4].abort_on_fail);

    // http_reqs rate (10.5/s) and http_req_failed fail; both abort, the
    // first only 30 s into the run, the second after 5 s.
    CHECK(!master_thresholds_evaluate(&th, in));
    CHECK(th.items[0].ok && th.items[1].ok && th.items[4].ok);
    CHECK(!th.items[2].ok && !th.items[3].ok);
    CHECK(master_thresholds_abort(&th, 4.9) == NULL);
    CHECK(master_thresholds_abort(&th, 5) == &th.items[3]);
    CHECK(master_thresholds_abort(&th, 30) == &th.items[2]);

    // Thresholds add up across calls; fini empties the set for reuse.
    CHECK_EQ(master_thresholds_parse_arg(&th, "iterations: count>1", &err), 0);
    CHECK_EQ(th.n, 6);
    master_thresholds_fini(&th);
    CHECK_EQ(th.n, 0);
    CHECK(th.items == NULL);
    master_thresholds_fini(&th);                // safe twice
    CHECK(master_thresholds_evaluate(&th, in)); // none: all pass
    CHECK(master_thresholds_abort(&th, 1e9) == NULL);
}

static void s_test_json_errors(void)
{
    const char *not_object =
        "s.json: $.thresholds: expected an object of metric to thresholds";
    s_check_json_error("[1]", not_object);
    s_check_json_error("not json", not_object);
    s_check_json_error("", not_object);
    s_check_json_error("{\"http_reqs\": 5}",
                       "s.json: $.thresholds[\"http_reqs\"]: expected a "
                       "string such as \"p(95)<500\" or an object with "
                       "\"threshold\"");
    s_check_json_error("{\"http_reqs\": [\"count>0\", null]}",
                       "s.json: $.thresholds[\"http_reqs\"][1]: expected a "
                       "string such as \"p(95)<500\" or an object with "
                       "\"threshold\"");
    s_check_json_error("{\"http_reqs\": {\"abortOnFail\": true}}",
                       "s.json: $.thresholds[\"http_reqs\"].threshold: "
                       "expected a string such as \"p(95)<500\"");
    s_check_json_error("{\"http_reqs\": {\"threshold\": \"count>0\", "
                       "\"abortOnFail\": 1}}",
                       "s.json: $.thresholds[\"http_reqs\"].abortOnFail: "
                       "expected true or false");
    s_check_json_error("{\"http_reqs\": {\"threshold\": \"count>0\", "
                       "\"delayAbortEval\": \"soon\"}}",
                       "s.json: $.thresholds[\"http_reqs\"].delayAbortEval: "
                       "expected a duration such as \"10s\"");
    s_check_json_error("{\"http_reqs\": {\"threshold\": \"count>0\", "
                       "\"delay_abort_eval\": true}}",
                       "s.json: $.thresholds[\"http_reqs\"].delay_abort_eval: "
                       "expected a duration such as \"10s\"");
    s_check_json_error("{\"http_reqs\": {\"threshold\": \"count>0\", "
                       "\"abortOnFails\": true}}",
                       "s.json: $.thresholds[\"http_reqs\"].abortOnFails: "
                       "unknown key (expected threshold, abortOnFail, "
                       "delayAbortEval)");
    s_check_json_error(
        "{\"nope\": [\"count>0\"]}",
        "s.json: $.thresholds[\"nope\"][0]: unknown metric "
        "'nope' (expected one of: "
        "http_req_duration, http_req_failed, http_reqs, "
        "iterations, dropped_iterations, ws_connecting, "
        "ws_msg_latency, ws_ping, ws_sessions, ws_msgs_sent, "
        "ws_msgs_received, ws_drop_rate, ws_connections, checks, "
        "sql_duration, sql_failed, sql_connections)");
    s_check_json_error("{\"http_reqs\": {\"threshold\": \"p(95)<1\"}}",
                       "s.json: $.thresholds[\"http_reqs\"]: 'p(95)<1': "
                       "http_reqs takes count, rate");
}

// checks: rate passed, per name or for all; none made: no data.
static void s_test_checks(void)
{
    apex_stats_t *empty = apex_stats_new(S_NOW);
    master_check_t items[] = {{"status is done", 99, 1}, {"has items", 50, 50}};
    master_checks_t checks = {items, 2};
    master_th_input_t in = {
        .stats = empty, .duration = S_DURATION, .checks = &checks};
    master_thresholds_t th = {0};
    apex_error_t err = {""};
    CHECK_EQ(master_thresholds_parse_arg(
                 &th, "checks{name:status is done}: rate>0.98", &err),
             0);
    CHECK_EQ(master_thresholds_parse_arg(&th, "checks: rate>0.99", &err), 0);
    CHECK_EQ(
        master_thresholds_parse_arg(&th, "checks{name:nope}: rate>0.5", &err),
        0);
    CHECK(!master_thresholds_evaluate(&th, &in));
    CHECK(th.items[0].ok && th.items[0].observed == 0.99);
    CHECK(!th.items[1].ok && th.items[1].observed == 149.0 / 200.0);
    CHECK_STR(master_threshold_unit(&th.items[1]), "");
    CHECK(th.items[2].ok && !th.items[2].has_observed);
    CHECK_EQ(
        master_thresholds_parse_arg(&th, "checks{method:GET}: rate>0.5", &err),
        -1);
    CHECK(strstr(err.msg, "checks take {name:CHECK NAME} only"));
    CHECK_EQ(master_thresholds_parse_arg(&th, "checks: count>1", &err), -1);
    master_thresholds_fini(&th);
    apex_stats_destroy(&empty);
}

// Statistics without a single request: every threshold passes, with no
// observed value for those that need requests.
static void s_test_no_data(void)
{
    apex_stats_t *empty = apex_stats_new(S_NOW);
    master_th_input_t in = {.stats = empty, .duration = S_DURATION};
    master_thresholds_t th = {0};
    const master_threshold_t *t =
        s_eval(&th, "http_req_duration: p(95)<1", &in);
    CHECK(t->ok && !t->has_observed);
    t = s_eval(&th, "http_req_failed: rate<0.01", &in);
    CHECK(t->ok && !t->has_observed);
    t = s_eval(&th, "http_reqs: count>0", &in);
    CHECK(!t->ok && t->has_observed);
    master_thresholds_fini(&th);
    apex_stats_destroy(&empty);
}

// WebSocket metrics: the trends read the entries of the scenario's
// WebSocket steps of their kind (not HTTP's, and HTTP's not theirs); the
// others read the run-wide figures.
static void s_test_websocket(void)
{
    static const char scn_json[] =
        "{\"users\": [{\"name\": \"W\", \"tasks\": [{\"sequence\": ["
        "{\"ws\": \"connect\", \"url\": \"ws://h/x\"},"
        "{\"ws\": \"request\", \"name\": \"echo\", \"text\": \"{}\","
        " \"correlate\": \"$.id\"},"
        "{\"ws\": \"ping\"}]}, {\"path\": \"/h\"}]}]}";
    apex_error_t err = {""};
    apex_scenario_t *scn =
        apex_scenario_parse(scn_json, strlen(scn_json), "t", &err);
    CHECK(scn != NULL);
    apex_stats_t *stats = apex_stats_new(S_NOW);
    apex_stats_entry_t *c = apex_stats_get(stats, "WS", "connect /x", S_NOW);
    apex_stats_entry_t *e = apex_stats_get(stats, "WS", "echo", S_NOW);
    apex_stats_entry_t *p = apex_stats_get(stats, "WS", "ping", S_NOW);
    apex_stats_entry_t *h = apex_stats_get(stats, "GET", "/h", S_NOW);
    apex_stats_record(stats, c, 80000, 0, S_NOW);  // 80 ms
    apex_stats_record(stats, e, 20000, 10, S_NOW); // 20 ms
    apex_stats_record(stats, p, 1000, 0, S_NOW);   // 1 ms
    apex_stats_record(stats, h, 3000, 0, S_NOW);   // 3 ms
    master_figures_t counters = {0}, gauges = {0}, peaks = {0};
    master_figures_add(&counters, "ws_sessions", 1000);
    master_figures_add(&counters, "ws_drops", 2);
    master_figures_add(&counters, "ws_msgs_sent", 500);
    master_figures_set(&gauges, "ws_connections", 900);
    master_figures_max(&peaks, "ws_connections", 10000);
    master_th_input_t in = {.stats = stats,
                            .duration = S_DURATION,
                            .scenario = scn,
                            .counters = &counters,
                            .gauges = &gauges,
                            .peaks = &peaks};
    master_thresholds_t th = {0};
    s_check_ok(&th, "ws_connecting: max<=80.1", &in, true);
    s_check_ok(&th, "ws_connecting: max<80", &in, false);
    s_check_ok(&th, "ws_msg_latency: p(95)<21", &in, true);
    s_check_ok(&th, "ws_msg_latency: min>19", &in, true);
    s_check_ok(&th, "ws_ping: max<1.1", &in, true);
    s_check_ok(&th, "http_req_duration: max<3.1", &in, true); // HTTP only
    s_check_ok(&th, "http_reqs: count==1", &in, true);
    s_check_ok(&th, "ws_sessions: count==1000", &in, true);
    s_check_ok(&th, "ws_msgs_sent: rate==50", &in, true);    // per second
    s_check_ok(&th, "ws_drop_rate: rate<0.001", &in, false); // 0.002
    s_check_ok(&th, "ws_drop_rate: rate<=0.002", &in, true);
    s_check_ok(&th, "ws_connections: max>=10000", &in, true);
    s_check_ok(&th, "ws_connections: value==900", &in, true);
    const master_threshold_t *t = s_eval(&th, "ws_msgs_received: count>0", &in);
    CHECK(t->ok && !t->has_observed); // no worker reported it: passes
    CHECK_STR(master_threshold_unit(s_eval(&th, "ws_drop_rate: rate<1", &in)),
              "");
    s_check_arg_error("ws_connections: count>1",
                      "--threshold: 'count>1': ws_connections takes max, "
                      "value");
    s_check_arg_error("ws_sessions{name:x}: count>1",
                      "--threshold: 'ws_sessions{name:x}': ws_sessions "
                      "takes no filter");
    master_thresholds_fini(&th);
    master_figures_clear(&counters);
    master_figures_clear(&gauges);
    master_figures_clear(&peaks);
    apex_stats_destroy(&stats);
    apex_scenario_destroy(&scn);
}

// SQL metrics: sql_duration and sql_failed read the rows of type SQL
// only (filterable by name), sql_connections the run-wide gauge.
static void s_test_sql(void)
{
    apex_stats_t *stats = apex_stats_new(S_NOW);
    apex_stats_entry_t *pk = apex_stats_get(stats, "SQL", "pk", S_NOW);
    apex_stats_entry_t *fts = apex_stats_get(stats, "SQL", "search", S_NOW);
    apex_stats_entry_t *h = apex_stats_get(stats, "GET", "/h", S_NOW);
    for (int i = 0; i < 99; i++)
        apex_stats_record(stats, pk, 2000, 100, S_NOW); // 2 ms
    apex_stats_record(stats, pk, 9000, 100, S_NOW);     // 9 ms
    apex_stats_record_failure(stats, pk, "SQL 57014 canceling", S_NOW);
    apex_stats_record(stats, fts, 80000, 100, S_NOW); // 80 ms
    apex_stats_record(stats, h, 500000, 0, S_NOW);    // 500 ms, HTTP
    master_figures_t counters = {0}, gauges = {0}, peaks = {0};
    master_figures_set(&gauges, "sql_connections", 40);
    master_figures_max(&peaks, "sql_connections", 50);
    master_th_input_t in = {.stats = stats,
                            .duration = S_DURATION,
                            .counters = &counters,
                            .gauges = &gauges,
                            .peaks = &peaks};
    master_thresholds_t th = {0};
    s_check_ok(&th, "sql_duration: max<81", &in, true); // not HTTP's 500
    s_check_ok(&th, "sql_duration{name:pk}: p(95)<5", &in, true);
    s_check_ok(&th, "sql_duration{name:pk}: max<5", &in, false);
    s_check_ok(&th, "sql_duration{name:SQL search}: min>=79", &in, true);
    s_check_ok(&th, "sql_duration{method:SQL}: max>=80", &in, true);
    s_check_ok(&th, "http_req_duration: max<81", &in, false);
    s_check_ok(&th, "sql_failed: rate<0.01", &in, true); // 1 of 101
    s_check_ok(&th, "sql_failed{name:pk}: rate<0.01", &in, false);
    s_check_ok(&th, "sql_connections: max==50", &in, true);
    s_check_ok(&th, "sql_connections: value==40", &in, true);
    const master_threshold_t *t =
        s_eval(&th, "sql_duration{name:nope}: p(95)<1", &in);
    CHECK(t->ok && !t->has_observed); // no rows: passes, as in k6
    CHECK_STR(master_threshold_unit(t), "ms");
    s_check_arg_error("sql_failed: p(95)<1",
                      "--threshold: 'p(95)<1': sql_failed takes rate");
    s_check_arg_error("sql_connections{name:x}: max>1",
                      "--threshold: 'sql_connections{name:x}': "
                      "sql_connections takes no filter");
    master_thresholds_fini(&th);
    master_figures_clear(&gauges);
    master_figures_clear(&peaks);
    apex_stats_destroy(&stats);
}

// The scripts' custom metrics: a trend (values x1000) and a counter by
// name, only when the set allows them (a scenario with scripts).
static void s_test_custom(void)
{
    apex_stats_t *stats = apex_stats_new(S_NOW);
    apex_stats_t *trends = apex_stats_new(S_NOW);
    apex_stats_entry_t *cart = apex_stats_get(trends, "", "cart_size", S_NOW);
    for (uint64_t v = 1; v <= 10; v++)
        apex_stats_record(trends, cart, v * 1000, 0, S_NOW); // 1 .. 10
    master_figures_t counters = {0};
    master_figures_add(&counters, "orders", 120);
    master_th_input_t in = {.stats = stats,
                            .duration = S_DURATION,
                            .counters = &counters,
                            .trends = trends};
    master_thresholds_t th = {.custom = true};
    s_check_ok(&th, "cart_size: avg==5.5", &in, true);
    s_check_ok(&th, "cart_size: max<=10", &in, true);
    s_check_ok(&th, "cart_size: p(50)<5", &in, false);
    s_check_ok(&th, "orders: count==120", &in, true);
    s_check_ok(&th, "orders: rate>1", &in, true); // 120 in 60 s
    const master_threshold_t *t = s_eval(&th, "cart_size: min>=1", &in);
    CHECK_STR(master_threshold_unit(t), "");
    t = s_eval(&th, "never_sent: p(95)<1", &in);
    CHECK(t->ok && !t->has_observed); // no data: passes, as in k6
    master_thresholds_fini(&th);
    apex_error_t err = {""};
    CHECK_EQ(master_thresholds_parse_arg(&th, "cart_size: value>1", &err), -1);
    CHECK_STR(err.msg, "--threshold: 'value>1': cart_size takes p(N), avg, "
                       "med, min, max (a trend), count, rate (a counter)");
    // Without scripts an unknown name stays an error.
    master_thresholds_t plain = {0};
    CHECK_EQ(master_thresholds_parse_arg(&plain, "cart_size: avg<1", &err), -1);
    CHECK(strstr(err.msg, "unknown metric 'cart_size'"));
    CHECK(!strstr(err.msg, "custom"));
    CHECK_EQ(master_thresholds_parse_arg(&th, "Cart-Size: avg<1", &err), -1);
    CHECK(strstr(err.msg, "or a custom metric's name"));
    master_thresholds_fini(&th);
    master_figures_clear(&counters);
    apex_stats_destroy(&trends);
    apex_stats_destroy(&stats);
}

void test_thresholds(bool verbose)
{
    (void)verbose;
    apex_stats_t *stats = s_stats();
    master_th_input_t in = {.stats = stats,
                            .iterations = S_ITERATIONS,
                            .dropped_iterations = S_DROPPED,
                            .duration = S_DURATION};
    s_test_durations(&in);
    s_test_counts_and_rates(&in);
    s_test_filters(&in);
    s_test_arg_errors();
    s_test_filter_errors();
    s_test_json(&in);
    s_test_json_errors();
    s_test_no_data();
    s_test_checks();
    s_test_websocket();
    s_test_sql();
    s_test_custom();
    apex_stats_destroy(&stats);
}
