// tests/unit/test_proto_decode.c - real frames captured from Locust
// 2.12.1 and 2.46.3 (tests/unit/data/locust/, made by make_fixtures.py
// there; tests run from the top of the tree) decode to what Locust sent:
// client_ready, heartbeats, spawning_complete, ack, spawn, the messages
// without data, a custom message; the frame a real master answered with
// "reconnect" is refused. proto_msg_destroy is safe twice.
#include "tests/unit/tests.h"

#include "proto/proto.h"
#include "tests/unit/proto_util.h"

// client_ready of both versions; heartbeats ready and running.
static void s_test_hello_fixtures(void)
{
    proto_msg_t *msg = proto_test_decode_fixture("client_ready-2.12.1");
    CHECK_EQ(msg->type, PROTO_CLIENT_READY);
    CHECK_STR(msg->version, "2.12.1");
    CHECK_STR(msg->node_id, PROTO_TEST_NODE);
    proto_msg_destroy(&msg);
    msg = proto_test_decode_fixture("client_ready-2.46.3");
    CHECK_STR(msg->version, "2.46.3");
    CHECK_STR(msg->node_id, PROTO_TEST_NODE_2463);
    proto_msg_destroy(&msg);

    static const struct {
        const char *name;  // fixture
        const char *state; // decoded
        double cpu;        // current_cpu_usage
        uint64_t memory;   // current_memory_usage
    } beats[] = {
        {"heartbeat-2.12.1-ready", "ready", 0.0, 56258560},
        {"heartbeat-2.12.1-running", "running", 2.2, 57131008},
        {"heartbeat-2.46.3-ready", "ready", 0.0, 0},
        {"heartbeat-2.46.3-running", "running", 0.0, 59375616},
    };
    for (size_t i = 0; i < sizeof beats / sizeof beats[0]; i++) {
        msg = proto_test_decode_fixture(beats[i].name);
        CHECK_EQ(msg->type, PROTO_HEARTBEAT);
        CHECK_STR(msg->state, beats[i].state);
        CHECK(msg->cpu_usage == beats[i].cpu);
        CHECK_EQ(msg->memory_usage, beats[i].memory);
        CHECK(msg->apex_version == NULL);
        proto_msg_destroy(&msg);
    }
}

// spawning_complete from workers and a master; acks.
static void s_test_count_fixtures(void)
{
    static const char *const classes[] = {"HealthUser", "OtherUser",
                                          "SyntheticUser"};
    static const int64_t c2121[] = {2, 1, 1};
    proto_msg_t *msg = proto_test_decode_fixture("spawning_complete-2.12.1");
    CHECK_EQ(msg->type, PROTO_SPAWNING_COMPLETE);
    proto_test_check_counts(msg, classes, c2121, 3);
    CHECK_EQ(msg->user_count, 4);
    proto_msg_destroy(&msg);
    static const int64_t c2463[] = {1, 0, 0};
    msg = proto_test_decode_fixture("spawning_complete-2.46.3");
    proto_test_check_counts(msg, classes, c2463, 3);
    CHECK_EQ(msg->user_count, 1);
    proto_msg_destroy(&msg);
    msg = proto_test_decode_fixture("spawning_complete-2.46.3-master");
    CHECK_EQ(msg->type, PROTO_SPAWNING_COMPLETE);
    CHECK_EQ(msg->ncounts, 0);
    CHECK_EQ(msg->user_count, 4);
    proto_msg_destroy(&msg);

    msg = proto_test_decode_fixture("ack-2.12.1-master");
    CHECK_EQ(msg->type, PROTO_ACK);
    CHECK_EQ(msg->index, 0);
    CHECK_STR(msg->node_id, PROTO_TEST_MASTER_NODE_2121);
    proto_msg_destroy(&msg);
    msg = proto_test_decode_fixture("ack-2.46.3-master");
    CHECK_EQ(msg->index, 1);
    CHECK_STR(msg->node_id, "otherhost_1f1801f19f0c4ffa9ed6fe025dda1119");
    proto_msg_destroy(&msg);
}

// Messages without data, a custom one, and a malformed frame.
static void s_test_empty_fixtures(void)
{
    proto_msg_t *msg;
    static const struct {
        const char *name;  // fixture
        proto_type_t type; // decoded
        const char *node;  // node id
    } empties[] = {
        {"spawning-2.12.1", PROTO_SPAWNING, PROTO_TEST_NODE},
        {"client_stopped-2.12.1", PROTO_CLIENT_STOPPED, PROTO_TEST_NODE},
        {"quit-2.12.1", PROTO_QUIT, PROTO_TEST_NODE},
        {"stop-2.12.1-master", PROTO_STOP, PROTO_TEST_MASTER_NODE_2121},
        {"reconnect-2.12.1-master", PROTO_RECONNECT,
         PROTO_TEST_MASTER_NODE_2121},
        {"quit-2.12.1-master", PROTO_QUIT, PROTO_TEST_MASTER_NODE_2121},
        {"heartbeat-2.46.3-master", PROTO_HEARTBEAT,
         "fakehost_ab3bbadef2d846d59009910340cde064"},
    };
    for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++) {
        msg = proto_test_decode_fixture(empties[i].name);
        CHECK_EQ(msg->type, empties[i].type);
        CHECK(!msg->has_data);
        CHECK_STR(msg->node_id, empties[i].node);
        CHECK(msg->state == NULL);
        proto_msg_destroy(&msg);
    }

    // A custom message from a locustfile: unknown, but not an error.
    msg = proto_test_decode_fixture("pong-2.12.1");
    CHECK_EQ(msg->type, PROTO_UNKNOWN);
    CHECK_STR(msg->type_name, "pong");
    CHECK(msg->has_data);
    proto_msg_destroy(&msg);

    // What a real master answered with "reconnect": trailing bytes.
    size_t size;
    uint8_t *data = proto_test_fixture("malformed-trailing", &size);
    proto_test_decode_bad(data, size, "1 trailing bytes");
    free(data);
}

static void s_test_spawn_fixtures(void)
{
    static const char *const classes[] = {"HealthUser", "OtherUser",
                                          "SyntheticUser"};
    static const int64_t counts[] = {1, 0, 1};
    // 2.12.1 master: stop_timeout None, parsed_options without ours.
    proto_msg_t *msg = proto_test_decode_fixture("spawn-2.12.1-master");
    CHECK_EQ(msg->type, PROTO_SPAWN);
    CHECK(msg->timestamp == 1795737032.874608);
    proto_test_check_counts(msg, classes, counts, 3);
    CHECK_STR(msg->host, "http://127.0.0.1:8088");
    CHECK(msg->stop_timeout == -1);
    CHECK(msg->scenario == NULL);
    CHECK(!msg->reset_stats); // Locust's reset_stats: False
    CHECK_STR(msg->node_id, PROTO_TEST_MASTER_NODE_2121);
    proto_msg_destroy(&msg);
    // 2.46.3 master: stop_timeout 0.0.
    msg = proto_test_decode_fixture("spawn-2.46.3-master");
    CHECK(msg->timestamp == 1795737188.3448472);
    proto_test_check_counts(msg, classes, counts, 3);
    CHECK(msg->stop_timeout == 0);
    CHECK(msg->scenario == NULL);
    proto_msg_destroy(&msg);
}

void test_proto_decode(bool verbose)
{
    (void)verbose;
    s_test_hello_fixtures();
    s_test_count_fixtures();
    s_test_empty_fixtures();
    s_test_spawn_fixtures();

    apex_buf_t buf;
    apex_buf_init(&buf);
    proto_encode_empty(&buf, "quit", PROTO_TEST_NODE);
    proto_msg_t *msg = proto_test_decode_buf(&buf);
    apex_buf_fini(&buf);
    proto_msg_destroy(&msg);
    CHECK(msg == NULL);
    proto_msg_destroy(&msg); // safe twice
    CHECK(msg == NULL);
    proto_msg_destroy(NULL);
}
