// proto/curve.h - CURVE keys for the master/worker link (ZeroMQ's CURVE
// mechanism: encryption, and the master's check of a worker's key).
// Keys are czmq certificate files (zcert): NAME holds the public key and
// metadata, NAME_secret the public and the secret key. In memory a key is
// its 40-character Z85 text.
//
//     apex-master --gen-keys DIR     writes, with proto_curve_generate():
//       DIR/master.key         the master's public key (for workers)
//       DIR/master.key_secret  the master's pair (--master-key)
//       DIR/worker.key         a worker's public key
//       DIR/worker.key_secret  a worker's pair (--worker-key)
//       DIR/authorized/worker.key  the folder --authorized-workers names
//
// Secret files are written with mode 0600; loading a secret file that
// other users can read logs a warning (as ssh does).
#ifndef APEX_PROTO_CURVE_H
#define APEX_PROTO_CURVE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

#define PROTO_CURVE_KEY_TEXT 41 // a Z85 key: 40 characters and a NUL
#define PROTO_CURVE_KEY_CHARS 40
#define PROTO_CURVE_SECRET_SUFFIX "_secret" // czmq's name for the pair

typedef struct {
    char public_key[PROTO_CURVE_KEY_TEXT]; // Z85 text
    char secret_key[PROTO_CURVE_KEY_TEXT]; // Z85 text
} proto_curve_pair_t;

// Write a master pair, a worker pair and the authorized folder (above)
// into dir, which is created if missing (mode 0700). Nothing is
// overwritten: when one of the files exists, nothing is written and err
// says which. Returns 0, or -1 with err set ("DIR/master.key: exists").
int proto_curve_generate(const char *dir, apex_error_t *err);

// Load a key pair from a certificate: path is the pair's name (its
// secret is in path_secret) or the _secret file itself. Returns 0, or -1
// with err set ("PATH: cannot read: No such file or directory", "PATH:
// not a czmq certificate", "PATH: has no secret key (give the _secret
// file)").
int proto_curve_load_pair(const char *path, proto_curve_pair_t *out,
                          apex_error_t *err);

// A public key given as its 40-character Z85 text or as a certificate
// file (its public key). Writes the Z85 text into out. Returns 0, or -1
// with err set.
int proto_curve_public_key(const char *arg, char out[PROTO_CURVE_KEY_TEXT],
                           apex_error_t *err);

// A worker's side of CURVE: the master's public key (server_arg, as
// proto_curve_public_key() takes it) into server_key, and the worker's
// pair from pair_path (proto_curve_load_pair()), or a new pair when
// pair_path is NULL. Returns 0, or -1 with err naming the option
// ("--master-public-key: ...", "--worker-key: ...").
int proto_curve_client_keys(const char *server_arg, const char *pair_path,
                            char server_key[PROTO_CURVE_KEY_TEXT],
                            proto_curve_pair_t *pair, apex_error_t *err);

// True when text is 40 valid Z85 characters that decode to a key.
bool proto_curve_is_key_text(const char *text);

// A new random pair (a worker without --worker-key, for a master that
// admits any worker knowing its public key).
void proto_curve_new_pair(proto_curve_pair_t *out);

// Check that dir is a folder we can read, and count the certificates in
// it (files whose name does not end in _secret). Returns 0, or -1 with
// err set ("DIR: not a folder").
int proto_curve_check_dir(const char *dir, size_t *nkeys, apex_error_t *err);

// The public keys admitted by a folder of certificates (--authorized-
// workers): every file in dir (not in its subfolders) whose name does not
// end in _secret and that czmq loads as a certificate. The folder is read
// again when it changes (a file added, removed or rewritten), so a key
// added while the master runs is admitted from then on. A file czmq
// cannot load, or a key that is there twice, is skipped (czmq's own
// zcertstore would abort on the second).
typedef struct proto_curve_keys proto_curve_keys_t; // opaque

// Read dir now. Never returns NULL: a folder that cannot be read admits
// no key until it can.
proto_curve_keys_t *proto_curve_keys_new(const char *dir);

// Free *self_p and set it to NULL; ignores NULL.
void proto_curve_keys_destroy(proto_curve_keys_t **self_p);

// True when key (Z85) is admitted; reads the folder again first if it
// changed.
bool proto_curve_keys_admit(proto_curve_keys_t *self, const char *key);

// The number of keys admitted after the last read.
size_t proto_curve_keys_count(const proto_curve_keys_t *self);

#endif
