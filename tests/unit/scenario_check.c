// tests/unit/scenario_check.c - see scenario_check.h.
#include "tests/unit/scenario_check.h"

#include <ctype.h>
#include <strings.h>

#include "common/buf.h"
#include "tests/unit/tests.h"

#define CHECK_DOC_MAX 4096       // a document built around a task or user
#define CHECK_UUID_LEN 36        // 8-4-4-4-12 hex digits and dashes
#define CHECK_UUID_VERSION_AT 14 // the version digit
#define CHECK_UUID_VARIANT_AT 19 // the variant digit

const char check_full_scenario[] =
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

apex_scenario_t *check_scenario_parse(const char *text, apex_error_t *err)
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

apex_scenario_t *check_full_parse(void)
{
    setenv("APEX_T_URL", "http://10.0.0.5:8080", 1);
    setenv("APEX_T_TOKEN", "secret", 1);
    unsetenv("APEX_T_UNSET");
    unsetenv("APEX_T_USER");
    apex_error_t err = {""};
    apex_scenario_t *sc = check_scenario_parse(check_full_scenario, &err);
    if (!sc)
        fprintf(stderr, "%s\n", err.msg);
    CHECK(sc);
    return sc;
}

void check_scenario_error(bool verbose, const char *text, const char *prefix,
                          const char *also)
{
    apex_error_t err = {""};
    apex_scenario_t *sc = check_scenario_parse(text, &err);
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

void check_task_error(bool verbose, const char *task, const char *prefix,
                      const char *also)
{
    char doc[CHECK_DOC_MAX];
    snprintf(doc, sizeof doc, "{'users': [{'name': 'U', 'tasks': [%s]}]}",
             task);
    check_scenario_error(verbose, doc, prefix, also);
}

void check_user_error(bool verbose, const char *members, const char *prefix,
                      const char *also)
{
    char doc[CHECK_DOC_MAX];
    snprintf(doc, sizeof doc, "{'users': [{%s}]}", members);
    check_scenario_error(verbose, doc, prefix, also);
}

size_t check_slot(const apex_scenario_t *sc, const char *name)
{
    for (size_t i = 0; i < sc->nvars; i++)
        if (strcmp(sc->vars[i], name) == 0)
            return i;
    fprintf(stderr, "no capture variable %s\n", name);
    CHECK(false);
    return 0;
}

const apex_header_t *check_header(const apex_step_t *step, const char *name)
{
    for (size_t i = 0; i < step->http->nheaders; i++)
        if (strcasecmp(step->http->headers[i].name, name) == 0)
            return &step->http->headers[i];
    return NULL;
}

char *check_expand(const apex_template_t *t, const char *const *vars,
                   uint64_t *rng)
{
    apex_template_ctx_t ctx = {.vars = vars, .rng = rng};
    apex_buf_t out;
    apex_buf_init(&out);
    apex_template_expand(t, &ctx, &out);
    return apex_buf_take(&out);
}

bool check_is_uuid4(const char *s)
{
    if (strlen(s) != CHECK_UUID_LEN)
        return false;
    for (size_t i = 0; i < CHECK_UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!isxdigit((unsigned char)s[i]) ||
                   isupper((unsigned char)s[i])) {
            return false;
        }
    }
    return s[CHECK_UUID_VERSION_AT] == '4' &&
           strchr("89ab", s[CHECK_UUID_VARIANT_AT]);
}

void check_free_vars(char **vars, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(vars[i]);
        vars[i] = NULL;
    }
}
