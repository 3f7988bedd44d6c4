// common/log.h - leveled logging to stderr in Locust's line format:
// "[2026-11-27 10:00:00,123] host/INFO/apex.master: message".
#ifndef APEX_LOG_H
#define APEX_LOG_H

#include <stdbool.h>

#include "common/error.h"

typedef enum {
    APEX_LOG_DEBUG = 10,
    APEX_LOG_INFO = 20,
    APEX_LOG_WARNING = 30,
    APEX_LOG_ERROR = 40,
    APEX_LOG_CRITICAL = 50,
    APEX_LOG_OFF = 100, // nothing (--skip-log)
} apex_log_level_t;

// Set the logger name (e.g. "apex.master") and the minimum level. The
// logger is the one piece of process-wide state in the tree: it is set
// once by main() before any thread starts.
void apex_log_init(const char *name, apex_log_level_t level);

// --logfile: from now on stderr (the log, and what child processes
// write there) appends to path. Returns 0, or -1 with err set to
// "PATH: cannot open: ...".
int apex_log_to_file(const char *path, apex_error_t *err);

// Parse "DEBUG", "info", ... into *level. Returns 0, or -1 if unknown.
int apex_log_level_parse(const char *text, apex_log_level_t *level);

// The same for a command-line value: -1 with err set to "expected DEBUG,
// INFO, WARNING or ERROR, got 'x'".
int apex_log_level_arg(const char *text, apex_log_level_t *level,
                       apex_error_t *err);

// True when messages at level would be printed.
bool apex_log_enabled(apex_log_level_t level);

typedef struct apex_secrets apex_secrets_t; // common/secrets.h

// From now on, mask these secrets in every line (common/secrets.h); NULL
// stops masking. secrets is borrowed: set NULL (or another set) before
// destroying it. Safe while other threads log.
void apex_log_set_secrets(const apex_secrets_t *secrets);

// Print one line at level (printf-style).
void apex_log(apex_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define apex_debug(...) apex_log(APEX_LOG_DEBUG, __VA_ARGS__)
#define apex_info(...) apex_log(APEX_LOG_INFO, __VA_ARGS__)
#define apex_warn(...) apex_log(APEX_LOG_WARNING, __VA_ARGS__)
#define apex_err(...) apex_log(APEX_LOG_ERROR, __VA_ARGS__)

#endif
