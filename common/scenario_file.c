// common/scenario_file.c - reading a scenario file (see scenario.h's
// apex_scenario_load()): the whole file, regular or not, at most
// APEX_SCENARIO_MAX_BYTES, then parsed with the file's folder as the
// place its data files are read from.
#include "common/scenario_parse.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"

#define APEX_SCENARIO_READ_CHUNK 65536 // read size for non-regular files

// Read fd to the end into *data (pipes have no size); one byte past the
// limit tells a file that grew or a stream that is too long.
static int s_read_all(int fd, const struct stat *st, const char *path,
                      char **data, size_t *len, apex_error_t *err)
{
    size_t cap = S_ISREG(st->st_mode) ? (size_t)st->st_size + 1
                                      : (size_t)APEX_SCENARIO_READ_CHUNK;
    *data = apex_calloc(1, cap);
    *len = 0;
    for (;;) {
        if (*len == cap) {
            cap *= 2;
            *data = apex_realloc(*data, cap, 1);
        }
        ssize_t n = read(fd, *data + *len, cap - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return apex_error_set(err, "%s: cannot read: %s", path,
                                  strerror(errno));
        if (n == 0)
            return 0;
        *len += (size_t)n;
        if (*len > APEX_SCENARIO_MAX_BYTES)
            return apex_error_set(err, "%s: too large: more than %u bytes",
                                  path, APEX_SCENARIO_MAX_BYTES);
    }
}

apex_scenario_t *apex_scenario_load(const char *path, apex_error_t *err)
{
    assert(path);
    size_t plen = strlen(path);
    if (plen >= 3 && strcmp(path + plen - 3, ".py") == 0) {
        apex_error_set(err,
                       "%s: a Python locustfile; apex scenarios are JSON "
                       "files (see the README's \"From Locust\" section: "
                       "user classes, @task weights, wait_time, on_start "
                       "and @tag map one to one)",
                       path);
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        apex_error_set(err, "%s: cannot read: %s", path, strerror(errno));
        return NULL;
    }
    apex_scenario_t *sc = NULL;
    char *data = NULL;
    size_t len = 0;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        apex_error_set(err, "%s: cannot read: %s", path, strerror(errno));
        goto done;
    }
    if (S_ISDIR(st.st_mode)) {
        apex_error_set(err, "%s: cannot read: %s", path, strerror(EISDIR));
        goto done;
    }
    if (S_ISREG(st.st_mode) && st.st_size > (off_t)APEX_SCENARIO_MAX_BYTES) {
        apex_error_set(err, "%s: too large: %lld bytes (at most %u)", path,
                       (long long)st.st_size, APEX_SCENARIO_MAX_BYTES);
        goto done;
    }
    if (s_read_all(fd, &st, path, &data, &len, err) == 0) {
        const char *slash = strrchr(path, '/');
        char *dir = slash ? apex_strndup(path, (size_t)(slash - path))
                          : apex_strdup(".");
        if (dir[0] == '\0') { // "/scenario.json"
            free(dir);
            dir = apex_strdup("/");
        }
        sc = apex_scenario_parse_in(data, len, path, dir,
                                    APEX_SCENARIO_MAX_BYTES, err);
        free(dir);
    }
done:
    close(fd);
    free(data);
    return sc;
}
