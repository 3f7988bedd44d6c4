// common/scenario_sql.c - the JSON form of an SQL step (kind
// APEX_STEP_SQL, marked by "sql"), parsed into apex_sql_step_t, and the
// "database" a document or a step names. worker/step_sql.c runs them on
// PostgreSQL, one connection per user and database:
//
//   {"sql": "SELECT id, title FROM tasks WHERE id = $1 AND status = $2",
//    "name": "task by id",          // optional: the stats name (default:
//                                   // the query, cut to 64 bytes)
//    "params": ["${task_id}", "pending", 5, null],   // optional: $1, $2..
//    "database": "postgresql://127.0.0.1:5433/apex", // optional: else
//                                                    // $.database
//    "expect_rows": 1,              // or [0, 20]: a row count to check
//    "capture": {"id": {"column": "id"},              // first row
//                "any": {"column": "id", "row": "random"}},
//    "timeout": 5}                  // seconds: statement_timeout too
//
// The SQL text is never a template: values reach the server only as
// parameters (a string param is a template, bound as text; a number,
// true or false as its text; null as SQL NULL; an array or object as
// compact JSON, a JSON-mode template, for json/jsonb parameters), so no
// value can change the statement. A "database" is a libpq connection
// string or URL with environment placeholders only
// ("${DATABASE_URL:-postgresql://127.0.0.1:5432/apex}"), checked here by
// libpq's own parser (PQconninfoParse) so a malformed one is a scenario
// error with its path, before any worker starts.
#include "common/scenario_parse.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "common/alloc.h"
#include "common/json.h"
#include "common/template.h"

#define APEX_SQL_TYPE "SQL"     // stats request type
#define APEX_SQL_NAME_MAX 64    // bytes of a default name (the query)
#define APEX_SQL_MAX_PARAMS 256 // parameters of one step

static const char *const s_keys[] = {"sql",         "name",    "params",
                                     "database",    "capture", "timeout",
                                     "expect_rows", NULL};

int apex_parse_database(apex_parser_t *p, const json_t *v, char **out)
{
    static const char what[] = "a libpq connection string or "
                               "postgresql:// URL";
    if (!json_is_string(v))
        return apex_parse_fail_got(p, v, what);
    apex_template_t *t = apex_parse_template(p, json_string_value(v), false);
    if (!t)
        return -1;
    const char *text = apex_template_constant(t);
    if (!text) {
        apex_template_destroy(&t);
        return apex_parse_fail(p, "expected a connection string with "
                                  "environment placeholders only (no "
                                  "capture variables or functions)");
    }
    char *why = NULL;
    PQconninfoOption *options = PQconninfoParse(text, &why);
    if (!options) {
        // libpq's message ends with a newline; the value itself is not
        // repeated, as it may hold a password.
        size_t n = why ? strcspn(why, "\n") : 0;
        apex_parse_fail(p, "invalid connection string: %.*s", (int)n,
                        why ? why : "out of memory");
        PQfreemem(why);
        apex_template_destroy(&t);
        return -1;
    }
    PQconninfoFree(options);
    *out = apex_strdup(text);
    apex_template_destroy(&t);
    return 0;
}

// The query: a non-empty string, taken as it is.
static int s_parse_query(apex_parser_t *p, const json_t *v, apex_sql_step_t *q)
{
    static const char what[] = "a non-empty SQL statement";
    size_t old = apex_parse_path_key(p, "sql");
    if (!json_is_string(v) || json_string_length(v) == 0)
        return apex_parse_fail_got(p, v, what);
    // jansson refuses NUL characters (\u0000) in any string.
    const char *text = json_string_value(v);
    if (strspn(text, " \t\r\n") == strlen(text))
        return apex_parse_fail_got(p, v, what);
    q->query = apex_strdup(text);
    apex_parse_path_restore(p, old);
    return 0;
}

// One parameter into q->params[i]: a template for a string, the JSON
// text of anything else, NULL for null.
static int s_parse_param(apex_parser_t *p, const json_t *v, size_t i, void *arg)
{
    apex_sql_step_t *q = arg;
    if (json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        q->params[i] = apex_parse_template(p, json_string_value(v), false);
        return q->params[i] ? 0 : -1;
    }
    char *text = json_is_array(v) || json_is_object(v)
                     ? json_dumps(v, APEX_JSON_DUMP_FLAGS)
                     : apex_json_text(v);
    if (!text)
        return apex_parse_fail(p, "cannot serialize the parameter");
    // A JSON value's strings may hold placeholders too ({"id": "${x}"}).
    q->params[i] =
        apex_parse_template(p, text, json_is_array(v) || json_is_object(v));
    free(text);
    return q->params[i] ? 0 : -1;
}

static int s_parse_params(apex_parser_t *p, const json_t *v, apex_sql_step_t *q)
{
    size_t old = apex_parse_path_key(p, "params");
    if (!json_is_array(v) || json_array_size(v) > APEX_SQL_MAX_PARAMS)
        return apex_parse_fail_got(p, v,
                                   "an array of at most 256 parameters "
                                   "($1, $2, ...)");
    q->params = apex_calloc(json_array_size(v) + 1, sizeof *q->params);
    q->nparams = json_array_size(v);
    if (apex_parse_items(p, v, s_parse_param, q) != 0)
        return -1;
    apex_parse_path_restore(p, old);
    return 0;
}

// "expect_rows": N, or [MIN, MAX].
static int s_parse_expect(apex_parser_t *p, const json_t *v, apex_sql_step_t *q)
{
    static const char what[] = "a row count (an integer >= 0) or [min, max] "
                               "with 0 <= min <= max";
    size_t old = apex_parse_path_key(p, "expect_rows");
    const json_t *lo = json_is_array(v) ? json_array_get(v, 0) : v;
    const json_t *hi = json_is_array(v) ? json_array_get(v, 1) : v;
    if ((json_is_array(v) && json_array_size(v) != 2) || !json_is_integer(lo) ||
        !json_is_integer(hi) || json_integer_value(lo) < 0 ||
        json_integer_value(lo) > json_integer_value(hi))
        return apex_parse_fail_got(p, v, what);
    q->has_expect = true;
    q->min_rows = (uint64_t)json_integer_value(lo);
    q->max_rows = (uint64_t)json_integer_value(hi);
    apex_parse_path_restore(p, old);
    return 0;
}

char *apex_sql_default_name(const char *query)
{
    char name[APEX_SQL_NAME_MAX + sizeof "..."];
    size_t len = 0;
    bool space = false;
    const char *s = query;
    for (; *s; s++) {
        if (strchr(" \t\r\n", *s)) {
            space = len > 0;
            continue;
        }
        if (len + space >= APEX_SQL_NAME_MAX)
            break;
        if (space)
            name[len++] = ' ';
        space = false;
        name[len++] = *s;
    }
    if (*s) {
        // Cut before s: drop a sequence s continues.
        if (((unsigned char)*s & 0xC0) == 0x80) {
            while (len > 0 && ((unsigned char)name[len - 1] & 0xC0) == 0x80)
                len--;
            if (len > 0)
                len--;
        }
        memcpy(name + len, "...", 3);
        len += 3;
    }
    return apex_strndup(name, len);
}

static int s_parse(apex_parser_t *p, const json_t *obj, apex_step_t *step)
{
    apex_sql_step_t *q = step->sql = apex_calloc(1, sizeof *step->sql);
    if (s_parse_query(p, json_object_get(obj, "sql"), q) != 0)
        return -1;
    json_t *v = json_object_get(obj, "params");
    if (v && s_parse_params(p, v, q) != 0)
        return -1;
    v = json_object_get(obj, "expect_rows");
    if (v && s_parse_expect(p, v, q) != 0)
        return -1;
    v = json_object_get(obj, "database");
    if (v) {
        size_t old = apex_parse_path_key(p, "database");
        if (apex_parse_database(p, v, &q->database) != 0)
            return -1;
        apex_parse_path_restore(p, old);
    } else if (p->sc->database) {
        q->database = apex_strdup(p->sc->database);
    } else {
        return apex_parse_fail_missing(p, "database",
                                       "a libpq connection string, here or "
                                       "in $.database");
    }
    char *fallback = apex_sql_default_name(q->query);
    int rc = apex_parse_step_name(p, obj, step, fallback);
    free(fallback);
    if (rc != 0)
        return -1;
    step->type = apex_strdup(APEX_SQL_TYPE);
    step->timed = true;
    return 0;
}

static void s_fini(apex_step_t *step)
{
    apex_sql_step_t *q = step->sql;
    if (!q)
        return;
    free(q->query);
    free(q->database);
    for (size_t i = 0; i < q->nparams; i++)
        apex_template_destroy(&q->params[i]);
    free(q->params);
    free(q);
    step->sql = NULL;
}

const apex_step_parser_t apex_sql_step_parser = {
    .key = "sql",
    .keys = s_keys,
    .parse = s_parse,
    .fini = s_fini,
};
