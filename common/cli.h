// common/cli.h - command-line and environment options shared by the
// programs: one table per program gives each option its long and short
// name, its APEX_* environment variable and its help text. Environment
// variables are applied first, so the command line overrides them.
#ifndef APEX_CLI_H
#define APEX_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/error.h"

typedef struct {
    const char *name;     // long name without dashes ("master-host")
    int short_name;       // short option letter, or 0
    bool has_arg;         // takes a value (else a flag)
    const char *env;      // environment variable, or NULL
    const char *arg_name; // value placeholder in --help ("HOST")
    const char *help;     // one-line description, with its default
    int id;               // passed to the handler
} apex_cli_option_t;

// Handle one option: arg is the value (NULL for a flag). Returns 0, or -1
// with err set to what was wrong with the value ("expected ...").
typedef int(apex_cli_fn)(int id, const char *arg, void *user,
                         apex_error_t *err);

// Apply the environment variables (one set to "" counts as unset), then
// argv. Returns 0; 1 when --help or --version was handled (printed); or
// -1 with err set to "--users: expected an integer from 1 to ..., got
// 'x'" (or "APEX_USERS: ..." for a variable). Flags set by a variable
// take 1/true/yes/on.
int apex_cli_parse(const apex_cli_option_t *options, size_t noptions, int argc,
                   char **argv, apex_cli_fn *fn, void *user, const char *usage,
                   const char *version, apex_error_t *err);

// Print usage and the option table.
void apex_cli_help(FILE *out, const char *usage,
                   const apex_cli_option_t *options, size_t noptions);

// Parse an integer in [min, max]. 0, or -1 with err "expected ...".
int apex_parse_long(const char *text, long min, long max, long *out,
                    apex_error_t *err);

// Parse a finite number in [min, max].
int apex_parse_double(const char *text, double min, double max, double *out,
                      apex_error_t *err);

// Parse a duration as Locust does: "20" (seconds), "20s", "3m", "2h",
// "1h30m", "3h30m10s"; also "500ms" and fractions such as "1.5s".
// Stores seconds.
int apex_parse_duration(const char *text, double *seconds, apex_error_t *err);

#endif
