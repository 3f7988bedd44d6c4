// tests/unit/test_proto_encode.c - every encoder of proto.h but the
// stats one (test_proto_stats.c) makes a round trip through
// proto_decode, each field checked: client_ready, heartbeat,
// spawning_complete both ways, ack, spawn, exception and the messages
// without data; type names; encoders replace, never append.
#include "tests/unit/tests.h"
#include "common/scenario.h"

#include "proto/proto.h"
#include "tests/unit/proto_util.h"

#define S_BIG_TEXT (1u << 20) // a 1 MiB traceback

// The user classes of the captures (docs/protocol.md, "Captures and
// fixtures") and one count each.
static const char *const s_names[] = {"HealthUser", "OtherUser",
                                      "SyntheticUser"};
static const int64_t s_counts[] = {2, 0, 1};

static void s_classes(proto_count_t pc[3])
{
    for (size_t i = 0; i < 3; i++) {
        pc[i].name = (char *)s_names[i];
        pc[i].count = s_counts[i];
    }
}

// client_ready with a version or -1; heartbeat.
static void s_test_client_ready_heartbeat(void)
{
    apex_buf_t buf;
    apex_buf_init(&buf);
    proto_encode_client_ready(&buf, PROTO_VERSION, PROTO_TEST_NODE);
    proto_msg_t *msg = proto_test_decode_buf(&buf);
    CHECK_EQ(msg->type, PROTO_CLIENT_READY);
    CHECK_STR(msg->type_name, "client_ready");
    CHECK_STR(msg->node_id, PROTO_TEST_NODE);
    CHECK(msg->has_data);
    CHECK_STR(msg->version, "2.12.1");
    CHECK(msg->stats == NULL);
    proto_msg_destroy(&msg);
    // -1: Locust's "no version check" value.
    proto_encode_client_ready(&buf, NULL, PROTO_TEST_NODE);
    msg = proto_test_decode_buf(&buf);
    CHECK_EQ(msg->type, PROTO_CLIENT_READY);
    CHECK(msg->version == NULL);
    CHECK_EQ(msg->version_int, -1);
    proto_msg_destroy(&msg);

    // heartbeat with and without the apex_version extension.
    proto_encode_heartbeat(&buf, "running", 12.5, 1ULL << 40, "0.3.1",
                           PROTO_TEST_NODE);
    msg = proto_test_decode_buf(&buf);
    CHECK_EQ(msg->type, PROTO_HEARTBEAT);
    CHECK_STR(msg->state, "running");
    CHECK(msg->cpu_usage == 12.5);
    CHECK_EQ(msg->memory_usage, 1ULL << 40);
    CHECK_STR(msg->apex_version, "0.3.1");
    proto_msg_destroy(&msg);
    proto_encode_heartbeat(&buf, "ready", 0.0, 56258560, NULL, PROTO_TEST_NODE);
    msg = proto_test_decode_buf(&buf);
    CHECK_STR(msg->state, "ready");
    CHECK(msg->cpu_usage == 0.0);
    CHECK_EQ(msg->memory_usage, 56258560);
    CHECK(msg->apex_version == NULL);
    proto_msg_destroy(&msg);

    apex_buf_fini(&buf);
}

// spawning_complete from a worker and from the master; ack.
static void s_test_spawning_complete_ack(void)
{
    apex_buf_t buf;
    apex_buf_init(&buf);
    proto_msg_t *msg;
    // spawning_complete both ways.
    proto_count_t pc[3];
    s_classes(pc);
    proto_encode_spawning_complete(&buf, pc, 3, 3, PROTO_TEST_NODE);
    msg = proto_test_decode_buf(&buf);
    CHECK_EQ(msg->type, PROTO_SPAWNING_COMPLETE);
    proto_test_check_counts(msg, s_names, s_counts, 3);
    CHECK_EQ(msg->user_count, 3);
    proto_msg_destroy(&msg);
    proto_encode_spawning_complete(&buf, NULL, 0, 0, PROTO_TEST_NODE);
    msg = proto_test_decode_buf(&buf);
    CHECK_EQ(msg->ncounts, 0);
    CHECK_EQ(msg->user_count, 0);
    proto_msg_destroy(&msg);
    proto_encode_master_spawning_complete(&buf, 4, PROTO_TEST_NODE);
    msg = proto_test_decode_buf(&buf);
    CHECK_EQ(msg->type, PROTO_SPAWNING_COMPLETE);
    CHECK_EQ(msg->ncounts, 0);
    CHECK_EQ(msg->user_count, 4);
    proto_msg_destroy(&msg);

    // ack.
    proto_encode_ack(&buf, 0, PROTO_TEST_NODE);
    msg = proto_test_decode_buf(&buf);
    CHECK_EQ(msg->type, PROTO_ACK);
    CHECK_EQ(msg->index, 0);
    proto_msg_destroy(&msg);
    proto_encode_ack(&buf, 123456, PROTO_TEST_NODE);
    msg = proto_test_decode_buf(&buf);
    CHECK_EQ(msg->index, 123456);
    proto_msg_destroy(&msg);

    apex_buf_fini(&buf);
}

// spawn, with and without options.
static void s_test_spawn(void)
{
    apex_buf_t buf;
    apex_buf_init(&buf);
    proto_msg_t *msg;
    proto_count_t pc[3];
    s_classes(pc);
    // spawn: host str/None, stop_timeout None/number, scenario or not.
    proto_spawn_options_t opts = {.scenario = "{\"users\":[{\"name\":\"A\"}]}",
                                  .num_users = 4,
                                  .spawn_rate = 2.5,
                                  .reset_stats = true};
    proto_encode_spawn(&buf, 1795737092.2213676, pc, 3, "http://127.0.0.1:8088",
                       -1, &opts, PROTO_TEST_NODE);
    msg = proto_test_decode_buf(&buf);
    CHECK_EQ(msg->type, PROTO_SPAWN);
    CHECK(msg->timestamp == 1795737092.2213676);
    proto_test_check_counts(msg, s_names, s_counts, 3);
    CHECK_STR(msg->host, "http://127.0.0.1:8088");
    CHECK(msg->stop_timeout == -1);
    CHECK_STR(msg->scenario, opts.scenario);
    CHECK(msg->reset_stats);
    CHECK_EQ(msg->worker_position, -1); // not sent
    CHECK_EQ(msg->worker_count, 0);
    CHECK_EQ(msg->http_engine, 0); // apex_http not sent
    CHECK_EQ(msg->http_debug, -1);
    proto_msg_destroy(&msg);
    // The run's HTTP engine and --http-debug (apex_http).
    opts.http_engine = APEX_ENGINE_HTTP1;
    opts.http_debug = APEX_HTTP_DEBUG_FULL;
    proto_encode_spawn(&buf, 1.25, pc, 3, NULL, -1, &opts, PROTO_TEST_NODE);
    msg = proto_test_decode_buf(&buf);
    CHECK_EQ(msg->http_engine, APEX_ENGINE_HTTP1);
    CHECK_EQ(msg->http_debug, APEX_HTTP_DEBUG_FULL);
    proto_msg_destroy(&msg);
    opts.http_engine = 0; // debug alone: engine nil
    opts.http_debug = APEX_HTTP_DEBUG_HEADERS;
    proto_encode_spawn(&buf, 1.25, pc, 3, NULL, -1, &opts, PROTO_TEST_NODE);
    msg = proto_test_decode_buf(&buf);
    CHECK_EQ(msg->http_engine, 0);
    CHECK_EQ(msg->http_debug, APEX_HTTP_DEBUG_HEADERS);
    proto_msg_destroy(&msg);
    opts.http_debug = 0;
    // The worker's place in the dispatch (apex extension keys).
    opts.worker_position = 2;
    opts.worker_count = 3;
    proto_encode_spawn(&buf, 1.5, pc, 3, NULL, -1, &opts, PROTO_TEST_NODE);
    msg = proto_test_decode_buf(&buf);
    CHECK_EQ(msg->worker_position, 2);
    CHECK_EQ(msg->worker_count, 3);
    proto_msg_destroy(&msg);
    opts.worker_position = 3; // not below the count: refused
    proto_encode_spawn(&buf, 1.5, pc, 3, NULL, -1, &opts, PROTO_TEST_NODE);
    apex_error_t perr = {""};
    CHECK(proto_decode(buf.data, buf.len, &perr) == NULL);
    CHECK(strstr(perr.msg, "apex_worker_index"));
    opts.worker_position = 0;
    opts.worker_count = 0;
    proto_encode_spawn(&buf, 2.0, pc, 1, NULL, 0, NULL, PROTO_TEST_NODE);
    msg = proto_test_decode_buf(&buf);
    CHECK(!msg->reset_stats);
    CHECK(msg->host == NULL);
    CHECK(msg->stop_timeout == 0);
    CHECK(msg->scenario == NULL);
    CHECK_EQ(msg->ncounts, 1);
    proto_msg_destroy(&msg);
    opts.scenario = NULL;
    opts.num_users = -1;
    opts.spawn_rate = -1;
    proto_encode_spawn(&buf, 3.0, NULL, 0, "h", 2.5, &opts, PROTO_TEST_NODE);
    msg = proto_test_decode_buf(&buf);
    CHECK_STR(msg->host, "h");
    CHECK(msg->stop_timeout == 2.5);
    CHECK(msg->scenario == NULL);
    CHECK_EQ(msg->ncounts, 0);
    proto_msg_destroy(&msg);

    apex_buf_fini(&buf);
}

// exception.
static void s_test_exception(void)
{
    apex_buf_t buf;
    apex_buf_init(&buf);
    proto_msg_t *msg;
    // exception, with a big traceback and non-ASCII text.
    char *tb = malloc(S_BIG_TEXT + 1);
    CHECK(tb != NULL);
    for (size_t i = 0; i < S_BIG_TEXT; i++)
        tb[i] = "  File \"x.py\", line 1\n"[i % 23];
    tb[S_BIG_TEXT] = '\0';
    proto_encode_exception(&buf, "task blew up: \xc3\xa9\xe2\x82\xac", tb,
                           PROTO_TEST_NODE);
    msg = proto_test_decode_buf(&buf);
    CHECK_EQ(msg->type, PROTO_EXCEPTION);
    CHECK_STR(msg->msg, "task blew up: \xc3\xa9\xe2\x82\xac");
    CHECK_STR(msg->traceback, tb);
    proto_msg_destroy(&msg);
    free(tb);

    apex_buf_fini(&buf);
}

// Messages without data; type names; replacing, not appending.
static void s_test_empties(void)
{
    apex_buf_t buf;
    apex_buf_init(&buf);
    proto_msg_t *msg;
    // Messages without data, and types we do not handle.
    static const struct {
        const char *type;  // on the wire
        proto_type_t code; // decoded
    } empties[] = {
        {"spawning", PROTO_SPAWNING},
        {"client_stopped", PROTO_CLIENT_STOPPED},
        {"quit", PROTO_QUIT},
        {"stop", PROTO_STOP},
        {"reconnect", PROTO_RECONNECT},
        {"heartbeat", PROTO_HEARTBEAT},
        {"logs", PROTO_LOGS},
        {"ack", PROTO_ACK},
        {"pong", PROTO_UNKNOWN},
        {"update_user_class", PROTO_UNKNOWN},
        {"locustfile", PROTO_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++) {
        proto_encode_empty(&buf, empties[i].type, "");
        msg = proto_test_decode_buf(&buf);
        CHECK_EQ(msg->type, empties[i].code);
        CHECK_STR(msg->type_name, empties[i].type);
        CHECK_STR(msg->node_id, "");
        CHECK(!msg->has_data);
        CHECK(msg->state == NULL);
        CHECK_EQ(msg->index, -1); // "absent" defaults
        CHECK_EQ(msg->user_count, -1);
        CHECK(msg->stop_timeout == -1);
        if (empties[i].code != PROTO_UNKNOWN)
            CHECK_STR(proto_type_name(empties[i].code), empties[i].type);
        proto_msg_destroy(&msg);
    }
    CHECK_STR(proto_type_name(PROTO_UNKNOWN), "unknown");
    CHECK_STR(proto_type_name((proto_type_t)999), "unknown");
    static const proto_type_t all[] = {
        PROTO_CLIENT_READY,
        PROTO_HEARTBEAT,
        PROTO_STATS,
        PROTO_SPAWNING,
        PROTO_SPAWNING_COMPLETE,
        PROTO_CLIENT_STOPPED,
        PROTO_QUIT,
        PROTO_EXCEPTION,
        PROTO_LOGS,
        PROTO_ACK,
        PROTO_SPAWN,
        PROTO_STOP,
        PROTO_RECONNECT,
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        CHECK(strcmp(proto_type_name(all[i]), "unknown") != 0);

    // Encoders replace the buffer's contents; they never append.
    proto_encode_empty(&buf, "quit", PROTO_TEST_NODE);
    size_t quit_len = buf.len;
    proto_encode_empty(&buf, "quit", PROTO_TEST_NODE);
    CHECK_EQ(buf.len, quit_len);
    apex_buf_fini(&buf);
}

void test_proto_encode(bool verbose)
{
    (void)verbose;
    s_test_client_ready_heartbeat();
    s_test_spawning_complete_ack();
    s_test_spawn();
    s_test_exception();
    s_test_empties();
}
