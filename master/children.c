// master/children.c - see children.h.
//
// Children are plain fork + exec: the child sets PR_SET_PDEATHSIG first
// and checks that its parent is still the master (it may have died in
// between), then clears the signal mask the master runs with (SIGINT,
// SIGTERM and SIGCHLD blocked for its signalfd) before exec. The master
// learns of exits through SIGCHLD on that signalfd and calls
// master_children_reap(); a pid of 0 marks a child already reaped.
#include "master/children.h"

#include <assert.h>
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/clock.h"

#define MASTER_CHILDREN_PATH_MAX 4096 // /proc/self/exe's target
#define MASTER_CHILDREN_TERM_US (1 * APEX_USEC_PER_SEC) // SIGTERM this early
#define MASTER_CHILDREN_POLL_US 10000   // between checks while reaping
#define MASTER_CHILDREN_EXEC_FAILED 127 // a child's exit code, as sh's
#define MASTER_CHILDREN_ARGS 16         // a worker's argv, NULL included

struct master_children {
    pid_t *pids; // started children; 0 once reaped
    size_t n;    // their number
};

// The apex-worker beside our own executable: a new string, or NULL with
// err set.
static char *s_worker_path(apex_error_t *err)
{
    char exe[MASTER_CHILDREN_PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        apex_error_set(err, "--processes: cannot find our own executable: %s",
                       strerror(errno));
        return NULL;
    }
    exe[n] = '\0';
    char *worker = apex_sprintf("%s/apex-worker", dirname(exe));
    if (access(worker, X_OK) != 0) {
        apex_error_set(err, "--processes: %s: %s", worker, strerror(errno));
        free(worker);
        return NULL;
    }
    return worker;
}

// The --loglevel name for level.
static const char *s_level_name(apex_log_level_t level)
{
    if (level <= APEX_LOG_DEBUG)
        return "DEBUG";
    if (level >= APEX_LOG_ERROR)
        return "ERROR";
    if (level >= APEX_LOG_WARNING)
        return "WARNING";
    return "INFO";
}

// In the child: die with the master, unblock signals, exec argv; never
// returns.
static void s_exec(pid_t parent, char *const *argv)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(1);
    sigset_t mask;
    sigemptyset(&mask);
    sigprocmask(SIG_SETMASK, &mask, NULL);
    execv(argv[0], argv);
    fprintf(stderr, "apex-master: exec %s: %s\n", argv[0], strerror(errno));
    _exit(MASTER_CHILDREN_EXEC_FAILED);
}

// The worker's argv (built before fork: the child only execs).
static void s_argv(const char **argv, const char *worker, const char *host,
                   const char *port, const char *level,
                   const char *const *extra)
{
    size_t n = 0;
    const char *base[] = {worker, "--master-host", host, "--master-port",
                          port,   "--loglevel",    level};
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
        argv[n++] = base[i];
    for (size_t i = 0; extra && extra[i]; i++) {
        assert(n < MASTER_CHILDREN_ARGS - 1);
        argv[n++] = extra[i];
    }
    argv[n] = NULL;
}

master_children_t *master_children_new(int n, const char *bind_host, int port,
                                       apex_log_level_t level,
                                       const char *const *extra,
                                       apex_error_t *err)
{
    char *worker = s_worker_path(err);
    if (!worker)
        return NULL;
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", port);
    const char *host = bind_host;
    if (!host || strcmp(host, "*") == 0 || strcmp(host, "0.0.0.0") == 0)
        host = "127.0.0.1";
    const char *argv[MASTER_CHILDREN_ARGS];
    s_argv(argv, worker, host, port_text, s_level_name(level), extra);
    master_children_t *self = apex_calloc(1, sizeof *self);
    self->pids = apex_calloc(n > 0 ? (size_t)n : 1, sizeof *self->pids);
    pid_t parent = getpid();
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            apex_error_set(err, "--processes: fork: %s", strerror(errno));
            free(worker);
            master_children_destroy(&self);
            return NULL;
        }
        if (pid == 0)
            s_exec(parent, (char *const *)argv);
        self->pids[self->n++] = pid;
    }
    apex_info("started %d local workers (%s)", n, worker);
    free(worker);
    return self;
}

void master_children_reap(master_children_t *self, bool quiet)
{
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return;
        for (size_t i = 0; self && i < self->n; i++)
            if (self->pids[i] == pid) {
                self->pids[i] = 0;
                if (!quiet)
                    apex_warn("local worker %d exited (status %d)", (int)pid,
                              status);
            }
    }
}

// Wait for one child until deadline (monotonic us), then kill it.
static void s_wait_child(pid_t child, uint64_t deadline)
{
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(child, &status, WNOHANG);
        if (pid == child || (pid < 0 && errno == ECHILD))
            return;
        if (apex_now_us() > deadline) {
            kill(child, SIGKILL);
            waitpid(child, &status, 0);
            return;
        }
        if (apex_now_us() + MASTER_CHILDREN_TERM_US > deadline)
            kill(child, SIGTERM);
        usleep(MASTER_CHILDREN_POLL_US);
    }
}

void master_children_destroy(master_children_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    master_children_t *self = *self_p;
    uint64_t deadline = apex_now_us() + MASTER_CHILDREN_WAIT_US;
    for (size_t i = 0; i < self->n; i++)
        if (self->pids[i])
            s_wait_child(self->pids[i], deadline);
    free(self->pids);
    free(self);
    *self_p = NULL;
}
