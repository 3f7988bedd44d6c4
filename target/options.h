// target/options.h - apex-target's command line: parsed and checked into
// a struct, with a message naming the option and the value on error.
#ifndef APEX_TARGET_OPTIONS_H
#define APEX_TARGET_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"
#include "common/log.h"

#define APEX_TARGET_DEFAULT_PORT 8080
#define APEX_TARGET_DEFAULT_BIND "127.0.0.1"
#define APEX_TARGET_MAX_THREADS 1024
#define APEX_TARGET_MAX_DELAY_MS 60000 // also the cap of ?delay_ms=
#define APEX_TARGET_WS_MAX_THREADS 64  // --ws-threads

typedef struct {
    const char *bind;    // address to listen on, borrowed from argv
    uint16_t port;       // 0 asks the kernel for a free port
    unsigned threads;    // MHD pool threads, 1..APEX_TARGET_MAX_THREADS
    unsigned ws_threads; // WebSocket threads, 1..APEX_TARGET_WS_MAX_THREADS
    unsigned delay_ms;   // latency added to every non-/stats request
    double error_rate;   // 0..1, fraction of injected 500s
    bool require_login;  // /api/* but the login answer 401 without a
                         // session cookie
    apex_log_level_t log_level; // minimum level printed on stderr
    bool help;                  // --help was given: print usage, exit 0
    bool version;               // --version was given: print it, exit 0
} target_options_t;

// Fill opts from argv, starting from the defaults (threads and
// ws_threads: the CPUs this process may run on). Returns 0, or -1 with err set
// to
// "--option: 'value': what was expected" for the first bad argument.
int target_options_parse(target_options_t *opts, int argc, char **argv,
                         apex_error_t *err);

// Print the usage text to out.
void target_options_usage(FILE *out);

#endif
