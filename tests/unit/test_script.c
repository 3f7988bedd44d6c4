// tests/unit/test_script.c - scripted user classes (common/script.c,
// common/scenario_script.c) on the sandbox (common/lua_sandbox.c): a
// class read from its script (tasks, weights, tags, wait time, hooks),
// the scenario's form ("script", "source" in the wire text, the reserved
// variables, run_tasks), compile and definition errors with file and
// line, and the sandbox refusing what reaches outside the state.
#include "tests/unit/scenario_check.h"
#include "tests/unit/tests.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/lua_sandbox.h"
#include "common/script.h"

static const char s_shop[] =
    "local S = apex.user{wait_time = apex.between(0.5, 2)}\n"
    "local base = apex.env('APEX_T_SCRIPT_URL', '/x')\n"
    "function S:on_start() self.n = 0 end\n"
    "S:task('browse', 3, function(self) end)\n"
    "S:task('buy', {weight = 2, tags = {'checkout', 'slow'}},\n"
    "       function(self) end)\n"
    "return S\n";

static int s_env(void *arg, const char *name, const char **value,
                 apex_error_t *err)
{
    (void)arg;
    (void)err;
    *value = strcmp(name, "APEX_T_SCRIPT_URL") == 0 ? "/env" : NULL;
    return 0;
}

static int s_define(const char *src, apex_script_t *s, apex_error_t *err)
{
    uint64_t rng = CHECK_SEED;
    apex_script_host_t host = {.env = s_env, .rng = &rng};
    return apex_script_define(s, "shop.lua", src, strlen(src), &host, err);
}

static void s_test_define(void)
{
    apex_script_t s = {0};
    apex_error_t err = {""};
    CHECK_EQ(s_define(s_shop, &s, &err), 0);
    CHECK_EQ(s.ntasks, 2);
    CHECK_STR(s.tasks[0].name, "browse");
    CHECK_EQ(s.tasks[0].weight, 3);
    CHECK_EQ(s.tasks[0].ntags, 0);
    CHECK_EQ(s.tasks[1].weight, 2);
    CHECK_EQ(s.tasks[1].ntags, 2);
    CHECK_STR(s.tasks[1].tags[1], "slow");
    CHECK(s.wait.given);
    CHECK_EQ(s.wait.kind, APEX_WAIT_BETWEEN);
    CHECK(s.wait.a == 0.5 && s.wait.b == 2);
    CHECK(s.has_on_start && !s.has_on_stop);
    CHECK_STR(s.file, "shop.lua");
    apex_script_fini(&s);
    apex_script_fini(&s); // safe twice
    // Without a return: the one class it made.
    CHECK_EQ(s_define("local U = apex.user()\n"
                      "U:task('t', nil, function() end)\n",
                      &s, &err),
             0);
    CHECK_EQ(s.tasks[0].weight, 1);
    CHECK(!s.wait.given);
    apex_script_fini(&s);
}

// src must fail to define with a message containing want.
static void s_bad(bool verbose, const char *src, const char *want)
{
    apex_script_t s = {0};
    apex_error_t err = {""};
    CHECK_EQ(s_define(src, &s, &err), -1);
    if (verbose || !strstr(err.msg, want))
        printf("  %s\n  (want %s)\n", err.msg, want);
    CHECK(strstr(err.msg, want));
    apex_script_fini(&s);
}

static void s_test_errors(bool verbose)
{
    s_bad(verbose, "local U = apex.user()\nU:task('a' 1)\n",
          "shop.lua:2: ')' expected");
    s_bad(verbose, "local x = nil\n\nlocal y = x.field\n",
          "shop.lua:3: attempt to index");
    s_bad(verbose, "return 1\n", "shop.lua: defines no user class");
    s_bad(verbose, "apex.user() apex.user()\n", "defines 2 user classes");
    s_bad(verbose, "return apex.user()\n", "shop.lua: defines no task");
    s_bad(verbose, "local U = apex.user()\nU:task('a', 0, function() end)\n",
          "shop.lua:2: task weight: expected an integer from 1 to 10000");
    s_bad(verbose,
          "local U = apex.user()\nU:task('a', 1, print)\n"
          "U:task('a', 1, print)\n",
          "shop.lua:3: task 'a' is defined twice");
    s_bad(verbose,
          "local U = apex.user{wait_time = 3}\n"
          "U:task('a', 1, print) return U\n",
          "wait_time: expected apex.between");
    s_bad(verbose, "apex.between(2, 1)\n", "shop.lua:1: apex.between");
#ifndef APEX_LUAJIT // LuaJIT's compiled loops do not count instructions
    s_bad(verbose, "while true do end\n", "script ran too long");
#endif
    s_bad(verbose,
          "local t = {} while true do t[#t + 1] = ('x'):rep(1e6) .. #t end",
          "not enough memory");
}

// Each line must fail in the sandbox with a message containing "nil".
static void s_test_sandbox(bool verbose)
{
    static const char *const refused[] = {
        "os.execute('true')",      "io.popen('id')",
        "io.open('/tmp/x', 'w')",  "require('os')",
        "loadfile('/etc/passwd')", "dofile('/etc/passwd')",
        "load('return 1')",        "string.dump(print)",
        "debug.getregistry()",     "package.loadlib('libc.so.6', 'system')",
        "collectgarbage('stop')",  "os.remove('/tmp/x')",
        "os.getenv('HOME')",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char src[256];
        snprintf(src, sizeof src,
                 "local U = apex.user()\nU:task('t', 1, print)\n%s\n",
                 refused[i]);
        s_bad(verbose, src, "shop.lua:3: attempt to");
    }
    // Bytecode is refused before it runs.
    apex_error_t err = {""};
    apex_lua_t *sb = apex_lua_new(&err);
    CHECK(sb);
    lua_State *L = apex_lua_state(sb);
    CHECK_EQ(apex_lua_load(L, "\x1bLua", 4, "b.lua", &err), -1);
    if (verbose)
        printf("  %s\n", err.msg);
#ifndef APEX_LUAJIT // its message names the mode only
    CHECK(strstr(err.msg, "binary"));
#endif
    CHECK_EQ(apex_lua_load(L, "a\0b", 3, "n.lua", &err), -1);
    CHECK(strstr(err.msg, "NUL"));
    CHECK(apex_lua_memory(sb) > 0);
    CHECK(strstr(apex_lua_version(), "Lua"));
    // What stays: os.time, string, table, math.
    const char *ok = "return os.time() > 0 and #string.rep('a', 3) == 3"
                     " and math.max(1, 2) == 2";
    CHECK_EQ(apex_lua_load(L, ok, strlen(ok), "ok.lua", &err), 0);
    CHECK_EQ(lua_pcall(L, 0, 1, 0), LUA_OK);
    CHECK(lua_toboolean(L, -1));
    apex_lua_destroy(&sb);
    apex_lua_destroy(&sb);
    CHECK(sb == NULL);
}

static void s_test_scenario(bool verbose)
{
    char *doc =
        apex_sprintf("{'headers': {'X-A': 'b'}, 'users': ["
                     "{'name': 'Shop', 'script': 'shop.lua', 'source': '%s',"
                     " 'weight': 3},"
                     "{'name': 'J', 'tasks': [{'path': '/j'}]}]}",
                     "local S = apex.user{wait_time = apex.constant(1)}\\n"
                     "S:task(\\'a\\', 2, print) S:task(\\'b\\', 1, print)\\n"
                     "apex.env(\\'APEX_T_SCRIPT_ENV\\')\\n"
                     "return S");
    setenv("APEX_T_SCRIPT_ENV", "v1", 1);
    apex_error_t err = {""};
    apex_scenario_t *sc = check_scenario_parse(doc, &err);
    if (!sc)
        printf("  %s\n", err.msg);
    CHECK(sc);
    const apex_user_class_t *u = apex_scenario_find_user(sc, "Shop");
    CHECK(u && u->script);
    CHECK_EQ(u->ntasks, 2);
    CHECK_EQ(u->npick, 3);
    CHECK_EQ(u->tasks[0].nsteps, 0);
    CHECK_EQ(u->wait.kind, APEX_WAIT_CONSTANT);
    CHECK(u->wait.a == 1);
    CHECK(sc->scripts);
    CHECK_STR(sc->vars[sc->scripts->url_slot], "_lua_url");
    CHECK_STR(sc->vars[sc->scripts->header_slot + 15], "_lua_h15");
    CHECK_EQ(sc->scripts->nheaders, 1);
    CHECK_EQ(sc->scripts->nenv, 1);
    CHECK_STR(sc->scripts->env_values[0], "v1");
    CHECK(strstr(sc->wire, "\"APEX_T_SCRIPT_ENV\": \"v1\"") ||
          strstr(sc->wire, "\"APEX_T_SCRIPT_ENV\":\"v1\""));
    // The wire text parses alone, without the environment.
    unsetenv("APEX_T_SCRIPT_ENV");
    apex_scenario_t *again =
        apex_scenario_parse_wire(sc->wire, strlen(sc->wire), "w", &err);
    CHECK(again && again->scripts);
    CHECK_STR(again->scripts->env_values[0], "v1");
    apex_scenario_destroy(&again);
    // --tags keep the tasks that pass, by name.
    const char *only[] = {"none"};
    apex_tag_filter_t f = {.tags = only, .ntags = 1};
    char *dropped = NULL;
    CHECK(apex_scenario_filter(sc, &f, &dropped, &err) == NULL);
    apex_scenario_destroy(&sc);
    free(doc);

    check_user_error(verbose,
                     "'name': 'S', 'script': 'a.lua', 'source': 'return 1', "
                     "'tasks': []",
                     "apex.json: $.users[0].tasks: a scripted class", NULL);
    check_user_error(verbose,
                     "'name': 'S', 'script': 'a.lua', 'source': 'x = = 1'",
                     "apex.json: a.lua:1: unexpected symbol", NULL);
    check_user_error(verbose, "'name': 'S', 'script': 'nowhere.lua'",
                     "apex.json: $.users[0].script: cannot read scripts "
                     "here",
                     NULL);
    check_user_error(verbose, "'name': 'S', 'script': 7",
                     "apex.json: $.users[0].script: expected a Lua file "
                     "name",
                     NULL);
}

void test_script(bool verbose)
{
    s_test_define();
    s_test_errors(verbose);
    s_test_sandbox(verbose);
    s_test_scenario(verbose);
}
