// worker/failure.c - see failure.h. Texts are Python reprs (quotes chosen
// and escaped as Python would, common/pyfmt.h) of the exceptions Locust's
// HttpUser records, so a row from an apex worker and one from a Locust
// worker hash to the same error key on the master.
#include "worker/failure.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/pyfmt.h"

#define WORKER_FAILURE_CLIENT_ERROR 400 // statuses from here fail by default
#define WORKER_FAILURE_SERVER_ERROR 500 // "Server Error" from here

const char *worker_failure_reason(long status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "";
    }
}

// The first WORKER_FAILURE_BODY_MAX bytes of body as text: up to a NUL,
// without a UTF-8 sequence cut in two at the end.
static void s_excerpt(apex_buf_t *out, const char *body, size_t len)
{
    size_t n = len < WORKER_FAILURE_BODY_MAX ? len : WORKER_FAILURE_BODY_MAX;
    const char *nul = memchr(body, '\0', n);
    if (nul)
        n = (size_t)(nul - body);
    if (n < len) {
        size_t lead = n;
        while (lead > 0 && ((unsigned char)body[lead - 1] & 0xC0) == 0x80)
            lead--;
        if (lead > 0 && ((unsigned char)body[lead - 1] & 0x80))
            n = lead - 1; // a sequence that started and was cut
    }
    apex_buf_append(out, body, n);
    if (n < len)
        apex_buf_puts(out, "...");
}

static void s_unexpected(char *out, size_t size, long status, const int *expect,
                         size_t nexpect, const char *name, const char *body,
                         size_t body_len)
{
    apex_buf_t text;
    apex_buf_init(&text);
    apex_buf_printf(&text, "%ld for url: %s, expected ", status, name);
    for (size_t i = 0; i < nexpect; i++)
        apex_buf_printf(&text, "%s%d", i ? ", " : "", expect[i]);
    if (body && body_len) {
        apex_buf_puts(&text, ", body: ");
        s_excerpt(&text, body, body_len);
    }
    char *quoted = apex_py_repr_str(apex_buf_str(&text));
    snprintf(out, size, "UnexpectedStatus(%s)", quoted);
    free(quoted);
    apex_buf_fini(&text);
}

void worker_failure_status(char *out, size_t size, long status,
                           const int *expect, size_t nexpect, const char *name,
                           const char *url, const char *body, size_t body_len)
{
    out[0] = '\0';
    if (nexpect) {
        for (size_t i = 0; i < nexpect; i++)
            if (expect[i] == status)
                return;
        s_unexpected(out, size, status, expect, nexpect, name, body, body_len);
        return;
    }
    if (status < WORKER_FAILURE_CLIENT_ERROR)
        return;
    char *text =
        apex_sprintf("%ld %s Error: %s for url: %s", status,
                     status < WORKER_FAILURE_SERVER_ERROR ? "Client" : "Server",
                     worker_failure_reason(status), url);
    char *quoted = apex_py_repr_str(text);
    snprintf(out, size, "HTTPError(%s)", quoted);
    free(quoted);
    free(text);
}

void worker_failure_refused(char *out, size_t size)
{
    worker_failure_errno(out, size, ECONNREFUSED);
}

// Python's name for the OSError subclass of an errno (PEP 3151).
static const char *s_os_error(int error)
{
    switch (error) {
    case ECONNREFUSED:
        return "ConnectionRefusedError";
    case ECONNRESET:
        return "ConnectionResetError";
    case ECONNABORTED:
        return "ConnectionAbortedError";
    case EPIPE:
    case ESHUTDOWN:
        return "BrokenPipeError";
    case ETIMEDOUT:
        return "TimeoutError";
    default:
        return "OSError";
    }
}

void worker_failure_errno(char *out, size_t size, int error)
{
    char *quoted = apex_py_repr_str(strerror(error));
    snprintf(out, size, "%s(%d, %s)", s_os_error(error), error, quoted);
    free(quoted);
}

void worker_failure_timeout(char *out, size_t size, double seconds)
{
    snprintf(out, size, "Timeout('request timed out after %g s')", seconds);
}

void worker_failure_connect_timeout(char *out, size_t size, double seconds)
{
    snprintf(out, size, "Timeout('connect timed out after %g s')", seconds);
}

void worker_failure_curl(char *out, size_t size, int res)
{
    // Worded as the workers always have (not a repr: curl's texts have
    // apostrophes, "Couldn't connect to server").
    snprintf(out, size, "CurlError(%d, '%s')", res,
             curl_easy_strerror((CURLcode)res));
}

void worker_failure_engine(char *out, size_t size, const char *why)
{
    char *quoted = apex_py_repr_str(why);
    snprintf(out, size, "EngineError(%s)", quoted);
    free(quoted);
}

void worker_failure_unset(char *out, size_t size, const char *name)
{
    char *text = apex_sprintf("variable '%s' is not set", name);
    char *quoted = apex_py_repr_str(text);
    snprintf(out, size, "VariableNotSet(%s)", quoted);
    free(quoted);
    free(text);
}

void worker_failure_check(char *out, size_t size, const char *name)
{
    char *text = apex_sprintf("check %s failed", name);
    char *quoted = apex_py_repr_str(text);
    snprintf(out, size, "CatchResponseError(%s)", quoted);
    free(quoted);
    free(text);
}

void worker_failure_capture(char *out, size_t size, const char *message)
{
    char *quoted = apex_py_repr_str(message);
    snprintf(out, size, "CaptureError(%s)", quoted);
    free(quoted);
}

void worker_failure_headers_too_large(char *out, size_t size)
{
    snprintf(out, size,
             "CurlError(27, 'response headers too large: over 100 KiB a line "
             "or 300 KiB in all')");
}
