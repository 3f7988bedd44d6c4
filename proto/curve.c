// proto/curve.c - see curve.h.
//
// Certificates are read and written by czmq (zcert, zconfig's ZPL text),
// keys are made by libzmq (zmq_curve_keypair, libsodium underneath) and
// checked by its Z85 decoder, which refuses any character outside Z85's
// alphabet. Before czmq parses a file we open it ourselves, so a missing
// or unreadable file is reported with its reason rather than as "not a
// certificate".
//
// Generating checks beforehand that none of the files exists, so an
// existing key is never replaced. The secret files get mode 0600 through the
// umask in force while czmq writes them (the process is single-threaded then:
// --gen-keys runs before anything else and exits).
#include "proto/curve.h"

#include <assert.h>
#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"

#define S_KEY_BYTES 32            // a CURVE key
#define S_DIR_MODE 0700           // DIR: holds secrets
#define S_AUTHORIZED_MODE 0755    // DIR/authorized: public keys only
#define S_SECRET_UMASK 077        // secret files: 0600
#define S_OTHERS_MASK 007         // permission bits of other users
#define S_AUTHORIZED "authorized" // the folder --authorized-workers names
#define S_FILES 5                 // files --gen-keys writes
#define S_PATH_MAX 4096           // a file name we build
#define S_CERT_MAX 65536          // bytes of a certificate file we read

bool proto_curve_is_key_text(const char *text)
{
    if (!text || strlen(text) != PROTO_CURVE_KEY_CHARS)
        return false;
    uint8_t key[S_KEY_BYTES];
    return zmq_z85_decode(key, text) != NULL;
}

void proto_curve_new_pair(proto_curve_pair_t *out)
{
    int rc = zmq_curve_keypair(out->public_key, out->secret_key);
    assert(rc == 0); // libzmq is built with CURVE (libsodium) on Debian
    (void)rc;
}

// ---------------------------------------------------------------------
// Loading

// Fail unless path can be opened for reading, with the reason.
static int s_readable(const char *path, apex_error_t *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return apex_error_set(err, "%s: cannot read: %s", path,
                              strerror(errno));
    struct stat st;
    int rc = fstat(fd, &st);
    close(fd);
    if (rc == 0 && S_ISDIR(st.st_mode))
        return apex_error_set(err, "%s: is a folder, not a key file", path);
    return 0;
}

static bool s_ends_with(const char *text, const char *suffix)
{
    size_t n = strlen(text), m = strlen(suffix);
    return n >= m && strcmp(text + n - m, suffix) == 0;
}

// Warn when others may read the secret file at path.
static void s_check_mode(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & S_OTHERS_MASK))
        apex_warn("%s: every user can read this secret key (mode "
                  "%04o): chmod 600 %s",
                  path, (unsigned)(st.st_mode & 0777), path);
}

// czmq reports a file it cannot parse on its log stream, stdout unless
// told, where the master's --json goes: send it to stderr, with our log.
static void s_czmq_logs_to_stderr(void)
{
    zsys_set_logstream(stderr);
}

// True when the file at path (at most S_CERT_MAX bytes) is a ZPL text
// czmq can parse. czmq 4.2.1's zconfig_load(), under zcert_load(), leaks
// its zfile_t when the parse fails, so a file is checked here first.
static bool s_parses(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    char *text = apex_calloc(1, S_CERT_MAX + 1);
    size_t n = fread(text, 1, S_CERT_MAX + 1, f);
    fclose(f);
    zconfig_t *root = n <= S_CERT_MAX ? zconfig_str_load(text) : NULL;
    bool ok = root != NULL;
    zconfig_destroy(&root);
    free(text);
    return ok;
}

// zcert_load(path) (which reads path_secret when it exists, else path)
// when what it reads parses; NULL otherwise.
static zcert_t *s_cert_load(const char *path)
{
    char secret[S_PATH_MAX];
    snprintf(secret, sizeof secret, "%s%s", path, PROTO_CURVE_SECRET_SUFFIX);
    if (!s_parses(access(secret, F_OK) == 0 ? secret : path))
        return NULL;
    return zcert_load(path);
}

// The certificate at path (czmq tries path_secret first), or NULL with
// err set.
static zcert_t *s_load(const char *path, apex_error_t *err)
{
    s_czmq_logs_to_stderr();
    if (!path || !path[0]) {
        apex_error_set(err, "expected a key file name");
        return NULL;
    }
    char secret[S_PATH_MAX];
    snprintf(secret, sizeof secret, "%s%s", path, PROTO_CURVE_SECRET_SUFFIX);
    if (access(secret, F_OK) != 0 && s_readable(path, err) != 0)
        return NULL;
    if (access(secret, F_OK) == 0 && s_readable(secret, err) != 0)
        return NULL;
    zcert_t *cert = s_cert_load(path);
    if (!cert)
        apex_error_set(err,
                       "%s: not a czmq certificate (expected a "
                       "curve/public-key of 40 Z85 characters; "
                       "apex-master --gen-keys DIR makes them)",
                       path);
    return cert;
}

int proto_curve_load_pair(const char *path, proto_curve_pair_t *out,
                          apex_error_t *err)
{
    zcert_t *cert = s_load(path, err);
    if (!cert)
        return -1;
    static const uint8_t zero[S_KEY_BYTES];
    bool has_secret = memcmp(zcert_secret_key(cert), zero, sizeof zero) != 0;
    if (!has_secret) {
        zcert_destroy(&cert);
        return apex_error_set(err,
                              "%s: has no secret key (give the pair's "
                              "%s file, e.g. master.key%s)",
                              path, PROTO_CURVE_SECRET_SUFFIX,
                              PROTO_CURVE_SECRET_SUFFIX);
    }
    snprintf(out->public_key, sizeof out->public_key, "%s",
             zcert_public_txt(cert));
    snprintf(out->secret_key, sizeof out->secret_key, "%s",
             zcert_secret_txt(cert));
    zcert_destroy(&cert);
    char secret[S_PATH_MAX];
    snprintf(secret, sizeof secret, "%s%s", path, PROTO_CURVE_SECRET_SUFFIX);
    s_check_mode(s_ends_with(path, PROTO_CURVE_SECRET_SUFFIX) ? path : secret);
    return 0;
}

int proto_curve_public_key(const char *arg, char out[PROTO_CURVE_KEY_TEXT],
                           apex_error_t *err)
{
    if (proto_curve_is_key_text(arg)) {
        memcpy(out, arg, PROTO_CURVE_KEY_TEXT);
        return 0;
    }
    if (arg && strlen(arg) == PROTO_CURVE_KEY_CHARS && access(arg, F_OK) != 0)
        return apex_error_set(err,
                              "'%s' is neither a Z85 key (a character is "
                              "outside Z85's alphabet) nor a file",
                              arg);
    zcert_t *cert = s_load(arg, err);
    if (!cert)
        return -1;
    snprintf(out, PROTO_CURVE_KEY_TEXT, "%s", zcert_public_txt(cert));
    zcert_destroy(&cert);
    return 0;
}

int proto_curve_client_keys(const char *server_arg, const char *pair_path,
                            char server_key[PROTO_CURVE_KEY_TEXT],
                            proto_curve_pair_t *pair, apex_error_t *err)
{
    apex_error_t e = {""};
    if (proto_curve_public_key(server_arg, server_key, &e) != 0)
        return apex_error_set(err, "--master-public-key: %s", e.msg);
    if (!pair_path) {
        proto_curve_new_pair(pair);
        return 0;
    }
    if (proto_curve_load_pair(pair_path, pair, &e) != 0)
        return apex_error_set(err, "--worker-key: %s", e.msg);
    return 0;
}

int proto_curve_check_dir(const char *dir, size_t *nkeys, apex_error_t *err)
{
    DIR *d = dir && dir[0] ? opendir(dir) : NULL;
    if (!d)
        return apex_error_set(err, "%s: cannot read the folder: %s",
                              dir && dir[0] ? dir : "''",
                              dir && dir[0] ? strerror(errno) : "no name");
    *nkeys = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' ||
            s_ends_with(e->d_name, PROTO_CURVE_SECRET_SUFFIX))
            continue;
        (*nkeys)++;
    }
    closedir(d);
    return 0;
}

// ---------------------------------------------------------------------
// Generating

// Make dir (and its parents are the caller's business): 0 when it is a
// folder afterwards.
static int s_mkdir(const char *dir, mode_t mode, apex_error_t *err)
{
    if (mkdir(dir, mode) != 0 && errno != EEXIST)
        return apex_error_set(err, "mkdir %s: %s", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return apex_error_set(err, "%s: not a folder", dir);
    return 0;
}

// Save cert's public part at path and, when secret, its pair at
// path_secret (mode 0600).
static int s_save(zcert_t *cert, const char *path, bool secret,
                  apex_error_t *err)
{
    if (zcert_save_public(cert, path) != 0)
        return apex_error_set(err, "%s: cannot write: %s", path,
                              strerror(errno));
    if (!secret)
        return 0;
    char name[S_PATH_MAX];
    snprintf(name, sizeof name, "%s%s", path, PROTO_CURVE_SECRET_SUFFIX);
    mode_t old = umask(S_SECRET_UMASK);
    int rc = zcert_save_secret(cert, name);
    int saved = errno;
    umask(old);
    if (rc != 0)
        return apex_error_set(err, "%s: cannot write: %s", name,
                              strerror(saved));
    return 0;
}

int proto_curve_generate(const char *dir, apex_error_t *err)
{
    if (!dir || !dir[0])
        return apex_error_set(err, "expected a folder name");
    char files[S_FILES][S_PATH_MAX];
    static const char *const names[S_FILES] = {
        "master.key", "master.key" PROTO_CURVE_SECRET_SUFFIX, "worker.key",
        "worker.key" PROTO_CURVE_SECRET_SUFFIX, S_AUTHORIZED "/worker.key"};
    for (size_t i = 0; i < S_FILES; i++) {
        snprintf(files[i], sizeof files[i], "%s/%s", dir, names[i]);
        if (access(files[i], F_OK) == 0)
            return apex_error_set(err,
                                  "%s: exists (keys are never overwritten; "
                                  "choose another folder)",
                                  files[i]);
    }
    char authorized[S_PATH_MAX];
    snprintf(authorized, sizeof authorized, "%s/%s", dir, S_AUTHORIZED);
    if (s_mkdir(dir, S_DIR_MODE, err) != 0 ||
        s_mkdir(authorized, S_AUTHORIZED_MODE, err) != 0)
        return -1;
    zcert_t *master = zcert_new();
    zcert_t *worker = zcert_new();
    zcert_set_meta(master, "name", "apex-master");
    zcert_set_meta(worker, "name", "apex-worker");
    int rc = -1;
    if (s_save(master, files[0], true, err) == 0 &&
        s_save(worker, files[2], true, err) == 0 &&
        s_save(worker, files[4], false, err) == 0)
        rc = 0;
    zcert_destroy(&master);
    zcert_destroy(&worker);
    return rc;
}

// ---------------------------------------------------------------------
// Admitted keys

struct proto_curve_keys {
    char *dir;           // the folder
    zcertstore_t *store; // its keys (czmq's store, in memory)
    uint64_t signature;  // what the folder looked like when read
    size_t count;        // keys in the store
};

// A summary of the folder that changes when a file is added, removed or
// rewritten: its own times, and each entry's name length, size and
// modification time. 0 when it cannot be read.
static uint64_t s_signature(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct stat st;
    uint64_t sig = 1469598103934665603ull; // FNV-1a's offset basis
    if (stat(dir, &st) == 0)
        sig ^= (uint64_t)st.st_mtim.tv_sec * 1000000007ull +
               (uint64_t)st.st_mtim.tv_nsec;
    struct dirent *e;
    char path[S_PATH_MAX];
    while ((e = readdir(d)) != NULL) {
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        uint64_t h = strlen(e->d_name);
        if (stat(path, &st) == 0)
            h += (uint64_t)st.st_size * 31u + (uint64_t)st.st_mtim.tv_sec +
                 (uint64_t)st.st_mtim.tv_nsec * 7u;
        sig = (sig ^ h) * 1099511628211ull; // FNV-1a's prime
    }
    closedir(d);
    return sig ? sig : 1;
}

static void s_read_keys(proto_curve_keys_t *self)
{
    s_czmq_logs_to_stderr();
    zcertstore_destroy(&self->store);
    self->store = zcertstore_new(NULL);
    self->count = 0;
    DIR *d = opendir(self->dir);
    if (!d) {
        apex_warn("%s: cannot read the folder of admitted keys: %s", self->dir,
                  strerror(errno));
        return;
    }
    struct dirent *e;
    char path[S_PATH_MAX];
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", self->dir, e->d_name);
        if (e->d_name[0] == '.' ||
            s_ends_with(e->d_name, PROTO_CURVE_SECRET_SUFFIX) ||
            stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        zcert_t *cert = s_cert_load(path);
        if (!cert) {
            apex_warn("%s: not a czmq certificate: skipped", path);
            continue;
        }
        if (zcertstore_lookup(self->store, zcert_public_txt(cert)))
            zcert_destroy(&cert); // the same key twice
        else {
            zcertstore_insert(self->store, &cert);
            self->count++;
        }
    }
    closedir(d);
}

proto_curve_keys_t *proto_curve_keys_new(const char *dir)
{
    assert(dir);
    proto_curve_keys_t *self = apex_calloc(1, sizeof *self);
    self->dir = apex_strdup(dir);
    self->signature = s_signature(dir);
    s_read_keys(self);
    return self;
}

void proto_curve_keys_destroy(proto_curve_keys_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    proto_curve_keys_t *self = *self_p;
    zcertstore_destroy(&self->store);
    free(self->dir);
    free(self);
    *self_p = NULL;
}

bool proto_curve_keys_admit(proto_curve_keys_t *self, const char *key)
{
    uint64_t now = s_signature(self->dir);
    if (now != self->signature) {
        self->signature = now;
        s_read_keys(self);
        apex_info("%s: the folder of admitted keys changed: %zu keys",
                  self->dir, proto_curve_keys_count(self));
    }
    return key && zcertstore_lookup(self->store, key) != NULL;
}

size_t proto_curve_keys_count(const proto_curve_keys_t *self)
{
    return self->count;
}
