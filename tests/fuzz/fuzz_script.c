// tests/fuzz/fuzz_script.c - scripted user classes on any input: the
// first byte picks what the rest is.
//
//  - even: the text of a Lua script, defined as the scenario loader does
//    (common/script.h) in the sandbox (common/lua_sandbox.h): it must
//    compile, run its top level within the memory cap and instruction
//    budget, and give a class, or fail with a message; a class read has
//    1..APEX_SCRIPT_MAX_TASKS tasks with names and weights in range.
//  - odd: JSON text for apex.json (common/lua_json.h): decoded into Lua,
//    encoded, decoded and encoded again: the two encodings must be the
//    same text (the mapping is stable), and neither may fail.
#include <string.h>

#include "common/lua_json.h"
#include "common/lua_sandbox.h"
#include "common/script.h"
#include "tests/fuzz/fuzz.h"

static int s_env(void *arg, const char *name, const char **value,
                 apex_error_t *err)
{
    (void)arg;
    (void)err;
    *value = strcmp(name, "API_URL") == 0 ? "http://127.0.0.1:8080" : NULL;
    return 0;
}

static void s_script(const char *text, size_t len)
{
    uint64_t rng = 0x9E3779B97F4A7C15ULL;
    apex_script_host_t host = {.env = s_env, .rng = &rng};
    apex_script_t s = {0};
    apex_error_t err = {""};
    if (apex_script_define(&s, "fuzz.lua", text, len, &host, &err) == 0) {
        FUZZ_CHECK(s.ntasks >= 1 && s.ntasks <= APEX_SCRIPT_MAX_TASKS, "%zu",
                   s.ntasks);
        for (size_t i = 0; i < s.ntasks; i++)
            FUZZ_CHECK(s.tasks[i].name && s.tasks[i].weight >= 1 &&
                           s.tasks[i].weight <= APEX_SCRIPT_MAX_WEIGHT,
                       "task %zu", i);
    } else {
        FUZZ_CHECK(err.msg[0], "a failure says why");
    }
    apex_script_fini(&s);
}

// Encode the value at the top (popped) into a new string, or NULL.
static char *s_encode(lua_State *L)
{
    apex_error_t err = {""};
    json_t *v = apex_lua_json_from(L, -1, &err);
    lua_pop(L, 1);
    FUZZ_CHECK(v, "a decoded value encodes: %s", err.msg);
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
    json_decref(v);
    return text;
}

static void s_json(const char *text, size_t len)
{
    apex_error_t err = {""};
    apex_lua_t *sb = apex_lua_new(&err);
    FUZZ_CHECK(sb, "%s", err.msg);
    lua_State *L = apex_lua_state(sb);
    apex_lua_json_open(L);
    lua_pop(L, 1);
    if (apex_lua_json_decode(L, text, len, &err) == 0) {
        char *once = s_encode(L);
        FUZZ_CHECK(apex_lua_json_decode(L, once, strlen(once), &err) == 0,
                   "our own text decodes: %s", err.msg);
        char *twice = s_encode(L);
        FUZZ_CHECK(strcmp(once, twice) == 0, "stable: %s / %s", once, twice);
        free(once);
        free(twice);
    }
    apex_lua_destroy(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *text = apex_calloc(1, size);
    memcpy(text, data + 1, size - 1);
    if (data[0] % 2 == 0)
        s_script(text, size - 1);
    else
        s_json(text, size - 1);
    free(text);
    return 0;
}
