// master/cli_options.h - apex-master's command line: every option's
// name, letter, variable, value and help (cli_options.c), and the ids
// main.c's handlers switch on.
#ifndef MASTER_CLI_OPTIONS_H
#define MASTER_CLI_OPTIONS_H

#include <stddef.h>

#include "common/cli.h"

enum {
    OPT_SCENARIO,
    OPT_HOST,
    OPT_USERS,
    OPT_SPAWN_RATE,
    OPT_RUN_TIME,
    OPT_HEADLESS,
    OPT_CSV,
    OPT_CSV_FULL_HISTORY,
    OPT_EXPECT_WORKERS,
    OPT_EXPECT_WORKERS_MAX_WAIT,
    OPT_BIND_HOST,
    OPT_BIND_PORT,
    OPT_PROCESSES,
    OPT_STOP_TIMEOUT,
    OPT_EXIT_CODE_ON_ERROR,
    OPT_ONLY_SUMMARY,
    OPT_LOGLEVEL,
    OPT_STAGES,
    OPT_THRESHOLD,
    OPT_JSON,
    OPT_HTML,
    OPT_WEB_HOST,
    OPT_WEB_PORT,
    OPT_WEB_AUTH,
    OPT_AUTOSTART,
    OPT_AUTOQUIT,
    OPT_METRICS,
    OPT_JSON_FILE,
    OPT_TAGS,
    OPT_EXCLUDE_TAGS,
    OPT_RESET_STATS,
    OPT_PRINT_STATS,
    OPT_LOGFILE,
    OPT_SKIP_LOG,
    OPT_OUT,
    OPT_RUN_ID,
    OPT_GEN_KEYS,
    OPT_MASTER_KEY,
    OPT_AUTHORIZED_WORKERS,
    OPT_ALLOW_ANY_WORKER,
    OPT_WORKER_KEY,
    OPT_WEB_AUTH_FILE,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_ENGINE,
    OPT_HTTP_DEBUG,
    OPT_INSECURE,
    OPT_CA_BUNDLE,
    OPT_CLIENT_CERT,
    OPT_CLIENT_KEY,
    OPT_HTTP2,
    OPT_PROXY,
    OPT_COMPRESSION,
    OPT_HTTP_AUTH,
    OPT_CONNECT_TIMEOUT,
};

extern const apex_cli_option_t master_cli_options[];
extern const size_t master_cli_noptions;

#endif
