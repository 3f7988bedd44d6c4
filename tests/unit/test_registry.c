// tests/unit/test_registry.c - the master's registry of workers
// (master/registry.c): registration by node id, and the run-wide gauge
// totals it keeps up to date as workers report (not summed over every
// worker on each heartbeat): equal to the sum over workers after any
// sequence of reports, replacements and removals (and the index by id
// agrees with a scan), with hostile values
// clamped and a name given twice in one report counted once. And what
// hostile peers can do (issue 19's review): registrations bounded per
// address, a node id bound to the address that registered it, and
// registrations that never heartbeat dropped (their records recycled).
#include "tests/unit/tests.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/rng.h"
#include "master/registry.h"

#define S_WORKERS 50
#define S_ROUNDS 2000

static master_worker_t *s_ready_from(master_registry_t *reg, const char *id,
                                     const char *address)
{
    proto_msg_t msg = {.type = PROTO_CLIENT_READY, .index = -1};
    msg.version = (char *)"-1"; // as apex-worker sends
    msg.node_id = (char *)id;
    msg.peer_address = (char *)address;
    bool replaced = false;
    return master_registry_ready(reg, &msg, 0, &replaced);
}

static master_worker_t *s_ready(master_registry_t *reg, const char *id)
{
    return s_ready_from(reg, id, NULL);
}

static void s_heartbeat(master_registry_t *reg, master_worker_t *w)
{
    proto_msg_t msg = {.type = PROTO_HEARTBEAT, .state = (char *)"ready"};
    master_registry_heartbeat(reg, w, &msg, 0);
}

static size_t s_missing_calls;
static void s_on_missing(void *arg, master_worker_t *w)
{
    (void)arg;
    (void)w;
    s_missing_calls++;
}

static void s_test_hostile(void)
{
    master_registry_t *reg = master_registry_new(1);
    char id[64];
    // Per address: MASTER_MAX_WORKERS_PER_ADDRESS, then refused; another
    // address is not affected.
    for (int i = 0; i < MASTER_MAX_WORKERS_PER_ADDRESS; i++) {
        snprintf(id, sizeof id, "fake_%032x", i);
        CHECK(s_ready_from(reg, id, "10.0.0.2") != NULL);
    }
    CHECK(s_ready_from(reg, "fake_one_more", "10.0.0.2") == NULL);
    CHECK(master_registry_find(reg, "fake_one_more") == NULL);
    master_worker_t *real = s_ready_from(reg, "real_1", "10.0.0.1");
    CHECK(real != NULL);
    CHECK_STR(real->address, "10.0.0.1");
    CHECK_EQ(master_registry_counts(reg)->refused, 1);
    // A registered id from elsewhere: refused while it is alive, and its
    // messages are not the worker's.
    CHECK(s_ready_from(reg, "real_1", "10.0.0.2") == NULL);
    CHECK(master_registry_find(reg, "real_1") == real);
    proto_msg_t quit = {.type = PROTO_QUIT,
                        .type_name = (char *)"quit",
                        .node_id = (char *)"real_1",
                        .peer_address = (char *)"10.0.0.2"};
    CHECK(!master_registry_from_peer(reg, real, &quit));
    CHECK_EQ(master_registry_counts(reg)->foreign, 1);
    quit.peer_address = (char *)"10.0.0.1";
    CHECK(master_registry_from_peer(reg, real, &quit));
    quit.peer_address = NULL; // unknown (inproc): not refused
    CHECK(master_registry_from_peer(reg, real, &quit));
    // The same address may register it again (a reconnect).
    CHECK((real = s_ready_from(reg, "real_1", "10.0.0.1")) != NULL);
    s_heartbeat(reg, real);
    // The fakes never heartbeat: dropped once their liveness runs out,
    // their records recycled; the real one stays.
    size_t seen = 0;
    free(master_registry_rows(reg, &seen));
    CHECK_EQ(seen, MASTER_MAX_WORKERS_PER_ADDRESS + 1);
    s_missing_calls = 0;
    for (int t = 0; t <= MASTER_LIVENESS + 1; t++) { // as to go missing
        s_heartbeat(reg, real);
        master_registry_tick(reg, s_on_missing, NULL);
    }
    CHECK_EQ(master_registry_size(reg), 1);
    CHECK(master_registry_find(reg, "real_1") == real);
    CHECK(master_registry_find(reg, "fake_00000000000000000000000000000000") ==
          NULL);
    CHECK_EQ(master_registry_counts(reg)->expired,
             MASTER_MAX_WORKERS_PER_ADDRESS);
    CHECK_EQ(s_missing_calls, 1); // once, for all: their users move
    free(master_registry_rows(reg, &seen));
    CHECK_EQ(seen, 1);
    // The address has room again; records are reused, indexes stay
    // unique among the live ones.
    master_worker_t *again = s_ready_from(reg, "fake_again", "10.0.0.2");
    CHECK(again != NULL && again->index != real->index);
    // A worker whose spawn could not be sent is missing at once.
    master_registry_lost(reg, real, "test");
    CHECK(!master_worker_active(real));
    CHECK_EQ(master_registry_counts(reg)->lost, 1);
    master_registry_destroy(&reg);
}

// The gauge name's total, straight from the workers.
static int64_t s_sum(const master_registry_t *reg, const char *name)
{
    int64_t sum = 0;
    for (size_t i = 0; i < master_registry_size(reg); i++)
        sum += master_figures_get(&master_registry_at(reg, i)->gauges, name);
    return sum;
}

static int64_t s_total(const master_registry_t *reg, const char *name)
{
    master_figures_t t = {0};
    master_registry_gauge_totals(reg, &t);
    int64_t v = master_figures_get(&t, name);
    master_figures_clear(&t);
    return v;
}

void test_registry(bool verbose)
{
    // Each test runs in its own process: the level is this test's.
    apex_log_init("test", verbose ? APEX_LOG_INFO : APEX_LOG_ERROR);
    s_test_hostile();
    master_registry_t *reg = master_registry_new(1);
    char ids[S_WORKERS][48];
    for (int i = 0; i < S_WORKERS; i++) {
        snprintf(ids[i], sizeof ids[i], "host_%032x", i);
        CHECK(s_ready(reg, ids[i]) != NULL);
    }
    CHECK_EQ(master_registry_size(reg), (size_t)S_WORKERS);
    CHECK(master_registry_find(reg, ids[7]) != NULL);
    CHECK(master_registry_find(reg, "nobody") == NULL);

    // Random reports, replacements and removals: totals stay exact.
    uint64_t rng = apex_rng_seed(42);
    for (int r = 0; r < S_ROUNDS; r++) {
        const char *id = ids[apex_rng_next(&rng) % S_WORKERS];
        master_worker_t *w = master_registry_find(reg, id);
        uint64_t what = apex_rng_next(&rng) % 10;
        if (!w || what == 0) { // (re)registers: a new record
            s_ready(reg, id);
        } else if (what == 1) {
            master_registry_remove(reg, w, "gone");
        } else {
            proto_metric_t g[3] = {
                {(char *)"ws_connections",
                 (int64_t)(apex_rng_next(&rng) % 1000)},
                {(char *)"sql_connections",
                 (int64_t)(apex_rng_next(&rng) % 50)},
                {(char *)"ws_connections", 999999}}; // again: ignored
            master_registry_gauges(reg, w, g, what == 2 ? 1 : 3);
        }
        CHECK_EQ(s_total(reg, "ws_connections"), s_sum(reg, "ws_connections"));
        // The index by id agrees with a scan of the workers.
        for (int i = 0; i < S_WORKERS; i++) {
            master_worker_t *scan = NULL;
            for (size_t k = 0; k < master_registry_size(reg); k++)
                if (strcmp(master_registry_at(reg, k)->id, ids[i]) == 0)
                    scan = master_registry_at(reg, k);
            CHECK(master_registry_find(reg, ids[i]) == scan);
        }
        CHECK_EQ(s_total(reg, "sql_connections"),
                 s_sum(reg, "sql_connections"));
    }

    // Hostile values are clamped to [0, 2^40].
    master_worker_t *w = master_registry_find(reg, ids[0]);
    if (!w)
        w = s_ready(reg, ids[0]);
    proto_metric_t bad[] = {{(char *)"x", INT64_MAX}, {(char *)"y", -5}};
    master_registry_gauges(reg, w, bad, 2);
    CHECK_EQ(master_figures_get(&w->gauges, "x"), (int64_t)1 << 40);
    CHECK_EQ(master_figures_get(&w->gauges, "y"), 0);
    CHECK_EQ(s_total(reg, "x"), s_sum(reg, "x"));
    // A worker that goes takes its gauges with it.
    master_registry_remove(reg, w, "gone");
    CHECK_EQ(s_total(reg, "x"), 0);
    master_registry_destroy(&reg);
}
