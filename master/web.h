// master/web.h - the master's HTTP server (libmicrohttpd): the web UI's
// files and Locust's JSON API. It runs on its own thread and never touches
// the master's state: built-in files are served directly, every other
// request is handed to the master's loop through a queue and an eventfd,
// answered there in a few microseconds, and the web thread waits (bounded)
// for the answer. So a slow or misbehaving browser can never stall the
// protocol loop, and the loop never waits for the web.
#ifndef MASTER_WEB_H
#define MASTER_WEB_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "common/loop.h"

#define MASTER_WEB_MAX_BODY (64u * 1024u) // request bodies above: 413
#define MASTER_WEB_MAX_ARGS 64            // query or form fields kept

typedef struct {
    // In: filled by the web thread.
    const char *method;                      // "GET", "POST", ...
    const char *path;                        // "/stats/requests"
    const char *keys[MASTER_WEB_MAX_ARGS];   // query and form field names
    const char *values[MASTER_WEB_MAX_ARGS]; // their values
    size_t nargs;                            // fields present
    bool form_error;                         // the body was not a form
    const char *host;                        // Host header, or NULL
    const char *origin;                      // Origin header, or NULL
    const char *referer;                     // Referer header, or NULL
    const char *fetch_site;                  // Sec-Fetch-Site, or NULL
    bool tls;                                // over TLS (--tls-cert)
    // Out: filled by the handler on the loop.
    int status;               // HTTP status
    char *body;               // response body (handler allocates)
    size_t body_len;          // its length
    const char *content_type; // static string
    char *disposition;        // Content-Disposition value, or NULL
} master_web_request_t;

// Answer one request on the loop's thread. The handler sets status, body
// (malloc'd; the server frees it), content_type and optionally
// disposition.
typedef void(master_web_handler_fn)(void *arg, master_web_request_t *req);

typedef struct {
    const char *host;     // address to listen on ("" or "*" = all)
    int port;             // port (0 = any free port)
    const char *auth;     // "user:password" for basic auth, or NULL
    bool metrics_only;    // serve GET /metrics and nothing else (headless)
    const char *tls_cert; // --tls-cert: a PEM certificate (chain) file, or
                          // NULL for plain HTTP
    const char *tls_key;  // --tls-key: its PEM private key file
} master_web_options_t;

typedef struct master_web master_web_t; // opaque

// Start listening; requests go to fn(arg, req) on loop. NULL with err set
// when the address cannot be used, or the TLS files cannot be read or
// are not a certificate and its key.
master_web_t *master_web_new(apex_loop_t *loop,
                             const master_web_options_t *options,
                             master_web_handler_fn *fn, void *arg,
                             apex_error_t *err);

// Stop the server (answers still waiting get 503) and free it; sets
// *self_p to NULL. Call on the loop's thread.
void master_web_destroy(master_web_t **self_p);

// The port listened on.
int master_web_port(const master_web_t *self);

// True when the server speaks TLS (https).
bool master_web_tls(const master_web_t *self);

// The value of field key in req, or NULL.
const char *master_web_arg(const master_web_request_t *req, const char *key);

// Set a JSON (or text) answer: copies text. content_type is static.
void master_web_reply(master_web_request_t *req, int status,
                      const char *content_type, const char *text);

#endif
