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

// has_arg: a flag (false), one value (true), or a list: the words after
// the option are its values too, up to the next option (Locust's
// nargs="*", as in "--tags a b"); each value is passed on its own.
#define APEX_CLI_LIST 2
// has_arg APEX_CLI_OPTIONAL: a flag that may carry a value after "="
// ("--http-debug" or "--http-debug=full"); the handler gets NULL for
// the bare flag. Variables and files give their text as the value.
#define APEX_CLI_OPTIONAL 3

typedef struct {
    const char *name;     // long name without dashes ("master-host")
    int short_name;       // short option letter, or 0
    int has_arg;          // false, true or APEX_CLI_LIST
    const char *env;      // environment variable, or NULL
    const char *arg_name; // value placeholder in --help ("HOST")
    const char *help;     // one-line description, with its default
    int id;               // passed to the handler
} apex_cli_option_t;

// Another name an option answers to, for users coming from Locust: its
// environment variable (LOCUST_LOCUSTFILE for APEX_SCENARIO) and its key
// in a configuration file ("locustfile"). Options without one answer to
// LOCUST_<X> for their APEX_<X> and to their own name as a key.
typedef struct {
    const char *env;        // the option's APEX_* variable
    const char *locust_env; // Locust's variable for it
    const char *key;        // Locust's configuration key, or NULL
} apex_cli_alias_t;

// Configuration files (Locust's locust.conf format: "key = value" lines,
// "#" and ";" comments, "[section]" headers ignored; keys are long option
// names, with - or _). Precedence, as Locust's: files < environment <
// command line; among files, later ones win.
typedef struct {
    const char *const *files;        // read if they exist, in order ("~/"
                                     // is $HOME); NULL-terminated
    const char *const *ignored_keys; // keys that mean nothing here (Locust's
                                     // "master"); NULL-terminated, or NULL
    const apex_cli_alias_t *aliases; // other names, or NULL
    size_t naliases;                 // their number
} apex_cli_config_t;

// Handle one option: arg is the value (NULL for a flag). Returns 0, or -1
// with err set to what was wrong with the value ("expected ...").
typedef int(apex_cli_fn)(int id, const char *arg, void *user,
                         apex_error_t *err);

// Apply the configuration files (config's, then --config FILE's when
// given), the environment variables (APEX_* and their LOCUST_* aliases;
// one set to "" counts as unset; APEX_* wins), then argv. Returns 0; 1
// when --help or --version was handled (printed); or -1 with err set to
// "--users: expected an integer from 1 to ..., got 'x'" (or "APEX_USERS:
// ...", or "apex.conf:3: users: ..."). Flags set by a variable or a file
// take 1/true/yes/on (and 0/false/no/off to leave them unset). A value
// starting with "--" is refused: it is the next option, not a value.
// config may be NULL (no files, no aliases but LOCUST_*).
int apex_cli_parse(const apex_cli_option_t *options, size_t noptions, int argc,
                   char **argv, apex_cli_fn *fn, void *user, const char *usage,
                   const char *version, const apex_cli_config_t *config,
                   apex_error_t *err);

// Where the value being handled comes from, for a handler that must know
// (a repeatable option: values from a stronger source replace those of a
// weaker one). Sources are applied in this order.
typedef enum {
    APEX_CLI_FROM_FILE, // a configuration file
    APEX_CLI_FROM_ENV,  // an environment variable
    APEX_CLI_FROM_ARGV, // the command line
} apex_cli_source_t;

// Valid inside a handler called by apex_cli_parse().
apex_cli_source_t apex_cli_source(void);

// Overwrite, in argv itself, the value of --name ("--name VALUE" or
// "--name=VALUE") with NUL bytes, so the process list and
// /proc/PID/cmdline no longer show it (a password). Call after
// apex_cli_parse(), once the value is copied: its handler got a pointer
// into argv.
void apex_cli_wipe(int argc, char **argv, const char *name);

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
