// tests/unit/test_scenario_tags.c - "tags" on tasks and user classes
// (common/scenario_tags.c): the key's checks with their JSON paths, and
// apex_scenario_filter with Locust's rules for --tags and --exclude-tags:
// a class's tags count for each of its tasks, classes left without tasks
// are dropped and named, nothing left is an error naming the options, and
// the filtered wire text parses to the same tasks on a worker.
#include "tests/unit/scenario_check.h"
#include "tests/unit/tests.h"

#include <stdlib.h>
#include <string.h>

static const char s_doc[] =
    "{'users': ["
    " {'name': 'Reader', 'tags': ['read'], 'tasks': ["
    "  {'name': 'list', 'request': {'path': '/list'}},"
    "  {'name': 'slow', 'tags': ['slow'], 'request': {'path': '/slow'}}]},"
    " {'name': 'Writer', 'tasks': ["
    "  {'name': 'create', 'tags': ['write', 'api'],"
    "   'request': {'method': 'POST', 'path': '/create'}},"
    "  {'path': '/untagged', 'task': 'plain'},"
    "  {'path': '/tagged', 'task': 'short', 'tags': ['api']}]}]}";

// The task names of class name in sc, joined by ',' ("" when absent).
static void s_tasks(const apex_scenario_t *sc, const char *name, char *out,
                    size_t size)
{
    out[0] = '\0';
    const apex_user_class_t *u = apex_scenario_find_user(sc, name);
    for (size_t i = 0; u && i < u->ntasks; i++)
        snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? "," : "",
                 u->tasks[i].name);
}

typedef struct {
    const char *tags;    // space-separated, or NULL
    const char *exclude; // space-separated, or NULL
    const char *reader;  // Reader's tasks left ("" dropped)
    const char *writer;  // Writer's tasks left
    const char *dropped; // *dropped, or NULL
} s_case_t;

static const s_case_t s_cases[] = {
    {"read", NULL, "list,slow", "", "Writer"},
    {"slow", NULL, "slow", "", "Writer"},
    {"api", NULL, "", "create,short", "Reader"},
    {"slow write", NULL, "slow", "create", NULL},
    {NULL, "slow", "list", "create,plain,short", NULL},
    {NULL, "read", "", "create,plain,short", "Reader"},
    {"api", "write", "", "short", "Reader"},
    {NULL, "nothing", "list,slow", "create,plain,short", NULL},
};

// Split a space-separated list into words (in buf).
static size_t s_words(const char *text, char *buf, size_t size,
                      const char **words, size_t max)
{
    snprintf(buf, size, "%s", text);
    size_t n = 0;
    for (char *save = NULL, *w = strtok_r(buf, " ", &save); w && n < max;
         w = strtok_r(NULL, " ", &save))
        words[n++] = w;
    return n;
}

static void s_test_filter(const apex_scenario_t *sc, const s_case_t *c)
{
    char tbuf[64], ebuf[64], got[128];
    const char *tags[4], *exclude[4];
    apex_tag_filter_t f = {0};
    if (c->tags) {
        f.ntags = s_words(c->tags, tbuf, sizeof tbuf, tags, 4);
        f.tags = tags;
    }
    if (c->exclude) {
        f.nexclude = s_words(c->exclude, ebuf, sizeof ebuf, exclude, 4);
        f.exclude = exclude;
    }
    apex_error_t err = {""};
    char *dropped = NULL;
    apex_scenario_t *out = apex_scenario_filter(sc, &f, &dropped, &err);
    if (!out)
        printf("  %s\n", err.msg);
    CHECK(out != NULL);
    s_tasks(out, "Reader", got, sizeof got);
    CHECK_STR(got, c->reader);
    s_tasks(out, "Writer", got, sizeof got);
    CHECK_STR(got, c->writer);
    if (c->dropped)
        CHECK_STR(dropped ? dropped : "(none)", c->dropped);
    else
        CHECK(dropped == NULL);
    CHECK_EQ(out->nusers, (size_t)(c->dropped ? 1 : 2));
    // What a worker gets parses to the same tasks: no filter there.
    apex_scenario_t *again =
        apex_scenario_parse(out->wire, strlen(out->wire), "wire", &err);
    CHECK(again != NULL);
    s_tasks(again, "Writer", got, sizeof got);
    CHECK_STR(got, c->writer);
    apex_scenario_destroy(&again);
    apex_scenario_destroy(&out);
    free(dropped);
}

static void s_test_nothing_left(const apex_scenario_t *sc)
{
    const char *tags[] = {"nope", "none"};
    const char *exclude[] = {"x"};
    apex_tag_filter_t f = {tags, 2, exclude, 1};
    apex_error_t err = {""};
    char *dropped = (char *)"untouched";
    CHECK(apex_scenario_filter(sc, &f, &dropped, &err) == NULL);
    CHECK(dropped == NULL);
    CHECK_STR(err.msg, "apex.json: no task is left after --tags nope none "
                       "--exclude-tags x (tasks and user classes take "
                       "\"tags\": [\"name\", ...])");
}

void test_scenario_tags(bool verbose)
{
    apex_error_t err = {""};
    apex_scenario_t *sc = check_scenario_parse(s_doc, &err);
    if (!sc)
        printf("  %s\n", err.msg);
    CHECK(sc != NULL);
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases[0]; i++)
        s_test_filter(sc, &s_cases[i]);
    s_test_nothing_left(sc);
    apex_scenario_destroy(&sc);

    check_user_error(verbose,
                     "'name': 'U', 'tags': 'read', 'tasks': "
                     "[{'path': '/'}]",
                     "apex.json: $.users[0].tags: expected an array of tag "
                     "names",
                     "got \"read\"");
    check_task_error(verbose, "{'request': {'path': '/'}, 'tags': ['a', '']}",
                     "apex.json: $.users[0].tasks[0].tags[1]: expected a "
                     "non-empty string",
                     NULL);
    check_task_error(verbose, "{'path': '/', 'tags': [1]}",
                     "apex.json: $.users[0].tasks[0].tags[0]: expected a "
                     "non-empty string",
                     "got 1");
    check_task_error(verbose, "{'path': '/', 'tag': ['a']}",
                     "apex.json: $.users[0].tasks[0].tag: unknown key", NULL);
}
