// worker/main.c - apex-worker: joins a master (ours or Locust's) and runs
// the users it is given. Exit codes: 0 done, 1 failure at run time,
// 2 bad command line or scenario.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "common/fs.h"
#include "common/cli.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/version.h"
#include "common/scenario.h"
#include "revision.h" // $(BUILD)/gen: APEX_REVISION, from git
#include "worker/worker.h"

#define WORKER_EXIT_USAGE 2

enum {
    OPT_MASTER_HOST,
    OPT_MASTER_PORT,
    OPT_SCENARIO,
    OPT_LOGLEVEL,
    OPT_LOGFILE,
    OPT_MASTER_PUBLIC_KEY,
    OPT_WORKER_KEY,
    OPT_ENGINE,
    OPT_HTTP_DEBUG,
};

static const apex_cli_option_t s_options[] = {
    {"master-host", 0, true, "APEX_MASTER_HOST", "HOST",
     "master to connect to (default 127.0.0.1)", OPT_MASTER_HOST},
    {"master-port", 0, true, "APEX_MASTER_PORT", "PORT",
     "master's port (default 5557)", OPT_MASTER_PORT},
    {"scenario", 'f', true, "APEX_SCENARIO", "FILE",
     "scenario JSON; by default the master sends it (required to join a "
     "Locust master)",
     OPT_SCENARIO},
    {"loglevel", 'L', true, "APEX_LOGLEVEL", "LEVEL",
     "DEBUG, INFO, WARNING, ERROR (default INFO)", OPT_LOGLEVEL},
    {"logfile", 0, true, "APEX_LOGFILE", "FILE",
     "append the log to FILE instead of stderr", OPT_LOGFILE},
    {"master-public-key", 0, true, "APEX_MASTER_PUBLIC_KEY", "FILE|KEY",
     "turn CURVE on: the master's public key, a file (master.key from "
     "apex-master --gen-keys) or its 40 characters",
     OPT_MASTER_PUBLIC_KEY},
    {"worker-key", 0, true, "APEX_WORKER_KEY", "FILE",
     "with --master-public-key: this worker's key pair "
     "(worker.key_secret; default: a new pair, which only a master with "
     "--allow-any-worker admits)",
     OPT_WORKER_KEY},
    {"engine", 0, true, "APEX_ENGINE", "ENGINE",
     "HTTP engine where the scenario names none: auto (default), curl or "
     "http1; a master's --engine wins",
     OPT_ENGINE},
    {"http-debug", 0, APEX_CLI_OPTIONAL, "APEX_HTTP_DEBUG", "LEVEL",
     "log each HTTP request and response: headers, or full (with bodies "
     "cut at 1 KiB); a master's --http-debug wins",
     OPT_HTTP_DEBUG},
};

typedef struct {
    worker_options_t options; // what the worker needs
    apex_log_level_t level;   // log level
    const char *logfile;      // --logfile, or NULL
} s_args_t;

static int s_option(int id, const char *arg, void *user, apex_error_t *err)
{
    s_args_t *args = user;
    long port = 0;
    switch (id) {
    case OPT_MASTER_HOST:
        if (!*arg)
            return apex_error_set(err, "expected a host name");
        args->options.master_host = arg;
        return 0;
    case OPT_MASTER_PORT:
        if (apex_parse_long(arg, 1, 65535, &port, err) != 0)
            return -1;
        args->options.master_port = (int)port;
        return 0;
    case OPT_SCENARIO:
        args->options.scenario_path = arg;
        return 0;
    case OPT_LOGLEVEL:
        return apex_log_level_arg(arg, &args->level, err);
    case OPT_LOGFILE:
    case OPT_WORKER_KEY:
        if (!*arg)
            return apex_error_set(err, "expected a file name");
        *(id == OPT_LOGFILE ? &args->logfile : &args->options.worker_key) = arg;
        return 0;
    case OPT_MASTER_PUBLIC_KEY:
        if (!*arg)
            return apex_error_set(err, "expected a key file or a key");
        args->options.master_public_key = arg;
        return 0;
    case OPT_ENGINE: {
        apex_http_engine_t e;
        if (apex_http_engine_parse(arg, &e) != 0)
            return apex_error_set(err, "expected auto, curl or http1");
        args->options.http_engine = (int)e;
        return 0;
    }
    case OPT_HTTP_DEBUG:
        args->options.http_debug = apex_http_debug_parse(arg);
        if (args->options.http_debug < 0)
            return apex_error_set(err, "expected headers, full or off");
        return 0;
    default:
        return apex_error_set(err, "unhandled option");
    }
}

// Locust's worker variables name the master "node".
static const apex_cli_alias_t s_aliases[] = {
    {"APEX_MASTER_HOST", "LOCUST_MASTER_NODE_HOST", "master-host"},
    {"APEX_MASTER_PORT", "LOCUST_MASTER_NODE_PORT", "master-port"},
    {"APEX_SCENARIO", "LOCUST_LOCUSTFILE", "locustfile"},
};
static const char *const s_config_ignored[] = {"worker", NULL};
static const apex_cli_config_t s_config = {
    NULL, s_config_ignored, s_aliases, sizeof s_aliases / sizeof s_aliases[0]};

int main(int argc, char **argv)
{
    s_args_t args = {
        {.master_host = "127.0.0.1", .master_port = 5557}, APEX_LOG_INFO, NULL};
    apex_error_t err = {""};
    int rc = apex_cli_parse(
        s_options, sizeof s_options / sizeof s_options[0], argc, argv, s_option,
        &args,
        "usage: apex-worker [--master-host HOST] [--master-port PORT] "
        "[-f SCENARIO] [--master-public-key FILE|KEY [--worker-key FILE]]",
        "apex-worker " APEX_VERSION " (git " APEX_REVISION ")", &s_config,
        &err);
    if (rc == 1)
        return 0;
    if (rc != 0) {
        fprintf(stderr, "apex-worker: %s\n", err.msg);
        return WORKER_EXIT_USAGE;
    }
    if (args.options.worker_key && !args.options.master_public_key) {
        fprintf(stderr, "apex-worker: --worker-key needs --master-public-key "
                        "(CURVE)\n");
        return WORKER_EXIT_USAGE;
    }
    if (args.logfile && apex_log_to_file(args.logfile, &err) != 0) {
        fprintf(stderr, "apex-worker: --logfile %s\n", err.msg);
        return WORKER_EXIT_USAGE;
    }
    apex_log_init("apex.worker", args.level);
    // Every user's connection is a descriptor: take all the system allows.
    apex_error_t nofile = {""};
    if (apex_fs_raise_nofile(&nofile) < 0)
        apex_warn("%s", nofile.msg);

    // Signals arrive through a signalfd in the loop; block them in every
    // thread (ZeroMQ's and curl's threads inherit this mask).
    apex_block_signals(false);
    setenv("ZSYS_SIGHANDLER", "false", 1);

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "apex-worker: curl_global_init failed\n");
        return 1;
    }
    worker_t *worker = worker_new(&args.options, &err);
    if (!worker) {
        fprintf(stderr, "apex-worker: %s\n", err.msg);
        curl_global_cleanup();
        return WORKER_EXIT_USAGE;
    }
    rc = worker_run(worker);
    worker_destroy(&worker);
    curl_global_cleanup();
    return rc;
}
