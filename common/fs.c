// common/fs.c - see fs.h. mkdir -p walks the path once from the left,
// making each prefix that ends before a '/' and then the whole path; a
// prefix that already exists is fine when it is a folder. Nothing is
// removed again after a failure (as mkdir -p), so a partly made path
// stays.
#include "common/fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "common/alloc.h"

// Make one folder whose parent exists; an existing folder is success.
static int s_mkdir_one(const char *dir, apex_error_t *err)
{
    if (mkdir(dir, APEX_FS_DIR_MODE) == 0)
        return 0;
    int saved = errno;
    struct stat st;
    if (saved == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    return apex_error_set(err, "mkdir %s: %s", dir,
                          strerror(saved == EEXIST ? ENOTDIR : saved));
}

int apex_fs_mkdir_p(const char *dir, apex_error_t *err)
{
    if (!dir || !dir[0])
        return apex_error_set(err, "mkdir: empty path");
    char *copy = apex_strdup(dir);
    int rc = 0;
    // From copy + 1: a leading '/' is the root, not a folder to make.
    for (char *p = copy + 1; *p && rc == 0; p++) {
        if (*p != '/' || p[-1] == '/')
            continue;
        *p = '\0';
        rc = s_mkdir_one(copy, err);
        *p = '/';
    }
    if (rc == 0)
        rc = s_mkdir_one(copy, err);
    free(copy);
    return rc;
}

int apex_fs_mkdir_parent(const char *path, apex_error_t *err)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (!slash)
        return 0;
    if (slash == path)
        return 0; // the root
    char *dir = apex_strndup(path, (size_t)(slash - path));
    int rc = apex_fs_mkdir_p(dir, err);
    free(dir);
    return rc;
}

long apex_fs_raise_nofile(apex_error_t *err)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
        return apex_error_set(err, "getrlimit(RLIMIT_NOFILE): %s",
                              strerror(errno));
    if (lim.rlim_cur == lim.rlim_max)
        return (long)lim.rlim_cur;
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0)
        return apex_error_set(err, "cannot raise the open file limit: %s",
                              strerror(errno));
    return (long)lim.rlim_cur;
}
