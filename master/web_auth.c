// master/web_auth.c - see web_auth.h.
//
// Only the SHA-256 of the expected credentials is kept, and every check
// hashes what the request sent and compares the two digests with
// CRYPTO_memcmp: the time taken depends on the length of what was sent,
// never on how much of it matches. Headers longer than a generous bound
// are refused before anything is decoded.
#include "master/web_auth.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"

#define S_SCHEME "Basic "
#define S_B64_MAX (4 * ((MASTER_WEB_AUTH_MAX + 2) / 3)) // base64 of the max
#define S_OTHERS_MASK 007 // permission bits of other users

struct master_web_auth {
    unsigned char digest[SHA256_DIGEST_LENGTH]; // of "user:password"
};

master_web_auth_t *master_web_auth_new(const char *credentials,
                                       apex_error_t *err)
{
    const char *colon = credentials ? strchr(credentials, ':') : NULL;
    if (!colon || colon == credentials) {
        apex_error_set(err, "expected user:password");
        return NULL;
    }
    size_t len = strlen(credentials);
    if (len > MASTER_WEB_AUTH_MAX) {
        apex_error_set(err, "user:password is longer than %d bytes",
                       MASTER_WEB_AUTH_MAX);
        return NULL;
    }
    master_web_auth_t *self = apex_calloc(1, sizeof *self);
    SHA256((const unsigned char *)credentials, len, self->digest);
    return self;
}

void master_web_auth_destroy(master_web_auth_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    OPENSSL_cleanse((*self_p)->digest, sizeof(*self_p)->digest);
    free(*self_p);
    *self_p = NULL;
}

// Decode base64 text (no whitespace inside) into out; the length, or -1
// when text is not base64.
static int s_decode(const char *text, size_t len, unsigned char *out)
{
    if (len == 0 || len % 4 != 0 || len > S_B64_MAX)
        return -1;
    int n = EVP_DecodeBlock(out, (const unsigned char *)text, (int)len);
    if (n < 0)
        return -1;
    // EVP_DecodeBlock counts the padding's bytes as decoded zeros.
    if (text[len - 1] == '=')
        n--;
    if (text[len - 2] == '=')
        n--;
    return n;
}

bool master_web_auth_check(const master_web_auth_t *self, const char *header)
{
    size_t scheme = strlen(S_SCHEME);
    if (!self || !header || strncasecmp(header, S_SCHEME, scheme) != 0)
        return false;
    const char *b64 = header + scheme;
    while (*b64 == ' ')
        b64++;
    size_t len = strlen(b64);
    while (len && (b64[len - 1] == ' ' || b64[len - 1] == '\t'))
        len--;
    unsigned char decoded[S_B64_MAX];
    int n = s_decode(b64, len, decoded);
    // A NUL inside ("admin:secret\0junk") is never a match.
    if (n <= 0 || memchr(decoded, '\0', (size_t)n))
        return false;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(decoded, (size_t)n, digest);
    OPENSSL_cleanse(decoded, sizeof decoded);
    return CRYPTO_memcmp(digest, self->digest, sizeof digest) == 0;
}

char *master_web_auth_read_file(const char *path, apex_error_t *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        apex_error_set(err, "%s: cannot read: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && (st.st_mode & S_OTHERS_MASK))
        apex_warn("%s: every user can read this password file (mode %04o): "
                  "chmod 600 %s",
                  path, (unsigned)(st.st_mode & 0777), path);
    char buf[MASTER_WEB_AUTH_MAX + 2];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) {
        apex_error_set(err, "%s: cannot read: %s", path, strerror(errno));
        return NULL;
    }
    buf[n] = '\0';
    size_t len = strcspn(buf, "\r\n"); // stops at a NUL too
    bool nul = len < (size_t)n && buf[len] == '\0';
    if (len > MASTER_WEB_AUTH_MAX || nul) {
        OPENSSL_cleanse(buf, sizeof buf);
        apex_error_set(err,
                       "%s: expected one line user:password of at most "
                       "%d bytes",
                       path, MASTER_WEB_AUTH_MAX);
        return NULL;
    }
    char *line = apex_strndup(buf, len);
    OPENSSL_cleanse(buf, sizeof buf);
    if (!line[0]) {
        free(line);
        apex_error_set(err, "%s: empty (expected user:password)", path);
        return NULL;
    }
    return line;
}
