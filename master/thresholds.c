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
#include "common/clock.h"
#include "common/cli.h"

static const struct {
    const char *name;          // metric name
    master_th_metric_t metric; // enum
    const char *aggs;          // allowed aggregations, for messages
} s_metrics[] = {
    {"http_req_duration", TH_HTTP_REQ_DURATION, "p(N), avg, med, min, max"},
    {"http_req_failed", TH_HTTP_REQ_FAILED, "rate"},
    {"http_reqs", TH_HTTP_REQS, "count, rate"},
    {"iterations", TH_ITERATIONS, "count, rate"},
    {"dropped_iterations", TH_DROPPED_ITERATIONS, "count, rate"},
};

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

static bool s_agg_allowed(master_th_metric_t m, master_th_agg_t a)
{
    switch (m) {
    case TH_HTTP_REQ_DURATION:
        return a == TH_P || a == TH_AVG || a == TH_MED || a == TH_MIN ||
               a == TH_MAX;
    case TH_HTTP_REQ_FAILED:
        return a == TH_RATE;
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
        } aggs_list[] = {{"avg", TH_AVG},   {"med", TH_MED},
                         {"min", TH_MIN},   {"max", TH_MAX},
                         {"rate", TH_RATE}, {"count", TH_COUNT}};
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
    size_t n = sizeof s_metrics / sizeof s_metrics[0];
    for (; i < n; i++)
        if (strcmp(s_metrics[i].name, t.metric_name) == 0)
            break;
    if (i == n) {
        apex_error_set(&e,
                       "unknown metric '%s' (expected http_req_duration, "
                       "http_req_failed, http_reqs, iterations or "
                       "dropped_iterations)",
                       t.metric_name);
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
        if (t.metric == TH_ITERATIONS || t.metric == TH_DROPPED_ITERATIONS) {
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

// The entry a threshold looks at: the total, or the merge of the entries
// its filter matches (into scratch).
static const apex_stats_entry_t *s_subject(const master_threshold_t *t,
                                           const apex_stats_t *stats,
                                           apex_stats_entry_t *scratch)
{
    if (!t->filter)
        return apex_stats_total_const(stats);
    apex_stats_entry_reset(scratch, 0);
    scratch->start_time = 0;
    for (size_t i = 0; i < apex_stats_size(stats); i++) {
        const apex_stats_entry_t *e = apex_stats_at(stats, i);
        if (s_matches(t, e))
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
        const apex_stats_entry_t *e = s_subject(t, in->stats, &scratch);
        uint64_t timed = apex_histogram_count(e->hist);
        double v = 0;
        bool has = true;
        switch (t->metric) {
        case TH_HTTP_REQ_DURATION:
            has = timed > 0;
            if (!has)
                break;
            if (t->agg == TH_P)
                v = apex_ms_from_us(apex_histogram_percentile(e->hist, t->p));
            else if (t->agg == TH_MED)
                v = apex_ms_from_us(apex_histogram_median(e->hist));
            else if (t->agg == TH_AVG)
                v = apex_stats_entry_avg_ms(e);
            else if (t->agg == TH_MIN)
                v = apex_stats_entry_min_ms(e);
            else
                v = apex_stats_entry_max_ms(e);
            break;
        case TH_HTTP_REQ_FAILED:
            has = e->num_requests > 0;
            v = has ? (double)e->num_failures / (double)e->num_requests : 0;
            break;
        case TH_HTTP_REQS:
            v = (double)e->num_requests;
            break;
        case TH_ITERATIONS:
            v = (double)in->iterations;
            break;
        case TH_DROPPED_ITERATIONS:
            v = (double)in->dropped_iterations;
            break;
        }
        if (t->agg == TH_RATE && t->metric != TH_HTTP_REQ_FAILED)
            v = in->duration > 0 ? v / in->duration : 0;
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
    if (t->metric == TH_HTTP_REQ_DURATION)
        return "ms";
    return t->agg == TH_RATE && t->metric != TH_HTTP_REQ_FAILED ? "/s" : "";
}
