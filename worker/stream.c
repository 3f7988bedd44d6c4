// worker/stream.c - see stream.h.
//
// States: CONNECTING (a non-blocking connect(), waiting for EPOLLOUT and
// SO_ERROR), HANDSHAKE (SSL_connect() until it stops asking to read or
// write), OPEN. In OPEN the owner says what it wants (read, write) and
// the stream maps that onto epoll: plain TCP directly; TLS may need the
// opposite direction for a while (SSL_read() wanting to write during a
// key update), which `tls_read_wants_write` and `tls_write_wants_read`
// remember so the right event wakes the right side.
//
// Events are delivered from the loop only, never from a call the owner
// made, so an owner may destroy the stream inside its callback (the
// watcher is stopped and nothing touches the stream after the call).
#include "worker/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "worker/failure.h"

#define WORKER_STREAM_ERROR_MAX 256 // bytes of a failure text

typedef enum {
    S_CONNECTING, // TCP connect in progress
    S_HANDSHAKE,  // TLS handshake in progress
    S_OPEN,       // ready for data
    S_FAILED      // an error was seen; only destroy remains
} s_state_t;

struct worker_stream {
    apex_loop_t *loop;                   // the loop
    apex_io_t io;                        // the socket's watcher
    int fd;                              // the socket
    SSL *ssl;                            // TLS, or NULL for plain TCP
    s_state_t state;                     // where it is
    bool want_read;                      // the owner wants READABLE
    bool want_write;                     // the owner wants WRITABLE
    bool tls_read_wants_write;           // SSL_read needs the socket writable
    bool tls_write_wants_read;           // SSL_write needs it readable
    int connect_error;                   // connect() failed at once: errno
    worker_stream_fn *fn;                // events go here
    void *arg;                           // its argument
    char error[WORKER_STREAM_ERROR_MAX]; // the failure text
};

// ---------------------------------------------------------------------
// TLS contexts

worker_tls_ctx_t *worker_tls_ctx_new(const worker_tls_options_t *options,
                                     apex_error_t *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        apex_error_set(err, "tls: cannot create a context");
        return NULL;
    }
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (!options->verify) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        return ctx;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    int ok = options->ca_file
                 ? SSL_CTX_load_verify_locations(ctx, options->ca_file, NULL)
                 : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
        char why[128];
        ERR_error_string_n(ERR_get_error(), why, sizeof why);
        apex_error_set(err, "tls: cannot load %s: %s",
                       options->ca_file ? options->ca_file : "the system CAs",
                       why);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

void worker_tls_ctx_free(worker_tls_ctx_t *ctx)
{
    SSL_CTX_free(ctx);
}

// ---------------------------------------------------------------------
// Events

static void s_update_io(worker_stream_t *self);

static void s_fail_errno(worker_stream_t *self, int error)
{
    worker_failure_errno(self->error, sizeof self->error, error);
    self->state = S_FAILED;
}

// Name a TLS failure: the verification result when that was it, else
// OpenSSL's first queued error.
static void s_fail_tls(worker_stream_t *self, int ssl_error)
{
    char why[160] = "";
    long verify = SSL_get_verify_result(self->ssl);
    unsigned long e = ERR_get_error();
    if (verify != X509_V_OK)
        snprintf(why, sizeof why, "certificate verify failed: %s",
                 X509_verify_cert_error_string(verify));
    else if (e)
        ERR_error_string_n(e, why, sizeof why);
    else if (ssl_error == SSL_ERROR_SYSCALL && errno)
        snprintf(why, sizeof why, "%s", strerror(errno));
    else
        snprintf(why, sizeof why, "unexpected end of the TLS stream");
    ERR_clear_error();
    snprintf(self->error, sizeof self->error, "SSLError('%s')", why);
    self->state = S_FAILED;
}

// Deliver an event; the owner may destroy the stream, so nothing after.
static void s_emit(worker_stream_t *self, worker_stream_event_t event)
{
    self->fn(self->arg, event,
             event == WORKER_STREAM_FAILED ? self->error : NULL);
}

// Drive SSL_connect(); true when the handshake is over (or failed).
static bool s_handshake(worker_stream_t *self)
{
    ERR_clear_error();
    int rc = SSL_connect(self->ssl);
    if (rc == 1) {
        self->state = S_OPEN;
        return true;
    }
    int e = SSL_get_error(self->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        self->tls_read_wants_write = e == SSL_ERROR_WANT_WRITE;
        return false;
    }
    s_fail_tls(self, e);
    return true;
}

// The TCP connect finished: its result, then TLS if any.
static void s_connected(worker_stream_t *self)
{
    int error = self->connect_error;
    socklen_t len = sizeof error;
    if (!error && getsockopt(self->fd, SOL_SOCKET, SO_ERROR, &error, &len))
        error = errno;
    if (error) {
        s_fail_errno(self, error);
        return;
    }
    self->state = self->ssl ? S_HANDSHAKE : S_OPEN;
}

static void s_on_io(apex_loop_t *loop, apex_io_t *io, uint32_t events)
{
    (void)loop;
    worker_stream_t *self = io->arg;
    if (self->state == S_CONNECTING) {
        s_connected(self);
        if (self->state == S_OPEN) {
            s_update_io(self);
            s_emit(self, WORKER_STREAM_CONNECTED);
            return;
        }
    }
    if (self->state == S_HANDSHAKE) {
        if (!s_handshake(self)) {
            s_update_io(self);
            return;
        }
        if (self->state == S_OPEN) {
            self->tls_read_wants_write = false;
            s_update_io(self);
            s_emit(self, WORKER_STREAM_CONNECTED);
            return;
        }
    }
    if (self->state == S_FAILED) {
        apex_io_stop(self->loop, &self->io);
        s_emit(self, WORKER_STREAM_FAILED);
        return;
    }
    bool in = events & (EPOLLIN | EPOLLERR | EPOLLHUP);
    bool out = events & (EPOLLOUT | EPOLLERR | EPOLLHUP);
    bool readable = (in && !self->tls_read_wants_write) ||
                    (out && self->tls_read_wants_write);
    bool writable = (out && !self->tls_write_wants_read) ||
                    (in && self->tls_write_wants_read);
    // One event per call: the owner may destroy the stream in either.
    if (readable && self->want_read)
        s_emit(self, WORKER_STREAM_READABLE);
    else if (writable && self->want_write)
        s_emit(self, WORKER_STREAM_WRITABLE);
}

// Watch the socket for what the state and the owner need.
static void s_update_io(worker_stream_t *self)
{
    uint32_t events = 0;
    switch (self->state) {
    case S_CONNECTING:
        events = EPOLLOUT;
        break;
    case S_HANDSHAKE:
        events = self->tls_read_wants_write ? EPOLLOUT : EPOLLIN;
        break;
    case S_OPEN:
        if (self->want_read)
            events |= self->tls_read_wants_write ? EPOLLOUT : EPOLLIN;
        if (self->want_write)
            events |= self->tls_write_wants_read ? EPOLLIN : EPOLLOUT;
        break;
    case S_FAILED:
        break;
    }
    if (!events) {
        apex_io_stop(self->loop, &self->io);
        return;
    }
    apex_error_t err = {""};
    if (apex_io_start(self->loop, &self->io, self->fd, events, &err) != 0)
        s_fail_errno(self, errno ? errno : EBADF);
}

// ---------------------------------------------------------------------
// Life cycle

worker_stream_t *worker_stream_connect(apex_loop_t *loop,
                                       const struct sockaddr *addr,
                                       socklen_t addrlen, worker_tls_ctx_t *tls,
                                       const char *server_name,
                                       worker_stream_fn *fn, void *arg,
                                       apex_error_t *err)
{
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    IPPROTO_TCP);
    if (fd < 0) {
        apex_error_set(err, "socket: %s", strerror(errno));
        return NULL;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    worker_stream_t *self = apex_calloc(1, sizeof *self);
    self->loop = loop;
    self->fd = fd;
    self->fn = fn;
    self->arg = arg;
    self->state = S_CONNECTING;
    apex_io_init(&self->io, s_on_io, self);
    if (tls) {
        self->ssl = SSL_new(tls);
        SSL_set_fd(self->ssl, fd);
        SSL_set_tlsext_host_name(self->ssl, server_name);
        if (SSL_CTX_get_verify_mode(tls) & SSL_VERIFY_PEER)
            SSL_set1_host(self->ssl, server_name);
    }
    if (connect(fd, addr, addrlen) != 0 && errno != EINPROGRESS) {
        // Reported from the loop like any other failure (EPOLLOUT fires
        // at once on a socket whose connect failed).
        self->connect_error = errno;
    }
    s_update_io(self);
    return self;
}

void worker_stream_want(worker_stream_t *self, bool read, bool write)
{
    if (self->want_read == read && self->want_write == write)
        return;
    self->want_read = read;
    self->want_write = write;
    if (self->state == S_OPEN)
        s_update_io(self);
}

const char *worker_stream_error(const worker_stream_t *self)
{
    return self->error;
}

void worker_stream_destroy(worker_stream_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    worker_stream_t *self = *self_p;
    apex_io_stop(self->loop, &self->io);
    SSL_free(self->ssl);
    close(self->fd);
    free(self);
    *self_p = NULL;
}

// ---------------------------------------------------------------------
// Data

static ssize_t s_tls_result(worker_stream_t *self, int rc, bool reading)
{
    int e = SSL_get_error(self->ssl, rc);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        if (!reading)
            self->tls_write_wants_read = true;
        s_update_io(self);
        return WORKER_STREAM_AGAIN;
    case SSL_ERROR_WANT_WRITE:
        if (reading)
            self->tls_read_wants_write = true;
        s_update_io(self);
        return WORKER_STREAM_AGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return 0; // close_notify: the end of the stream
    default:
        s_fail_tls(self, e);
        return WORKER_STREAM_ERROR;
    }
}

ssize_t worker_stream_read(worker_stream_t *self, void *buf, size_t size)
{
    if (self->state != S_OPEN)
        return self->state == S_FAILED ? WORKER_STREAM_ERROR
                                       : WORKER_STREAM_AGAIN;
    if (self->ssl) {
        ERR_clear_error();
        int n =
            SSL_read(self->ssl, buf, size > INT32_MAX ? INT32_MAX : (int)size);
        if (n > 0) {
            if (self->tls_read_wants_write) {
                self->tls_read_wants_write = false;
                s_update_io(self);
            }
            return n;
        }
        return s_tls_result(self, n, true);
    }
    ssize_t n = recv(self->fd, buf, size, 0);
    if (n >= 0)
        return n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return WORKER_STREAM_AGAIN;
    s_fail_errno(self, errno);
    return WORKER_STREAM_ERROR;
}

ssize_t worker_stream_write(worker_stream_t *self, const void *buf, size_t size)
{
    if (self->state != S_OPEN)
        return self->state == S_FAILED ? WORKER_STREAM_ERROR
                                       : WORKER_STREAM_AGAIN;
    if (self->ssl) {
        ERR_clear_error();
        int n =
            SSL_write(self->ssl, buf, size > INT32_MAX ? INT32_MAX : (int)size);
        if (n > 0) {
            if (self->tls_write_wants_read) {
                self->tls_write_wants_read = false;
                s_update_io(self);
            }
            return n;
        }
        return s_tls_result(self, n, false);
    }
    ssize_t n = send(self->fd, buf, size, MSG_NOSIGNAL);
    if (n >= 0)
        return n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return WORKER_STREAM_AGAIN;
    s_fail_errno(self, errno);
    return WORKER_STREAM_ERROR;
}
