// master/routes.c - see routes.h.
//
// Every handler runs on the master's loop (master/web.h), so it reads and
// changes the runner, the registry and the results directly, and answers
// in microseconds: the documents come from master/api.c, master/report.c
// and master/report_json.c; nothing here blocks but the full history's
// read of the CSV file the master itself writes. The table is searched
// linearly: it has a score of entries and the web UI polls a few a second.
#include "master/routes.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/clock.h"
#include "master/api.h"
#include "master/assets.h"
#include "master/metrics.h"
#include "master/report.h"
#include "master/report_json.h"

#define MASTER_ROUTES_NOT_ALLOWED "method not allowed"
#define MASTER_ROUTES_NOT_FOUND "not found"
#define MASTER_ROUTES_NOT_FOUND_BODY "{\"error\": \"not found\"}"
#define MASTER_ROUTES_CHUNK 65536 // bytes read at a time from the history

// ---------------------------------------------------------------------
// Answers

// Answer with a JSON document the request takes over.
static void s_reply_json(master_web_request_t *req, int status, char *json)
{
    free(req->body);
    req->status = status;
    req->content_type = "application/json";
    req->body = json;
    req->body_len = strlen(json);
}

static void s_reply_error(master_web_request_t *req, int status,
                          const char *message)
{
    s_reply_json(req, status, master_api_error(message));
}

// Answer with body (taken) as a download named NAME_<unix time>.EXT.
static void s_reply_download(master_web_request_t *req, apex_buf_t *body,
                             const char *type, const char *name,
                             const char *ext)
{
    free(req->body);
    req->status = 200;
    req->content_type = type;
    req->body_len = body->len;
    req->body = apex_buf_take(body);
    req->disposition = apex_sprintf("attachment;filename=%s_%lld.%s", name,
                                    (long long)apex_wall_time(), ext);
}

char *master_routes_report_json(const master_routes_ctx_t *ctx, int exit_code,
                                const char *verdict)
{
    size_t nrows = 0;
    master_worker_row_t *rows = master_registry_rows(ctx->registry, &nrows);
    const master_results_t *res = ctx->results;
    const master_run_params_t *params = master_runner_params(ctx->runner);
    master_json_input_t in = {
        .stats = res->stats,
        .exceptions = res->exceptions,
        .nexceptions = res->nexceptions,
        .workers = rows,
        .nworkers = nrows,
        .thresholds = master_runner_thresholds(ctx->runner),
        .history = res->history,
        .shape = master_runner_shape(ctx->runner),
        .start_time = res->start_time,
        .end_time = res->end_time > 0 ? res->end_time : apex_wall_time(),
        .host = params->host,
        .scenario = ctx->options->scenario_path,
        .description = ctx->scenario->description,
        .users = params->users,
        .spawn_rate = params->spawn_rate,
        .run_time = params->run_time,
        .iterations = res->iterations,
        .dropped_iterations = res->dropped,
        .counters = &res->counters,
        .gauges = &res->gauges,
        .peaks = &res->peaks,
        .checks = &res->checks,
        .trends = res->trends,
        .exit_code = exit_code,
        .verdict = verdict,
        .run_id = ctx->run_id,
    };
    char *json = master_report_json(&in);
    free(rows);
    return json;
}

master_api_input_t master_routes_api_input(const master_routes_ctx_t *ctx,
                                           master_api_worker_t **workers_p)
{
    master_runner_t *runner = ctx->runner;
    *workers_p = master_registry_api(ctx->registry, apex_loop_now(ctx->loop));
    bool running = master_runner_running(runner);
    const master_shape_t *shape = master_runner_shape(runner);
    if (running && master_runner_thresholds(runner)->n)
        master_runner_evaluate(runner);
    master_api_input_t in = {
        .stats = ctx->results->stats,
        .history = ctx->results->history,
        .state = master_runner_state_name(runner),
        .user_count = master_registry_reported_users(ctx->registry),
        .workers = *workers_p,
        .nworkers = master_registry_size(ctx->registry),
        .shape = shape,
        .point = master_runner_point(runner),
        .shape_running = shape && running,
        .thresholds = master_runner_thresholds(runner),
        .iterations = ctx->results->iterations,
        .dropped_iterations = ctx->results->dropped,
        .counters = &ctx->results->counters,
        .gauges = &ctx->results->gauges,
        .peaks = &ctx->results->peaks,
        .trends = ctx->results->trends,
        .checks = &ctx->results->checks,
        .run_id = ctx->run_id,
        .start_time = ctx->results->start_time,
    };
    in.state_names = master_run_state_names(&in.nstate_names);
    in.worker_state_names = master_worker_state_names(&in.nworker_state_names);
    return in;
}

// ---------------------------------------------------------------------
// Handlers

// POST /swarm: start a test, or change a running one (Locust's Edit).
static void s_swarm(const master_routes_ctx_t *ctx, master_web_request_t *req)
{
    master_runner_t *runner = ctx->runner;
    bool shaped = master_runner_shape(runner) != NULL;
    master_api_swarm_t form;
    apex_error_t err = {""};
    if (master_api_swarm_form(req, shaped, &form, &err) != 0) {
        s_reply_error(req, 400, err.msg);
        return;
    }
    const char *refused = NULL;
    if (shaped && master_runner_running(runner))
        refused = "a load shape drives this test: stop it first";
    else if (master_registry_active(ctx->registry) == 0)
        refused = "no worker is connected yet";
    if (refused) {
        free(form.host);
        s_reply_error(req, 400, refused);
        return;
    }
    master_runner_swarm(runner, form.users, form.spawn_rate, form.run_time,
                        &form.host);
    s_reply_json(req, 200,
                 master_api_swarm_reply(shaped,
                                        master_runner_params(runner)->host,
                                        form.run_time));
}

static void s_stats(const master_routes_ctx_t *ctx, master_web_request_t *req)
{
    master_api_worker_t *workers;
    master_api_input_t in = master_routes_api_input(ctx, &workers);
    s_reply_json(req, 200, master_api_stats(&in));
    free(workers);
}

static void s_metrics(const master_routes_ctx_t *ctx, master_web_request_t *req)
{
    master_api_worker_t *workers;
    master_api_input_t in = master_routes_api_input(ctx, &workers);
    apex_buf_t b;
    apex_buf_init(&b);
    master_metrics_text(&b, &in);
    free(workers);
    free(req->body);
    req->status = 200;
    req->content_type = MASTER_METRICS_CONTENT_TYPE;
    req->body_len = b.len;
    req->body = apex_buf_take(&b);
}

static void s_config(const master_routes_ctx_t *ctx, master_web_request_t *req)
{
    const master_run_params_t *params = master_runner_params(ctx->runner);
    const master_options_t *o = ctx->options;
    master_api_config_t in = {
        .host = params->host,
        .users = params->users,
        .spawn_rate = params->spawn_rate,
        .run_time = params->run_time,
        .scenario_path = o->scenario_path,
        .scenario = ctx->scenario,
        .has_thresholds = master_runner_thresholds(ctx->runner)->n > 0,
        .shape = master_runner_shape(ctx->runner),
        .full_history_csv = o->csv_prefix && o->csv_full_history,
        .master_bind_host = o->bind_host,
        .master_port = ctx->master_port,
        .local_workers = o->processes > 0 ? o->processes : 0,
    };
    s_reply_json(req, 200, master_api_config(&in));
}

static void s_stop(const master_routes_ctx_t *ctx, master_web_request_t *req)
{
    master_runner_stop(ctx->runner);
    master_web_reply(req, 200, "application/json",
                     "{\"success\": true, \"message\": \"Test stopped\"}");
}

static void s_reset(const master_routes_ctx_t *ctx, master_web_request_t *req)
{
    master_results_reset(ctx->results);
    // Thresholds follow the statistics they judge.
    master_runner_evaluate(ctx->runner);
    master_web_reply(req, 200, "text/html", "ok");
}

static void s_exceptions(const master_routes_ctx_t *ctx,
                         master_web_request_t *req)
{
    s_reply_json(req, 200,
                 master_api_exceptions(ctx->results->exceptions,
                                       ctx->results->nexceptions));
}

static void s_history(const master_routes_ctx_t *ctx, master_web_request_t *req)
{
    s_reply_json(req, 200, master_api_history(ctx->results->history));
}

static void s_worker_count(const master_routes_ctx_t *ctx,
                           master_web_request_t *req)
{
    char *text = apex_sprintf("{\"worker_count\": %zu}",
                              master_registry_size(ctx->registry));
    s_reply_json(req, 200, text);
}

static void s_tasks(const master_routes_ctx_t *ctx, master_web_request_t *req)
{
    size_t nclasses = ctx->scenario->nusers;
    int64_t *running = apex_calloc(nclasses + 1, sizeof *running);
    master_registry_assigned(ctx->registry, running);
    s_reply_json(req, 200, master_api_tasks(ctx->scenario, running));
    free(running);
}

// The three CSV files Locust's UI downloads.
typedef enum { S_CSV_REQUESTS, S_CSV_FAILURES, S_CSV_EXCEPTIONS } s_csv_t;

static void s_reply_csv(const master_routes_ctx_t *ctx,
                        master_web_request_t *req, s_csv_t kind)
{
    static const char *const names[] = {
        [S_CSV_REQUESTS] = "requests",
        [S_CSV_FAILURES] = "failures",
        [S_CSV_EXCEPTIONS] = "exceptions",
    };
    const master_results_t *res = ctx->results;
    apex_buf_t b;
    apex_buf_init(&b);
    if (kind == S_CSV_REQUESTS)
        master_csv_stats(&b, res->stats);
    else if (kind == S_CSV_FAILURES)
        master_csv_failures(&b, res->stats);
    else
        master_csv_exceptions(&b, res->exceptions, res->nexceptions);
    s_reply_download(req, &b, "text/csv", names[kind], "csv");
}

static void s_requests_csv(const master_routes_ctx_t *ctx,
                           master_web_request_t *req)
{
    s_reply_csv(ctx, req, S_CSV_REQUESTS);
}

static void s_failures_csv(const master_routes_ctx_t *ctx,
                           master_web_request_t *req)
{
    s_reply_csv(ctx, req, S_CSV_FAILURES);
}

static void s_exceptions_csv(const master_routes_ctx_t *ctx,
                             master_web_request_t *req)
{
    s_reply_csv(ctx, req, S_CSV_EXCEPTIONS);
}

static void s_full_history(const master_routes_ctx_t *ctx,
                           master_web_request_t *req)
{
    const master_options_t *o = ctx->options;
    if (!o->csv_prefix || !o->csv_full_history) {
        master_web_reply(req, 404, "text/plain",
                         "Error: Server was not started with option to "
                         "generate full history.");
        return;
    }
    if (ctx->history_csv)
        fflush(ctx->history_csv);
    char *path = apex_sprintf("%s_stats_history.csv", o->csv_prefix);
    FILE *f = fopen(path, "rb");
    free(path);
    if (!f) {
        master_web_reply(req, 500, "text/plain", "cannot read the history");
        return;
    }
    apex_buf_t b;
    apex_buf_init(&b);
    char chunk[MASTER_ROUTES_CHUNK];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        apex_buf_append(&b, chunk, n);
    fclose(f);
    s_reply_download(req, &b, "text/csv", "requests_full_history", "csv");
}

static void s_report_json(const master_routes_ctx_t *ctx,
                          master_web_request_t *req)
{
    const char *verdict = master_runner_state_name(ctx->runner);
    s_reply_json(req, 200, master_routes_report_json(ctx, 0, verdict));
}

static void s_report_html(const master_routes_ctx_t *ctx,
                          master_web_request_t *req)
{
    const char *verdict = master_runner_state_name(ctx->runner);
    char *json = master_routes_report_json(ctx, 0, verdict);
    char *page = master_report_html(json);
    free(json);
    if (!page) {
        s_reply_error(req, 500,
                      "the report template is missing from this "
                      "build");
        return;
    }
    free(req->body);
    req->status = 200;
    req->content_type = "text/html; charset=utf-8";
    req->body = page;
    req->body_len = strlen(page);
    const char *download = master_web_arg(req, "download");
    if (download && download[0] && strcmp(download, "0") != 0)
        req->disposition = apex_sprintf("attachment;filename=apex_report_"
                                        "%lld.html",
                                        (long long)apex_wall_time());
}

// ---------------------------------------------------------------------
// The table

#define S_GET(path, fn)                                                        \
    {                                                                          \
        "GET", path, fn, MASTER_ROUTES_NOT_ALLOWED                             \
    }

static const master_route_t s_routes[] = {
    {"POST", "/swarm", s_swarm, "use POST for /swarm"},
    S_GET("/stats/requests", s_stats),
    S_GET("/metrics", s_metrics),
    S_GET("/config", s_config),
    S_GET("/stop", s_stop),
    S_GET("/stats/reset", s_reset),
    S_GET("/exceptions", s_exceptions),
    S_GET("/history", s_history),
    S_GET("/worker-count", s_worker_count),
    S_GET("/tasks", s_tasks),
    S_GET("/stats/requests/csv", s_requests_csv),
    S_GET("/stats/failures/csv", s_failures_csv),
    S_GET("/exceptions/csv", s_exceptions_csv),
    S_GET("/stats/requests_full_history/csv", s_full_history),
    S_GET("/report", s_report_html),
    S_GET("/stats/report", s_report_html),
    S_GET("/stats/report.json", s_report_json),
};

static bool s_method_matches(const char *route, const char *method)
{
    return strcmp(route, method) == 0 ||
           (strcmp(route, "GET") == 0 && strcmp(method, "HEAD") == 0);
}

const master_route_t *master_routes_find(const char *method, const char *path,
                                         int *status, const char **message)
{
    size_t n = sizeof s_routes / sizeof s_routes[0];
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s_routes[i].path, path) != 0)
            continue;
        if (s_method_matches(s_routes[i].method, method))
            return &s_routes[i];
        *status = 405;
        *message = s_routes[i].not_allowed;
        return NULL;
    }
    bool get = s_method_matches("GET", method);
    *status = get ? 404 : 405;
    *message = get ? MASTER_ROUTES_NOT_FOUND : MASTER_ROUTES_NOT_ALLOWED;
    return NULL;
}

void master_routes_handle(void *arg, master_web_request_t *req)
{
    const master_routes_ctx_t *ctx = arg;
    int status = 0;
    const char *message = NULL;
    const master_route_t *route =
        master_routes_find(req->method, req->path, &status, &message);
    if (route)
        route->fn(ctx, req);
    else if (status == 404)
        master_web_reply(req, 404, "application/json",
                         MASTER_ROUTES_NOT_FOUND_BODY);
    else
        s_reply_error(req, status, message);
}
