// tests/unit/main.c - the unit test runner. Each test runs in a forked
// child with a timeout, so a crash or a hang fails that test only.
// Usage: apex-unit [-v] [-t NAME]... ; prints "N passed, N failed".
#include "tests/unit/tests.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define APEX_TEST_TIMEOUT_S 120
#define APEX_TEST_MAX_SELECTED 64

typedef struct {
    const char *name;         // module name, as given to -t
    void (*fn)(bool verbose); // the test
} s_test_t;

static const s_test_t s_tests[] = {
#define APEX_TEST_ENTRY(name) {#name, test_##name},
    APEX_UNIT_TESTS(APEX_TEST_ENTRY)
#undef APEX_TEST_ENTRY
};

static int s_run(const s_test_t *test, bool verbose)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return -1;
    }
    if (pid == 0) {
        alarm(APEX_TEST_TIMEOUT_S);
        test->fn(verbose);
        fflush(stdout);
        exit(0); // exit, not _exit: LeakSanitizer checks at exit
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFSIGNALED(status))
        fprintf(stderr, "test %s: killed by signal %d%s\n", test->name,
                WTERMSIG(status),
                WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
    return -1;
}

int main(int argc, char **argv)
{
    bool verbose = false;
    const char *selected[APEX_TEST_MAX_SELECTED];
    size_t nselected = 0;
    int opt;
    while ((opt = getopt(argc, argv, "vt:")) != -1) {
        if (opt == 'v')
            verbose = true;
        else if (opt == 't' && nselected < APEX_TEST_MAX_SELECTED)
            selected[nselected++] = optarg;
        else {
            fprintf(stderr, "usage: %s [-v] [-t NAME]...\n", argv[0]);
            return 2;
        }
    }
    int passed = 0, failed = 0;
    size_t ntests = sizeof s_tests / sizeof s_tests[0];
    for (size_t i = 0; i < ntests; i++) {
        bool run = nselected == 0;
        for (size_t j = 0; j < nselected; j++)
            if (strcmp(selected[j], s_tests[i].name) == 0)
                run = true;
        if (!run)
            continue;
        if (s_run(&s_tests[i], verbose) == 0) {
            printf("ok   %s\n", s_tests[i].name);
            passed++;
        } else {
            printf("FAIL %s\n", s_tests[i].name);
            failed++;
        }
    }
    printf("unit tests: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : (passed ? 0 : 1);
}
