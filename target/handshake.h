// target/handshake.h - the server's half of the WebSocket opening
// handshake (RFC 6455 section 4.2): whether a request's headers may be
// upgraded, and the Sec-WebSocket-Accept value that proves the server
// read the key. Pure functions on header values, no I/O.
#ifndef APEX_TARGET_HANDSHAKE_H
#define APEX_TARGET_HANDSHAKE_H

#define APEX_TARGET_WS_VERSION "13"   // the one version spoken
#define APEX_TARGET_WS_ACCEPT_SIZE 29 // 28 base64 characters and a NUL
#define APEX_TARGET_WS_KEY_LENGTH 24  // base64 of 16 random bytes

// The request headers the handshake reads; NULL when absent.
typedef struct {
    const char *upgrade;    // Upgrade: must list "websocket"
    const char *connection; // Connection: must list "upgrade"
    const char *version;    // Sec-WebSocket-Version: must be 13
    const char *key;        // Sec-WebSocket-Key: base64 of 16 bytes
} target_handshake_t;

// Check the headers of a GET request for an upgrade to WebSocket. Returns
// 0 when it may be upgraded; otherwise the HTTP status to answer, with
// *message set to a static text naming the header: 426 when Upgrade does
// not ask for websocket or the version is not 13 (the answer then carries
// Upgrade: websocket and Sec-WebSocket-Version: 13), 400 for a Connection
// without upgrade or a missing or malformed key. Token lists compare
// without case and skip spaces and tabs, as HTTP says.
unsigned target_handshake_check(const target_handshake_t *req,
                                const char **message);

// Write the Sec-WebSocket-Accept value for key, which passed
// target_handshake_check(): base64(SHA-1(key + RFC 6455's GUID)), with a
// NUL, into accept.
void target_handshake_accept(const char *key,
                             char accept[APEX_TARGET_WS_ACCEPT_SIZE]);

#endif
