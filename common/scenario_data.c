// common/scenario_data.c - the document's "data" object: named data sets
// read from CSV or JSON files (common/data.h), for ${data.SET.COLUMN}:
//
//   "data": {
//     "accounts": {"file": "data/accounts.csv",   // relative to the
//                                                  // scenario file
//                  "mode": "per_user"},           // per_user (default),
//                                                  // sequential, random
//     "items": {"file": "items.json", "format": "json",  // default: the
//               "mode": "random"}                 // file's extension
//   }
//
// A master reads each file once and puts its text into the data set as
// "content" in the wire text, so workers read no file. A scenario given
// as text (not a file: apex_scenario_parse()) must carry "content"
// itself; nothing is read from disk for it, so a master cannot make a
// worker read its files. Errors name the data set's path and the file:
// "$.data.accounts.file: data/accounts.csv: line 3: expected 2 fields,
// got 3".
#include "common/scenario_parse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"

static const char *const s_keys[] = {"file", "content", "format", "mode", NULL};
static const char *const s_modes[] = {"per_user", "sequential", "random", NULL};

int apex_parse_read_file(apex_parser_t *p, const char *file, size_t max,
                         char **out, size_t *len)
{
    char *path = file[0] == '/' ? apex_strdup(file)
                                : apex_sprintf("%s/%s", p->base_dir, file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        int e = fd < 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : errno;
        if (fd >= 0)
            close(fd);
        return apex_parse_fail(p, "cannot read %s: %s", file, strerror(e));
    }
    if (st.st_size > (off_t)max) {
        close(fd);
        return apex_parse_fail(p, "%s: too large: %lld bytes (at most %zu)",
                               file, (long long)st.st_size, max);
    }
    *out = apex_calloc(1, (size_t)st.st_size + 1);
    *len = 0;
    for (;;) {
        ssize_t n = read(fd, *out + *len, (size_t)st.st_size + 1 - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || *len + (size_t)n > (size_t)st.st_size)
            break; // the end, an error, or a file that grew: cut off
        *len += (size_t)n;
    }
    close(fd);
    return 0;
}

// The data set's text: its "content", or its file's.
static int s_text(apex_parser_t *p, const json_t *obj, const char *file,
                  char **out, size_t *len)
{
    json_t *content = json_object_get(obj, "content");
    if (content) {
        size_t old = apex_parse_path_key(p, "content");
        if (!json_is_string(content))
            return apex_parse_fail_got(p, content, "the file's text");
        if (json_string_length(content) > APEX_DATA_MAX_BYTES)
            return apex_parse_fail(p, "%s: too large: %zu bytes (at most %u)",
                                   file, json_string_length(content),
                                   APEX_DATA_MAX_BYTES);
        *len = json_string_length(content);
        *out = apex_strndup(json_string_value(content), *len);
        apex_parse_path_restore(p, old);
        return 0;
    }
    size_t old = apex_parse_path_key(p, "file");
    if (!p->base_dir)
        return apex_parse_fail(p, "cannot read data files here (a scenario "
                                  "given as text carries each file's "
                                  "\"content\")");
    if (apex_parse_read_file(p, file, APEX_DATA_MAX_BYTES, out, len) != 0)
        return -1;
    apex_parse_path_restore(p, old);
    return 0;
}

// "format", or the file's extension.
static int s_format(apex_parser_t *p, const json_t *obj, const char *file,
                    bool *json)
{
    json_t *v = json_object_get(obj, "format");
    const char *dot = strrchr(file, '.');
    const char *format = json_is_string(v) ? json_string_value(v)
                         : dot && !v       ? dot + 1
                                           : "";
    if (strcmp(format, "csv") == 0 || strcmp(format, "json") == 0) {
        *json = strcmp(format, "json") == 0;
        return 0;
    }
    if (v)
        apex_parse_path_key(p, "format");
    return apex_parse_fail_got(p, v ? v : json_object_get(obj, "file"),
                               v ? "\"csv\" or \"json\""
                                 : "a file ending in .csv or .json, or a "
                                   "\"format\"");
}

static int s_mode(apex_parser_t *p, const json_t *obj, apex_dataset_t *d)
{
    json_t *v = json_object_get(obj, "mode");
    if (!v)
        return 0; // per_user
    size_t old = apex_parse_path_key(p, "mode");
    for (int m = 0; s_modes[m]; m++) {
        if (json_is_string(v) &&
            strcmp(json_string_value(v), s_modes[m]) == 0) {
            d->mode = (apex_data_mode_t)m;
            apex_parse_path_restore(p, old);
            return 0;
        }
    }
    return apex_parse_fail_got(p, v, "one of: per_user, sequential, random");
}

// One data set: key names it, obj describes it; index into sc->data.
static int s_parse_set(apex_parser_t *p, const char *key, const json_t *value,
                       size_t index, void *arg)
{
    size_t *total = arg;
    apex_dataset_t *d = &p->sc->data[index];
    if (!apex_parse_is_name(key))
        return apex_parse_fail(p, "expected a data set name "
                                  "([A-Za-z_][A-Za-z0-9_]*)");
    if (!json_is_object(value))
        return apex_parse_fail_got(p, value,
                                   "an object with \"file\" and \"mode\"");
    if (apex_parse_check_keys(p, value, s_keys, NULL) != 0)
        return -1;
    json_t *file = json_object_get(value, "file");
    if (!json_is_string(file) || json_string_length(file) == 0) {
        if (!file)
            return apex_parse_fail_missing(p, "file", "a file name");
        apex_parse_path_key(p, "file");
        return apex_parse_fail_got(p, file, "a file name");
    }
    d->name = apex_strdup(key);
    d->file = apex_strdup(json_string_value(file));
    bool json = false;
    char *text = NULL;
    size_t len = 0;
    if (s_mode(p, value, d) != 0 || s_format(p, value, d->file, &json) != 0 ||
        s_text(p, value, d->file, &text, &len) != 0)
        return -1;
    *total += len;
    apex_error_t err = {""};
    int rc = json ? apex_data_parse_json(d, text, len, &err)
                  : apex_data_parse_csv(d, text, len, &err);
    size_t old = apex_parse_path_key(
        p, json_object_get(value, "content") ? "content" : "file");
    if (rc == 0 && *total > APEX_DATA_MAX_TOTAL)
        rc = apex_parse_fail(p,
                             "%s: the data files hold more than %u bytes "
                             "in all",
                             d->file, APEX_DATA_MAX_TOTAL);
    else if (rc != 0)
        apex_parse_fail(p, "%s: %s", d->file, err.msg);
    else
        json_object_set_new((json_t *)value, "content",
                            json_stringn(text, len));
    free(text);
    if (rc != 0)
        return -1;
    apex_parse_path_restore(p, old);
    return 0;
}

int apex_parse_data(apex_parser_t *p, json_t *obj)
{
    size_t old = apex_parse_path_key(p, "data");
    if (!json_is_object(obj))
        return apex_parse_fail_got(p, obj, "an object of data sets");
    if (json_object_size(obj) > APEX_DATA_MAX_SETS)
        return apex_parse_fail(p, "more than %d data sets", APEX_DATA_MAX_SETS);
    p->sc->data = apex_calloc(json_object_size(obj) + 1, sizeof *p->sc->data);
    p->sc->ndata = json_object_size(obj);
    size_t total = 0;
    if (apex_parse_members(p, obj, s_parse_set, &total) != 0)
        return -1;
    apex_parse_path_restore(p, old);
    return 0;
}
