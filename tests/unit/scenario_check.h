// tests/unit/scenario_check.h - what the tests of the scenario modules
// share (test_scenario.c, test_scenario_http.c, test_template.c,
// test_capture.c, ...): documents written with ' for ", rejected
// documents and their messages, and lookups into a parsed model.
#ifndef APEX_SCENARIO_CHECK_H
#define APEX_SCENARIO_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/scenario.h"

#define CHECK_SEED 0x9E3779B97F4A7C15ULL // any non-zero PRNG state

// A document with every feature of the format (five user classes, all
// kinds of waits, tasks, steps, captures and templates); it reads the
// environment variables APEX_T_URL, APEX_T_TOKEN, APEX_T_UNSET and
// APEX_T_USER.
extern const char check_full_scenario[];

// check_full_scenario parsed with APEX_T_URL=http://10.0.0.5:8080,
// APEX_T_TOKEN=secret and the two others unset (fails the test if it
// does not parse).
apex_scenario_t *check_full_parse(void);

// Parse a document written with ' for " (\' is a '), origin "apex.json".
apex_scenario_t *check_scenario_parse(const char *text, apex_error_t *err);

// The document must be rejected with a message starting with prefix
// ("apex.json: $.path: ...") and containing also (when not NULL).
void check_scenario_error(bool verbose, const char *text, const char *prefix,
                          const char *also);

// The same for a document with one user class whose single task is the
// given JSON.
void check_task_error(bool verbose, const char *task, const char *prefix,
                      const char *also);

// The same for a document with one user class of the given members.
void check_user_error(bool verbose, const char *members, const char *prefix,
                      const char *also);

// The slot of capture variable name (fails the test when there is none).
size_t check_slot(const apex_scenario_t *sc, const char *name);

// The header called name (any case) of an HTTP step, or NULL.
const apex_header_t *check_header(const apex_step_t *step, const char *name);

// Expand t with vars into a new string the caller frees.
char *check_expand(const apex_template_t *t, const char *const *vars,
                   uint64_t *rng);

// True for a lower-case version-4 UUID.
bool check_is_uuid4(const char *s);

// Free and clear n variables.
void check_free_vars(char **vars, size_t n);

#define CHECK_EXPAND(t, vars, rng, expected)                                   \
    do {                                                                       \
        char *check_text_ = check_expand((t), (vars), (rng));                  \
        CHECK_STR(check_text_, (expected));                                    \
        free(check_text_);                                                     \
    } while (0)

#endif
