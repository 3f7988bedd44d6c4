// target/handshake.c - see handshake.h.
//
// Header values arrive as MHD gives them (leading and trailing white space
// already trimmed). Token lists ("keep-alive, Upgrade") are walked in
// place, never copied. The key is checked for its exact shape, 22 base64
// characters and "==", where the last character before the padding may
// only be one of the four whose low bits are zero, so that it decodes to
// exactly 16 bytes. SHA-1 and base64 come from OpenSSL's libcrypto
// (EVP_Digest, EVP_EncodeBlock).
#include "target/handshake.h"

#include <assert.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include <openssl/evp.h>

// RFC 6455 section 1.3: appended to the key before hashing.
#define APEX_TARGET_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define APEX_TARGET_WS_GUID_LENGTH (sizeof APEX_TARGET_WS_GUID - 1)
#define APEX_TARGET_SHA1_SIZE 20
// The key's base64 characters before its "==" padding.
#define APEX_TARGET_WS_KEY_CHARS 22

static const char s_base64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
// The characters that may end 16 bytes of base64: their low 4 bits are 0.
static const char s_base64_last[] = "AQgw";

// Does the comma-separated list hold token, compared without case?
static bool s_has_token(const char *list, const char *token)
{
    if (!list)
        return false;
    size_t want = strlen(token);
    const char *p = list;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            return false;
        const char *start = p;
        while (*p != '\0' && *p != ',')
            p++;
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if ((size_t)(end - start) == want &&
            strncasecmp(start, token, want) == 0)
            return true;
    }
}

// Is key base64 of exactly 16 bytes?
static bool s_valid_key(const char *key)
{
    if (!key || strlen(key) != APEX_TARGET_WS_KEY_LENGTH)
        return false;
    for (size_t i = 0; i < APEX_TARGET_WS_KEY_CHARS - 1; i++) {
        if (!strchr(s_base64, key[i]))
            return false;
    }
    char last = key[APEX_TARGET_WS_KEY_CHARS - 1];
    if (last == '\0' || !strchr(s_base64_last, last))
        return false;
    return strcmp(key + APEX_TARGET_WS_KEY_CHARS, "==") == 0;
}

unsigned target_handshake_check(const target_handshake_t *req,
                                const char **message)
{
    assert(req);
    assert(message);
    *message = NULL;
    if (!s_has_token(req->upgrade, "websocket")) {
        *message = "Upgrade: expected websocket";
        return MHD_HTTP_UPGRADE_REQUIRED;
    }
    if (!s_has_token(req->connection, "upgrade")) {
        *message = "Connection: expected upgrade";
        return MHD_HTTP_BAD_REQUEST;
    }
    if (!req->version || strcmp(req->version, APEX_TARGET_WS_VERSION) != 0) {
        *message = "Sec-WebSocket-Version: expected " APEX_TARGET_WS_VERSION;
        return MHD_HTTP_UPGRADE_REQUIRED;
    }
    if (!s_valid_key(req->key)) {
        *message = "Sec-WebSocket-Key: expected 16 bytes in base64";
        return MHD_HTTP_BAD_REQUEST;
    }
    return 0;
}

void target_handshake_accept(const char *key,
                             char accept[APEX_TARGET_WS_ACCEPT_SIZE])
{
    assert(key);
    assert(strlen(key) == APEX_TARGET_WS_KEY_LENGTH);
    char text[APEX_TARGET_WS_KEY_LENGTH + APEX_TARGET_WS_GUID_LENGTH];
    memcpy(text, key, APEX_TARGET_WS_KEY_LENGTH);
    memcpy(text + APEX_TARGET_WS_KEY_LENGTH, APEX_TARGET_WS_GUID,
           APEX_TARGET_WS_GUID_LENGTH);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    // SHA-1 over 60 bytes in memory cannot fail but for lack of memory.
    if (EVP_Digest(text, sizeof text, digest, &size, EVP_sha1(), NULL) != 1 ||
        size != APEX_TARGET_SHA1_SIZE)
        abort();
    int n = EVP_EncodeBlock((unsigned char *)accept, digest, (int)size);
    assert(n == APEX_TARGET_WS_ACCEPT_SIZE - 1);
    (void)n;
}
