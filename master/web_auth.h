// master/web_auth.h - the web UI's basic auth (--web-auth USER:PASS, or
// --web-auth-file FILE so the password is not on the command line): the
// expected credentials, and the check of a request's Authorization
// header. The header is decoded here (OpenSSL's base64), not by
// libmicrohttpd 0.9.75, whose decoder stops at a NUL and so let
// "admin:secret\0junk" in; a NUL anywhere is refused, and the comparison
// takes the same time whatever the guess (SHA-256 of both sides compared
// with CRYPTO_memcmp).
#ifndef MASTER_WEB_AUTH_H
#define MASTER_WEB_AUTH_H

#include <stdbool.h>

#include "common/error.h"

#define MASTER_WEB_AUTH_MAX 1024 // bytes of "user:password"

typedef struct master_web_auth master_web_auth_t; // opaque

// Expect credentials ("user:password": a user of one byte or more, then
// ':'). Returns a new checker the caller owns, or NULL with err set
// ("expected user:password").
master_web_auth_t *master_web_auth_new(const char *credentials,
                                       apex_error_t *err);

// Free *self_p (its copy of the credentials wiped) and set it to NULL;
// ignores NULL.
void master_web_auth_destroy(master_web_auth_t **self_p);

// True when header (an Authorization header's value, or NULL) is "Basic "
// and the base64 of exactly the expected credentials.
bool master_web_auth_check(const master_web_auth_t *self, const char *header);

// --web-auth-file: the file's first line, without its line end. Returns a
// new string the caller frees, or NULL with err set ("FILE: cannot read:
// ...", "FILE: empty"). Warns when other users may read the file.
char *master_web_auth_read_file(const char *path, apex_error_t *err);

#endif
