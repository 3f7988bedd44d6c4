// target/main.c - apex-target: the demo Project Apex API (see server.h and
// api.h), started from the command line.
//
// Exit codes: 0 after SIGINT or SIGTERM (or --help, --version), 1 when the
// server cannot start, 2 for a bad command line. SIGINT and SIGTERM are
// blocked before any thread starts, so every thread inherits the mask and
// the main thread alone takes them with sigwait(). On start exactly one
// line goes to stdout, "apex-target: listening on http://ADDR:PORT",
// with the real port when 0 was asked; logs go to stderr.
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/error.h"
#include "common/log.h"
#include "common/fs.h"
#include "common/loop.h"
#include "common/version.h"
#include "revision.h" // $(BUILD)/gen: APEX_REVISION, from git
#include "target/options.h"
#include "target/server.h"

#define APEX_TARGET_EXIT_OK 0
#define APEX_TARGET_EXIT_FAILURE 1
#define APEX_TARGET_EXIT_USAGE 2

int main(int argc, char **argv)
{
    target_options_t opts;
    apex_error_t err = {""};
    if (target_options_parse(&opts, argc, argv, &err) != 0) {
        fprintf(stderr,
                "apex-target: %s\nTry 'apex-target --help' for more "
                "information.\n",
                err.msg);
        return APEX_TARGET_EXIT_USAGE;
    }
    if (opts.help) {
        target_options_usage(stdout);
        return APEX_TARGET_EXIT_OK;
    }
    if (opts.version) {
        printf("apex-target %s (git %s)\n", APEX_VERSION, APEX_REVISION);
        return APEX_TARGET_EXIT_OK;
    }
    apex_log_init("apex.target", opts.log_level);
    apex_error_t nofile = {""};
    if (apex_fs_raise_nofile(&nofile) < 0)
        apex_warn("%s", nofile.msg);

    apex_block_signals(false);
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);

    target_server_t *server = target_server_new(&opts, &err);
    if (!server) {
        fprintf(stderr, "apex-target: %s\n", err.msg);
        return APEX_TARGET_EXIT_FAILURE;
    }
    const char *open = strchr(opts.bind, ':') ? "[" : "";
    const char *close = strchr(opts.bind, ':') ? "]" : "";
    printf("apex-target: listening on http://%s%s%s:%u\n", open, opts.bind,
           close, (unsigned)target_server_port(server));
    fflush(stdout);
    apex_info("serving on %u threads, delay %u ms, error rate %g", opts.threads,
              opts.delay_ms, opts.error_rate);

    int sig = 0;
    sigwait(&stop, &sig);
    apex_info("%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    target_server_destroy(&server);
    return APEX_TARGET_EXIT_OK;
}
