// tests/unit/test_scenario.c - the scenario model: parsing a full document,
// templates, the wire text, captures, and the error message (with the
// JSON path) of every kind of bad input. Doubles as a usage example.
#include "common/buf.h"
#include "common/scenario.h"
#include "tests/unit/tests.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define S_SEED 0x9E3779B97F4A7C15ULL // any non-zero PRNG state
#define S_DRAWS 10000                // draws for distribution checks

// Expand t with vars into a new string (the caller frees it).
static char *s_expand(const apex_template_t *t, const char *const *vars,
                      uint64_t *rng)
{
    apex_template_ctx_t ctx = {vars, rng};
    apex_buf_t out;
    apex_buf_init(&out);
    apex_template_expand(t, &ctx, &out);
    return apex_buf_take(&out);
}

#define CHECK_EXPAND(t, vars, rng, expected)                                   \
    do {                                                                       \
        char *check_text_ = s_expand((t), (vars), (rng));                      \
        CHECK_STR(check_text_, (expected));                                    \
        free(check_text_);                                                     \
    } while (0)

// Documents are written here with ' for " to stay readable; \' is a '.
static apex_scenario_t *s_parse(const char *text, apex_error_t *err)
{
    char *json = strdup(text);
    size_t n = 0;
    for (size_t i = 0; text[i]; i++) {
        if (text[i] == '\\' && text[i + 1] == '\'')
            json[n++] = text[++i];
        else
            json[n++] = text[i] == '\'' ? '"' : text[i];
    }
    json[n] = '\0';
    apex_scenario_t *sc = apex_scenario_parse(json, n, "apex.json", err);
    free(json);
    return sc;
}

// The document must be rejected with a message starting with prefix
// ("apex.json: $.path: ...") and containing also (when not NULL).
static void s_check_error(bool verbose, const char *text, const char *prefix,
                          const char *also)
{
    apex_error_t err = {""};
    apex_scenario_t *sc = s_parse(text, &err);
    if (verbose)
        printf("  %s\n", err.msg);
    if (sc || strncmp(err.msg, prefix, strlen(prefix)) != 0 ||
        (also && !strstr(err.msg, also)))
        fprintf(stderr, "document: %s\nmessage:  %s\nexpected: %s ... %s\n",
                text, err.msg, prefix, also ? also : "");
    CHECK(sc == NULL);
    CHECK(strncmp(err.msg, prefix, strlen(prefix)) == 0);
    CHECK(!also || strstr(err.msg, also));
}

// A document with one user class whose single task is the given JSON.
static void s_check_task_error(bool verbose, const char *task,
                               const char *prefix, const char *also)
{
    char doc[4096];
    snprintf(doc, sizeof doc, "{'users': [{'name': 'U', 'tasks': [%s]}]}",
             task);
    s_check_error(verbose, doc, prefix, also);
}

// A document with one user class built from the given members.
static void s_check_user_error(bool verbose, const char *members,
                               const char *prefix, const char *also)
{
    char doc[4096];
    snprintf(doc, sizeof doc, "{'users': [{%s}]}", members);
    s_check_error(verbose, doc, prefix, also);
}

static size_t s_slot(const apex_scenario_t *sc, const char *name)
{
    for (size_t i = 0; i < sc->nvars; i++)
        if (strcmp(sc->vars[i], name) == 0)
            return i;
    fprintf(stderr, "no capture variable %s\n", name);
    CHECK(false);
    return 0;
}

static const apex_header_t *s_header(const apex_step_t *r, const char *name)
{
    for (size_t i = 0; i < r->http->nheaders; i++)
        if (strcasecmp(r->http->headers[i].name, name) == 0)
            return &r->http->headers[i];
    return NULL;
}

static bool s_is_uuid4(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!isxdigit((unsigned char)s[i]) ||
                   isupper((unsigned char)s[i])) {
            return false;
        }
    }
    return s[14] == '4' && strchr("89ab", s[19]);
}

static void s_free_vars(char **vars, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(vars[i]);
        vars[i] = NULL;
    }
}

static const char s_full[] =
    "{'description': 'every feature',"
    " 'host': '${APEX_T_URL:-http://127.0.0.1:8080}',"
    " 'headers': {'Accept': 'application/json',"
    "   'Authorization': '${APEX_T_TOKEN:+Bearer ${APEX_T_TOKEN}}',"
    "   'X-Env': '${APEX_T_UNSET:-none}'},"
    " 'shape': {'stages': [{'duration': 10, 'users': 5}]},"
    " 'thresholds': {'http_req_failed': ['rate<0.01']},"
    " 'users': ["
    "  {'name': 'Zeta', 'fixed_count': 2, 'wait': 1.5,"
    "   'tasks': [{'path': '/health'}]},"
    "  {'name': 'ApexUser', 'weight': 3, 'wait': {'between': [0.5, 2]},"
    "   'on_start': [{'method': 'post', 'path': '/login',"
    "     'json': {'user': '${APEX_T_USER:-admin}', 'n': 1},"
    "     'capture': {'token': '$.token'}}],"
    "   'tasks': ["
    "    {'name': 'health', 'weight': 5,"
    "     'request': {'path': '/health', 'expect': 200, 'timeout': 5}},"
    "    {'name': 'create_and_get', 'weight': 2, 'sequence': ["
    "     {'method': 'POST', 'path': '/api/v1/tasks',"
    "      'headers': {'accept': 'text/plain',"
    "                  'Authorization': 'Bearer ${token}'},"
    "      'json': {'title': '${title:-untitled}', 'id': '${uuid()}'},"
    "      'expect': [200, 201],"
    "      'capture': {'task_id': {'json': '$.id'},"
    "                  'loc': {'header': 'Location'},"
    "                  'n': {'regex': 'id=([0-9]+)'}}},"
    "     {'method': 'get', 'path': '/api/v1/tasks/${task_id}',"
    "      'query': {'limit': 20, 'q': '${n}', 'ratio': 0.5}}]},"
    "    {'path': '${APEX_T_URL:-http://h}/api/v1/dags', 'weight': 3,"
    "     'task': 'dags', 'name': 'dags',"
    "     'capture': {'dag_id': '$.dags[*].id', 'title': '$.t'}},"
    "    {'method': 'DELETE', 'path': '/api/v1/dags/${dag_id}/x',"
    "     'body': 'raw ${dag_id}',"
    "     'headers': {'Content-Type': 'text/plain'}}]},"
    "  {'name': 'Mid', 'wait': {'constant_pacing': 2},"
    "   'tasks': [{'path': '/a'}, {'path': '/b', 'weight': 2}]},"
    "  {'name': 'Thr', 'wait': {'constant_throughput': 5},"
    "   'tasks': [{'path': '/t'}]},"
    "  {'name': 'Con', 'wait': {'constant': 1},"
    "   'tasks': [{'method': 'options', 'path': 'https://example.com/x'}]}"
    "]}";

static void s_test_model(void)
{
    setenv("APEX_T_URL", "http://10.0.0.5:8080", 1);
    setenv("APEX_T_TOKEN", "secret", 1);
    unsetenv("APEX_T_UNSET");
    unsetenv("APEX_T_USER");
    apex_error_t err = {""};
    apex_scenario_t *sc = s_parse(s_full, &err);
    if (!sc)
        fprintf(stderr, "%s\n", err.msg);
    CHECK(sc);
    CHECK_STR(sc->origin, "apex.json");
    CHECK_STR(sc->host, "http://10.0.0.5:8080");

    // Classes sorted by name, with their weights and waits.
    CHECK_EQ(sc->nusers, 5);
    const char *names[] = {"ApexUser", "Con", "Mid", "Thr", "Zeta"};
    for (size_t i = 0; i < 5; i++)
        CHECK_STR(sc->users[i].name, names[i]);
    const apex_user_class_t *u = apex_scenario_find_user(sc, "ApexUser");
    CHECK(u == &sc->users[0]);
    CHECK(apex_scenario_find_user(sc, "Zeta") == &sc->users[4]);
    CHECK(apex_scenario_find_user(sc, "Nobody") == NULL);
    CHECK_EQ(u->weight, 3);
    CHECK_EQ(u->fixed_count, 0);
    CHECK_EQ(u->wait.kind, APEX_WAIT_BETWEEN);
    CHECK_NEAR(u->wait.a, 0.5, 0);
    CHECK_NEAR(u->wait.b, 2, 0);
    const apex_user_class_t *zeta = &sc->users[4];
    CHECK_EQ(zeta->weight, 1);
    CHECK_EQ(zeta->fixed_count, 2);
    CHECK_EQ(zeta->wait.kind, APEX_WAIT_CONSTANT);
    CHECK_NEAR(zeta->wait.a, 1.5, 0);
    CHECK_EQ(sc->users[1].wait.kind, APEX_WAIT_CONSTANT);
    CHECK_NEAR(sc->users[1].wait.a, 1, 0);
    CHECK_EQ(sc->users[2].wait.kind, APEX_WAIT_CONSTANT_PACING);
    CHECK_NEAR(sc->users[2].wait.a, 2, 0);
    CHECK_EQ(sc->users[3].wait.kind, APEX_WAIT_CONSTANT_THROUGHPUT);
    CHECK_NEAR(sc->users[3].wait.a, 5, 0);

    // Capture variables: one table for the document, in document order.
    CHECK_EQ(sc->nvars, 6);
    CHECK_STR(sc->vars[0], "token");
    CHECK_STR(sc->vars[4], "dag_id");

    // Tasks, weights and the pick table (Locust's repeat-by-weight).
    CHECK_EQ(u->ntasks, 4);
    CHECK_STR(u->tasks[0].name, "health");
    CHECK_STR(u->tasks[1].name, "create_and_get");
    CHECK_STR(u->tasks[2].name, "dags");
    CHECK(u->tasks[3].name == NULL);
    unsigned weights[] = {5, 2, 3, 1};
    size_t at = 0;
    for (size_t t = 0; t < 4; t++) {
        CHECK_EQ(u->tasks[t].weight, weights[t]);
        for (unsigned k = 0; k < weights[t]; k++)
            CHECK_EQ(u->pick[at++], t);
    }
    CHECK_EQ(u->npick, 11);
    const apex_user_class_t *mid = apex_scenario_find_user(sc, "Mid");
    CHECK_EQ(mid->npick, 3);
    CHECK_EQ(mid->pick[0], 0);
    CHECK_EQ(mid->pick[1], 1);
    CHECK_EQ(mid->pick[2], 1);

    // on_start: method upper-cased, JSON body with environment folded in
    // (so it is constant), Content-Type added, scenario headers merged.
    CHECK_EQ(u->non_start, 1);
    const apex_step_t *login = &u->on_start[0];
    CHECK_EQ(login->kind, APEX_STEP_HTTP);
    CHECK_STR(login->http->method, "POST");
    CHECK_STR(login->type, "POST"); // the stats entry's method column
    CHECK_STR(login->name, "/login");
    CHECK_STR(apex_template_constant(login->http->body),
              "{\"user\":\"admin\",\"n\":1}");
    CHECK_STR(apex_template_constant(s_header(login, "content-type")->value),
              "application/json");
    CHECK_STR(apex_template_constant(s_header(login, "Authorization")->value),
              "Bearer secret");
    CHECK_STR(apex_template_constant(s_header(login, "X-Env")->value), "none");
    CHECK_EQ(login->ncaptures, 1);
    CHECK_EQ(login->captures[0].slot, s_slot(sc, "token"));
    CHECK(login->needs_body && !login->needs_headers);
    CHECK_NEAR(login->timeout, 60, 0);
    CHECK_EQ(login->http->nexpect, 0);

    const apex_step_t *health = &u->tasks[0].steps[0];
    CHECK_EQ(u->tasks[0].nsteps, 1);
    CHECK_STR(health->http->method, "GET");
    CHECK_EQ(health->http->nexpect, 1);
    CHECK_EQ(health->http->expect[0], 200);
    CHECK_NEAR(health->timeout, 5, 0);
    CHECK(health->http->body == NULL);
    CHECK(!health->needs_body && !health->needs_headers);
    CHECK_EQ(health->http->nheaders, 3);

    // The sequence: step headers override the scenario's in any case.
    CHECK_EQ(u->tasks[1].nsteps, 2);
    const apex_step_t *create = &u->tasks[1].steps[0];
    CHECK_EQ(create->http->nheaders, 4); // X-Env, accept, Authorization, C-T
    CHECK_STR(apex_template_constant(s_header(create, "Accept")->value),
              "text/plain");
    CHECK_STR(s_header(create, "Accept")->name, "accept");
    CHECK(apex_template_constant(s_header(create, "Authorization")->value) ==
          NULL);
    CHECK_STR(apex_template_display(s_header(create, "Authorization")->value),
              "Bearer {token}");
    CHECK(s_header(create, "Content-Type"));
    CHECK_EQ(create->http->nexpect, 2);
    CHECK_EQ(create->http->expect[0], 200);
    CHECK_EQ(create->http->expect[1], 201);
    CHECK_EQ(create->ncaptures, 3);
    CHECK_EQ(create->captures[0].kind, APEX_CAPTURE_JSON);
    CHECK_STR(create->captures[0].var, "task_id");
    CHECK_STR(create->captures[0].expr, "$.id");
    CHECK_EQ(create->captures[0].path.nsteps, 1);
    CHECK_EQ(create->captures[0].path.steps[0].kind, APEX_JSONPATH_KEY);
    CHECK_STR(create->captures[0].path.steps[0].key, "id");
    CHECK_EQ(create->captures[1].kind, APEX_CAPTURE_HEADER);
    CHECK_STR(create->captures[1].expr, "Location");
    CHECK_EQ(create->captures[2].kind, APEX_CAPTURE_REGEX);
    CHECK(create->captures[2].has_group);
    CHECK(create->needs_body && create->needs_headers);

    const apex_step_t *get = &u->tasks[1].steps[1];
    CHECK_STR(get->http->method, "GET");
    CHECK_STR(get->name, "/api/v1/tasks/{task_id}");
    CHECK_EQ(get->http->nquery, 3);
    CHECK_STR(get->http->query[0].name, "limit");
    CHECK_STR(apex_template_constant(get->http->query[0].value), "20");
    CHECK_STR(apex_template_display(get->http->query[1].value), "{n}");
    CHECK_STR(apex_template_constant(get->http->query[2].value), "0.5");
    CHECK_EQ(get->ncaptures, 0);

    // Shorthand task: "task" names it, "name" is the stats name.
    const apex_step_t *dags = &u->tasks[2].steps[0];
    CHECK_STR(dags->name, "dags");
    CHECK_STR(apex_template_constant(dags->http->path),
              "http://10.0.0.5:8080/api/v1/dags");
    const apex_capture_t *any = &dags->captures[0];
    CHECK_EQ(any->path.nsteps, 3);
    CHECK_EQ(any->path.steps[1].kind, APEX_JSONPATH_ANY);
    CHECK_STR(any->path.steps[2].key, "id");

    // A raw body with its own Content-Type: no JSON type added.
    const apex_step_t *del = &u->tasks[3].steps[0];
    CHECK_STR(del->http->method, "DELETE");
    CHECK_STR(del->name, "/api/v1/dags/{dag_id}/x");
    CHECK_EQ(del->http->nheaders, 4);
    CHECK_STR(apex_template_constant(s_header(del, "content-type")->value),
              "text/plain");
    CHECK_STR(apex_template_display(del->http->body), "raw {dag_id}");

    const apex_step_t *opt = &sc->users[1].tasks[0].steps[0];
    CHECK_STR(opt->http->method, "OPTIONS");
    CHECK_STR(opt->name, "https://example.com/x");

    // Expansion of the model's templates.
    const char *vars[APEX_SCENARIO_MAX_VARS] = {NULL};
    uint64_t rng = S_SEED;
    CHECK_EXPAND(get->http->path, vars, &rng, "/api/v1/tasks/");
    vars[s_slot(sc, "task_id")] = "42";
    CHECK_EXPAND(get->http->path, vars, &rng, "/api/v1/tasks/42");
    vars[s_slot(sc, "token")] = "tok";
    CHECK_EXPAND(s_header(create, "Authorization")->value, vars, &rng,
                 "Bearer tok");

    // JSON mode: a default, a uuid, and a value needing escapes.
    char *body = s_expand(create->http->body, vars, &rng);
    json_t *doc = json_loads(body, 0, NULL);
    CHECK(doc);
    CHECK_STR(json_string_value(json_object_get(doc, "title")), "untitled");
    CHECK(s_is_uuid4(json_string_value(json_object_get(doc, "id"))));
    json_decref(doc);
    free(body);
    vars[s_slot(sc, "title")] = "a \"quoted\" \\path\\\n";
    body = s_expand(create->http->body, vars, &rng);
    doc = json_loads(body, 0, NULL);
    CHECK(doc);
    CHECK_STR(json_string_value(json_object_get(doc, "title")),
              "a \"quoted\" \\path\\\n");
    json_decref(doc);
    free(body);

    apex_scenario_destroy(&sc);
    CHECK(sc == NULL);
    apex_scenario_destroy(&sc); // safe twice
}

static void s_test_templates(void)
{
    setenv("APEX_T_TOKEN", "secret", 1);
    unsetenv("APEX_T_UNSET");
    setenv("APEX_T_QUOTE", "say \"hi\"\\", 1);
    apex_error_t err = {""};
    apex_scenario_t *sc = s_parse(
        "{'users': [{'name': 'T', 'tasks': [{'path': '/x',"
        " 'capture': {'a': '$.a', 'b': '$.b'},"
        " 'json': {'q': '${APEX_T_QUOTE}', 'a': '${a:-${APEX_T_QUOTE}}',"
        "  'd': '${a:-x\\\"y\\\\z}', 'e': '${APEX_T_UNSET:-\\\\}'},"
        " 'headers': {"
        "  'H-Plain': '[${a}]',"
        "  'H-Def': '${a:-def}',"
        "  'H-Alt': '${a:+alt-${b}}',"
        "  'H-Nested': '${a:-${b:-${APEX_T_UNSET:-deep}}}',"
        "  'H-Dollar': '$$5 and $x $',"
        "  'H-Env': '${APEX_T_TOKEN}',"
        "  'H-Unset': '<${APEX_T_UNSET}>',"
        "  'H-EnvDef': '${APEX_T_UNSET:-d}',"
        "  'H-EnvAlt': '${APEX_T_TOKEN:+alt}',"
        "  'H-EnvNoAlt': '${APEX_T_UNSET:+alt}',"
        "  'H-Uuid': '${uuid()}',"
        "  'H-Int': '${random_int(-3, 3)}',"
        "  'H-Big': '${random_int(-9223372036854775808,"
        "9223372036854775807)}',"
        "  'H-Str': '${random_string(12)}',"
        "  'H-Now': '${now_ms()}'}}]}]}",
        &err);
    if (!sc)
        fprintf(stderr, "%s\n", err.msg);
    CHECK(sc);
    const apex_step_t *r = &sc->users[0].tasks[0].steps[0];
    const char *vars[APEX_SCENARIO_MAX_VARS] = {NULL};
    size_t a = s_slot(sc, "a"), b = s_slot(sc, "b");
    uint64_t rng = S_SEED;
#define H(name) (s_header(r, name)->value)

    CHECK(apex_template_constant(H("H-Plain")) == NULL);
    CHECK_STR(apex_template_display(H("H-Plain")), "[{a}]");
    CHECK_EXPAND(H("H-Plain"), vars, &rng, "[]");
    CHECK_EXPAND(H("H-Def"), vars, &rng, "def");
    CHECK_EXPAND(H("H-Alt"), vars, &rng, "");
    CHECK_EXPAND(H("H-Nested"), vars, &rng, "deep");
    CHECK_EXPAND(H("H-Plain"), NULL, &rng, "[]"); // no variables at all
    vars[a] = "";
    CHECK_EXPAND(H("H-Def"), vars, &rng, "def"); // empty counts as unset
    CHECK_EXPAND(H("H-Alt"), vars, &rng, "");
    vars[b] = "B";
    CHECK_EXPAND(H("H-Nested"), vars, &rng, "B");
    vars[a] = "A";
    CHECK_EXPAND(H("H-Plain"), vars, &rng, "[A]");
    CHECK_EXPAND(H("H-Def"), vars, &rng, "A");
    CHECK_EXPAND(H("H-Alt"), vars, &rng, "alt-B");
    CHECK_EXPAND(H("H-Nested"), vars, &rng, "A");

    // Environment placeholders are folded in: the templates are constant.
    CHECK_STR(apex_template_constant(H("H-Dollar")), "$5 and $x $");
    CHECK_STR(apex_template_constant(H("H-Env")), "secret");
    CHECK_STR(apex_template_constant(H("H-Unset")), "<>");
    CHECK_STR(apex_template_constant(H("H-EnvDef")), "d");
    CHECK_STR(apex_template_constant(H("H-EnvAlt")), "alt");
    CHECK_STR(apex_template_constant(H("H-EnvNoAlt")), "");
    CHECK_EXPAND(H("H-Env"), vars, &rng, "secret");

    // JSON mode escapes environment values folded in, too.
    vars[a] = NULL;
    char *body = s_expand(r->http->body, vars, &rng);
    json_t *doc = json_loads(body, 0, NULL);
    CHECK(doc);
    CHECK_STR(json_string_value(json_object_get(doc, "q")), "say \"hi\"\\");
    CHECK_STR(json_string_value(json_object_get(doc, "a")), "say \"hi\"\\");
    CHECK_STR(json_string_value(json_object_get(doc, "d")), "x\"y\\z");
    CHECK_STR(json_string_value(json_object_get(doc, "e")), "\\");
    json_decref(doc);
    free(body);

    // Functions.
    char *u1 = s_expand(H("H-Uuid"), vars, &rng);
    char *u2 = s_expand(H("H-Uuid"), vars, &rng);
    CHECK(s_is_uuid4(u1) && s_is_uuid4(u2));
    CHECK(strcmp(u1, u2) != 0);
    free(u1);
    free(u2);
    CHECK_STR(apex_template_display(H("H-Uuid")), "{uuid()}");
    CHECK_STR(apex_template_display(H("H-Int")), "{random_int(-3,3)}");
    bool seen[7] = {false};
    for (int i = 0; i < S_DRAWS; i++) {
        char *text = s_expand(H("H-Int"), vars, &rng);
        long v = strtol(text, NULL, 10);
        free(text);
        CHECK(v >= -3 && v <= 3);
        seen[v + 3] = true;
    }
    for (int i = 0; i < 7; i++)
        CHECK(seen[i]);
    bool negative = false, positive = false;
    for (int i = 0; i < 64; i++) {
        char *text = s_expand(H("H-Big"), vars, &rng);
        negative = negative || text[0] == '-';
        positive = positive || text[0] != '-';
        free(text);
    }
    CHECK(negative && positive);
    for (int i = 0; i < 100; i++) {
        char *text = s_expand(H("H-Str"), vars, &rng);
        CHECK_EQ(strlen(text), 12);
        for (size_t j = 0; j < 12; j++)
            CHECK(isalnum((unsigned char)text[j]));
        free(text);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long before = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    char *now = s_expand(H("H-Now"), vars, &rng);
    clock_gettime(CLOCK_REALTIME, &ts);
    long long after = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    CHECK(strtoll(now, NULL, 10) >= before && strtoll(now, NULL, 10) <= after);
    free(now);
#undef H

    // xorshift64*: the first value from state 1, worked out by hand.
    uint64_t state = 1;
    CHECK(apex_rng_next(&state) == 0x47e4ce4b896cdd1dULL);
    CHECK(state == 0x2000001ULL);

    apex_scenario_destroy(&sc);
}

// The "env" object is the only environment when a document has one.
static void s_test_env_object(void)
{
    setenv("APEX_T_N", "from-process", 1);
    setenv("APEX_T_MISSING", "from-process", 1);
    apex_error_t err = {""};
    apex_scenario_t *sc = s_parse(
        "{'env': {'APEX_T_X': 'from-env', 'APEX_T_N': null},"
        " 'host': '${APEX_T_X}',"
        " 'users': [{'name': 'E', 'tasks': [{'path': '/',"
        "  'headers': {'A': '${APEX_T_N:-d}', 'B': '${APEX_T_MISSING:-m}'}"
        "}]}]}",
        &err);
    CHECK(sc);
    CHECK_STR(sc->host, "from-env");
    const apex_step_t *r = &sc->users[0].tasks[0].steps[0];
    CHECK_STR(apex_template_constant(s_header(r, "A")->value), "d");
    CHECK_STR(apex_template_constant(s_header(r, "B")->value), "m");
    apex_scenario_destroy(&sc);

    // A host that resolves to "" is as good as none.
    sc = s_parse("{'host': '${APEX_T_UNSET}',"
                 " 'users': [{'name': 'E', 'tasks': [{'path': '/'}]}]}",
                 &err);
    CHECK(sc);
    CHECK(sc->host == NULL);
    apex_scenario_destroy(&sc);
}

static void s_test_wire(void)
{
    const char *text = "{'host': '${APEX_T_URL:-http://127.0.0.1:8080}',"
                       " 'headers': {'Authorization': '${APEX_T_TOKEN:+Bearer "
                       "${APEX_T_TOKEN}}'},"
                       " 'users': [{'name': 'W', 'tasks': [{"
                       "  'path': '/p/${APEX_T_UNSET:-u}/${id}',"
                       "  'json': {'k': '${APEX_T_TOKEN}', 'id': '${id}'},"
                       "  'capture': {'id': '$.id'}}]}]}";
    setenv("APEX_T_URL", "http://a:1", 1);
    setenv("APEX_T_TOKEN", "t\"1", 1);
    unsetenv("APEX_T_UNSET");
    apex_error_t err = {""};
    apex_scenario_t *master = s_parse(text, &err);
    CHECK(master);
    CHECK(strstr(master->wire, "\"env\":{"));
    CHECK(strstr(master->wire, "\"APEX_T_UNSET\":null"));

    // A worker with another environment resolves the same way.
    setenv("APEX_T_URL", "http://b:2", 1);
    unsetenv("APEX_T_TOKEN");
    setenv("APEX_T_UNSET", "zzz", 1);
    apex_scenario_t *worker =
        apex_scenario_parse(master->wire, strlen(master->wire), "wire", &err);
    apex_scenario_t *local = s_parse(text, &err);
    CHECK(worker && local);
    CHECK_STR(worker->host, "http://a:1");
    CHECK_STR(local->host, "http://b:2");
    CHECK_STR(worker->wire, master->wire);

    const apex_step_t *m = &master->users[0].tasks[0].steps[0];
    const apex_step_t *w = &worker->users[0].tasks[0].steps[0];
    const char *vars[APEX_SCENARIO_MAX_VARS] = {NULL};
    vars[s_slot(master, "id")] = "7";
    uint64_t rng = S_SEED;
    CHECK_EXPAND(m->http->path, vars, &rng, "/p/u/7");
    CHECK_EXPAND(w->http->path, vars, &rng, "/p/u/7");
    CHECK_EXPAND(m->http->body, vars, &rng, "{\"k\":\"t\\\"1\",\"id\":\"7\"}");
    CHECK_EXPAND(w->http->body, vars, &rng, "{\"k\":\"t\\\"1\",\"id\":\"7\"}");
    CHECK_STR(apex_template_constant(s_header(w, "Authorization")->value),
              "Bearer t\"1");
    CHECK_STR(m->name, w->name);
    apex_scenario_destroy(&master);
    apex_scenario_destroy(&worker);
    apex_scenario_destroy(&local);
}

static void s_test_captures(void)
{
    apex_error_t err = {""};
    apex_scenario_t *sc = s_parse(
        "{'users': [{'name': 'C', 'tasks': ["
        " {'path': '/j', 'capture': {'s': '$.s', 'i': '$.i', 'f': '$.f',"
        "  'g': '$.g', 't': '$.t', 'fa': '$.fa', 'o': '$.o',"
        "  'any': '$.arr[*].id', 'last': '$.arr[-1].id',"
        "  'first': '$[\\'arr\\'][0][\\\"id\\\"]', 'nul': '$.nul',"
        "  'root': '$', 'deep': '$.o.a[1]', 'cd': '$.o[\\\"c d\\\"]'}},"
        " {'path': '/m', 'capture': {'miss': '$.nope', 's2': '$.s'}},"
        " {'path': '/h', 'capture': {'loc': {'header': 'location'}}},"
        " {'path': '/r', 'capture': {'grp': {'regex': 'id=([0-9]+)'},"
        "  'word': {'regex': '[a-z]+'}}}]}]}",
        &err);
    if (!sc)
        fprintf(stderr, "%s\n", err.msg);
    CHECK(sc);
    const apex_user_class_t *u = &sc->users[0];
    char *vars[APEX_SCENARIO_MAX_VARS] = {NULL};
    uint64_t rng = S_SEED;
    const char *body = "{\"s\": \"text\", \"i\": 42, \"f\": 2.5, \"g\": 0.1,"
                       " \"t\": true, \"fa\": false,"
                       " \"o\": {\"a\": [1, 2], \"c d\": \"x\"},"
                       " \"arr\": [{\"id\": 1}, {\"id\": 2}, {\"id\": 3}],"
                       " \"nul\": null}";
    const apex_step_t *j = &u->tasks[0].steps[0];
    CHECK(j->needs_body && !j->needs_headers);
    CHECK_EQ(
        apex_captures_apply(j, NULL, 0, body, strlen(body), vars, &rng, &err),
        0);
    CHECK_STR(vars[s_slot(sc, "s")], "text");
    CHECK_STR(vars[s_slot(sc, "i")], "42");
    CHECK_STR(vars[s_slot(sc, "f")], "2.5");
    CHECK_STR(vars[s_slot(sc, "g")], "0.1");
    CHECK_STR(vars[s_slot(sc, "t")], "true");
    CHECK_STR(vars[s_slot(sc, "fa")], "false");
    CHECK_STR(vars[s_slot(sc, "o")], "{\"a\":[1,2],\"c d\":\"x\"}");
    CHECK_STR(vars[s_slot(sc, "cd")], "x");
    CHECK_STR(vars[s_slot(sc, "last")], "3");
    CHECK_STR(vars[s_slot(sc, "first")], "1");
    CHECK_STR(vars[s_slot(sc, "nul")], "null");
    CHECK_STR(vars[s_slot(sc, "deep")], "2");
    CHECK(strncmp(vars[s_slot(sc, "root")], "{\"s\":\"text\"", 11) == 0);
    bool seen[4] = {false};
    for (int i = 0; i < 100; i++) {
        CHECK_EQ(apex_captures_apply(j, NULL, 0, body, strlen(body), vars, &rng,
                                     &err),
                 0);
        int id = atoi(vars[s_slot(sc, "any")]);
        CHECK(id >= 1 && id <= 3);
        seen[id] = true;
    }
    CHECK(seen[1] && seen[2] && seen[3]);

    // Missing key: an error naming the capture; the old value stays, the
    // other captures of the request are still applied.
    const apex_step_t *m = &u->tasks[1].steps[0];
    size_t miss = s_slot(sc, "miss");
    vars[miss] = strdup("old");
    free(vars[s_slot(sc, "s")]);
    vars[s_slot(sc, "s")] = NULL;
    CHECK_EQ(
        apex_captures_apply(m, NULL, 0, body, strlen(body), vars, &rng, &err),
        -1);
    CHECK_STR(err.msg, "capture miss: $.nope: not found in response");
    CHECK_STR(vars[miss], "old");
    CHECK_STR(vars[s_slot(sc, "s2")], "text");
    CHECK_EQ(apex_captures_apply(m, NULL, 0, "<html>", 6, vars, &rng, &err),
             -1);
    CHECK_STR(err.msg, "capture miss: $.nope: response body is not JSON");
    CHECK_EQ(apex_captures_apply(m, NULL, 0, NULL, 0, vars, &rng, &err), -1);
    CHECK(strstr(err.msg, "not JSON"));
    CHECK_STR(vars[miss], "old");

    // Headers: any case, trimmed, the last one wins.
    const apex_step_t *h = &u->tasks[2].steps[0];
    CHECK(h->needs_headers && !h->needs_body);
    const char *headers = "HTTP/1.1 201 Created\r\nLocation:  /a/1 \r\n"
                          "X-Other: y\r\nLOCATION:\t/a/2 \r\n\r\n";
    CHECK_EQ(apex_captures_apply(h, headers, strlen(headers), NULL, 0, vars,
                                 &rng, &err),
             0);
    CHECK_STR(vars[s_slot(sc, "loc")], "/a/2");
    const char *lf = "HTTP/1.1 200 OK\nlocation: /lf";
    CHECK_EQ(apex_captures_apply(h, lf, strlen(lf), NULL, 0, vars, &rng, &err),
             0);
    CHECK_STR(vars[s_slot(sc, "loc")], "/lf");
    const char *none = "HTTP/1.1 200 OK\r\nLocations: x\r\n\r\n";
    CHECK_EQ(
        apex_captures_apply(h, none, strlen(none), NULL, 0, vars, &rng, &err),
        -1);
    CHECK_STR(err.msg, "capture loc: header location: not found in response");
    CHECK_EQ(apex_captures_apply(h, NULL, 0, NULL, 0, vars, &rng, &err), -1);
    CHECK_STR(vars[s_slot(sc, "loc")], "/lf");

    // Regex: group 1 when there is one, else the whole match.
    const apex_step_t *r = &u->tasks[3].steps[0];
    const char *page = "<a href=\"/x?id=123\">";
    CHECK_EQ(
        apex_captures_apply(r, NULL, 0, page, strlen(page), vars, &rng, &err),
        0);
    CHECK_STR(vars[s_slot(sc, "grp")], "123");
    CHECK_STR(vars[s_slot(sc, "word")], "a");
    CHECK_EQ(apex_captures_apply(r, NULL, 0, "NOTHING 1", 9, vars, &rng, &err),
             -1);
    CHECK_STR(err.msg, "capture grp: regex id=([0-9]+): not found in response");
    CHECK_STR(vars[s_slot(sc, "grp")], "123");

    s_free_vars(vars, sc->nvars);
    apex_scenario_destroy(&sc);
}

static void s_test_errors(bool verbose)
{
    // JSON syntax, with jansson's line and column.
    s_check_error(verbose, "{\n  'users': [\n    x\n  ]\n}",
                  "apex.json: line 3, column 5: ", NULL);
    s_check_error(verbose, "{'users': [], 'users': []}", "apex.json: line 1",
                  "duplicate");
    s_check_error(verbose, "", "apex.json: line ", NULL);
    // The document.
    s_check_error(verbose, "[1]", "apex.json: $: expected an object, got [1]",
                  NULL);
    s_check_error(verbose, "{}",
                  "apex.json: $.users: missing (expected a non-empty array",
                  NULL);
    s_check_error(verbose, "{'users': []}",
                  "apex.json: $.users: expected a non-empty array of user "
                  "classes, got []",
                  NULL);
    s_check_error(verbose, "{'users': 5}", "apex.json: $.users: ", "got 5");
    s_check_error(verbose, "{'userz': []}",
                  "apex.json: $.userz: unknown key (expected one of: "
                  "description, host, headers, env, shape, thresholds, "
                  "users)",
                  NULL);
    s_check_error(verbose, "{'description': 1, 'users': []}",
                  "apex.json: $.description: expected a string", NULL);
    s_check_error(verbose, "{'env': {'A': 5}, 'users': []}",
                  "apex.json: $.env.A: expected a string or null, got 5", NULL);
    s_check_error(verbose, "{'env': [], 'users': []}",
                  "apex.json: $.env: ", NULL);
    s_check_error(verbose, "{'headers': {'A': 1}, 'users': []}",
                  "apex.json: $.headers.A: expected a string, got 1", NULL);
    s_check_error(verbose, "{'headers': {'A B': 'x'}, 'users': []}",
                  "apex.json: $.headers[\"A B\"]: expected a header name",
                  NULL);
    s_check_error(verbose, "{'headers': {'A': 'x\\r\\ny: z'}, 'users': []}",
                  "apex.json: $.headers.A: ", "line breaks");
    s_check_error(verbose, "{'headers': {'A': 'x', 'a': 'y'}, 'users': []}",
                  "apex.json: $.headers.a: duplicate header", NULL);
    s_check_error(verbose, "{'headers': {'A': '${x'}, 'users': []}",
                  "apex.json: $.headers.A: unterminated \"${\"", NULL);
    s_check_error(verbose,
                  "{'host': 'http://${id}', 'users': [{'name': 'U', "
                  "'tasks': [{'path': '/', 'capture': {'id': '$.id'}}]}]}",
                  "apex.json: $.host: expected a URL with environment", NULL);

    // User classes.
    s_check_error(verbose, "{'users': [5]}",
                  "apex.json: $.users[0]: expected a user class object", NULL);
    s_check_error(verbose,
                  "{'users': [{'name': 'A', 'tasks': [{'path': '/'}]},"
                  " {'name': 'A', 'tasks': [{'path': '/'}]}]}",
                  "apex.json: $.users[1].name: duplicate user class name "
                  "\"A\"",
                  NULL);
    s_check_user_error(verbose, "'tasks': [{'path': '/'}]",
                       "apex.json: $.users[0].name: missing", NULL);
    s_check_user_error(verbose, "'name': '1abc', 'tasks': [{'path': '/'}]",
                       "apex.json: $.users[0].name: expected a class name",
                       "got \"1abc\"");
    s_check_user_error(verbose, "'name': 'a-b', 'tasks': [{'path': '/'}]",
                       "apex.json: $.users[0].name: ", NULL);
    const char *bad_weights[][2] = {{"0", "got 0"},
                                    {"10001", "got 10001"},
                                    {"'x'", "got \"x\""},
                                    {"1.5", "got 1.5"},
                                    {"-1", "got -1"}};
    for (size_t i = 0; i < sizeof bad_weights / sizeof bad_weights[0]; i++) {
        char members[256];
        snprintf(members, sizeof members,
                 "'name': 'U', 'weight': %s, 'tasks': [{'path': '/'}]",
                 bad_weights[i][0]);
        s_check_user_error(verbose, members,
                           "apex.json: $.users[0].weight: expected an "
                           "integer from 1 to 10000, ",
                           bad_weights[i][1]);
    }
    s_check_user_error(verbose, "'name': 'U', 'taks': []",
                       "apex.json: $.users[0].taks: unknown key (expected "
                       "one of: name, weight, fixed_count, wait, on_start, "
                       "tasks)",
                       NULL);
    s_check_user_error(verbose,
                       "'name': 'U', 'fixed_count': -1, "
                       "'tasks': [{'path': '/'}]",
                       "apex.json: $.users[0].fixed_count: expected an "
                       "integer from 0 to ",
                       "got -1");
    s_check_user_error(verbose, "'name': 'U'",
                       "apex.json: $.users[0].tasks: missing", NULL);
    s_check_user_error(verbose, "'name': 'U', 'tasks': []",
                       "apex.json: $.users[0].tasks: expected a non-empty "
                       "array of tasks, got []",
                       NULL);
    s_check_user_error(verbose, "'name': 'U', 'on_start': {}, 'tasks': []",
                       "apex.json: $.users[0].on_start: expected an array "
                       "of requests",
                       NULL);
    s_check_user_error(verbose,
                       "'name': 'U', 'on_start': [{'path': 'x'}], "
                       "'tasks': [{'path': '/'}]",
                       "apex.json: $.users[0].on_start[0].path: expected a "
                       "path starting with",
                       NULL);

    // Waits.
    const char *tasks = ", 'tasks': [{'path': '/'}]";
    struct {
        const char *wait, *prefix, *also;
    } waits[] = {
        {"'x'", "apex.json: $.users[0].wait: expected a number of seconds",
         "got \"x\""},
        {"-1", "apex.json: $.users[0].wait: expected a number of seconds >= 0",
         "got -1"},
        {"{}", "apex.json: $.users[0].wait: expected exactly one of", NULL},
        {"{'constant': 1, 'between': [1, 2]}",
         "apex.json: $.users[0].wait: expected exactly one of", NULL},
        {"{'betwen': [1, 2]}",
         "apex.json: $.users[0].wait.betwen: unknown key (expected one of: "
         "constant, between, constant_pacing, constant_throughput)",
         NULL},
        {"{'between': [2, 1]}",
         "apex.json: $.users[0].wait.between: expected [min, max] with 0 <= "
         "min <= max, got [2,1]",
         NULL},
        {"{'between': [1]}", "apex.json: $.users[0].wait.between: ", NULL},
        {"{'between': [-1, 1]}", "apex.json: $.users[0].wait.between: ", NULL},
        {"{'between': 1}", "apex.json: $.users[0].wait.between: ", NULL},
        {"{'constant': -0.5}",
         "apex.json: $.users[0].wait.constant: expected a number of seconds "
         ">= 0, got -0.5",
         NULL},
        {"{'constant_pacing': 'x'}",
         "apex.json: $.users[0].wait.constant_pacing: ", NULL},
        {"{'constant_throughput': 0}",
         "apex.json: $.users[0].wait.constant_throughput: expected a number "
         "of task runs per second > 0, got 0",
         NULL},
    };
    for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++) {
        char members[256];
        snprintf(members, sizeof members, "'name': 'U', 'wait': %s%s",
                 waits[i].wait, tasks);
        s_check_user_error(verbose, members, waits[i].prefix, waits[i].also);
    }

    // Tasks.
    const char *t0 = "apex.json: $.users[0].tasks[0]";
    char prefix[256];
#define AT(suffix) (snprintf(prefix, sizeof prefix, "%s%s", t0, suffix), prefix)
    s_check_task_error(verbose, "5", AT(": expected a task"), NULL);
    s_check_task_error(verbose,
                       "{'request': {'path': '/'}, 'sequence': [{'path': "
                       "'/'}]}",
                       AT(": expected \"request\" or \"sequence\", not both"),
                       NULL);
    s_check_task_error(verbose, "{'name': 'x', 'weight': 2}",
                       AT(": expected a task with \"request\" or "
                          "\"sequence\", or a request with \"path\""),
                       NULL);
    s_check_task_error(verbose, "{}", AT(": expected a task"), NULL);
    s_check_task_error(verbose, "{'name': 'x', 'wieght': 2}",
                       AT(".wieght: unknown key (expected one of: name, "
                          "weight, request, sequence)"),
                       NULL);
    s_check_task_error(verbose, "{'request': {'path': '/'}, 'wieght': 2}",
                       AT(".wieght: unknown key"), NULL);
    s_check_task_error(verbose, "{'request': {'path': '/'}, 'weight': 0}",
                       AT(".weight: expected an integer from 1 to 10000, got "
                          "0"),
                       NULL);
    s_check_task_error(verbose, "{'request': {'path': '/'}, 'name': 5}",
                       AT(".name: expected a non-empty string"), NULL);
    s_check_task_error(verbose, "{'path': '/', 'task': ''}",
                       AT(".task: expected a non-empty string"), NULL);
    s_check_task_error(verbose, "{'sequence': []}",
                       AT(".sequence: expected a non-empty array of "
                          "requests, got []"),
                       NULL);
    s_check_task_error(verbose, "{'sequence': [{'path': '/'}, 5]}",
                       AT(".sequence[1]: expected a request object, got 5"),
                       NULL);
    s_check_task_error(verbose, "{'request': []}",
                       AT(".request: expected a request object"), NULL);
    s_check_task_error(verbose, "{'request': {'method': 'GET'}}",
                       AT(".request.path: missing (expected a path starting "
                          "with \"/\""),
                       NULL);
    s_check_task_error(verbose, "{'method': 'GET'}", AT(".path: missing"),
                       NULL);
    s_check_task_error(verbose, "{'request': {'path': '/', 'paht': '/'}}",
                       AT(".request.paht: unknown key (expected one of: "
                          "method, path, name, query, headers, json, body, "
                          "expect, capture, timeout)"),
                       NULL);
    s_check_task_error(verbose, "{'path': '/', 'bdy': 'x'}",
                       AT(".bdy: unknown key (expected one of: method, path, "
                          "name, query, headers, json, body, expect, "
                          "capture, timeout, weight, task)"),
                       NULL);
    s_check_task_error(verbose, "{'request': {'path': '/', 'weight': 2}}",
                       AT(".request.weight: unknown key"), NULL);
    {
        char many[2048] = "";
        for (int i = 0; i < 11; i++)
            strcat(many, i ? ", {'path': '/', 'weight': 10000}"
                           : "{'path': '/', 'weight': 10000}");
        s_check_task_error(verbose, many,
                           "apex.json: $.users[0].tasks: task weights sum to "
                           "110000, more than 100000",
                           NULL);
    }

    // Requests.
    s_check_task_error(verbose, "{'path': '/', 'method': 'FETCH'}",
                       AT(".method: expected one of GET, POST, PUT, PATCH, "
                          "DELETE, HEAD, OPTIONS, got \"FETCH\""),
                       NULL);
    s_check_task_error(verbose, "{'path': '/', 'method': 1}", AT(".method: "),
                       NULL);
    s_check_task_error(verbose, "{'path': 'api/x'}",
                       AT(".path: expected a path starting with \"/\" or an "
                          "absolute http:// or https:// URL, got \"api/x\""),
                       NULL);
    s_check_task_error(verbose, "{'path': 'ftp://x/'}", AT(".path: expected"),
                       NULL);
    s_check_task_error(verbose, "{'path': ''}", AT(".path: expected"), NULL);
    s_check_task_error(verbose, "{'path': 5}", AT(".path: expected"), NULL);
    s_check_task_error(verbose, "{'path': '/', 'name': ''}",
                       AT(".name: expected a non-empty string"), NULL);
    s_check_task_error(verbose, "{'path': '/', 'json': {}, 'body': 'x'}",
                       AT(": expected \"json\" or \"body\", not both"), NULL);
    s_check_task_error(verbose, "{'path': '/', 'body': {}}",
                       AT(".body: expected a string"), NULL);
    s_check_task_error(verbose, "{'path': '/', 'query': []}",
                       AT(".query: expected an object"), NULL);
    s_check_task_error(verbose, "{'path': '/', 'query': {'a': true}}",
                       AT(".query.a: expected a string or a number, got true"),
                       NULL);
    s_check_task_error(verbose, "{'path': '/', 'headers': []}",
                       AT(".headers: expected an object"), NULL);
    s_check_task_error(verbose, "{'path': '/', 'headers': {'X': null}}",
                       AT(".headers.X: expected a string, got null"), NULL);
    const char *expects[][2] = {
        {"99", ".expect: expected a status from 100 to 599"},
        {"600", ".expect: expected"},
        {"'x'", ".expect: expected a status from 100 to 599 or a non-empty "
                "list of them, got \"x\""},
        {"[]", ".expect: expected"},
        {"[200, 600]", ".expect[1]: expected a status from 100 to 599, got "
                       "600"},
        {"200.0", ".expect: expected"},
    };
    for (size_t i = 0; i < sizeof expects / sizeof expects[0]; i++) {
        char task[256];
        snprintf(task, sizeof task, "{'path': '/', 'expect': %s}",
                 expects[i][0]);
        s_check_task_error(verbose, task, AT(expects[i][1]), NULL);
    }
    const char *timeouts[] = {"0", "-1", "'x'"};
    for (size_t i = 0; i < 3; i++) {
        char task[256];
        snprintf(task, sizeof task, "{'path': '/', 'timeout': %s}",
                 timeouts[i]);
        s_check_task_error(verbose, task,
                           AT(".timeout: expected a number of seconds > 0"),
                           NULL);
    }

    // Captures.
    struct {
        const char *capture, *suffix;
    } captures[] = {
        {"[]", ".capture: expected an object"},
        {"{'x': 5}", ".capture.x: expected a JSON path or an object with one "
                     "of: json, header, regex, got 5"},
        {"{'x': {'json': '$.a', 'header': 'h'}}",
         ".capture.x: expected exactly one of: json, header, regex"},
        {"{'x': {}}", ".capture.x: expected exactly one of"},
        {"{'x': {'jsn': '$.a'}}",
         ".capture.x.jsn: unknown key (expected one of: json, header, "
         "regex)"},
        {"{'1x': '$.a'}", ".capture[\"1x\"]: expected a variable name"},
        {"{'x': {'header': 'bad name'}}",
         ".capture.x.header: expected a header name"},
        {"{'x': {'header': ''}}", ".capture.x.header: expected a header"},
        {"{'x': {'json': 5}}", ".capture.x.json: expected a JSON path"},
        {"{'x': 'id'}", ".capture.x: bad JSON path \"id\": expected \"$\""},
        {"{'x': '$.'}", ".capture.x: bad JSON path \"$.\": expected a key"},
        {"{'x': '$a'}", ".capture.x: bad JSON path \"$a\""},
        {"{'x': '$['}", ".capture.x: bad JSON path"},
        {"{'x': '$[abc]'}", ".capture.x: bad JSON path"},
        {"{'x': '$[1'}",
         ".capture.x: bad JSON path \"$[1\": expected \"]\" at offset 3"},
        {"{'x': '$[-]'}", ".capture.x: bad JSON path"},
        {"{'x': '$[99999999999999999999]'}", ".capture.x: bad JSON path"},
        {"{'x': {'json': '$[\\'a\\''}}", ".capture.x.json: bad JSON path"},
        {"{'x': {'regex': '('}}", ".capture.x.regex: bad regex \"(\": "},
        {"{'x': {'regex': 'a{2,1}'}}", ".capture.x.regex: bad regex"},
        // What glibc's regcomp/regexec cannot afford (found by fuzzing).
        {"{'x': {'regex': '((a{255}){255}){255}'}}",
         ".capture.x.regex: regex \"((a{255}){255}){255}\": repetition "
         "counts expand it to more than 10000 elements"},
        {"{'x': {'regex': 'a{9999}b{9999}'}}",
         ".capture.x.regex: regex \"a{9999}b{9999}\": repetition counts "
         "expand it to more than 10000 elements"},
        {"{'x': {'regex': '(ab|c{5000}){2}'}}",
         ".capture.x.regex: regex \"(ab|c{5000}){2}\": repetition counts "
         "expand"},
        {"{'x': {'regex': 'a{1,}{1e999}'}}",
         ".capture.x.regex: regex \"a{1,}{1e999}\": repetition counts "
         "expand"},
        {"{'x': {'regex': '(a*)*\\\\1b'}}",
         ".capture.x.regex: regex \"(a*)*\\1b\": back-references"},
    };
    for (size_t i = 0; i < sizeof captures / sizeof captures[0]; i++) {
        char task[256];
        snprintf(task, sizeof task, "{'path': '/', 'capture': %s}",
                 captures[i].capture);
        s_check_task_error(verbose, task, AT(captures[i].suffix), NULL);
    }
    // Regexes are limited in all too: each "x{9999}" is 9999 elements,
    // ten fit in a scenario's 100000 and the eleventh does not.
    {
        apex_buf_t task;
        apex_buf_init(&task);
        apex_buf_puts(&task, "{'path': '/', 'capture': {");
        for (int i = 0; i < 11; i++)
            apex_buf_printf(&task, "%s'v%d': {'regex': 'x{9999}'}",
                            i ? ", " : "", i);
        apex_buf_puts(&task, "}}");
        s_check_task_error(verbose, apex_buf_str(&task),
                           AT(".capture.v10.regex: regex \"x{9999}\": the "
                              "scenario's regexes expand to more than 100000 "
                              "elements in all"),
                           NULL);
        apex_buf_fini(&task);
    }

    // Templates.
    struct {
        const char *task, *suffix;
    } templates[] = {
        {"{'path': '/a/${id'}", ".path: unterminated \"${\" in \"/a/${id\""},
        {"{'path': '/a/${'}", ".path: unterminated"},
        {"{'path': '/a/${x:-y'}", ".path: unterminated"},
        {"{'path': '/a/${x:-${y:-z}'}", ".path: unterminated"},
        {"{'path': '/', 'json': {'a': '${b'}}", ".json: unterminated"},
        {"{'path': '/', 'json': {'a': '${b:-', 'c': '}'}}",
         ".json: unterminated"},
        {"{'path': '/', 'json': ['${uuid(', ')}']}", ".json: unterminated"},
        {"{'path': '/', 'body': '${}'}", ".body: expected a name after"},
        {"{'path': '/', 'body': '${1a}'}", ".body: expected a name after"},
        {"{'path': '/', 'body': '${a b}'}",
         ".body: expected \"}\", \":-\", \":+\" or \"(\" after \"${a\""},
        {"{'path': '/', 'body': '${foo()}'}",
         ".body: unknown function \"foo()\""},
        {"{'path': '/', 'query': {'q': '${random_int(5,1)}'}}",
         ".query.q: random_int(5,1): min is greater than max"},
        {"{'path': '/', 'body': '${random_int(1)}'}",
         ".body: random_int(1): expected 2 integer arguments"},
        {"{'path': '/', 'body': '${random_int(1,2,)}'}",
         ".body: random_int(1,2,): expected 2"},
        {"{'path': '/', 'body': '${random_int(a,b)}'}",
         ".body: random_int(a,b): expected 2"},
        {"{'path': '/', 'body': '${random_int(1,99999999999999999999)}'}",
         ".body: random_int("},
        {"{'path': '/', 'body': '${uuid(1)}'}",
         ".body: uuid(1): expected 0 integer arguments"},
        {"{'path': '/', 'body': '${random_string(0)}'}",
         ".body: random_string(0): expected a length from 1 to 1024"},
        {"{'path': '/', 'body': '${random_string(1025)}'}",
         ".body: random_string(1025)"},
        {"{'path': '/', 'body': '${now_ms(}'}", ".body: expected \")}\""},
        {"{'path': '/', 'body': '${now_ms()'}", ".body: unterminated"},
        {"{'path': '/', 'headers': {'A': '${x:+${uuid(}}'}}",
         ".headers.A: expected \")}\""},
        {"{'path': '/', 'body': "
         "'${a:-${a:-${a:-${a:-${a:-${a:-${a:-${a:-${a:-${a:-${a:-${a:-${a:-"
         "${a:-${a:-${a:-${a:-x}}}}}}}}}}}}}}}}}'}",
         ".body: placeholders nested too deeply"},
    };
    for (size_t i = 0; i < sizeof templates / sizeof templates[0]; i++)
        s_check_task_error(verbose, templates[i].task, AT(templates[i].suffix),
                           NULL);
#undef AT

    // More capture variables than the slot table holds.
    apex_buf_t doc;
    apex_buf_init(&doc);
    apex_buf_puts(&doc, "{'users': [{'name': 'U', 'tasks': [{'path': '/', "
                        "'capture': {");
    for (int i = 0; i <= APEX_SCENARIO_MAX_VARS; i++)
        apex_buf_printf(&doc, "%s'v%d': '$.a'", i ? ", " : "", i);
    apex_buf_puts(&doc, "}}]}]}");
    s_check_error(verbose, apex_buf_str(&doc),
                  "apex.json: $.users[0].tasks[0].capture.v256: more than "
                  "256 capture variables",
                  NULL);
    apex_buf_fini(&doc);

    // No error buffer: still NULL, no crash.
    CHECK(apex_scenario_parse("[]", 2, NULL, NULL) == NULL);
}

static void s_test_load(bool verbose)
{
    apex_error_t err = {""};
    CHECK(apex_scenario_load("/nonexistent/apex.json", &err) == NULL);
    CHECK_STR(err.msg, "/nonexistent/apex.json: cannot read: No such file "
                       "or directory");

    char dir[] = "/tmp/apex-scenario-XXXXXX";
    CHECK(mkdtemp(dir));
    CHECK(apex_scenario_load(dir, &err) == NULL);
    CHECK(strstr(err.msg, ": cannot read: Is a directory"));

    char path[sizeof dir + 16];
    snprintf(path, sizeof path, "%s/apex.json", dir);
    const char *good = "{\"users\": [{\"name\": \"L\", \"tasks\": "
                       "[{\"path\": \"/\"}]}]}";
    FILE *f = fopen(path, "w");
    CHECK(f);
    fputs(good, f);
    fclose(f);
    apex_scenario_t *sc = apex_scenario_load(path, &err);
    CHECK(sc);
    CHECK_STR(sc->origin, path);
    CHECK_STR(sc->users[0].name, "L");
    apex_scenario_destroy(&sc);

    f = fopen(path, "w");
    CHECK(f);
    fputs("{\"users\": 1}", f);
    fclose(f);
    CHECK(apex_scenario_load(path, &err) == NULL);
    CHECK(strncmp(err.msg, path, strlen(path)) == 0);
    CHECK(strstr(err.msg, ": $.users: "));
    if (verbose)
        printf("  %s\n", err.msg);

    int fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0);
    CHECK_EQ(ftruncate(fd, (off_t)APEX_SCENARIO_MAX_BYTES + 1), 0);
    close(fd);
    CHECK(apex_scenario_load(path, &err) == NULL);
    CHECK(strstr(err.msg, "too large"));
    if (verbose)
        printf("  %s\n", err.msg);

    CHECK_EQ(unlink(path), 0);
    CHECK_EQ(rmdir(dir), 0);
}

void test_scenario(bool verbose)
{
    s_test_model();
    s_test_templates();
    s_test_env_object();
    s_test_wire();
    s_test_captures();
    s_test_errors(verbose);
    s_test_load(verbose);

    apex_scenario_t *sc = NULL;
    apex_scenario_destroy(&sc); // NULL is fine
    CHECK(sc == NULL);
}
