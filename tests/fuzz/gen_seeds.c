// tests/fuzz/gen_seeds.c - writes the binary seeds that our own encoders
// produce (Locust's frames come from tests/unit/data/locust/): apex
// frames with the extension keys into DIR/proto/ and histogram encodings
// into DIR/histogram/. Run by `make fuzz-seeds` (DIR is
// tests/fuzz/corpus); the output is committed, so this only needs to run
// again when an encoder changes.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/buf.h"
#include "common/histogram.h"
#include "common/stats.h"
#include "proto/proto.h"

#define GEN_NOW 1700000000.0 // a fixed time, so the seeds do not change

static int s_write(const char *dir, const char *sub, const char *name,
                   const void *data, size_t size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        fprintf(stderr, "gen_seeds: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int s_proto(const char *dir, const char *name, apex_buf_t *out)
{
    int rc = s_write(dir, "proto", name, out->data, out->len);
    apex_buf_reset(out);
    return rc;
}

static int s_hist(const char *dir, const char *name, const apex_histogram_t *h)
{
    uint8_t buf[APEX_HISTOGRAM_ENCODE_MAX];
    return s_write(dir, "histogram", name, buf, apex_histogram_encode(h, buf));
}

static int s_histograms(const char *dir)
{
    int rc = 0;
    apex_histogram_t *h = apex_histogram_new();
    rc |= s_hist(dir, "empty.bin", h);
    apex_histogram_record(h, 1234);
    rc |= s_hist(dir, "one.bin", h);
    for (uint64_t us = 0; us < 200; us += 7)
        apex_histogram_record(h, us);
    rc |= s_hist(dir, "linear.bin", h);
    for (uint64_t us = 1000; us < 10000000; us = us * 3 / 2)
        apex_histogram_record_n(h, us, us % 5 + 1);
    rc |= s_hist(dir, "spread.bin", h);
    apex_histogram_reset(h);
    apex_histogram_record(h, APEX_HISTOGRAM_MAX_US);
    apex_histogram_record_n(h, 0, 1ULL << 40);
    rc |= s_hist(dir, "extremes.bin", h);
    apex_histogram_destroy(&h);
    return rc;
}

static int s_frames(const char *dir)
{
    int rc = 0;
    apex_buf_t out;
    apex_buf_init(&out);
    const char *node = "apex-worker-1_0123456789abcdef";
    proto_count_t counts[] = {{"ApexUser", 3}, {"WebUser", 1}};

    apex_stats_t *stats = apex_stats_new(GEN_NOW);
    apex_stats_entry_t *health =
        apex_stats_get(stats, "GET", "/health", GEN_NOW);
    apex_stats_entry_t *tasks =
        apex_stats_get(stats, "POST", "/api/v1/tasks", GEN_NOW);
    for (uint64_t i = 0; i < 40; i++) {
        apex_stats_record(stats, health, 800 + i * 150, 15, GEN_NOW + i / 10);
        apex_stats_record(stats, tasks, 20000 + i * 3000, 230,
                          GEN_NOW + i / 10);
        apex_stats_record_service(tasks, 15000 + i * 2000);
    }
    apex_stats_record_failure(
        stats, tasks, "HTTPError('500 Server Error: boom')", GEN_NOW + 2);
    proto_stats_extra_t extra = {80, 3};
    proto_encode_stats(&out, stats, counts, 2, 4, &extra, node);
    rc |= s_proto(dir, "apex-stats.bin", &out);
    apex_stats_reset(stats, GEN_NOW + 5);
    proto_encode_stats(&out, stats, counts, 2, 4, NULL, node);
    rc |= s_proto(dir, "apex-stats-empty.bin", &out);
    apex_stats_destroy(&stats);

    proto_spawn_options_t opts = {
        .scenario = "{\"users\":[{\"name\":\"ApexUser\",\"tasks\":"
                    "[{\"path\":\"/health\"}]}],\"env\":{}}",
        .num_users = 4,
        .spawn_rate = 2,
        .arrival = true,
        .arrival_rate = 12.5,
        .arrival_max_users = 40,
        .http_engine = 3, // http1 (common/scenario.h)
        .http_debug = 2,
    };
    proto_encode_spawn(&out, GEN_NOW, counts, 2, "http://127.0.0.1:8080", 5,
                       &opts, node);
    rc |= s_proto(dir, "apex-spawn-arrival.bin", &out);
    opts.arrival = false;
    opts.scenario = NULL;
    proto_encode_spawn(&out, GEN_NOW, counts, 1, NULL, -1, &opts, node);
    rc |= s_proto(dir, "apex-spawn.bin", &out);
    proto_encode_heartbeat(&out, "running", 12.5, 48u << 20, "0.1.0", node);
    rc |= s_proto(dir, "apex-heartbeat.bin", &out);
    proto_encode_client_ready(&out, NULL, node);
    rc |= s_proto(dir, "apex-client_ready-int.bin", &out);
    proto_encode_spawning_complete(&out, counts, 2, 4, node);
    rc |= s_proto(dir, "apex-spawning_complete.bin", &out);
    proto_encode_master_spawning_complete(&out, 4, node);
    rc |= s_proto(dir, "apex-spawning_complete-master.bin", &out);
    proto_encode_ack(&out, 2, node);
    rc |= s_proto(dir, "apex-ack.bin", &out);
    proto_encode_exception(&out, "ZeroDivisionError",
                           "Traceback (most recent call last):\n  ...", node);
    rc |= s_proto(dir, "apex-exception.bin", &out);
    proto_encode_empty(&out, "logs", node);
    rc |= s_proto(dir, "apex-logs.bin", &out);
    apex_buf_fini(&out);
    return rc;
}

// One small frame per message type and kind of data, so mutations start
// from every branch of the decoder's type checks (byte-level mutations
// rarely turn one well-formed msgpack frame into another).
static int s_grid(const char *dir)
{
    static const char *const types[] = {"client_ready",
                                        "heartbeat",
                                        "stats",
                                        "spawning",
                                        "spawning_complete",
                                        "client_stopped",
                                        "quit",
                                        "exception",
                                        "logs",
                                        "ack",
                                        "spawn",
                                        "stop",
                                        "reconnect",
                                        "unknown_type"};
    static const char *const kinds[] = {"nil", "int", "neg",   "float",
                                        "str", "map", "array", "bin"};
    int rc = 0;
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            msgpack_sbuffer sb;
            msgpack_sbuffer_init(&sb);
            msgpack_packer pk;
            msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
            msgpack_pack_array(&pk, 3);
            msgpack_pack_str_with_body(&pk, types[t], strlen(types[t]));
            switch (k) {
            case 0:
                msgpack_pack_nil(&pk);
                break;
            case 1:
                msgpack_pack_uint64(&pk, 7);
                break;
            case 2:
                msgpack_pack_int64(&pk, -1);
                break;
            case 3:
                msgpack_pack_double(&pk, 2.5);
                break;
            case 4:
                msgpack_pack_str_with_body(&pk, "x", 1);
                break;
            case 5: // the keys the types above look for, with odd values
                msgpack_pack_map(&pk, 4);
                msgpack_pack_str_with_body(&pk, "index", 5);
                msgpack_pack_double(&pk, 1.5);
                msgpack_pack_str_with_body(&pk, "user_count", 10);
                msgpack_pack_int64(&pk, -3);
                msgpack_pack_str_with_body(&pk, "state", 5);
                msgpack_pack_nil(&pk);
                msgpack_pack_str_with_body(&pk, "user_classes_count", 18);
                msgpack_pack_map(&pk, 1);
                msgpack_pack_uint64(&pk, 1);
                msgpack_pack_str_with_body(&pk, "U", 1);
                break;
            case 6:
                msgpack_pack_array(&pk, 0);
                break;
            default:
                msgpack_pack_bin_with_body(&pk, "\x01\x06", 2);
                break;
            }
            msgpack_pack_str_with_body(&pk, "n", 1);
            char name[64];
            snprintf(name, sizeof name, "grid-%s-%s.bin", types[t], kinds[k]);
            rc |= s_write(dir, "proto", name, sb.data, sb.size);
            msgpack_sbuffer_destroy(&sb);
        }
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_seeds DIR\n");
        return 2;
    }
    return s_frames(argv[1]) | s_grid(argv[1]) | s_histograms(argv[1]) ? 1 : 0;
}
