// tests/unit/test_curve.c - proto/curve.c (keys and certificate files),
// proto/zap.c (the ZAP handler) and proto/handshake.c (refusals) through
// proto/zio.c over TCP on 127.0.0.1:
//
// 1. --gen-keys: the five files, secret ones mode 0600, never overwritten;
//    loading a pair by its name or its _secret file; a public key as Z85
//    text or a file; every bad input refused with what and where.
// 2. The link: a worker with an admitted key is heard; one with an
//    unknown key, without CURVE, with the wrong master key, or with CURVE
//    against a master without it, is never heard, and both ends count
//    the refusal under its reason. --allow-any-worker's master admits a
//    key it has never seen.
// 3. The admitted keys: a key in the folder twice (czmq's own store
//    would abort), junk and subfolders skipped, a key added later
//    admitted.
// 4. A second ZAP handler in the process is refused; double destroy.
#include "tests/unit/tests.h"

#include <czmq.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/loop.h"
#include "proto/curve.h"
#include "proto/zap.h"
#include "proto/zio.h"

#define S_DEADLINE_US (10 * APEX_USEC_PER_SEC) // longest wait
#define S_RETRY_US (20 * APEX_USEC_PER_MSEC)   // client_ready resend period
#define S_NODE "curvehost_0123456789abcdef0123456789abcdef"
#define S_PATH 512

typedef struct {
    apex_loop_t *loop;     // runs both ends
    proto_zio_t *master;   // the ROUTER
    proto_zio_t *worker;   // the DEALER
    uint64_t heard;        // messages the master received
    apex_buf_t buf;        // client_ready
    apex_timer_t deadline; // bounds every s_wait
    apex_timer_t retry;    // resends client_ready
    bool timed_out;        // the deadline fired
    bool (*done)(void *);  // s_wait's condition
    void *done_arg;        // its argument
} s_net_t;

static void s_on_master(void *arg, proto_msg_t *msg)
{
    (void)msg;
    ((s_net_t *)arg)->heard++;
}

static void s_on_worker(void *arg, proto_msg_t *msg)
{
    (void)arg;
    (void)msg;
}

static void s_on_iteration(void *arg)
{
    s_net_t *net = arg;
    if (net->master)
        proto_zio_drain(net->master);
    if (net->worker)
        proto_zio_drain(net->worker);
    if (net->done && net->done(net->done_arg))
        apex_loop_stop(net->loop);
}

static void s_on_deadline(apex_loop_t *loop, apex_timer_t *timer)
{
    ((s_net_t *)timer->arg)->timed_out = true;
    apex_loop_stop(loop);
}

static void s_on_retry(apex_loop_t *loop, apex_timer_t *timer)
{
    s_net_t *net = timer->arg;
    if (net->worker)
        proto_zio_send(net->worker, NULL, &net->buf);
    apex_timer_start(loop, timer, S_RETRY_US);
}

// Run the loop (the worker sending client_ready) until done(arg).
static void s_wait(s_net_t *net, bool (*done)(void *), void *arg)
{
    net->done = done;
    net->done_arg = arg;
    net->timed_out = false;
    apex_timer_start(net->loop, &net->deadline, S_DEADLINE_US);
    apex_timer_start(net->loop, &net->retry, 0);
    apex_error_t err = {""};
    CHECK(apex_loop_run(net->loop, &err) == 0);
    apex_timer_stop(net->loop, &net->deadline);
    apex_timer_stop(net->loop, &net->retry);
    CHECK(!net->timed_out);
}

static bool s_heard(void *arg)
{
    return ((s_net_t *)arg)->heard > 0;
}

// When one end has CURVE and the other not, the end that reads the
// other's greeting first sees the mismatch and may hang up before its
// own greeting is out: the other end then sees a hang-up. So a mismatch
// is that reason on one end and the reason or the hang-up on the other.
typedef struct {
    s_net_t *net;               // the ends
    proto_refused_t why;        // the master's reason
    proto_refused_t worker_why; // the worker's
    proto_refused_t hang_up;    // the worker's for a hang-up
    bool mismatch;              // a hang-up may stand for the reason
} s_refusal_t;

static bool s_refused_both(void *arg)
{
    s_refusal_t *r = arg;
    const uint64_t *m = proto_zio_counters(r->net->master)->refused;
    const uint64_t *w = proto_zio_counters(r->net->worker)->refused;
    if (!r->mismatch)
        return m[r->why] > 0 && w[r->worker_why] > 0;
    bool master_saw = m[r->why] > 0, worker_saw = w[r->worker_why] > 0;
    return (master_saw || worker_saw) &&
           (master_saw || m[PROTO_REFUSED_CLOSED] > 0) &&
           (worker_saw || w[r->hang_up] > 0);
}

static proto_zio_t *s_master(s_net_t *net, const proto_curve_pair_t *pair,
                             const char *admitted)
{
    proto_zio_options_t o = {.role = PROTO_ZIO_ROUTER,
                             .endpoint = "tcp://127.0.0.1:*",
                             .fn = s_on_master,
                             .arg = net,
                             .curve = pair,
                             .admitted_keys = admitted};
    apex_error_t err = {""};
    proto_zio_t *zio = proto_zio_new(net->loop, &o, &err);
    CHECK_STR(err.msg, "");
    CHECK(zio != NULL);
    return zio;
}

static proto_zio_t *s_worker(s_net_t *net, int port,
                             const proto_curve_pair_t *pair,
                             const char *server_key)
{
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    proto_zio_options_t o = {.role = PROTO_ZIO_DEALER,
                             .endpoint = endpoint,
                             .identity = S_NODE,
                             .fn = s_on_worker,
                             .arg = net,
                             .curve = pair,
                             .curve_server_key = server_key};
    apex_error_t err = {""};
    proto_zio_t *zio = proto_zio_new(net->loop, &o, &err);
    CHECK(zio != NULL);
    return zio;
}

// One master and one worker: the worker must be heard (admit) or be
// refused for why on the master and worker_why on the worker.
static void s_link(s_net_t *net, const proto_curve_pair_t *master_pair,
                   const char *admitted, const proto_curve_pair_t *worker_pair,
                   const char *server_key, bool admit, proto_refused_t why,
                   proto_refused_t worker_why)
{
    net->heard = 0;
    net->master = s_master(net, master_pair, admitted);
    net->worker =
        s_worker(net, proto_zio_port(net->master), worker_pair, server_key);
    if (admit) {
        s_wait(net, s_heard, net);
    } else {
        bool mismatch =
            why == PROTO_REFUSED_NO_CURVE || why == PROTO_REFUSED_CURVE_OFF;
        s_refusal_t r = {net, why, worker_why,
                         worker_pair ? PROTO_REFUSED_WRONG_KEY
                                     : PROTO_REFUSED_CLOSED,
                         mismatch};
        s_wait(net, s_refused_both, &r);
        CHECK_EQ(net->heard, 0);
        CHECK_EQ(proto_zio_counters(net->master)->received, 0);
        CHECK_EQ(proto_zio_counters(net->master)->malformed, 0);
    }
    proto_zio_destroy(&net->worker);
    proto_zio_destroy(&net->master);
}

// ---------------------------------------------------------------------
// 1. Keys and files

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

static void s_test_files(const char *dir)
{
    apex_error_t err = {""};
    CHECK_EQ(proto_curve_generate(dir, &err), 0);
    static const char *const files[] = {"master.key", "master.key_secret",
                                        "worker.key", "worker.key_secret",
                                        "authorized/worker.key"};
    char path[S_PATH];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%.200s/%s", dir, files[i]);
        struct stat st;
        CHECK(stat(path, &st) == 0);
        if (strstr(files[i], "_secret"))
            CHECK_EQ(st.st_mode & 0777, 0600);
    }
    // Never overwritten.
    CHECK_EQ(proto_curve_generate(dir, &err), -1);
    CHECK(strstr(err.msg, "master.key: exists") != NULL);

    // A pair by its name or by its _secret file: the same keys.
    proto_curve_pair_t a, b;
    snprintf(path, sizeof path, "%.200s/master.key", dir);
    CHECK_EQ(proto_curve_load_pair(path, &a, &err), 0);
    snprintf(path, sizeof path, "%.200s/master.key_secret", dir);
    CHECK_EQ(proto_curve_load_pair(path, &b, &err), 0);
    CHECK_STR(a.public_key, b.public_key);
    CHECK_STR(a.secret_key, b.secret_key);
    CHECK(proto_curve_is_key_text(a.public_key));
    CHECK(strcmp(a.public_key, a.secret_key) != 0);

    // A public key by file or as text.
    char key[PROTO_CURVE_KEY_TEXT];
    snprintf(path, sizeof path, "%.200s/master.key", dir);
    CHECK_EQ(proto_curve_public_key(path, key, &err), 0);
    CHECK_STR(key, a.public_key);
    CHECK_EQ(proto_curve_public_key(a.public_key, key, &err), 0);
    CHECK_STR(key, a.public_key);

    // The public file alone has no secret key.
    snprintf(path, sizeof path, "%.200s/authorized/worker.key", dir);
    CHECK_EQ(proto_curve_load_pair(path, &b, &err), -1);
    CHECK(strstr(err.msg, "has no secret key") != NULL);

    // Missing, a folder, junk, a 40-character non-key.
    CHECK_EQ(proto_curve_load_pair("/nonexistent/x.key", &b, &err), -1);
    CHECK(strstr(err.msg, "/nonexistent/x.key: cannot read: No such file") !=
          NULL);
    snprintf(path, sizeof path, "%.200s/authorized", dir);
    CHECK_EQ(proto_curve_load_pair(path, &b, &err), -1);
    CHECK(strstr(err.msg, "is a folder") != NULL);
    snprintf(path, sizeof path, "%.200s/junk", dir);
    s_write(path, "curve\n    public-key = \"short\"\n\x01\x02 [[[\n");
    CHECK_EQ(proto_curve_public_key(path, key, &err), -1);
    CHECK(strstr(err.msg, "not a czmq certificate") != NULL);
    CHECK_EQ(proto_curve_public_key("~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~"
                                    "\"",
                                    key, &err),
             -1);
    CHECK(strstr(err.msg, "neither a Z85 key") != NULL);
    CHECK_EQ(proto_curve_public_key("", key, &err), -1);
    CHECK(!proto_curve_is_key_text(NULL));
    CHECK(!proto_curve_is_key_text("abc"));

    // The folder of admitted keys: one public key (junk is counted too:
    // czmq skips what it cannot load).
    size_t n = 0;
    snprintf(path, sizeof path, "%.200s/authorized", dir);
    CHECK_EQ(proto_curve_check_dir(path, &n, &err), 0);
    CHECK_EQ(n, 1);
    CHECK_EQ(proto_curve_check_dir("/nonexistent", &n, &err), -1);
    CHECK(strstr(err.msg, "/nonexistent: cannot read the folder") != NULL);
    CHECK_EQ(proto_curve_generate("/proc/apex-no", &err), -1);
    CHECK(strstr(err.msg, "mkdir /proc/apex-no") != NULL);
}

// ---------------------------------------------------------------------
// 2. The link

static void s_test_link(s_net_t *net, const char *dir)
{
    apex_error_t err = {""};
    char path[S_PATH], admitted[S_PATH];
    proto_curve_pair_t master, worker, stranger;
    snprintf(path, sizeof path, "%.200s/master.key_secret", dir);
    CHECK_EQ(proto_curve_load_pair(path, &master, &err), 0);
    snprintf(path, sizeof path, "%.200s/worker.key_secret", dir);
    CHECK_EQ(proto_curve_load_pair(path, &worker, &err), 0);
    proto_curve_new_pair(&stranger);
    CHECK(proto_curve_is_key_text(stranger.secret_key));
    snprintf(admitted, sizeof admitted, "%.200s/authorized", dir);

    // The admitted key is heard.
    s_link(net, &master, admitted, &worker, master.public_key, true, 0, 0);
    // A key not in the folder.
    s_link(net, &master, admitted, &stranger, master.public_key, false,
           PROTO_REFUSED_NOT_AUTHORIZED, PROTO_REFUSED_NOT_AUTHORIZED);
    // No CURVE (a Locust worker).
    s_link(net, &master, admitted, NULL, NULL, false, PROTO_REFUSED_NO_CURVE,
           PROTO_REFUSED_CURVE_OFF);
    // The wrong master key (the worker's own public key).
    s_link(net, &master, admitted, &worker, worker.public_key, false,
           PROTO_REFUSED_WRONG_KEY, PROTO_REFUSED_WRONG_KEY);
    // CURVE against a master without it.
    s_link(net, NULL, NULL, &worker, master.public_key, false,
           PROTO_REFUSED_CURVE_OFF, PROTO_REFUSED_NO_CURVE);
    // --allow-any-worker: a key never seen, but the right master key.
    s_link(net, &master, NULL, &stranger, master.public_key, true, 0, 0);
    // Neither end with CURVE: as before.
    s_link(net, NULL, NULL, NULL, NULL, true, 0, 0);
    CHECK_STR(proto_refused_name(PROTO_REFUSED_NO_CURVE), "no_curve");
    CHECK_STR(proto_refused_name(PROTO_REFUSED_KINDS), "other");
}

// ---------------------------------------------------------------------
// 3. Admitted keys

static void s_copy(const char *from, const char *to)
{
    char cmd[2 * S_PATH + 16];
    snprintf(cmd, sizeof cmd, "cp '%.500s' '%.500s'", from, to);
    CHECK_EQ(system(cmd), 0);
}

static void s_test_keys(const char *dir)
{
    apex_error_t err = {""};
    char folder[S_PATH], path[S_PATH], from[S_PATH];
    snprintf(folder, sizeof folder, "%.200s/admitted", dir);
    CHECK_EQ(mkdir(folder, 0700), 0);
    proto_curve_pair_t worker, master;
    snprintf(path, sizeof path, "%.200s/worker.key", dir);
    CHECK_EQ(proto_curve_load_pair(path, &worker, &err), 0);
    snprintf(path, sizeof path, "%.200s/master.key", dir);
    CHECK_EQ(proto_curve_load_pair(path, &master, &err), 0);

    proto_curve_keys_t *keys = proto_curve_keys_new(folder);
    CHECK_EQ(proto_curve_keys_count(keys), 0);
    CHECK(!proto_curve_keys_admit(keys, worker.public_key));
    // Added while running: admitted from then on; twice is once.
    snprintf(from, sizeof from, "%.200s/worker.key", dir);
    snprintf(path, sizeof path, "%.200s/w1.key", folder);
    s_copy(from, path);
    snprintf(path, sizeof path, "%.200s/w2.key", folder);
    s_copy(from, path);
    snprintf(path, sizeof path, "%.200s/junk.txt", folder);
    s_copy("/etc/hostname", path);
    snprintf(path, sizeof path, "%.200s/sub", folder);
    CHECK_EQ(mkdir(path, 0700), 0);
    CHECK(proto_curve_keys_admit(keys, worker.public_key));
    CHECK_EQ(proto_curve_keys_count(keys), 1);
    CHECK(!proto_curve_keys_admit(keys, master.public_key));
    CHECK(!proto_curve_keys_admit(keys, NULL));
    // Removed: no longer admitted.
    snprintf(path, sizeof path, "%.200s/w1.key", folder);
    CHECK_EQ(unlink(path), 0);
    snprintf(path, sizeof path, "%.200s/w2.key", folder);
    CHECK_EQ(unlink(path), 0);
    CHECK(!proto_curve_keys_admit(keys, worker.public_key));
    proto_curve_keys_destroy(&keys);
    proto_curve_keys_destroy(&keys);
    CHECK(keys == NULL);
    // A folder that does not exist admits nothing (and says so).
    keys = proto_curve_keys_new("/nonexistent/apex");
    CHECK(!proto_curve_keys_admit(keys, worker.public_key));
    proto_curve_keys_destroy(&keys);
}

// ---------------------------------------------------------------------
// 4. One ZAP handler per process

static void s_noop_refused(void *arg, const char *address, const char *key)
{
    (void)arg;
    (void)address;
    (void)key;
}

static void s_test_zap(s_net_t *net, const char *dir)
{
    apex_error_t err = {""};
    proto_zap_t *zap =
        proto_zap_new(net->loop, dir, s_noop_refused, NULL, &err);
    CHECK(zap != NULL);
    proto_zap_t *second =
        proto_zap_new(net->loop, dir, s_noop_refused, NULL, &err);
    CHECK(second == NULL);
    CHECK(strstr(err.msg, "cannot serve ZAP") != NULL);
    unsigned long long admitted = 1, refused = 1;
    proto_zap_counts(zap, &admitted, &refused);
    CHECK_EQ(admitted, 0);
    CHECK_EQ(refused, 0);
    proto_zap_destroy(&zap);
    proto_zap_destroy(&zap);
    CHECK(zap == NULL);
}

void test_curve(bool verbose)
{
    (void)verbose;
    char dir[] = "/tmp/apex-test-curve-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char keys[S_PATH];
    snprintf(keys, sizeof keys, "%.200s/keys", dir);
    s_test_files(keys);
    s_test_keys(keys);

    s_net_t net;
    memset(&net, 0, sizeof net);
    apex_error_t err = {""};
    net.loop = apex_loop_new(&err);
    CHECK(net.loop != NULL);
    apex_buf_init(&net.buf);
    proto_encode_client_ready(&net.buf, NULL, S_NODE);
    apex_timer_init(&net.deadline, s_on_deadline, &net);
    apex_timer_init(&net.retry, s_on_retry, &net);
    apex_loop_on_iteration(net.loop, s_on_iteration, &net);
    s_test_link(&net, keys);
    s_test_zap(&net, keys);
    apex_loop_destroy(&net.loop);
    apex_buf_fini(&net.buf);

    char cmd[S_PATH + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%.200s'", dir);
    CHECK_EQ(system(cmd), 0);
}
