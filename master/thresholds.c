// master/thresholds.c - see thresholds.h. Parsing follows k6's grammar
// (metrics/thresholds_parser.go): "agg op float" with k6's aggregation
// names; values are computed from the merged microsecond histograms, so a
// p(99) threshold judges the true p(99) of all requests of all workers.
// A threshold whose metric has no data passes (as in k6) and shows no
// observed value.
#include "master/thresholds.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/cli.h"

#define S_TREND "p(N), avg, med, min, max"

// How a metric is computed.
typedef enum {
    S_FROM_TREND,   // a histogram of entries
    S_FROM_FAILED,  // failures per request of entries
    S_FROM_REQS,    // requests of entries
    S_FROM_COUNTER, // a run-wide counter (figure)
    S_FROM_RATIO,   // a counter over another counter
    S_FROM_GAUGE,   // a run-wide gauge
    S_FROM_RUN,     // the run's iteration counts
    S_FROM_CHECKS,  // checks passed over checks made
    S_FROM_CUSTOM   // a scripts' trend (trend aggregations) or counter
} s_source_t;

// Which entries a metric made of entries reads.
typedef enum {
    S_HTTP,        // HTTP requests
    S_WS_CONNECT,  // WebSocket connect steps
    S_WS_MESSAGE,  // WebSocket request and listen steps
    S_WS_PING,     // WebSocket ping steps
    S_SQL,         // SQL steps (rows of type SQL)
    S_NOT_ENTRIES, // a figure or a run count
    S_CHECK_NAMES  // checks, filtered by their names
} s_entries_t;

static const struct {
    const char *name;          // metric name
    master_th_metric_t metric; // enum
    const char *aggs;          // allowed aggregations, for messages
    s_source_t source;         // how it is computed
    s_entries_t entries;       // which entries, for those of entries
    const char *figure;        // the counter or gauge, for figures
    const char *per;           // the denominator counter, for ratios
} s_metrics[] = {
    {"http_req_duration", TH_HTTP_REQ_DURATION, S_TREND, S_FROM_TREND, S_HTTP,
     NULL, NULL},
    {"http_req_failed", TH_HTTP_REQ_FAILED, "rate", S_FROM_FAILED, S_HTTP, NULL,
     NULL},
    {"http_reqs", TH_HTTP_REQS, "count, rate", S_FROM_REQS, S_HTTP, NULL, NULL},
    {"iterations", TH_ITERATIONS, "count, rate", S_FROM_RUN, S_NOT_ENTRIES,
     NULL, NULL},
    {"dropped_iterations", TH_DROPPED_ITERATIONS, "count, rate", S_FROM_RUN,
     S_NOT_ENTRIES, NULL, NULL},
    {"ws_connecting", TH_WS_CONNECTING, S_TREND, S_FROM_TREND, S_WS_CONNECT,
     NULL, NULL},
    {"ws_msg_latency", TH_WS_MSG_LATENCY, S_TREND, S_FROM_TREND, S_WS_MESSAGE,
     NULL, NULL},
    {"ws_ping", TH_WS_PING, S_TREND, S_FROM_TREND, S_WS_PING, NULL, NULL},
    {"ws_sessions", TH_WS_SESSIONS, "count, rate", S_FROM_COUNTER,
     S_NOT_ENTRIES, "ws_sessions", NULL},
    {"ws_msgs_sent", TH_WS_MSGS_SENT, "count, rate", S_FROM_COUNTER,
     S_NOT_ENTRIES, "ws_msgs_sent", NULL},
    {"ws_msgs_received", TH_WS_MSGS_RECEIVED, "count, rate", S_FROM_COUNTER,
     S_NOT_ENTRIES, "ws_msgs_received", NULL},
    {"ws_drop_rate", TH_WS_DROP_RATE, "rate", S_FROM_RATIO, S_NOT_ENTRIES,
     "ws_drops", "ws_sessions"},
    {"ws_connections", TH_WS_CONNECTIONS, "max, value", S_FROM_GAUGE,
     S_NOT_ENTRIES, "ws_connections", NULL},
    {"checks", TH_CHECKS, "rate", S_FROM_CHECKS, S_CHECK_NAMES, NULL, NULL},
    {"sql_duration", TH_SQL_DURATION, S_TREND, S_FROM_TREND, S_SQL, NULL, NULL},
    {"sql_failed", TH_SQL_FAILED, "rate", S_FROM_FAILED, S_SQL, NULL, NULL},
    {"sql_connections", TH_SQL_CONNECTIONS, "max, value", S_FROM_GAUGE,
     S_NOT_ENTRIES, "sql_connections", NULL},
    {"", TH_CUSTOM,
     "p(N), avg, med, min, max (a trend), count, rate (a "
     "counter)",
     S_FROM_CUSTOM, S_NOT_ENTRIES, NULL, NULL},
};

#define S_NMETRICS (sizeof s_metrics / sizeof s_metrics[0])
// s_metrics is indexed by master_th_metric_t: one row per value, in order.
_Static_assert(S_NMETRICS == TH_CUSTOM + 1, "a row per metric");

static char *s_trim(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return apex_strndup(s, n);
}

// True for a name a script may give a trend or a counter: [a-z0-9_]+.
static bool s_custom_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > PROTO_METRIC_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)name[i]) &&
            !isdigit((unsigned char)name[i]) && name[i] != '_')
            return false;
    return true;
}

static bool s_agg_allowed(master_th_metric_t m, master_th_agg_t a)
{
    switch (s_metrics[m].source) {
    case S_FROM_TREND:
        return a == TH_P || a == TH_AVG || a == TH_MED || a == TH_MIN ||
               a == TH_MAX;
    case S_FROM_FAILED:
    case S_FROM_RATIO:
    case S_FROM_CHECKS:
        return a == TH_RATE;
    case S_FROM_GAUGE:
        return a == TH_MAX || a == TH_VALUE;
    case S_FROM_CUSTOM:
        return a != TH_VALUE;
    default:
        return a == TH_COUNT || a == TH_RATE;
    }
}

// "p(95)<500" into t; 0 or -1 with err set (without the where prefix).
static int s_parse_expression(master_threshold_t *t, const char *text,
                              const char *aggs, apex_error_t *err)
{
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    if (strncmp(p, "p(", 2) == 0) {
        char *end = NULL;
        double n = strtod(p + 2, &end);
        if (end == p + 2 || *end != ')' || !(n >= 0 && n <= 100))
            return apex_error_set(err,
                                  "'%s': expected p(N) with N from 0 "
                                  "to 100",
                                  text);
        t->agg = TH_P;
        t->p = n / 100.0;
        p = end + 1;
    } else {
        static const struct {
            const char *name;    // aggregation name
            master_th_agg_t agg; // enum
        } aggs_list[] = {{"avg", TH_AVG},    {"med", TH_MED},
                         {"min", TH_MIN},    {"max", TH_MAX},
                         {"rate", TH_RATE},  {"count", TH_COUNT},
                         {"value", TH_VALUE}};
        size_t i = 0;
        size_t n = sizeof aggs_list / sizeof aggs_list[0];
        for (; i < n; i++) {
            size_t len = strlen(aggs_list[i].name);
            if (strncmp(p, aggs_list[i].name, len) == 0 &&
                !isalnum((unsigned char)p[len])) {
                t->agg = aggs_list[i].agg;
                p += len;
                break;
            }
        }
        if (i == n)
            return apex_error_set(err,
                                  "'%s': expected an aggregation (%s) "
                                  "then an operator and a number",
                                  text, aggs);
    }
    if (!s_agg_allowed(t->metric, t->agg))
        return apex_error_set(err, "'%s': %s takes %s", text, t->metric_name,
                              aggs);
    while (isspace((unsigned char)*p))
        p++;
    static const struct {
        const char *text;  // operator
        master_th_op_t op; // enum
    } ops[] = {{"===", TH_EQ}, {"==", TH_EQ}, {"!=", TH_NE}, {"<=", TH_LE},
               {">=", TH_GE},  {"<", TH_LT},  {">", TH_GT}};
    size_t i = 0;
    for (; i < sizeof ops / sizeof ops[0]; i++) {
        size_t len = strlen(ops[i].text);
        if (strncmp(p, ops[i].text, len) == 0) {
            t->op = ops[i].op;
            p += len;
            break;
        }
    }
    if (i == sizeof ops / sizeof ops[0])
        return apex_error_set(err,
                              "'%s': expected an operator (<, <=, >, "
                              ">=, ==, !=) after the aggregation",
                              text);
    char *end = NULL;
    t->limit = strtod(p, &end);
    if (end == p || !isfinite(t->limit))
        return apex_error_set(err,
                              "'%s': expected a number after the "
                              "operator",
                              text);
    while (isspace((unsigned char)*end))
        end++;
    if (*end)
        return apex_error_set(err, "'%s': unexpected '%s' after the number",
                              text, end);
    return 0;
}

static void s_free_item(master_threshold_t *t)
{
    free(t->source);
    free(t->metric_name);
    free(t->filter);
    free(t->expression);
    free(t->filter_key);
    free(t->filter_value);
}

int master_thresholds_add(master_thresholds_t *self, const char *metric,
                          const char *expression, bool abort_on_fail,
                          double delay_abort_eval, const char *where,
                          apex_error_t *err)
{
    master_threshold_t t = {.ok = true};
    const char *brace = strchr(metric, '{');
    t.metric_name =
        s_trim(metric, brace ? (size_t)(brace - metric) : strlen(metric));
    t.expression = s_trim(expression, strlen(expression));
    apex_error_t e = {""};
    size_t i = 0;
    size_t n = S_NMETRICS - 1; // not the custom row
    for (; i < n; i++)
        if (strcmp(s_metrics[i].name, t.metric_name) == 0)
            break;
    bool custom = i == n && self->custom && s_custom_name(t.metric_name);
    if (i == n && !custom) {
        apex_buf_t names;
        apex_buf_init(&names);
        for (size_t k = 0; k < n; k++)
            apex_buf_printf(&names, "%s%s", k ? ", " : "", s_metrics[k].name);
        apex_error_set(&e, "unknown metric '%s' (expected one of: %s%s)",
                       t.metric_name, apex_buf_str(&names),
                       self->custom ? ", or a custom metric's name "
                                      "([a-z0-9_])"
                                    : "");
        apex_buf_fini(&names);
        goto fail;
    }
    t.metric = s_metrics[i].metric;
    if (brace) {
        const char *close = strrchr(brace, '}');
        if (!close || close[1] != '\0') {
            apex_error_set(&e,
                           "'%s': expected a filter {tag:value} at the "
                           "end of the metric",
                           metric);
            goto fail;
        }
        t.filter = s_trim(brace + 1, (size_t)(close - brace - 1));
        char *colon = strchr(t.filter, ':');
        if (!colon) {
            apex_error_set(&e,
                           "'%s': expected {name:VALUE} or "
                           "{method:VALUE}",
                           metric);
            goto fail;
        }
        t.filter_key = s_trim(t.filter, (size_t)(colon - t.filter));
        t.filter_value = s_trim(colon + 1, strlen(colon + 1));
        if (s_metrics[t.metric].entries == S_CHECK_NAMES &&
            strcmp(t.filter_key, "name") != 0) {
            apex_error_set(&e, "'%s': checks take {name:CHECK NAME} only",
                           metric);
            goto fail;
        }
        if (strcmp(t.filter_key, "name") != 0 &&
            strcmp(t.filter_key, "method") != 0) {
            apex_error_set(&e,
                           "'%s': unknown filter '%s' (expected name or "
                           "method)",
                           metric, t.filter_key);
            goto fail;
        }
        if (!t.filter_value[0]) {
            apex_error_set(&e, "'%s': empty filter value", metric);
            goto fail;
        }
        if (s_metrics[t.metric].entries == S_NOT_ENTRIES) {
            apex_error_set(&e, "'%s': %s takes no filter", metric,
                           t.metric_name);
            goto fail;
        }
    }
    if (s_parse_expression(&t, t.expression, s_metrics[i].aggs, &e) != 0)
        goto fail;
    t.abort_on_fail = abort_on_fail;
    t.delay_abort_eval = delay_abort_eval;
    t.source = t.filter ? apex_sprintf("%s{%s}: %s", t.metric_name, t.filter,
                                       t.expression)
                        : apex_sprintf("%s: %s", t.metric_name, t.expression);
    self->items = apex_realloc(self->items, self->n + 1, sizeof *self->items);
    self->items[self->n++] = t;
    return 0;
fail:
    s_free_item(&t);
    return apex_error_set(err, "%s: %s", where, e.msg);
}

int master_thresholds_parse_arg(master_thresholds_t *self, const char *arg,
                                apex_error_t *err)
{
    // The metric may hold ':' inside its filter; split at the first ':'
    // after the closing brace (or the first one when there is no filter).
    const char *close = strchr(arg, '}');
    const char *colon = strchr(close ? close : arg, ':');
    if (!colon)
        return apex_error_set(err,
                              "'%s': expected 'metric: expression', "
                              "such as 'http_req_duration: p(95)<500'",
                              arg);
    char *metric = apex_strndup(arg, (size_t)(colon - arg));
    int rc = master_thresholds_add(self, metric, colon + 1, false, 0,
                                   "--threshold", err);
    free(metric);
    return rc;
}

static int s_add_json_item(master_thresholds_t *self, const char *metric,
                           json_t *item, const char *where, apex_error_t *err)
{
    if (json_is_string(item))
        return master_thresholds_add(self, metric, json_string_value(item),
                                     false, 0, where, err);
    if (!json_is_object(item))
        return apex_error_set(err,
                              "%s: expected a string such as "
                              "\"p(95)<500\" or an object with "
                              "\"threshold\"",
                              where);
    json_t *expr = json_object_get(item, "threshold");
    if (!json_is_string(expr))
        return apex_error_set(err,
                              "%s.threshold: expected a string such as "
                              "\"p(95)<500\"",
                              where);
    bool abort = false;
    double delay = 0;
    const char *key;
    json_t *v;
    json_object_foreach(item, key, v)
    {
        if (strcmp(key, "threshold") == 0)
            continue;
        if (strcmp(key, "abortOnFail") == 0 ||
            strcmp(key, "abort_on_fail") == 0) {
            if (!json_is_boolean(v))
                return apex_error_set(err, "%s.%s: expected true or false",
                                      where, key);
            abort = json_is_true(v);
        } else if (strcmp(key, "delayAbortEval") == 0 ||
                   strcmp(key, "delay_abort_eval") == 0) {
            apex_error_t e = {""};
            if (json_is_number(v))
                delay = json_number_value(v);
            else if (!json_is_string(v) ||
                     apex_parse_duration(json_string_value(v), &delay, &e))
                return apex_error_set(err,
                                      "%s.%s: expected a duration such "
                                      "as \"10s\"",
                                      where, key);
        } else {
            return apex_error_set(err,
                                  "%s.%s: unknown key (expected "
                                  "threshold, abortOnFail, "
                                  "delayAbortEval)",
                                  where, key);
        }
    }
    return master_thresholds_add(self, metric, json_string_value(expr), abort,
                                 delay, where, err);
}

int master_thresholds_parse_json(master_thresholds_t *self, const char *json,
                                 const char *origin, apex_error_t *err)
{
    json_error_t jerr;
    json_t *root = json_loads(json ? json : "", JSON_DECODE_ANY, &jerr);
    int rc = 0;
    if (!root || !json_is_object(root)) {
        rc = apex_error_set(err,
                            "%s: $.thresholds: expected an object of "
                            "metric to thresholds",
                            origin);
        goto done;
    }
    const char *metric;
    json_t *v;
    json_object_foreach(root, metric, v)
    {
        char where[512];
        if (json_is_array(v)) {
            for (size_t i = 0; i < json_array_size(v) && rc == 0; i++) {
                snprintf(where, sizeof where, "%s: $.thresholds[\"%s\"][%zu]",
                         origin, metric, i);
                rc = s_add_json_item(self, metric, json_array_get(v, i), where,
                                     err);
            }
        } else {
            snprintf(where, sizeof where, "%s: $.thresholds[\"%s\"]", origin,
                     metric);
            rc = s_add_json_item(self, metric, v, where, err);
        }
        if (rc)
            break;
    }
done:
    json_decref(root);
    return rc;
}

void master_thresholds_fini(master_thresholds_t *self)
{
    for (size_t i = 0; i < self->n; i++)
        s_free_item(&self->items[i]);
    free(self->items);
    self->items = NULL;
    self->n = 0;
}

// ---------------------------------------------------------------------
// Evaluation

static bool s_matches(const master_threshold_t *t, const apex_stats_entry_t *e)
{
    if (strcmp(t->filter_key, "method") == 0)
        return strcasecmp(e->method, t->filter_value) == 0;
    if (strcmp(e->name, t->filter_value) == 0)
        return true;
    size_t m = strlen(e->method);
    return strncmp(t->filter_value, e->method, m) == 0 &&
           t->filter_value[m] == ' ' &&
           strcmp(t->filter_value + m + 1, e->name) == 0;
}

// The operation of the scenario's WebSocket step that made entry e, or
// -1 when no WebSocket step has its name.
static int s_ws_op(const apex_scenario_t *scn, const apex_stats_entry_t *e)
{
    if (!scn || strcmp(e->method, "WS") != 0)
        return -1;
    for (size_t u = 0; u < scn->nusers; u++) {
        const apex_user_class_t *cls = &scn->users[u];
        for (size_t t = 0; t <= cls->ntasks; t++) {
            const apex_step_t *steps =
                t < cls->ntasks ? cls->tasks[t].steps : cls->on_start;
            size_t n = t < cls->ntasks ? cls->tasks[t].nsteps : cls->non_start;
            for (size_t i = 0; i < n; i++)
                if (steps[i].kind == APEX_STEP_WS &&
                    strcmp(steps[i].name, e->name) == 0)
                    return (int)steps[i].ws->op;
        }
    }
    return -1;
}

// True when entry e belongs to a metric reading `which` entries.
static bool s_selected(s_entries_t which, const apex_stats_entry_t *e,
                       const apex_scenario_t *scn)
{
    int op;
    switch (which) {
    case S_HTTP:
        return apex_http_is_method(e->method);
    case S_WS_CONNECT:
        return s_ws_op(scn, e) == APEX_WS_CONNECT;
    case S_WS_MESSAGE:
        op = s_ws_op(scn, e);
        return op == APEX_WS_REQUEST || op == APEX_WS_LISTEN;
    case S_WS_PING:
        return s_ws_op(scn, e) == APEX_WS_PING;
    case S_SQL:
        return strcmp(e->method, "SQL") == 0;
    case S_NOT_ENTRIES:
    case S_CHECK_NAMES:
        break;
    }
    return false;
}

// The merge of the entries a threshold reads (its metric's, matching
// its filter) into scratch.
static const apex_stats_entry_t *s_subject(const master_threshold_t *t,
                                           const master_th_input_t *in,
                                           apex_stats_entry_t *scratch)
{
    apex_stats_entry_reset(scratch, 0);
    scratch->start_time = 0;
    s_entries_t which = s_metrics[t->metric].entries;
    for (size_t i = 0; i < apex_stats_size(in->stats); i++) {
        const apex_stats_entry_t *e = apex_stats_at(in->stats, i);
        if (s_selected(which, e, in->scenario) &&
            (!t->filter || s_matches(t, e)))
            apex_stats_entry_merge(scratch, e);
    }
    return scratch;
}

static bool s_compare(double v, master_th_op_t op, double limit)
{
    switch (op) {
    case TH_LT:
        return v < limit;
    case TH_LE:
        return v <= limit;
    case TH_GT:
        return v > limit;
    case TH_GE:
        return v >= limit;
    case TH_EQ:
        return v == limit;
    default:
        return v != limit;
    }
}

// A trend's aggregation of entry e, in ms; false when it has no samples.
static bool s_trend(const master_threshold_t *t, const apex_stats_entry_t *e,
                    double *v)
{
    if (apex_histogram_count(e->hist) == 0)
        return false;
    if (t->agg == TH_P)
        *v = apex_ms_from_us(apex_histogram_percentile(e->hist, t->p));
    else if (t->agg == TH_MED)
        *v = apex_ms_from_us(apex_histogram_median(e->hist));
    else if (t->agg == TH_AVG)
        *v = apex_stats_entry_avg_ms(e);
    else if (t->agg == TH_MIN)
        *v = apex_stats_entry_min_ms(e);
    else
        *v = apex_stats_entry_max_ms(e);
    return true;
}

// A figure metric's value; false when no worker reported it.
static bool s_figure(const master_threshold_t *t, const master_th_input_t *in,
                     double *v)
{
    const char *name = s_metrics[t->metric].figure;
    const char *per = s_metrics[t->metric].per;
    switch (s_metrics[t->metric].source) {
    case S_FROM_COUNTER:
        *v = (double)master_figures_get(in->counters, name);
        return master_figures_has(in->counters, name);
    case S_FROM_RATIO: {
        double den = (double)master_figures_get(in->counters, per);
        *v = den > 0 ? (double)master_figures_get(in->counters, name) / den : 0;
        return den > 0;
    }
    case S_FROM_GAUGE:
        *v = (double)master_figures_get(
            t->agg == TH_MAX ? in->peaks : in->gauges, name);
        return master_figures_has(in->peaks, name);
    default:
        *v = (double)(t->metric == TH_ITERATIONS ? in->iterations
                                                 : in->dropped_iterations);
        return true;
    }
}

// Checks passed over checks made (those called the filter's name, or
// all); false when none was made.
static bool s_checks_rate(const master_threshold_t *t,
                          const master_th_input_t *in, double *v)
{
    uint64_t passes = 0, total = 0;
    for (size_t i = 0; in->checks && i < in->checks->n; i++) {
        const master_check_t *c = &in->checks->items[i];
        if (t->filter && strcmp(c->name, t->filter_value) != 0)
            continue;
        passes += c->passes;
        total += c->passes + c->fails;
    }
    *v = total ? (double)passes / (double)total : 0;
    return total > 0;
}

// A custom metric: the trend's aggregation, or the counter's count;
// false when no script reported it.
static bool s_custom(const master_threshold_t *t, const master_th_input_t *in,
                     double *v)
{
    if (t->agg == TH_COUNT || t->agg == TH_RATE) {
        *v = (double)master_figures_get(in->counters, t->metric_name);
        return master_figures_has(in->counters, t->metric_name);
    }
    const apex_stats_entry_t *e =
        in->trends ? apex_stats_find(in->trends, "", t->metric_name) : NULL;
    return e && s_trend(t, e, v);
}

// The observed value of t; false when its metric has no data.
static bool s_observe(const master_threshold_t *t, const master_th_input_t *in,
                      apex_stats_entry_t *scratch, double *v)
{
    static const master_figures_t none = {0};
    master_th_input_t safe = *in;
    if (!safe.counters)
        safe.counters = &none;
    if (!safe.gauges)
        safe.gauges = &none;
    if (!safe.peaks)
        safe.peaks = &none;
    bool has = true;
    s_source_t source = s_metrics[t->metric].source;
    if (source == S_FROM_CHECKS)
        return s_checks_rate(t, in, v);
    if (source == S_FROM_CUSTOM) {
        has = s_custom(t, &safe, v);
        if (t->agg == TH_RATE)
            *v = in->duration > 0 ? *v / in->duration : 0;
        return has;
    }
    if (source == S_FROM_TREND || source == S_FROM_FAILED ||
        source == S_FROM_REQS) {
        const apex_stats_entry_t *e = s_subject(t, &safe, scratch);
        if (source == S_FROM_TREND)
            return s_trend(t, e, v);
        has = source == S_FROM_REQS || e->num_requests > 0;
        *v = source == S_FROM_REQS ? (double)e->num_requests
             : has ? (double)e->num_failures / (double)e->num_requests
                   : 0;
    } else {
        has = s_figure(t, &safe, v);
    }
    // "rate" of a count is per second of the run.
    if (t->agg == TH_RATE && source != S_FROM_FAILED && source != S_FROM_RATIO)
        *v = in->duration > 0 ? *v / in->duration : 0;
    return has;
}

bool master_thresholds_evaluate(master_thresholds_t *self,
                                const master_th_input_t *in)
{
    apex_stats_entry_t scratch;
    memset(&scratch, 0, sizeof scratch);
    scratch.method = "";
    scratch.name = "";
    scratch.hist = apex_histogram_new();
    bool all = true;
    for (size_t i = 0; i < self->n; i++) {
        master_threshold_t *t = &self->items[i];
        double v = 0;
        bool has = s_observe(t, in, &scratch, &v);
        t->has_observed = has;
        t->observed = has ? v : 0;
        t->ok = !has || s_compare(v, t->op, t->limit);
        if (!t->ok)
            all = false;
    }
    apex_histogram_destroy(&scratch.hist);
    return all;
}

const master_threshold_t *
master_thresholds_abort(const master_thresholds_t *self, double duration)
{
    for (size_t i = 0; i < self->n; i++) {
        const master_threshold_t *t = &self->items[i];
        if (t->abort_on_fail && !t->ok && duration >= t->delay_abort_eval)
            return t;
    }
    return NULL;
}

const char *master_threshold_unit(const master_threshold_t *t)
{
    s_source_t source = s_metrics[t->metric].source;
    if (source == S_FROM_CUSTOM)
        return t->agg == TH_RATE ? "/s" : "";
    if (source == S_FROM_TREND)
        return "ms";
    return t->agg == TH_RATE && source != S_FROM_FAILED &&
                   source != S_FROM_RATIO && source != S_FROM_CHECKS
               ? "/s"
               : "";
}
