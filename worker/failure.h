// worker/failure.h - failure texts as Locust's HttpUser words them, so that
// errors from Python and apex workers, and from any HTTP engine, merge into
// one row of the failures table: "HTTPError('404 Client Error: Not Found
// for url: /x')", "ConnectionRefusedError(111, 'Connection refused')".
// Each function writes at most size bytes (always NUL-terminated).
#ifndef WORKER_FAILURE_H
#define WORKER_FAILURE_H

#include <stdbool.h>
#include <stddef.h>

#define WORKER_FAILURE_MAX 512 // bytes of a failure text, with its NUL

#define WORKER_FAILURE_BODY_MAX 200 // bytes of a body an error quotes

// The failure of a response with this status, or "" when it passes: when
// expect is not empty, any status not in it ("UnexpectedStatus('400 for
// url: NAME, expected 201, body: {\"error\": ...}')", quoting the first
// WORKER_FAILURE_BODY_MAX bytes of body when it has any); otherwise a
// status of 400 or more (HTTPError, naming url: the full URL, or the
// stats name when the scenario gave one, as requests' raise_for_status
// does; Locust's words exactly, without the body, so rows of Python and
// apex workers merge).
void worker_failure_status(char *out, size_t size, long status,
                           const int *expect, size_t nexpect, const char *name,
                           const char *url, const char *body, size_t body_len);

// A failure of the transport that libcurl names (res is a CURLcode):
// "CurlError(7, 'Couldn't connect to server')" (not a repr). The HTTP/1.1
// engine words its failures with the same codes, so rows do not depend on the
// engine.
void worker_failure_curl(char *out, size_t size, int res);

// A response whose header block is over what the engines take (libcurl
// 7.88: 100 KiB a line and 300 KiB in all; the plain engine: 300 KiB in
// all), worded alike for both.
void worker_failure_headers_too_large(char *out, size_t size);

// The step needs what its engine lacks: "EngineError('...')".
void worker_failure_engine(char *out, size_t size, const char *why);

// The connection was refused.
void worker_failure_refused(char *out, size_t size);

// A socket error as Python's OSError subclass shows it:
// "ConnectionResetError(104, 'Connection reset by peer')".
void worker_failure_errno(char *out, size_t size, int error);

// The step took longer than its timeout (seconds).
void worker_failure_timeout(char *out, size_t size, double seconds);

// The connection took longer than its connect timeout (seconds).
void worker_failure_connect_timeout(char *out, size_t size, double seconds);

// A capture found nothing: message is apex_captures_apply()'s error.
void worker_failure_capture(char *out, size_t size, const char *message);

// A step read a user variable that is unset:
// VariableNotSet("variable 'name' is not set").
void worker_failure_unset(char *out, size_t size, const char *name);

// A check failed the request, as a Locust test's response.failure()
// words it: CatchResponseError('check status is done failed').
void worker_failure_check(char *out, size_t size, const char *name);

// The reason phrase of a status ("Not Found"), or "" for an unusual one.
const char *worker_failure_reason(long status);

#endif
