// tests/unit/proto_util.h - what the proto tests (test_proto_*.c)
// share: decoding that must succeed or fail, Locust's captured frames
// (tests/unit/data/locust/), checks of counts, entries and histograms,
// a msgpack writer for building hostile frames, and the few bad values
// that several of them write.
#ifndef APEX_TEST_PROTO_UTIL_H
#define APEX_TEST_PROTO_UTIL_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/stats.h"
#include "proto/proto.h"

// Node ids and times of the captures (docs/protocol.md, "Captures and
// fixtures").
#define PROTO_TEST_NODE "vm_c77b0aa5cd9b41449dd5e17d92c3e01f"
#define PROTO_TEST_NODE_2463 "vm_5fe1a38536744a6d97a6468f0e86e6e2"
#define PROTO_TEST_MASTER_NODE_2121 "fakehost_18637748e0a44371bf3d109ad402d699"
#define PROTO_TEST_T0 1795737094.2198224
#define PROTO_TEST_SEC0 1795737094
#define PROTO_TEST_KEY_HEALTH                                                  \
    "890e1482be6c29febbbfd4918229f7eb75a55f7e0fe196c62802e3fd57b05d31"
#define PROTO_TEST_KEY_REFUSED                                                 \
    "dd0cb59aa487825ab3e9c886599ab24a76a8c5cb51fa7fed4c523b04097d0d87"
#define PROTO_TEST_ERR_HEALTH "CatchResponseError('body did not match')"
#define PROTO_TEST_ERR_REFUSED                                                 \
    "ConnectionRefusedError(111, 'Connection refused')"

// Decode bytes that must be valid: the message (the caller destroys it).
proto_msg_t *proto_test_decode_ok(const void *data, size_t size);

// The same for an encoder's output.
proto_msg_t *proto_test_decode_buf(const apex_buf_t *buf);

// Decoding must fail with a message that contains `what`.
void proto_test_decode_bad(const void *data, size_t size, const char *what);

// Read the fixture NAME.bin into memory the caller frees.
uint8_t *proto_test_fixture(const char *name, size_t *size);

// Decode a fixture that must be valid.
proto_msg_t *proto_test_decode_fixture(const char *name);

// msg's user class counts are names[i] = counts[i], in that order.
void proto_test_check_counts(const proto_msg_t *msg, const char *const *names,
                             const int64_t *counts, size_t n);

// Every field, histogram and per-second count of a equals b's.
void proto_test_check_same_entry(const apex_stats_entry_t *a,
                                 const apex_stats_entry_t *b);

// Per-second count of e at sec (0 when the ring does not hold it).
uint64_t proto_test_sec(const apex_stats_entry_t *e, int64_t sec, bool fails);

// An entry's histogram as Locust's {ms: count} map, compared with the
// expected keys and counts (ascending).
void proto_test_check_buckets(const apex_stats_entry_t *e, const int64_t *keys,
                              const uint64_t *counts, size_t n);

// Bytes written with msgpack-c's packer.
typedef struct {
    msgpack_sbuffer sb; // the bytes
    msgpack_packer pk;  // writes into sb
} proto_test_writer_t;

// Start an empty writer; free with msgpack_sbuffer_destroy(&w->sb).
void proto_test_writer_init(proto_test_writer_t *w);

// Write text as a msgpack str.
void proto_test_str(msgpack_packer *pk, const char *text);

// Writes one value.
typedef void(proto_test_value_fn)(msgpack_packer *pk);

// Bad values more than one test writes.
void proto_test_v_text(msgpack_packer *pk);        // "x"
void proto_test_v_frac(msgpack_packer *pk);        // 1.5
void proto_test_v_nil(msgpack_packer *pk);         // nil
void proto_test_v_int(msgpack_packer *pk);         // 5
void proto_test_v_list(msgpack_packer *pk);        // [1]
void proto_test_v_map_str_key(msgpack_packer *pk); // {"a": 1}
void proto_test_v_class_neg(msgpack_packer *pk);   // {"HealthUser": -1}

#endif
