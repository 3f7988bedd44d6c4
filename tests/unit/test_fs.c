// tests/unit/test_fs.c - mkdir -p: nested folders in one call, existing
// folders are fine, a file in the way fails naming the part that could
// not be made, and the parent of a file path is made without the file.
// Everything happens in a fresh folder under /tmp, removed at the end.
#include "tests/unit/tests.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fs.h"

static bool s_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

// The open-file limit: raised to the hard limit (run in a forked test,
// so the runner itself keeps its own).
static void s_test_nofile(void)
{
    struct rlimit lim;
    CHECK_EQ(getrlimit(RLIMIT_NOFILE, &lim), 0);
    rlim_t hard = lim.rlim_max;
    if (hard > 64) {
        lim.rlim_cur = 64; // lowered first, so raising has work to do
        CHECK_EQ(setrlimit(RLIMIT_NOFILE, &lim), 0);
    }
    apex_error_t err = {""};
    long now = apex_fs_raise_nofile(&err);
    CHECK_EQ((rlim_t)now, hard);
    CHECK_EQ(getrlimit(RLIMIT_NOFILE, &lim), 0);
    CHECK_EQ(lim.rlim_cur, hard);
    CHECK_EQ(apex_fs_raise_nofile(&err), now); // already there: no change
}

void test_fs(bool verbose)
{
    (void)verbose;
    s_test_nofile();
    char root[] = "/tmp/apex-test-fs-XXXXXX";
    CHECK(mkdtemp(root) != NULL);
    apex_error_t err = {""};

    // Nested folders at once, then again (they exist: still success).
    char *deep = apex_sprintf("%s/a/b/c", root);
    CHECK_EQ(apex_fs_mkdir_p(deep, &err), 0);
    CHECK(s_is_dir(deep));
    CHECK_EQ(apex_fs_mkdir_p(deep, &err), 0);
    CHECK_STR(err.msg, "");

    // Doubled and trailing slashes.
    char *slashes = apex_sprintf("%s//d///e/", root);
    CHECK_EQ(apex_fs_mkdir_p(slashes, &err), 0);
    char *e = apex_sprintf("%s/d/e", root);
    CHECK(s_is_dir(e));

    // The parent of a file path, not the file; a bare name needs nothing.
    char *file = apex_sprintf("%s/out/run", root);
    char *out = apex_sprintf("%s/out", root);
    CHECK_EQ(apex_fs_mkdir_parent(file, &err), 0);
    CHECK(s_is_dir(out));
    CHECK(!s_is_dir(file));
    CHECK_EQ(apex_fs_mkdir_parent("run", &err), 0);
    CHECK_EQ(apex_fs_mkdir_parent("/run", &err), 0);
    CHECK_EQ(apex_fs_mkdir_parent(NULL, &err), 0);

    // A file in the way: the error names the first part that failed.
    char *blocker = apex_sprintf("%s/file", root);
    FILE *f = fopen(blocker, "w");
    CHECK(f != NULL);
    fclose(f);
    char *through = apex_sprintf("%s/file/x/y", root);
    CHECK_EQ(apex_fs_mkdir_p(through, &err), -1);
    char *expected = apex_sprintf("mkdir %s: Not a directory", blocker);
    CHECK_STR(err.msg, expected);
    err.msg[0] = '\0';
    CHECK_EQ(apex_fs_mkdir_p(blocker, &err), -1);
    CHECK_STR(err.msg, expected);
    char *under = apex_sprintf("%s/z.csv", through);
    CHECK_EQ(apex_fs_mkdir_parent(under, &err), -1);

    // Hostile input.
    CHECK_EQ(apex_fs_mkdir_p("", &err), -1);
    CHECK_STR(err.msg, "mkdir: empty path");
    CHECK_EQ(apex_fs_mkdir_p(NULL, &err), -1);

    // Clean up, deepest first.
    const char *const made[] = {"a/b/c", "a/b", "a", "d/e", "d", "out", "file"};
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
        char *path = apex_sprintf("%s/%s", root, made[i]);
        CHECK_EQ(remove(path), 0);
        free(path);
    }
    CHECK_EQ(rmdir(root), 0);
    free(under);
    free(expected);
    free(through);
    free(blocker);
    free(out);
    free(file);
    free(e);
    free(slashes);
    free(deep);
}
