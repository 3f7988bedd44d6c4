// common/secrets.h - the values of the environment variables a scenario
// names (its wire text's "env" object: what the master sends to every
// worker), kept out of what leaves a process: a text holding one of them
// gets it replaced by "***". The master masks what workers report
// (request names, failure texts, exceptions) as it arrives, its log
// lines and the documents it shows; a worker masks its failure texts
// before it sends them, and its log lines.
//
// Which values: every non-null value of "env" at least APEX_SECRET_MIN
// bytes long (shorter ones would mask ordinary words and numbers all
// over the reports), except the value that is the run's host (the host is
// shown in the UI, the reports and the log on purpose; an address is not
// a credential), unless that value has credentials in it ('@').
//
// Masking only ever shortens a text ("***" is shorter than any value
// masked), so it works in place on any writable string.
#ifndef APEX_SECRETS_H
#define APEX_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/scenario.h"

#define APEX_SECRET_MASK "***"
#define APEX_SECRET_MIN 6 // bytes: shorter values are not masked

typedef struct apex_secrets apex_secrets_t; // opaque, immutable once made

// The secrets of sc (its wire text's "env"), host being the run's host
// (or NULL). Never returns NULL; a scenario without "env" values gives
// an empty set.
apex_secrets_t *apex_secrets_new(const apex_scenario_t *sc, const char *host);

// The same from a list of values (tests, and programs without a
// scenario); values are copied, the same rules apply.
apex_secrets_t *apex_secrets_from(const char *const *values, size_t n,
                                  const char *host);

// Free *self_p and set it to NULL; ignores NULL.
void apex_secrets_destroy(apex_secrets_t **self_p);

// How many values are masked.
size_t apex_secrets_count(const apex_secrets_t *self);

// The names of the variables sent with a value (masked or not),
// comma-separated ("API_URL, AUTH_TOKEN"): a new string, or NULL when
// none is.
char *apex_secrets_sent(const apex_secrets_t *self);

// Replace every masked value in text by "***", in place. Returns true
// when text changed. self and text may be NULL.
bool apex_secrets_mask_in_place(const apex_secrets_t *self, char *text);

// The same for a borrowed text: a new string the caller frees (a copy
// when nothing is masked), or NULL when text is NULL.
char *apex_secrets_mask(const apex_secrets_t *self, const char *text);

// apex_secrets_mask_in_place() with the shape of a text filter
// (apex_stats_set_mask()): arg is an apex_secrets_t.
bool apex_secrets_mask_fn(const void *arg, char *text);

#endif
