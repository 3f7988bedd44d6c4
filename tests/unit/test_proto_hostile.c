// tests/unit/test_proto_hostile.c - hostile frames never crash and are
// refused with a message: data of the wrong type for each message,
// broken envelopes, every truncation of real and our own frames, a byte
// too many, seeded random and mutated bytes, size bombs, deep nesting,
// empty and oversize frames; a stats report with more names and errors
// than a master keeps, and texts longer than it keeps.
#include "tests/unit/tests.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

#include "common/rng.h"
#include "proto/proto.h"
#include "tests/unit/proto_util.h"

#define S_RANDOM_FRAMES 3000  // random byte strings
#define S_MUTATED_FRAMES 3000 // valid frames with random damage
#define S_RANDOM_MAX_LEN 300  // longest random string
#define S_DEEP 1000           // nesting far beyond PROTO_MAX_DEPTH

// [type, data, node] with data written by fn.
static void s_check_data(const char *type, proto_test_value_fn *fn,
                         const char *expect)
{
    proto_test_writer_t w;
    proto_test_writer_init(&w);
    msgpack_pack_array(&w.pk, 3);
    proto_test_str(&w.pk, type);
    fn(&w.pk);
    proto_test_str(&w.pk, PROTO_TEST_NODE);
    if (expect) {
        proto_test_decode_bad(w.sb.data, w.sb.size, expect);
    } else {
        proto_msg_t *msg = proto_test_decode_ok(w.sb.data, w.sb.size);
        proto_msg_destroy(&msg);
    }
    msgpack_sbuffer_destroy(&w.sb);
}

static void s_v_index_text(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    proto_test_str(pk, "index");
    proto_test_str(pk, "0");
}
static void s_v_user_count_neg(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    proto_test_str(pk, "user_count");
    msgpack_pack_int(pk, -4);
}
static void s_v_msg_int(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    proto_test_str(pk, "msg");
    msgpack_pack_int(pk, 1);
}
static void s_v_counts_bad(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    proto_test_str(pk, "user_classes_count");
    proto_test_v_class_neg(pk);
}

static void s_test_bad_data(void)
{
    s_check_data("client_ready", proto_test_v_frac,
                 "client_ready: $: expected a version string or -1");
    s_check_data("client_ready", proto_test_v_nil, "client_ready: $: expected");
    s_check_data("client_ready", proto_test_v_list,
                 "client_ready: $: expected");
    s_check_data("client_ready", proto_test_v_int,
                 NULL); // an int other than -1
    s_check_data("heartbeat", proto_test_v_int, "heartbeat: $: expected a map");
    s_check_data("heartbeat", proto_test_v_list,
                 "heartbeat: $: expected a map");
    s_check_data("ack", s_v_index_text, "ack: $.index: expected an integer");
    s_check_data("ack", proto_test_v_nil, NULL); // masters <= 2.10.2
    s_check_data("spawning_complete", proto_test_v_text,
                 "spawning_complete: $: expected a map");
    s_check_data("spawning_complete", s_v_user_count_neg,
                 "spawning_complete: $.user_count: expected a user count");
    s_check_data("spawning_complete", s_v_counts_bad,
                 "spawning_complete: $.user_classes_count.HealthUser");
    s_check_data("spawn", proto_test_v_nil, "spawn: $: expected a map");
    s_check_data("exception", proto_test_v_int, "exception: $: expected a map");
    s_check_data("exception", s_v_msg_int,
                 "exception: $.msg: expected a string");
    // Data we do not read is not checked.
    s_check_data("spawning", proto_test_v_list, NULL);
    s_check_data("logs", proto_test_v_int, NULL);
    s_check_data("my_custom_msg", proto_test_v_map_str_key, NULL);
}

static void s_pack_frame(proto_test_writer_t *w, size_t items,
                         proto_test_value_fn *type, proto_test_value_fn *node)
{
    msgpack_pack_array(&w->pk, items);
    if (items > 0)
        type(&w->pk);
    if (items > 1)
        msgpack_pack_nil(&w->pk);
    if (items > 2)
        node(&w->pk);
    for (size_t i = 3; i < items; i++)
        msgpack_pack_nil(&w->pk);
}

static void s_v_type_stop(msgpack_packer *pk)
{
    proto_test_str(pk, "stop");
}
static void s_v_node(msgpack_packer *pk)
{
    proto_test_str(pk, PROTO_TEST_NODE);
}
static void s_v_empty(msgpack_packer *pk)
{
    proto_test_str(pk, "");
}
static void s_v_long_type(msgpack_packer *pk)
{
    char text[66];
    memset(text, 't', 65);
    text[65] = '\0';
    proto_test_str(pk, text);
}
static void s_v_long_node(msgpack_packer *pk)
{
    char text[1026];
    memset(text, 'n', 1025);
    text[1025] = '\0';
    proto_test_str(pk, text);
}
static void s_v_bin_type(msgpack_packer *pk)
{
    msgpack_pack_bin(pk, 4);
    msgpack_pack_bin_body(pk, "stop", 4);
}

static void s_check_envelope(size_t items, proto_test_value_fn *type,
                             proto_test_value_fn *node, const char *expect)
{
    proto_test_writer_t w;
    proto_test_writer_init(&w);
    s_pack_frame(&w, items, type, node);
    if (expect) {
        proto_test_decode_bad(w.sb.data, w.sb.size, expect);
    } else {
        proto_msg_t *msg = proto_test_decode_ok(w.sb.data, w.sb.size);
        proto_msg_destroy(&msg);
    }
    msgpack_sbuffer_destroy(&w.sb);
}

static void s_test_bad_envelope(void)
{
    static const char array[] = "expected an array [type, data, node_id]";
    s_check_envelope(3, s_v_type_stop, s_v_node, NULL);
    s_check_envelope(0, s_v_type_stop, s_v_node, array);
    s_check_envelope(2, s_v_type_stop, s_v_node, array);
    s_check_envelope(4, s_v_type_stop, s_v_node, array);
    s_check_envelope(3, proto_test_v_int, s_v_node,
                     "message type is not a short "
                     "string");
    s_check_envelope(3, proto_test_v_nil, s_v_node, "message type");
    s_check_envelope(3, s_v_bin_type, s_v_node, "message type");
    s_check_envelope(3, s_v_empty, s_v_node, "message type");
    s_check_envelope(3, s_v_long_type, s_v_node, "message type");
    s_check_envelope(3, s_v_type_stop, proto_test_v_int,
                     "node id is not a string");
    s_check_envelope(3, s_v_type_stop, proto_test_v_nil, "node id");
    s_check_envelope(3, s_v_type_stop, s_v_long_node, "node id");
    s_check_envelope(3, s_v_type_stop, s_v_empty, NULL);
    // Not an array at all.
    proto_test_decode_bad("\x80", 1, array);
    proto_test_decode_bad("\xc0", 1, array);
    proto_test_decode_bad("\x05", 1, array);
    proto_test_decode_bad("\xa4stop", 5, array);
}

// Every proper prefix of a valid frame is refused.
static void s_check_truncations(const uint8_t *data, size_t size)
{
    for (size_t len = 0; len < size; len++) {
        apex_error_t err = {""};
        proto_msg_t *msg = proto_decode(data, len, &err);
        if (msg)
            fprintf(stderr, "prefix of %zu of %zu bytes decoded\n", len, size);
        CHECK(msg == NULL);
        CHECK(err.msg[0] != '\0');
    }
}

// Decode junk: no crash, and either a message (destroyed) or an error.
static void s_decode_any(const uint8_t *data, size_t size)
{
    apex_error_t err = {""};
    proto_msg_t *msg = proto_decode(data, size, &err);
    if (msg) {
        CHECK(msg->type_name != NULL && msg->node_id != NULL);
        proto_msg_destroy(&msg);
    } else {
        CHECK(err.msg[0] != '\0');
    }
}

static const char *const s_fixture_names[] = {
    "client_ready-2.12.1",
    "client_ready-2.46.3",
    "heartbeat-2.12.1-ready",
    "heartbeat-2.12.1-running",
    "heartbeat-2.46.3-ready",
    "heartbeat-2.46.3-running",
    "spawning-2.12.1",
    "spawning_complete-2.12.1",
    "spawning_complete-2.46.3",
    "client_stopped-2.12.1",
    "quit-2.12.1",
    "pong-2.12.1",
    "ack-2.12.1-master",
    "ack-2.46.3-master",
    "stop-2.12.1-master",
    "reconnect-2.12.1-master",
    "quit-2.12.1-master",
    "heartbeat-2.46.3-master",
    "spawning_complete-2.46.3-master",
    "spawn-2.12.1-master",
    "spawn-2.46.3-master",
    "stats-2.12.1-first",
    "stats-2.12.1",
    "stats-2.46.3",
};
#define S_NFIXTURES (sizeof s_fixture_names / sizeof s_fixture_names[0])

#define S_NFRAMES (S_NFIXTURES + 3) // the fixtures and three of ours

// Valid frames: Locust's captures and our stats, spawn and heartbeat.
typedef struct {
    uint8_t *data[S_NFRAMES]; // each frame's bytes
    size_t size[S_NFRAMES];   // its length
    size_t n;                 // how many
} s_frames_t;

static void s_frames_load(s_frames_t *f)
{
    for (size_t i = 0; i < S_NFIXTURES; i++)
        f->data[i] = proto_test_fixture(s_fixture_names[i], &f->size[i]);
    apex_buf_t buf;
    apex_buf_init(&buf);
    apex_stats_t *stats = apex_stats_new(PROTO_TEST_T0);
    apex_stats_entry_t *e = apex_stats_get(stats, "GET", "/", PROTO_TEST_T0);
    for (int i = 0; i < 100; i++)
        apex_stats_record(stats, e, (uint64_t)i * 997, 10,
                          PROTO_TEST_T0 + i % 5);
    apex_stats_record_failure(stats, e, PROTO_TEST_ERR_HEALTH, PROTO_TEST_T0);
    proto_count_t pc = {(char *)"HealthUser", 3};
    proto_encode_stats(&buf, stats, &pc, 1, 3, NULL, PROTO_TEST_NODE);
    f->n = S_NFIXTURES;
    f->size[f->n] = buf.len;
    f->data[f->n++] = (uint8_t *)apex_buf_take(&buf);
    proto_spawn_options_t opts = {"{\"a\":1}", 4, 2, false, 0, 0,
                                  false,       1, 2, 0,     0};
    proto_encode_spawn(&buf, PROTO_TEST_T0, &pc, 1, "http://h", 3, &opts,
                       PROTO_TEST_NODE);
    f->size[f->n] = buf.len;
    f->data[f->n++] = (uint8_t *)apex_buf_take(&buf);
    proto_encode_heartbeat(&buf, "ready", 1.5, 1234, "0.3.1", PROTO_TEST_NODE);
    f->size[f->n] = buf.len;
    f->data[f->n++] = (uint8_t *)apex_buf_take(&buf);
    apex_stats_destroy(&stats);
}

static void s_frames_free(s_frames_t *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->data[i]);
}

// Each frame whole, every proper prefix, and one byte too many.
static void s_test_truncations(const s_frames_t *f)
{
    for (size_t i = 0; i < f->n; i++) {
        s_decode_any(f->data[i], f->size[i]); // whole: valid
        s_check_truncations(f->data[i], f->size[i]);
        // One byte too many.
        uint8_t *longer = malloc(f->size[i] + 1);
        CHECK(longer != NULL);
        memcpy(longer, f->data[i], f->size[i]);
        longer[f->size[i]] = 0xc0;
        proto_test_decode_bad(longer, f->size[i] + 1, "1 trailing bytes");
        free(longer);
    }
}

// Random bytes, some starting like a frame.
static void s_test_random(uint64_t *rng)
{
    uint8_t junk[S_RANDOM_MAX_LEN];
    for (int round = 0; round < S_RANDOM_FRAMES; round++) {
        size_t len = (size_t)(apex_rng_next(rng) % S_RANDOM_MAX_LEN);
        for (size_t i = 0; i < len; i++)
            junk[i] = (uint8_t)apex_rng_next(rng);
        if (len > 0 && round % 2)
            junk[0] = 0x93;
        s_decode_any(junk, len);
    }
}

// Valid frames with one to four bytes damaged.
static void s_test_mutated(const s_frames_t *f, uint64_t *rng)
{
    for (int round = 0; round < S_MUTATED_FRAMES; round++) {
        size_t i = (size_t)(apex_rng_next(rng) % f->n);
        uint8_t *copy = malloc(f->size[i]);
        CHECK(copy != NULL);
        memcpy(copy, f->data[i], f->size[i]);
        int damage = 1 + (int)(apex_rng_next(rng) % 4);
        for (int d = 0; d < damage; d++)
            copy[apex_rng_next(rng) % f->size[i]] = (uint8_t)apex_rng_next(rng);
        s_decode_any(copy, f->size[i]);
        free(copy);
    }
}

static void s_test_junk(void)
{
    s_frames_t f;
    s_frames_load(&f);
    s_test_truncations(&f);
    uint64_t rng = apex_rng_seed(1795737094);
    s_test_random(&rng);
    s_test_mutated(&f, &rng);
    s_frames_free(&f);
}

// Size bombs: containers and strings declaring far more than the frame
// holds, at the top and inside a valid envelope.
static void s_test_bombs(void)
{
    static const struct {
        const char *bytes; // the declaration
        size_t size;       // its length
    } bombs[] = {
        {"\xdd\xff\xff\xff\xff", 5},     // array32
        {"\xdf\xff\xff\xff\xff", 5},     // map32
        {"\xdc\xff\xff", 3},             // array16
        {"\xde\xff\xff", 3},             // map16
        {"\xdb\xff\xff\xff\xff", 5},     // str32
        {"\xda\xff\xff", 3},             // str16
        {"\xc6\xff\xff\xff\xff", 5},     // bin32
        {"\xc9\xff\xff\xff\xff\x01", 6}, // ext32
        {"\xd9\xff", 2},                 // str8
        {"\x9f", 1},                     // fixarray of 15
        {"\x8f", 1},                     // fixmap of 15
        {"\xc1", 1},                     // never used
    };
    for (size_t i = 0; i < sizeof bombs / sizeof bombs[0]; i++) {
        proto_test_decode_bad(bombs[i].bytes, bombs[i].size,
                              "not valid msgpack");
        uint8_t frame[64];
        size_t len = 0;
        frame[len++] = 0x93;
        frame[len++] = 0xa5;
        memcpy(frame + len, "stats", 5);
        len += 5;
        memcpy(frame + len, bombs[i].bytes, bombs[i].size);
        len += bombs[i].size;
        frame[len++] = 0xa1;
        frame[len++] = 'x';
        proto_test_decode_bad(frame, len, "not valid msgpack");
    }
}

// Nesting: PROTO_MAX_DEPTH levels of containers (the envelope is the
// first) are accepted, one more is not, and far more cannot blow the
// stack.
static void s_test_depth(void)
{
    uint8_t *deep = malloc(S_DEEP + 16);
    CHECK(deep != NULL);
    static const size_t depths[] = {PROTO_MAX_DEPTH, PROTO_MAX_DEPTH + 1,
                                    S_DEEP};
    for (size_t k = 0; k < 3; k++) {
        size_t len = 0;
        deep[len++] = 0x93;
        deep[len++] = 0xa4;
        memcpy(deep + len, "stop", 4);
        len += 4;
        for (size_t d = 1; d < depths[k]; d++)
            deep[len++] = 0x91; // [ ... ]
        deep[len++] = 0xc0;
        deep[len++] = 0xa1;
        deep[len++] = 'x';
        if (k == 0) {
            proto_msg_t *msg = proto_test_decode_ok(deep, len);
            CHECK_EQ(msg->type, PROTO_STOP);
            proto_msg_destroy(&msg);
        } else {
            proto_test_decode_bad(deep, len, "too deep");
        }
    }
    free(deep);
}

// Frame sizes: empty, and one byte more than the largest allowed
// (refused before it is read). A NULL err is allowed.
static void s_test_sizes(void)
{
    proto_test_decode_bad("", 0, "frame of 0 bytes");
    proto_test_decode_bad(NULL, 0, "frame of 0 bytes");
    uint8_t *big = malloc(PROTO_MAX_FRAME + 1u);
    CHECK(big != NULL);
    big[0] = 0x93;
    proto_test_decode_bad(big, PROTO_MAX_FRAME + 1u, "frame of 67108865 bytes");
    free(big);
    // A NULL err is allowed.
    CHECK(proto_decode("\xc1", 1, NULL) == NULL);
    CHECK(proto_decode("\x93\xa1x\xc0\x05", 5, NULL) == NULL);
}

#define S_MANY_NAMES 5000 // entries in one report, 5 x the limit
#define S_MANY_ERRORS 2500

// One report with 5,000 names and 2,500 errors decodes into at most
// PROTO_MAX_STATS_ENTRIES entries plus the "other" one (and as many
// errors): nothing is lost, the total stays exact, and memory is that of
// 1,001 entries, not 5,000 (the review's 50,000 took a master to 1.4 GB).
static void s_test_many_names(void)
{
    apex_stats_t *stats = apex_stats_new(PROTO_TEST_T0);
    char name[64];
    for (int i = 0; i < S_MANY_NAMES; i++) {
        snprintf(name, sizeof name, "/n/%d", i);
        apex_stats_entry_t *e =
            apex_stats_get(stats, "GET", name, PROTO_TEST_T0);
        apex_stats_record(stats, e, 1000, 1, PROTO_TEST_T0);
        if (i < S_MANY_ERRORS)
            apex_stats_record_failure(stats, e, "boom", PROTO_TEST_T0);
    }
    apex_buf_t out;
    apex_buf_init(&out);
    proto_encode_stats(&out, stats, NULL, 0, 1, NULL, PROTO_TEST_NODE);
    proto_msg_t *msg = proto_test_decode_buf(&out);
    CHECK_EQ(apex_stats_size(msg->stats), PROTO_MAX_STATS_ENTRIES + 1);
    CHECK(apex_stats_entries_full(msg->stats));
    const apex_stats_entry_t *other =
        apex_stats_find(msg->stats, "", APEX_STATS_OTHER_NAME);
    CHECK(other != NULL);
    CHECK_EQ(other->num_requests, S_MANY_NAMES - PROTO_MAX_STATS_ENTRIES);
    uint64_t sum = 0;
    for (size_t i = 0; i < apex_stats_size(msg->stats); i++)
        sum += apex_stats_at(msg->stats, i)->num_requests;
    CHECK_EQ(sum, S_MANY_NAMES);
    CHECK_EQ(apex_stats_total_const(msg->stats)->num_requests, S_MANY_NAMES);
    CHECK_EQ(apex_stats_error_count(msg->stats), PROTO_MAX_STATS_ERRORS + 1);
    CHECK(apex_stats_errors_full(msg->stats));
    uint64_t occurrences = 0;
    for (size_t i = 0; i < apex_stats_error_count(msg->stats); i++)
        occurrences += apex_stats_error_at(msg->stats, i)->occurrences;
    CHECK_EQ(occurrences, S_MANY_ERRORS);
    proto_msg_destroy(&msg);
    apex_buf_fini(&out);
    apex_stats_destroy(&stats);
}

// Names, errors and exception texts longer than the master keeps are
// cut to their limit, never in the middle of a UTF-8 character.
static void s_test_long_texts(void)
{
    size_t len = PROTO_MAX_EXCEPTION_TEXT * 2;
    char *text = apex_calloc(1, len + 1);
    text[0] = 'x'; // then é (2 bytes) from byte 1: every limit, even,
    for (size_t i = 1; i + 1 < len; i += 2) // falls inside one
        memcpy(text + i, "\xc3\xa9", 2);
    apex_stats_t *stats = apex_stats_new(PROTO_TEST_T0);
    apex_stats_entry_t *e = apex_stats_get(stats, "GET", text, PROTO_TEST_T0);
    apex_stats_record(stats, e, 1000, 1, PROTO_TEST_T0);
    apex_stats_record_failure(stats, e, text, PROTO_TEST_T0);
    apex_buf_t out;
    apex_buf_init(&out);
    proto_encode_stats(&out, stats, NULL, 0, 1, NULL, PROTO_TEST_NODE);
    proto_msg_t *msg = proto_test_decode_buf(&out);
    const apex_stats_entry_t *got = apex_stats_at(msg->stats, 0);
    CHECK_EQ(strlen(got->name), PROTO_MAX_NAME - 1);
    CHECK_EQ(strncmp(got->name, text, PROTO_MAX_NAME - 1), 0);
    const apex_stats_error_t *err = apex_stats_error_at(msg->stats, 0);
    CHECK_EQ(strlen(err->name), PROTO_MAX_NAME - 1);
    CHECK_EQ(strlen(err->error), PROTO_MAX_ERROR_TEXT - 1);
    proto_msg_destroy(&msg);
    proto_encode_exception(&out, text, text, PROTO_TEST_NODE);
    msg = proto_test_decode_buf(&out);
    CHECK_EQ(strlen(msg->msg), PROTO_MAX_EXCEPTION_TEXT - 1);
    CHECK_EQ(strlen(msg->traceback), PROTO_MAX_EXCEPTION_TEXT - 1);
    proto_msg_destroy(&msg);
    apex_buf_fini(&out);
    apex_stats_destroy(&stats);
    free(text);
}

void test_proto_hostile(bool verbose)
{
    s_test_many_names();
    s_test_long_texts();
    (void)verbose;
    s_test_bad_data();
    s_test_bad_envelope();
    s_test_junk();
    s_test_bombs();
    s_test_depth();
    s_test_sizes();
}
