// common/scenario_tags.c - Locust's tags on a scenario: "tags": ["a", "b"]
// on a task or on a user class (then every task of the class has them),
// the check of that key for the parser, and --tags / --exclude-tags as a
// filter that makes a new scenario from the wire text of a parsed one,
// so the master sends its workers only the tasks that run.
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/scenario_parse.h"

#define S_MAX_TAGS 64     // per task or user class
#define S_MAX_TAG_LEN 128 // bytes

int apex_parse_tags(apex_parser_t *p, const json_t *obj)
{
    const json_t *v = json_object_get(obj, "tags");
    if (!v)
        return 0;
    size_t old = apex_parse_path_key(p, "tags");
    const char *what = "an array of tag names (non-empty strings)";
    if (!json_is_array(v) || json_array_size(v) > S_MAX_TAGS)
        return json_is_array(v)
                   ? apex_parse_fail(p, "%zu tags (at most %d)",
                                     json_array_size(v), S_MAX_TAGS)
                   : apex_parse_fail_got(p, v, what);
    size_t i;
    const json_t *tag;
    json_array_foreach(v, i, tag)
    {
        if (json_is_string(tag) && json_string_length(tag) > 0 &&
            json_string_length(tag) <= S_MAX_TAG_LEN)
            continue;
        apex_parse_path_index(p, i);
        return apex_parse_fail_got(p, tag,
                                   "a non-empty string of at most 128 bytes");
    }
    apex_parse_path_restore(p, old);
    return 0;
}

// True when one of the tags of node (its "tags" array) is in list.
static bool s_has_any(const json_t *node, const char *const *list, size_t n)
{
    size_t i;
    const json_t *tag;
    json_array_foreach(json_object_get(node, "tags"), i, tag)
    {
        for (size_t k = 0; k < n; k++)
            if (strcmp(json_string_value(tag), list[k]) == 0)
                return true;
    }
    return false;
}

// Whether a task of a user class runs under f (Locust's rule: with
// --tags, one of its tags must be listed; with --exclude-tags, none).
static bool s_passes(const apex_tag_filter_t *f, const json_t *user,
                     const json_t *task)
{
    bool pass = true;
    if (f->tags)
        pass = s_has_any(task, f->tags, f->ntags) ||
               s_has_any(user, f->tags, f->ntags);
    if (pass && f->exclude)
        pass = !s_has_any(task, f->exclude, f->nexclude) &&
               !s_has_any(user, f->exclude, f->nexclude);
    return pass;
}

// True when a script task's tags hold one of list.
static bool s_script_has_any(const apex_script_task_t *t,
                             const char *const *list, size_t n)
{
    for (size_t i = 0; i < t->ntags; i++)
        for (size_t k = 0; k < n; k++)
            if (strcmp(t->tags[i], list[k]) == 0)
                return true;
    return false;
}

// A scripted class: its tasks that pass, by name, as "run_tasks".
static bool s_filter_script(const apex_tag_filter_t *f, json_t *user,
                            const apex_script_t *script)
{
    json_t *run = json_array();
    for (size_t i = 0; i < script->ntasks; i++) {
        const apex_script_task_t *t = &script->tasks[i];
        bool pass = true;
        if (f->tags)
            pass = s_script_has_any(t, f->tags, f->ntags) ||
                   s_has_any(user, f->tags, f->ntags);
        if (pass && f->exclude)
            pass = !s_script_has_any(t, f->exclude, f->nexclude) &&
                   !s_has_any(user, f->exclude, f->nexclude);
        if (pass)
            json_array_append_new(run, json_string(t->name));
    }
    size_t n = json_array_size(run);
    json_object_set_new(user, "run_tasks", run);
    return n > 0;
}

// Keep the tasks of one user class that pass; false when none is left.
static bool s_filter_user(const apex_tag_filter_t *f, json_t *user,
                          const apex_scenario_t *sc)
{
    const char *name = json_string_value(json_object_get(user, "name"));
    const apex_user_class_t *cls =
        name ? apex_scenario_find_user(sc, name) : NULL;
    if (cls && cls->script)
        return s_filter_script(f, user, cls->script);
    json_t *tasks = json_object_get(user, "tasks");
    for (size_t i = json_array_size(tasks); i-- > 0;)
        if (!s_passes(f, user, json_array_get(tasks, i)))
            json_array_remove(tasks, i);
    return json_array_size(tasks) > 0;
}

// "--tags a b --exclude-tags c", for the message when nothing is left.
static void s_describe(apex_buf_t *out, const apex_tag_filter_t *f)
{
    if (f->tags) {
        apex_buf_puts(out, "--tags");
        for (size_t i = 0; i < f->ntags; i++)
            apex_buf_printf(out, " %s", f->tags[i]);
    }
    if (f->exclude) {
        apex_buf_puts(out, f->tags ? " --exclude-tags" : "--exclude-tags");
        for (size_t i = 0; i < f->nexclude; i++)
            apex_buf_printf(out, " %s", f->exclude[i]);
    }
}

// Filter the users of root; the dropped classes' names go to dropped.
// Returns how many classes are left.
static size_t s_filter_users(const apex_tag_filter_t *f, json_t *root,
                             const apex_scenario_t *sc, apex_buf_t *dropped)
{
    json_t *users = json_object_get(root, "users");
    for (size_t i = json_array_size(users); i-- > 0;) {
        json_t *user = json_array_get(users, i);
        if (s_filter_user(f, user, sc))
            continue;
        const char *name = json_string_value(json_object_get(user, "name"));
        apex_buf_printf(dropped, "%s%s", dropped->len ? ", " : "",
                        name ? name : "(unnamed)");
        json_array_remove(users, i);
    }
    return json_array_size(users);
}

apex_scenario_t *apex_scenario_filter(const apex_scenario_t *sc,
                                      const apex_tag_filter_t *f,
                                      char **dropped, apex_error_t *err)
{
    *dropped = NULL;
    json_error_t jerr;
    json_t *root = json_loads(sc->wire, 0, &jerr);
    if (!root) {
        apex_error_set(err, "%s: %s", sc->origin, jerr.text);
        return NULL;
    }
    apex_buf_t names;
    apex_buf_init(&names);
    apex_scenario_t *out = NULL;
    if (s_filter_users(f, root, sc, &names) == 0) {
        apex_buf_t text;
        apex_buf_init(&text);
        s_describe(&text, f);
        apex_error_set(err,
                       "%s: no task is left after %s (tasks and user "
                       "classes take \"tags\": [\"name\", ...])",
                       sc->origin, apex_buf_str(&text));
        apex_buf_fini(&text);
    } else {
        char *wire = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
        out = apex_scenario_parse_wire(wire, strlen(wire), sc->origin, err);
        free(wire);
        if (out && names.len)
            *dropped = apex_buf_take(&names);
    }
    apex_buf_fini(&names);
    json_decref(root);
    return out;
}
