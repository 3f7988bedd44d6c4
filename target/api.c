// target/api.c - see api.h.
//
// Routing compares the path against the few fixed prefixes; it never
// allocates. Responses that never change (/health, agents, dags, 404,
// 405, 413, the injected 500) are MHD responses built once in
// target_api_new() over static text and queued from every thread (MHD
// reference-counts them). The rest are built per request: task texts come
// from the store, errors and /stats from jansson, so every string a client
// sent is escaped before it goes back out.
//
// POST /api/v1/login takes {"username": string, "password": string}, both
// non-empty (any pair is accepted: it is a demo), and answers 200
// {"username": ...} with Set-Cookie: apex_session=TOKEN; Path=/;
// HttpOnly. With --require-login the other /api/* routes answer 401
// without that cookie (target/server.c asks target_api_logged_in()).
//
// POST /api/v1/dags/{id}/execute starts an execution (202, its id);
// GET /api/v1/executions/{id} says "running" for its first 300 ms, then
// "success" (what a client polls until it finishes).
//
// POST /api/v1/tasks takes {"title": string (required), "description":
// string (default ""), "priority": integer (default 0)}; null counts as
// absent for the optional fields and other members are ignored. Anything
// else is a 400 whose error says which member was wrong.
#include "target/api.h"

#include <assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "target/handshake.h"
#include "target/session.h"
#include "target/store.h"

#define APEX_TARGET_JSON "application/json"
#define APEX_TARGET_LIST_DEFAULT 20
#define APEX_TARGET_LIST_MAX 100
#define APEX_TARGET_DAG_COUNT 5
#define APEX_TARGET_ALLOW_VARIANTS 4 // index: an APEX_TARGET_ALLOW_* mask

#define APEX_TARGET_TASKS_PATH "/api/v1/tasks"
#define APEX_TARGET_DAGS_PATH "/api/v1/dags"
#define APEX_TARGET_LOGIN_PATH "/api/v1/login"
#define APEX_TARGET_EXECUTE_SUFFIX "/execute"
#define APEX_TARGET_EXECUTIONS_PATH "/api/v1/executions"
#define APEX_TARGET_EXEC_RING 65536 // executions whose status is kept
#define APEX_TARGET_EXEC_MS 300     // an execution runs this long
#define APEX_TARGET_WS_PREFIX "/ws/"

static const char *const s_key_names[TARGET_KEY_COUNT] = {
    [TARGET_KEY_HEALTH] = "GET /health",
    [TARGET_KEY_TASKS_LIST] = "GET /api/v1/tasks",
    [TARGET_KEY_TASKS_CREATE] = "POST /api/v1/tasks",
    [TARGET_KEY_TASK_GET] = "GET /api/v1/tasks/{id}",
    [TARGET_KEY_AGENTS] = "GET /api/v1/agents",
    [TARGET_KEY_DAGS] = "GET /api/v1/dags",
    [TARGET_KEY_DAG_EXECUTE] = "POST /api/v1/dags/{id}/execute",
    [TARGET_KEY_LOGIN] = "POST /api/v1/login",
    [TARGET_KEY_EXECUTION] = "GET /api/v1/executions/{id}",
    [TARGET_KEY_OTHER] = "other",
};

static const char s_health_json[] = "{\"status\":\"ok\"}";

static const char s_agents_json[] =
    "{\"agents\":["
    "{\"id\":\"agent-1\",\"name\":\"atlas\",\"status\":\"online\","
    "\"capabilities\":[\"python\",\"docker\"],\"tasks_completed\":1284},"
    "{\"id\":\"agent-2\",\"name\":\"borealis\",\"status\":\"busy\","
    "\"capabilities\":[\"python\",\"gpu\"],\"tasks_completed\":932},"
    "{\"id\":\"agent-3\",\"name\":\"cirrus\",\"status\":\"online\","
    "\"capabilities\":[\"shell\"],\"tasks_completed\":377},"
    "{\"id\":\"agent-4\",\"name\":\"dynamo\",\"status\":\"busy\","
    "\"capabilities\":[\"docker\",\"shell\"],\"tasks_completed\":2051},"
    "{\"id\":\"agent-5\",\"name\":\"equinox\",\"status\":\"online\","
    "\"capabilities\":[\"python\",\"spark\"],\"tasks_completed\":610}"
    "]}";

static const char *const s_dag_ids[APEX_TARGET_DAG_COUNT] = {
    "dag-1", "dag-2", "dag-3", "dag-4", "dag-5",
};

static const char s_dags_json[] =
    "{\"dags\":["
    "{\"id\":\"dag-1\",\"name\":\"etl-daily\",\"tasks\":3},"
    "{\"id\":\"dag-2\",\"name\":\"ml-training\",\"tasks\":5},"
    "{\"id\":\"dag-3\",\"name\":\"report-weekly\",\"tasks\":2},"
    "{\"id\":\"dag-4\",\"name\":\"backup-nightly\",\"tasks\":4},"
    "{\"id\":\"dag-5\",\"name\":\"data-quality\",\"tasks\":6}"
    "]}";

static const char s_not_found_json[] = "{\"error\":\"not found\"}";
static const char s_task_not_found_json[] = "{\"error\":\"task not found\"}";
static const char s_dag_not_found_json[] = "{\"error\":\"dag not found\"}";
static const char s_exec_not_found_json[] =
    "{\"error\":\"execution not found\"}";
static const char s_bad_method_json[] = "{\"error\":\"method not allowed\"}";
static const char s_injected_json[] = "{\"error\":\"injected failure\"}";
static const char s_too_large_json[] =
    "{\"error\":\"request body larger than 1048576 bytes\"}";
_Static_assert(APEX_TARGET_MAX_BODY == 1048576, "update s_too_large_json");
static const char s_reset_json[] = "{\"status\":\"reset\"}";

// The Allow header value for each APEX_TARGET_ALLOW_* mask.
static const char *const s_allow_values[APEX_TARGET_ALLOW_VARIANTS] = {
    [APEX_TARGET_ALLOW_GET] = "GET",
    [APEX_TARGET_ALLOW_POST] = "POST",
    [APEX_TARGET_ALLOW_GET | APEX_TARGET_ALLOW_POST] = "GET, POST",
};

struct target_api {
    target_stats_t *stats;               // counters for /stats, borrowed
    target_store_t *store;               // the tasks
    target_sessions_t *sessions;         // logins
    _Atomic uint64_t executions;         // DAG executions started
    struct MHD_Response *health;         // 200 {"status":"ok"}
    struct MHD_Response *agents;         // 200 the fixed agents
    struct MHD_Response *dags;           // 200 the fixed DAGs
    struct MHD_Response *not_found;      // 404 unknown path
    struct MHD_Response *task_not_found; // 404 unknown task id
    struct MHD_Response *dag_not_found;  // 404 unknown DAG id
    struct MHD_Response *exec_not_found; // 404 unknown execution
    struct MHD_Response *injected;       // 500 injected failure
    struct MHD_Response *too_large;      // 413 body over the limit
    struct MHD_Response *reset;          // 200 after /stats/reset
    struct MHD_Response *bad_method[APEX_TARGET_ALLOW_VARIANTS]; // 405

    // Executions by id % ring: their id and start (monotonic ms).
    _Atomic uint64_t exec_ids[APEX_TARGET_EXEC_RING];
    _Atomic uint64_t exec_start[APEX_TARGET_EXEC_RING];
};

const char *const *target_api_key_names(void)
{
    return s_key_names;
}

// Does path start with prefix? Sets *rest to what follows it.
static bool s_prefix(const char *path, const char *prefix, const char **rest)
{
    size_t n = strlen(prefix);
    if (strncmp(path, prefix, n) != 0)
        return false;
    *rest = path + n;
    return true;
}

// Set route to a fixed endpoint when method is allowed, else to 405.
static void s_pick(target_route_t *route, const char *method,
                   target_endpoint_t get, target_key_t get_key,
                   target_endpoint_t post, target_key_t post_key,
                   unsigned allow)
{
    route->allow = allow;
    if ((allow & APEX_TARGET_ALLOW_GET) && strcmp(method, "GET") == 0) {
        route->endpoint = get;
        route->key = get_key;
    } else if ((allow & APEX_TARGET_ALLOW_POST) &&
               strcmp(method, "POST") == 0) {
        route->endpoint = post;
        route->key = post_key;
    } else {
        route->endpoint = TARGET_ENDPOINT_BAD_METHOD;
        route->key = TARGET_KEY_OTHER;
    }
}

// /ws/{name}: the WebSocket routes, GET only. The upgrades are counted
// in /stats' "websocket" object, not as requests; a wrong method is.
static void s_route_ws(target_route_t *route, const char *method,
                       const char *name)
{
    static const struct {
        const char *name;           // the path after /ws/
        target_endpoint_t endpoint; // its endpoint
    } routes[] = {
        {"echo", TARGET_ENDPOINT_WS_ECHO},
        {"events", TARGET_ENDPOINT_WS_EVENTS},
        {"chat", TARGET_ENDPOINT_WS_CHAT},
    };
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
        if (strcmp(name, routes[i].name) != 0)
            continue;
        route->delayed = false;
        s_pick(route, method, routes[i].endpoint, TARGET_KEY_OTHER,
               TARGET_ENDPOINT_BAD_METHOD, TARGET_KEY_OTHER,
               APEX_TARGET_ALLOW_GET);
        route->counted = route->endpoint == TARGET_ENDPOINT_BAD_METHOD;
        return;
    }
}

void target_api_route(const char *method, const char *url,
                      target_route_t *route)
{
    assert(method);
    assert(url);
    assert(route);
    *route = (target_route_t){
        .endpoint = TARGET_ENDPOINT_NOT_FOUND,
        .key = TARGET_KEY_OTHER,
        .counted = true,
        .delayed = true,
    };
    const char *rest = NULL;
    if (strcmp(url, "/stats") == 0 || strcmp(url, "/stats/reset") == 0) {
        route->counted = false;
        route->delayed = false;
        bool reset = url[sizeof "/stats" - 1] != '\0';
        if (reset)
            s_pick(route, method, TARGET_ENDPOINT_BAD_METHOD, TARGET_KEY_OTHER,
                   TARGET_ENDPOINT_STATS_RESET, TARGET_KEY_OTHER,
                   APEX_TARGET_ALLOW_POST);
        else
            s_pick(route, method, TARGET_ENDPOINT_STATS, TARGET_KEY_OTHER,
                   TARGET_ENDPOINT_BAD_METHOD, TARGET_KEY_OTHER,
                   APEX_TARGET_ALLOW_GET);
        return;
    }
    if (s_prefix(url, APEX_TARGET_WS_PREFIX, &rest)) {
        s_route_ws(route, method, rest);
        return;
    }
    if (strcmp(url, "/health") == 0) {
        route->injectable = true;
        s_pick(route, method, TARGET_ENDPOINT_HEALTH, TARGET_KEY_HEALTH,
               TARGET_ENDPOINT_BAD_METHOD, TARGET_KEY_OTHER,
               APEX_TARGET_ALLOW_GET);
        return;
    }
    if (!s_prefix(url, "/api/", &rest))
        return; // 404
    route->injectable = true;
    route->needs_session = true;
    if (strcmp(url, APEX_TARGET_LOGIN_PATH) == 0) {
        route->needs_session = false;
        s_pick(route, method, TARGET_ENDPOINT_BAD_METHOD, TARGET_KEY_OTHER,
               TARGET_ENDPOINT_LOGIN, TARGET_KEY_LOGIN, APEX_TARGET_ALLOW_POST);
        route->reads_body = route->endpoint == TARGET_ENDPOINT_LOGIN;
    } else if (strcmp(url, APEX_TARGET_TASKS_PATH) == 0) {
        s_pick(route, method, TARGET_ENDPOINT_TASKS_LIST, TARGET_KEY_TASKS_LIST,
               TARGET_ENDPOINT_TASKS_CREATE, TARGET_KEY_TASKS_CREATE,
               APEX_TARGET_ALLOW_GET | APEX_TARGET_ALLOW_POST);
        route->reads_body = route->endpoint == TARGET_ENDPOINT_TASKS_CREATE;
    } else if (s_prefix(url, APEX_TARGET_TASKS_PATH "/", &rest) &&
               rest[0] != '\0' && !strchr(rest, '/')) {
        route->param = rest;
        route->param_len = strlen(rest);
        s_pick(route, method, TARGET_ENDPOINT_TASK_GET, TARGET_KEY_TASK_GET,
               TARGET_ENDPOINT_BAD_METHOD, TARGET_KEY_OTHER,
               APEX_TARGET_ALLOW_GET);
    } else if (strcmp(url, "/api/v1/agents") == 0) {
        s_pick(route, method, TARGET_ENDPOINT_AGENTS, TARGET_KEY_AGENTS,
               TARGET_ENDPOINT_BAD_METHOD, TARGET_KEY_OTHER,
               APEX_TARGET_ALLOW_GET);
    } else if (strcmp(url, APEX_TARGET_DAGS_PATH) == 0) {
        s_pick(route, method, TARGET_ENDPOINT_DAGS, TARGET_KEY_DAGS,
               TARGET_ENDPOINT_BAD_METHOD, TARGET_KEY_OTHER,
               APEX_TARGET_ALLOW_GET);
    } else if (s_prefix(url, APEX_TARGET_EXECUTIONS_PATH "/", &rest) &&
               rest[0] != '\0' && !strchr(rest, '/')) {
        route->param = rest;
        route->param_len = strlen(rest);
        s_pick(route, method, TARGET_ENDPOINT_EXECUTION, TARGET_KEY_EXECUTION,
               TARGET_ENDPOINT_BAD_METHOD, TARGET_KEY_OTHER,
               APEX_TARGET_ALLOW_GET);
    } else if (s_prefix(url, APEX_TARGET_DAGS_PATH "/", &rest)) {
        // {id}/execute with a non-empty id holding no '/'.
        const char *slash = strchr(rest, '/');
        if (!slash || slash == rest ||
            strcmp(slash, APEX_TARGET_EXECUTE_SUFFIX) != 0)
            return; // 404
        route->param = rest;
        route->param_len = (size_t)(slash - rest);
        s_pick(route, method, TARGET_ENDPOINT_BAD_METHOD, TARGET_KEY_OTHER,
               TARGET_ENDPOINT_DAG_EXECUTE, TARGET_KEY_DAG_EXECUTE,
               APEX_TARGET_ALLOW_POST);
    }
}

// A response over static text with Content-Type: application/json, or
// NULL if MHD cannot allocate one.
static struct MHD_Response *s_static(const char *text, size_t size)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        size, (void *)text, MHD_RESPMEM_PERSISTENT);
    if (resp && MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                        APEX_TARGET_JSON) != MHD_YES) {
        MHD_destroy_response(resp);
        resp = NULL;
    }
    return resp;
}

#define APEX_TARGET_STATIC(text) s_static(text, sizeof text - 1)

target_api_t *target_api_new(target_stats_t *stats, apex_error_t *err)
{
    assert(stats);
    target_api_t *self = apex_calloc(1, sizeof *self);
    self->stats = stats;
    self->store = target_store_new(APEX_TARGET_STORE_MAX_TASKS,
                                   APEX_TARGET_STORE_MAX_BYTES);
    self->sessions = target_sessions_new();
    self->health = APEX_TARGET_STATIC(s_health_json);
    self->agents = APEX_TARGET_STATIC(s_agents_json);
    self->dags = APEX_TARGET_STATIC(s_dags_json);
    self->not_found = APEX_TARGET_STATIC(s_not_found_json);
    self->task_not_found = APEX_TARGET_STATIC(s_task_not_found_json);
    self->dag_not_found = APEX_TARGET_STATIC(s_dag_not_found_json);
    self->exec_not_found = APEX_TARGET_STATIC(s_exec_not_found_json);
    self->injected = APEX_TARGET_STATIC(s_injected_json);
    self->too_large = APEX_TARGET_STATIC(s_too_large_json);
    self->reset = APEX_TARGET_STATIC(s_reset_json);
    bool ok = self->health && self->agents && self->dags && self->not_found &&
              self->task_not_found && self->dag_not_found &&
              self->exec_not_found && self->injected && self->too_large &&
              self->reset;
    for (unsigned allow = 1; allow < APEX_TARGET_ALLOW_VARIANTS; allow++) {
        struct MHD_Response *resp = APEX_TARGET_STATIC(s_bad_method_json);
        if (resp && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
                                            s_allow_values[allow]) != MHD_YES) {
            MHD_destroy_response(resp);
            resp = NULL;
        }
        self->bad_method[allow] = resp;
        ok = ok && resp;
    }
    if (!ok) {
        apex_error_set(err, "api: cannot create the fixed responses");
        target_api_destroy(&self);
    }
    return self;
}

static void s_release(struct MHD_Response **resp_p)
{
    if (*resp_p)
        MHD_destroy_response(*resp_p);
    *resp_p = NULL;
}

void target_api_destroy(target_api_t **self_p)
{
    assert(self_p);
    target_api_t *self = *self_p;
    if (!self)
        return;
    s_release(&self->health);
    s_release(&self->agents);
    s_release(&self->dags);
    s_release(&self->not_found);
    s_release(&self->task_not_found);
    s_release(&self->dag_not_found);
    s_release(&self->exec_not_found);
    s_release(&self->injected);
    s_release(&self->too_large);
    s_release(&self->reset);
    for (unsigned allow = 0; allow < APEX_TARGET_ALLOW_VARIANTS; allow++)
        s_release(&self->bad_method[allow]);
    target_store_destroy(&self->store);
    target_sessions_destroy(&self->sessions);
    free(self);
    *self_p = NULL;
}

static unsigned s_queue(struct MHD_Connection *conn, unsigned status,
                        struct MHD_Response *resp)
{
    return MHD_queue_response(conn, status, resp) == MHD_YES ? status : 0;
}

// Queue *text_p (JSON, from malloc) with status and the headers in
// extra (name, value, ..., NULL; may be NULL); takes the text and sets
// *text_p to NULL.
static unsigned s_queue_with(struct MHD_Connection *conn, unsigned status,
                             char **text_p, const char *const *extra)
{
    char *text = *text_p;
    *text_p = NULL;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return 0;
    }
    bool ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                      APEX_TARGET_JSON) == MHD_YES;
    for (size_t i = 0; ok && extra && extra[i]; i += 2)
        ok = MHD_add_response_header(resp, extra[i], extra[i + 1]) == MHD_YES;
    unsigned queued = ok ? s_queue(conn, status, resp) : 0;
    MHD_destroy_response(resp); // MHD keeps its own reference when queued
    return queued;
}

// Queue *text_p (JSON, from malloc) with status; takes the text and sets
// *text_p to NULL.
static unsigned s_queue_text(struct MHD_Connection *conn, unsigned status,
                             char **text_p)
{
    return s_queue_with(conn, status, text_p, NULL);
}

// {"error":message} as new text the caller frees.
static char *s_error_text(const char *message)
{
    json_t *value = json_string(message);
    if (!value) // not UTF-8: it quoted bytes a client sent
        value = json_string("invalid request body");
    json_t *root = json_object();
    json_object_set_new(root, "error", value);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!text)
        abort(); // jansson only fails to dump when out of memory
    return text;
}

unsigned target_api_respond_upgrade_required(struct MHD_Connection *conn,
                                             const char *message)
{
    static const char *const headers[] = {
        MHD_HTTP_HEADER_UPGRADE,
        "websocket",
        MHD_HTTP_HEADER_SEC_WEBSOCKET_VERSION,
        APEX_TARGET_WS_VERSION,
        NULL,
    };
    char *text = s_error_text(message);
    return s_queue_with(conn, MHD_HTTP_UPGRADE_REQUIRED, &text, headers);
}

unsigned target_api_respond_error(struct MHD_Connection *conn, unsigned status,
                                  const char *message)
{
    char *text = s_error_text(message);
    return s_queue_text(conn, status, &text);
}

unsigned target_api_respond_injected(target_api_t *self,
                                     struct MHD_Connection *conn)
{
    assert(self);
    return s_queue(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, self->injected);
}

unsigned target_api_respond_too_large(target_api_t *self,
                                      struct MHD_Connection *conn)
{
    assert(self);
    return s_queue(conn, MHD_HTTP_CONTENT_TOO_LARGE, self->too_large);
}

// GET /api/v1/tasks?limit=N
static unsigned s_tasks_list(target_api_t *self, struct MHD_Connection *conn)
{
    const char *text =
        MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
    size_t limit = APEX_TARGET_LIST_DEFAULT;
    if (text) {
        // Digits only; anything above the maximum means the maximum.
        if (text[0] == '\0')
            goto bad;
        limit = 0;
        for (const char *p = text; *p; p++) {
            if (*p < '0' || *p > '9')
                goto bad;
            if (limit <= APEX_TARGET_LIST_MAX)
                limit = limit * 10 + (size_t)(*p - '0');
        }
        if (limit > APEX_TARGET_LIST_MAX)
            limit = APEX_TARGET_LIST_MAX;
    }
    char *list = target_store_list(self->store, limit);
    return s_queue_text(conn, MHD_HTTP_OK, &list);
bad:
    return target_api_respond_error(conn, MHD_HTTP_BAD_REQUEST,
                                    "limit: expected an integer 0..100");
}

// POST /api/v1/tasks
static unsigned s_tasks_create(target_api_t *self, struct MHD_Connection *conn,
                               const char *body, size_t size)
{
    char message[APEX_ERROR_MAX];
    json_error_t jerr;
    json_t *root = json_loadb(body ? body : "", size, 0, &jerr);
    if (!root) {
        snprintf(message, sizeof message,
                 "invalid JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                 jerr.column);
        return target_api_respond_error(conn, MHD_HTTP_BAD_REQUEST, message);
    }
    const char *problem = NULL;
    json_t *title = json_object_get(root, "title");
    json_t *description = json_object_get(root, "description");
    json_t *priority = json_object_get(root, "priority");
    if (!json_is_object(root))
        problem = "body: expected a JSON object";
    else if (!title)
        problem = "title: required";
    else if (!json_is_string(title))
        problem = "title: expected a string";
    else if (description && !json_is_null(description) &&
             !json_is_string(description))
        problem = "description: expected a string";
    else if (priority && !json_is_null(priority) && !json_is_integer(priority))
        problem = "priority: expected an integer";
    if (problem) {
        json_decref(root);
        return target_api_respond_error(conn, MHD_HTTP_BAD_REQUEST, problem);
    }
    const char *desc_text =
        json_is_string(description) ? json_string_value(description) : "";
    int64_t prio =
        json_is_integer(priority) ? (int64_t)json_integer_value(priority) : 0;
    char *task = target_store_add(self->store, json_string_value(title),
                                  desc_text, prio, time(NULL));
    json_decref(root);
    return s_queue_text(conn, MHD_HTTP_CREATED, &task);
}

// POST /api/v1/login
static unsigned s_login(target_api_t *self, struct MHD_Connection *conn,
                        const char *body, size_t size)
{
    json_t *root = json_loadb(body ? body : "", size, 0, NULL);
    json_t *user = json_object_get(root, "username");
    json_t *password = json_object_get(root, "password");
    if (!json_is_string(user) || json_string_length(user) == 0 ||
        !json_is_string(password) || json_string_length(password) == 0) {
        json_decref(root);
        return target_api_respond_error(conn, MHD_HTTP_BAD_REQUEST,
                                        "expected {\"username\": string, "
                                        "\"password\": string}, both "
                                        "non-empty");
    }
    char token[TARGET_SESSION_TOKEN_LEN + 1];
    target_sessions_login(self->sessions, json_string_value(user), token);
    char *cookie =
        apex_sprintf("%s=%s; Path=/; HttpOnly", TARGET_SESSION_COOKIE, token);
    json_t *answer = json_object();
    json_object_set(answer, "username", user);
    char *text = json_dumps(answer, JSON_COMPACT);
    json_decref(answer);
    json_decref(root);
    if (!text)
        abort(); // jansson only fails to dump when out of memory
    const char *const headers[] = {MHD_HTTP_HEADER_SET_COOKIE, cookie, NULL};
    unsigned status = s_queue_with(conn, MHD_HTTP_OK, &text, headers);
    free(cookie);
    return status;
}

bool target_api_logged_in(const target_api_t *self, struct MHD_Connection *conn)
{
    assert(self && conn);
    return target_sessions_valid(
        self->sessions, MHD_lookup_connection_value(conn, MHD_COOKIE_KIND,
                                                    TARGET_SESSION_COOKIE));
}

unsigned target_api_respond_login_required(struct MHD_Connection *conn)
{
    return target_api_respond_error(conn, MHD_HTTP_UNAUTHORIZED,
                                    "login required: POST /api/v1/login "
                                    "first");
}

// GET /api/v1/tasks/{id}
static unsigned s_task_get(target_api_t *self, struct MHD_Connection *conn,
                           const target_route_t *route)
{
    // The id runs to the end of the URL, so param is terminated here.
    char *task = target_store_get(self->store, route->param);
    if (!task)
        return s_queue(conn, MHD_HTTP_NOT_FOUND, self->task_not_found);
    return s_queue_text(conn, MHD_HTTP_OK, &task);
}

static uint64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

// GET /api/v1/executions/exec-N: "running" for APEX_TARGET_EXEC_MS after
// it started, then "success"; 404 for an id never started or too old.
static unsigned s_execution(target_api_t *self, struct MHD_Connection *conn,
                            const target_route_t *route)
{
    char id[32];
    uint64_t exec = 0;
    char extra;
    if (route->param_len >= sizeof id)
        return s_queue(conn, MHD_HTTP_NOT_FOUND, self->exec_not_found);
    memcpy(id, route->param, route->param_len);
    id[route->param_len] = '\0';
    if (sscanf(id, "exec-%" SCNu64 "%c", &exec, &extra) != 1 || exec == 0)
        return s_queue(conn, MHD_HTTP_NOT_FOUND, self->exec_not_found);
    size_t slot = exec % APEX_TARGET_EXEC_RING;
    uint64_t start = atomic_load(&self->exec_start[slot]);
    if (atomic_load(&self->exec_ids[slot]) != exec)
        return s_queue(conn, MHD_HTTP_NOT_FOUND, self->exec_not_found);
    bool done = s_now_ms() - start >= APEX_TARGET_EXEC_MS;
    char *text = apex_sprintf("{\"execution_id\":\"%s\",\"status\":\"%s\"}", id,
                              done ? "success" : "running");
    return s_queue_text(conn, MHD_HTTP_OK, &text);
}

// POST /api/v1/dags/{id}/execute
static unsigned s_dag_execute(target_api_t *self, struct MHD_Connection *conn,
                              const target_route_t *route)
{
    const char *dag = NULL;
    for (size_t i = 0; i < APEX_TARGET_DAG_COUNT; i++) {
        if (strlen(s_dag_ids[i]) == route->param_len &&
            memcmp(s_dag_ids[i], route->param, route->param_len) == 0)
            dag = s_dag_ids[i];
    }
    if (!dag)
        return s_queue(conn, MHD_HTTP_NOT_FOUND, self->dag_not_found);
    uint64_t exec = atomic_fetch_add(&self->executions, 1) + 1;
    size_t slot = exec % APEX_TARGET_EXEC_RING;
    atomic_store(&self->exec_start[slot], s_now_ms());
    atomic_store(&self->exec_ids[slot], exec);
    char *text = apex_sprintf("{\"execution_id\":\"exec-%" PRIu64
                              "\",\"dag_id\":\"%s\",\"status\":\"running\"}",
                              exec, dag);
    return s_queue_text(conn, MHD_HTTP_ACCEPTED, &text);
}

unsigned target_api_respond(target_api_t *self, struct MHD_Connection *conn,
                            const target_route_t *route, const char *body,
                            size_t size)
{
    assert(self);
    assert(conn);
    assert(route);
    char *text = NULL;
    switch (route->endpoint) {
    case TARGET_ENDPOINT_HEALTH:
        return s_queue(conn, MHD_HTTP_OK, self->health);
    case TARGET_ENDPOINT_TASKS_LIST:
        return s_tasks_list(self, conn);
    case TARGET_ENDPOINT_TASKS_CREATE:
        return s_tasks_create(self, conn, body, size);
    case TARGET_ENDPOINT_TASK_GET:
        return s_task_get(self, conn, route);
    case TARGET_ENDPOINT_AGENTS:
        return s_queue(conn, MHD_HTTP_OK, self->agents);
    case TARGET_ENDPOINT_DAGS:
        return s_queue(conn, MHD_HTTP_OK, self->dags);
    case TARGET_ENDPOINT_DAG_EXECUTE:
        return s_dag_execute(self, conn, route);
    case TARGET_ENDPOINT_EXECUTION:
        return s_execution(self, conn, route);
    case TARGET_ENDPOINT_LOGIN:
        return s_login(self, conn, body, size);
    case TARGET_ENDPOINT_STATS:
        text = target_stats_json(self->stats,
                                 target_sessions_json(self->sessions));
        return s_queue_text(conn, MHD_HTTP_OK, &text);
    case TARGET_ENDPOINT_STATS_RESET:
        target_stats_reset(self->stats);
        target_sessions_reset(self->sessions);
        return s_queue(conn, MHD_HTTP_OK, self->reset);
    case TARGET_ENDPOINT_BAD_METHOD:
        assert(route->allow > 0 && route->allow < APEX_TARGET_ALLOW_VARIANTS);
        return s_queue(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                       self->bad_method[route->allow]);
    case TARGET_ENDPOINT_WS_ECHO:
    case TARGET_ENDPOINT_WS_EVENTS:
    case TARGET_ENDPOINT_WS_CHAT:
        // target_ws_respond() answers these; a 404 if a caller forgot.
    case TARGET_ENDPOINT_NOT_FOUND:
        break;
    }
    return s_queue(conn, MHD_HTTP_NOT_FOUND, self->not_found);
}
