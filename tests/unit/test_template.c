// tests/unit/test_template.c - templates (common/template.c): the
// compiler on its own with a scope of made-up variables and environment
// (constants, leads, display text, JSON mode, copies, every error), and
// through the scenario loader: user variables with defaults and
// alternatives, environment folding, escaping in JSON bodies, the
// functions (uuid, random_int, random_string, now_ms), and the message,
// with its JSON path, of every kind of bad placeholder.
#include "tests/unit/scenario_check.h"
#include "tests/unit/tests.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/buf.h"

#define S_T0 "apex.json: $.users[0].tasks[0]"
#define S_TASK_MAX 256  // a task built for one check
#define S_DRAWS 10000   // draws for distribution checks
#define S_SIGN_DRAWS 64 // draws of the full 64-bit range
#define S_STRING_DRAWS 100
#define S_STRING_LEN 12 // random_string(12)
#define S_INT_SPAN 7    // random_int(-3, 3) takes 7 values
#define S_MSEC_PER_SEC 1000LL
#define S_NSEC_PER_MSEC 1000000L

// A made-up scope: user variables a (slot 0) and b (slot 1); environment
// E = "e", Q = a value needing JSON escapes, U unset, and BAD, whose
// lookup fails. It counts the environment lookups.
typedef struct {
    int env_lookups; // lookups so far
} s_scope_t;

static long s_var_slot(void *arg, const char *name, size_t len)
{
    (void)arg;
    if (len == 1 && (name[0] == 'a' || name[0] == 'b'))
        return name[0] - 'a';
    return -1;
}

static int s_env(void *arg, const char *name, size_t len, const char **value,
                 apex_error_t *err)
{
    s_scope_t *scope = arg;
    scope->env_lookups++;
    *value = NULL;
    if (len == 1 && name[0] == 'E')
        *value = "e";
    else if (len == 1 && name[0] == 'Q')
        *value = "say \"hi\"\\";
    else if (len == 3 && strncmp(name, "BAD", 3) == 0)
        return apex_error_set(err, "BAD is bad");
    return 0;
}

static apex_template_t *s_compile(const char *src, bool json, s_scope_t *scope,
                                  apex_error_t *err)
{
    apex_template_scope_t sc = {
        .var_slot = s_var_slot, .env = s_env, .arg = scope};
    return apex_template_compile(src, json, &sc, err);
}

// src must compile to a constant template expanding to expected.
static void s_check_constant(const char *src, bool json, const char *expected)
{
    s_scope_t scope = {0};
    apex_error_t err = {""};
    apex_template_t *t = s_compile(src, json, &scope, &err);
    CHECK(t);
    CHECK_STR(apex_template_constant(t), expected);
    CHECK_STR(apex_template_lead(t), expected);
    CHECK_EXPAND(t, NULL, NULL, expected);
    apex_buf_t out;
    apex_buf_init(&out);
    apex_template_expand(t, NULL, &out); // a constant needs no context
    CHECK_STR(apex_buf_str(&out), expected);
    apex_buf_fini(&out);
    apex_template_destroy(&t);
}

// src must fail to compile with exactly message.
static void s_check_compile_error(const char *src, bool json,
                                  const char *message)
{
    s_scope_t scope = {0};
    apex_error_t err = {""};
    apex_template_t *t = s_compile(src, json, &scope, &err);
    if (t || strcmp(err.msg, message) != 0)
        fprintf(stderr, "template: %s\nmessage:  %s\nexpected: %s\n", src,
                err.msg, message);
    CHECK(t == NULL);
    CHECK_STR(err.msg, message);
}

static void s_test_compile(void)
{
    s_check_constant("", false, "");
    s_check_constant("plain $ text $$ and $x", false, "plain $ text $ and $x");
    s_check_constant("<${E}|${U:-}|${U:-d}|${E:+alt}|${U:+alt}>", false,
                     "<e||d|alt|>");
    s_check_constant("${Q}", false, "say \"hi\"\\");
    s_check_constant("{\"k\":\"${Q}\"}", true,
                     "{\"k\":\"say \\\"hi\\\"\\\\\"}");

    // Per-request placeholders: no constant; the lead is the literal
    // start, NULL when a placeholder comes first.
    s_scope_t scope = {0};
    apex_error_t err = {""};
    apex_template_t *t = s_compile("/p/${a}/${b:-${E}}", false, &scope, &err);
    CHECK(t);
    CHECK(apex_template_constant(t) == NULL);
    CHECK_STR(apex_template_lead(t), "/p/");
    CHECK_STR(apex_template_display(t), "/p/{a}/{b}");
    CHECK_EQ(scope.env_lookups, 1);
    const char *vars[] = {"A", NULL};
    uint64_t rng = CHECK_SEED;
    CHECK_EXPAND(t, vars, &rng, "/p/A/e");
    apex_template_t *copy = apex_template_dup(t);
    apex_template_destroy(&t);
    CHECK(t == NULL);
    apex_template_destroy(&t); // twice
    vars[1] = "B";
    CHECK_EXPAND(copy, vars, &rng, "/p/A/B");
    apex_template_destroy(&copy);
    CHECK(apex_template_dup(NULL) == NULL);
    t = s_compile("${random_int(1,1)}x", false, &scope, &err);
    CHECK(t && apex_template_lead(t) == NULL);
    CHECK_STR(apex_template_display(t), "{random_int(1,1)}x");
    CHECK_EXPAND(t, NULL, &rng, "1x");
    apex_template_destroy(&t);

    // A default the environment makes moot is still compiled: its
    // lookups happen and its errors count.
    scope.env_lookups = 0;
    t = s_compile("${E:-${U}}", false, &scope, &err);
    CHECK(t);
    CHECK_STR(apex_template_constant(t), "e");
    CHECK_EQ(scope.env_lookups, 2);
    apex_template_destroy(&t);

    // Names.
    CHECK(apex_template_name_start('_') && apex_template_name_start('z'));
    CHECK(!apex_template_name_start('1') && !apex_template_name_start('-'));
    CHECK(apex_template_name_char('1') && apex_template_name_char('Z'));
    CHECK(!apex_template_name_char('.') && !apex_template_name_char('\0'));
}

static void s_test_compile_errors(void)
{
    s_check_compile_error("/a/${id", false,
                          "unterminated \"${\" in \"/a/${id\"");
    s_check_compile_error("${E:-${BAD}}", false, "BAD is bad");
    s_check_compile_error("${a:-${BAD}}", false, "BAD is bad");
    s_check_compile_error("\"${a\"", true,
                          "unterminated \"${\" in \"\"${a\"\"");
    s_check_compile_error("${a b}", false,
                          "expected \"}\", \":-\", \":+\" or \"(\" after "
                          "\"${a\" in \"${a b}\"");
    s_check_compile_error("${f()}", false,
                          "unknown function \"f()\" (expected one of: "
                          "uuid(), random_int(a,b), random_string(n), "
                          "now_ms())");
    s_check_compile_error("${random_int( 1 , x )}", false,
                          "random_int( 1 , x ): expected 2 integer arguments");
    s_check_compile_error("${now_ms( )x}", false,
                          "expected \")}\" after the arguments in "
                          "\"${now_ms( )x}\"");
    // A long template is quoted up to APEX_ERROR_EXCERPT bytes.
    char src[APEX_ERROR_EXCERPT * 2];
    memset(src, 'x', sizeof src);
    memcpy(src + sizeof src - 4, "${}", 4);
    char message[APEX_ERROR_MAX];
    snprintf(message, sizeof message,
             "expected a name after \"${\" in \"%.*s\"...", APEX_ERROR_EXCERPT,
             src);
    s_check_compile_error(src, false, message);
    // Nesting: APEX_TEMPLATE_MAX_DEPTH levels of default compile, one
    // more does not (hostile input cannot exhaust the stack).
    apex_buf_t deep;
    apex_buf_init(&deep);
    for (int i = 0; i <= APEX_TEMPLATE_MAX_DEPTH; i++)
        apex_buf_puts(&deep, "${a:-");
    apex_buf_puts(&deep, "x");
    for (int i = 0; i <= APEX_TEMPLATE_MAX_DEPTH; i++)
        apex_buf_putc(&deep, '}');
    s_scope_t scope = {0};
    apex_error_t err = {""};
    apex_template_t *t =
        s_compile(apex_buf_str(&deep) + 5, false, &scope, &err);
    CHECK(t);
    apex_template_destroy(&t);
    CHECK(s_compile(apex_buf_str(&deep), false, &scope, &err) == NULL);
    CHECK(strncmp(err.msg, "placeholders nested too deeply in ", 34) == 0);
    apex_buf_fini(&deep);
}

// A scenario whose one request holds every kind of placeholder.
static apex_scenario_t *s_parse_placeholders(void)
{
    setenv("APEX_T_TOKEN", "secret", 1);
    unsetenv("APEX_T_UNSET");
    setenv("APEX_T_QUOTE", "say \"hi\"\\", 1);
    apex_error_t err = {""};
    apex_scenario_t *sc = check_scenario_parse(
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
        "  'H-Unset': '<${APEX_T_UNSET:-}>',"
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
    return sc;
}

static void s_test_placeholders(void)
{
    apex_scenario_t *sc = s_parse_placeholders();
    const apex_step_t *r = &sc->users[0].tasks[0].steps[0];
    const char *vars[APEX_SCENARIO_MAX_VARS] = {NULL};
    size_t a = check_slot(sc, "a"), b = check_slot(sc, "b");
    uint64_t rng = CHECK_SEED;
#define H(name) (check_header(r, name)->value)

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
    char *body = check_expand(r->http->body, vars, &rng);
    json_t *doc = json_loads(body, 0, NULL);
    CHECK(doc);
    CHECK_STR(json_string_value(json_object_get(doc, "q")), "say \"hi\"\\");
    CHECK_STR(json_string_value(json_object_get(doc, "a")), "say \"hi\"\\");
    CHECK_STR(json_string_value(json_object_get(doc, "d")), "x\"y\\z");
    CHECK_STR(json_string_value(json_object_get(doc, "e")), "\\");
    json_decref(doc);
    free(body);
#undef H
    apex_scenario_destroy(&sc);
}

static void s_test_functions(void)
{
    apex_scenario_t *sc = s_parse_placeholders();
    const apex_step_t *r = &sc->users[0].tasks[0].steps[0];
    const char *vars[APEX_SCENARIO_MAX_VARS] = {NULL};
    uint64_t rng = CHECK_SEED;
#define H(name) (check_header(r, name)->value)
    char *u1 = check_expand(H("H-Uuid"), vars, &rng);
    char *u2 = check_expand(H("H-Uuid"), vars, &rng);
    CHECK(check_is_uuid4(u1) && check_is_uuid4(u2));
    CHECK(strcmp(u1, u2) != 0);
    free(u1);
    free(u2);
    CHECK_STR(apex_template_display(H("H-Uuid")), "{uuid()}");
    CHECK_STR(apex_template_display(H("H-Int")), "{random_int(-3,3)}");
    bool seen[S_INT_SPAN] = {false};
    for (int i = 0; i < S_DRAWS; i++) {
        char *text = check_expand(H("H-Int"), vars, &rng);
        long v = strtol(text, NULL, 10);
        free(text);
        CHECK(v >= -3 && v <= 3);
        seen[v + 3] = true;
    }
    for (int i = 0; i < S_INT_SPAN; i++)
        CHECK(seen[i]);
    bool negative = false, positive = false;
    for (int i = 0; i < S_SIGN_DRAWS; i++) {
        char *text = check_expand(H("H-Big"), vars, &rng);
        negative = negative || text[0] == '-';
        positive = positive || text[0] != '-';
        free(text);
    }
    CHECK(negative && positive);
    for (int i = 0; i < S_STRING_DRAWS; i++) {
        char *text = check_expand(H("H-Str"), vars, &rng);
        CHECK_EQ(strlen(text), S_STRING_LEN);
        for (size_t j = 0; j < S_STRING_LEN; j++)
            CHECK(isalnum((unsigned char)text[j]));
        free(text);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long before =
        (long long)ts.tv_sec * S_MSEC_PER_SEC + ts.tv_nsec / S_NSEC_PER_MSEC;
    char *now = check_expand(H("H-Now"), vars, &rng);
    clock_gettime(CLOCK_REALTIME, &ts);
    long long after =
        (long long)ts.tv_sec * S_MSEC_PER_SEC + ts.tv_nsec / S_NSEC_PER_MSEC;
    CHECK(strtoll(now, NULL, 10) >= before && strtoll(now, NULL, 10) <= after);
    free(now);
#undef H
    apex_scenario_destroy(&sc);
}

static void s_test_errors(bool verbose)
{
    const char *t0 = S_T0;
    char prefix[S_TASK_MAX];
#define AT(suffix) (snprintf(prefix, sizeof prefix, "%s%s", t0, suffix), prefix)
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
        check_task_error(verbose, templates[i].task, AT(templates[i].suffix),
                         NULL);
#undef AT
}

void test_template(bool verbose)
{
    s_test_compile();
    s_test_compile_errors();
    s_test_placeholders();
    s_test_functions();
    s_test_errors(verbose);
}
