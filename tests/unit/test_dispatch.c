// tests/unit/test_dispatch.c - how the master spreads users over workers
// as Locust's UsersDispatcher does (docs/protocol.md, "Spawning and
// dispatch"): workers cycled by their index within their host, then id;
// fixed-count classes first, then weighted classes by smooth weighted
// round-robin; totals per class follow the weights, per-worker totals
// differ by at most one, a ramp adds one user at a time without moving
// anyone, and the result is deterministic.
#include "tests/unit/tests.h"

#include "common/rng.h"
#include "master/dispatch.h"

#define S_MAX_WORKERS 16
#define S_MAX_CLASSES 4
#define S_RANDOM_IDS 200
#define S_BIG_TOTAL 100000

// Order ids and compare with the expected sequence of ids.
static void s_check_order(const char *const *ids, size_t n,
                          const char *const *expected)
{
    size_t order[S_MAX_WORKERS];
    CHECK(n <= S_MAX_WORKERS);
    master_dispatch_order(ids, n, order);
    for (size_t i = 0; i < n; i++) {
        CHECK(order[i] < n);
        if (strcmp(ids[order[i]], expected[i]) != 0)
            fprintf(stderr, "position %zu: %s, expected %s\n", i, ids[order[i]],
                    expected[i]);
        CHECK_STR(ids[order[i]], expected[i]);
    }
}

static void s_test_order(void)
{
    // The brief's example, in order and shuffled.
    const char *const abc[] = {"a_1", "a_2", "b_1"};
    const char *const abc_order[] = {"a_1", "b_1", "a_2"};
    s_check_order(abc, 3, abc_order);
    const char *const abc_shuffled[] = {"b_1", "a_2", "a_1"};
    s_check_order(abc_shuffled, 3, abc_order);

    // Real ids: "<hostname>_<uuid4 hex>".
    const char *const real[] = {
        "vm_c77b0aa5cd9b41449dd5e17d92c3e01f",
        "otherhost_1f1801f19f0c4ffa9ed6fe025dda1119",
        "vm_5fe1a38536744a6d97a6468f0e86e6e2",
    };
    const char *const real_order[] = {
        "otherhost_1f1801f19f0c4ffa9ed6fe025dda1119",
        "vm_5fe1a38536744a6d97a6468f0e86e6e2",
        "vm_c77b0aa5cd9b41449dd5e17d92c3e01f",
    };
    s_check_order(real, 3, real_order);

    // Three hosts with three workers each interleave host by host.
    const char *const nine[] = {"h3_c", "h1_b", "h2_a", "h1_c", "h3_a",
                                "h2_c", "h1_a", "h3_b", "h2_b"};
    const char *const nine_order[] = {"h1_a", "h2_a", "h3_a", "h1_b", "h2_b",
                                      "h3_b", "h1_c", "h2_c", "h3_c"};
    s_check_order(nine, 9, nine_order);

    // A host with more workers fills the later rounds alone.
    const char *const uneven[] = {"a_3", "b_1", "a_1", "a_2"};
    const char *const uneven_order[] = {"a_1", "b_1", "a_2", "a_3"};
    s_check_order(uneven, 4, uneven_order);

    // The host is the part before the first '_': "a" and "ab" differ,
    // "x" (no '_') is host "x", and the download client's id
    // "<host>_download_locustfile_<hex>" belongs to its host.
    const char *const prefix[] = {"ab_1", "a_2", "a_1"};
    const char *const prefix_order[] = {"a_1", "ab_1", "a_2"};
    s_check_order(prefix, 3, prefix_order);
    const char *const bare[] = {"x_2", "y", "x"};
    const char *const bare_order[] = {"x", "y", "x_2"};
    s_check_order(bare, 3, bare_order);
    const char *const download[] = {"vm_zzz", "vm_download_locustfile_1",
                                    "pc_a", "pc_9"};
    const char *const download_order[] = {"pc_9", "vm_download_locustfile_1",
                                          "pc_a", "vm_zzz"};
    s_check_order(download, 4, download_order);

    // One worker, and none (order is not touched).
    const char *const one[] = {"only_1"};
    s_check_order(one, 1, one);
    size_t untouched = 12345;
    master_dispatch_order(NULL, 0, &untouched);
    CHECK_EQ(untouched, 12345);
}

// Many random ids: the order is a permutation, sorted by (index within
// host, id), and does not depend on the order the ids came in.
static void s_test_order_random(void)
{
    static char names[S_RANDOM_IDS][32];
    const char *ids[S_RANDOM_IDS];
    const char *shuffled[S_RANDOM_IDS];
    size_t rank[S_RANDOM_IDS];
    uint64_t rng = apex_rng_seed(11);
    for (size_t i = 0; i < S_RANDOM_IDS; i++) {
        snprintf(names[i], sizeof names[i], "host%d_%016" PRIx64,
                 (int)(apex_rng_next(&rng) % 7), apex_rng_next(&rng));
        ids[i] = names[i];
        shuffled[i] = names[i];
    }
    // Ranks the slow way: same-host ids that sort before.
    for (size_t i = 0; i < S_RANDOM_IDS; i++) {
        size_t host = (size_t)(strchr(ids[i], '_') - ids[i]);
        rank[i] = 0;
        for (size_t j = 0; j < S_RANDOM_IDS; j++)
            if (strncmp(ids[i], ids[j], host + 1) == 0 &&
                strcmp(ids[j], ids[i]) < 0)
                rank[i]++;
    }
    size_t order[S_RANDOM_IDS];
    master_dispatch_order(ids, S_RANDOM_IDS, order);
    bool seen[S_RANDOM_IDS] = {false};
    for (size_t i = 0; i < S_RANDOM_IDS; i++) {
        CHECK(order[i] < S_RANDOM_IDS);
        CHECK(!seen[order[i]]);
        seen[order[i]] = true;
        if (i > 0) {
            size_t a = order[i - 1], b = order[i];
            CHECK(rank[a] < rank[b] ||
                  (rank[a] == rank[b] && strcmp(ids[a], ids[b]) < 0));
        }
    }
    for (size_t i = S_RANDOM_IDS - 1; i > 0; i--) {
        size_t j = (size_t)(apex_rng_next(&rng) % (i + 1));
        const char *t = shuffled[i];
        shuffled[i] = shuffled[j];
        shuffled[j] = t;
    }
    size_t order2[S_RANDOM_IDS];
    master_dispatch_order(shuffled, S_RANDOM_IDS, order2);
    for (size_t i = 0; i < S_RANDOM_IDS; i++)
        CHECK_STR(shuffled[order2[i]], ids[order[i]]);
}

// Users of class c over all workers, and users of worker w.
static int64_t s_class_total(const int64_t *out, size_t nworkers,
                             size_t nclasses, size_t c)
{
    int64_t sum = 0;
    for (size_t w = 0; w < nworkers; w++)
        sum += out[w * nclasses + c];
    return sum;
}

static int64_t s_worker_total(const int64_t *out, size_t nclasses, size_t w)
{
    int64_t sum = 0;
    for (size_t c = 0; c < nclasses; c++)
        sum += out[w * nclasses + c];
    return sum;
}

// Dispatch, check the invariants every result has, return it in out.
static void s_dispatch(const master_class_t *classes, size_t nclasses,
                       size_t nworkers, int64_t total, int64_t *out)
{
    CHECK(nworkers <= S_MAX_WORKERS && nclasses <= S_MAX_CLASSES);
    for (size_t i = 0; i < nworkers * nclasses; i++)
        out[i] = 99; // garbage the dispatch must overwrite
    master_dispatch(classes, nclasses, nworkers, total, out);
    int64_t min = INT64_MAX, max = 0, sum = 0;
    for (size_t w = 0; w < nworkers; w++) {
        int64_t t = s_worker_total(out, nclasses, w);
        for (size_t c = 0; c < nclasses; c++)
            CHECK(out[w * nclasses + c] >= 0);
        min = t < min ? t : min;
        max = t > max ? t : max;
        sum += t;
    }
    CHECK(max - min <= 1);
    CHECK(sum <= (total > 0 ? total : 0));
    // Earlier workers in the cycle never have fewer users.
    for (size_t w = 1; w < nworkers; w++)
        CHECK(s_worker_total(out, nclasses, w) <=
              s_worker_total(out, nclasses, w - 1));
}

static void s_test_weights(void)
{
    int64_t out[S_MAX_WORKERS * S_MAX_CLASSES];
    // 3:1 over 400 users and 4 workers: 300 and 100, 100 per worker.
    const master_class_t two[] = {{"HealthUser", 3, 0}, {"OtherUser", 1, 0}};
    s_dispatch(two, 2, 4, 400, out);
    CHECK_EQ(s_class_total(out, 4, 2, 0), 300);
    CHECK_EQ(s_class_total(out, 4, 2, 1), 100);
    for (size_t w = 0; w < 4; w++)
        CHECK_EQ(s_worker_total(out, 2, w), 100);

    // Smooth round-robin order for 3:1 is A A B A; with four workers
    // each gets one user of that sequence.
    s_dispatch(two, 2, 4, 4, out);
    static const int64_t aaba[] = {1, 0, 1, 0, 0, 1, 1, 0};
    for (size_t i = 0; i < 8; i++)
        CHECK_EQ(out[i], aaba[i]);

    // Many totals: per-class counts stay within one of the exact share,
    // and are exact after every full round of the weights.
    const master_class_t three[] = {{"A", 5, 0}, {"B", 1, 0}, {"C", 2, 0}};
    for (size_t workers = 1; workers <= 9; workers++)
        for (int64_t total = 0; total <= 200; total++) {
            s_dispatch(three, 3, workers, total, out);
            int64_t sum = 0;
            for (size_t c = 0; c < 3; c++) {
                int64_t got = s_class_total(out, workers, 3, c);
                double share = (double)total * three[c].weight / 8.0;
                CHECK(got >= share - 1 && got <= share + 1);
                if (total % 8 == 0)
                    CHECK(got * 8 == total * three[c].weight);
                sum += got;
            }
            CHECK_EQ(sum, total);
        }

    // A big run: exact shares.
    const master_class_t big[] = {{"A", 1, 0}, {"B", 2, 0}, {"C", 7, 0}};
    s_dispatch(big, 3, 7, S_BIG_TOTAL, out);
    CHECK_EQ(s_class_total(out, 7, 3, 0), S_BIG_TOTAL / 10);
    CHECK_EQ(s_class_total(out, 7, 3, 1), 2 * S_BIG_TOTAL / 10);
    CHECK_EQ(s_class_total(out, 7, 3, 2), 7 * S_BIG_TOTAL / 10);
}

static void s_test_fixed(void)
{
    int64_t out[S_MAX_WORKERS * S_MAX_CLASSES];
    // Classes in name order; the fixed one is dispatched first, to the
    // first workers of the cycle, then the weighted ones.
    const master_class_t classes[] = {
        {"Admin", 1, 2}, {"Browser", 3, 0}, {"Reader", 1, 0}};
    s_dispatch(classes, 3, 3, 10, out);
    CHECK_EQ(s_class_total(out, 3, 3, 0), 2);
    CHECK_EQ(s_class_total(out, 3, 3, 1), 6);
    CHECK_EQ(s_class_total(out, 3, 3, 2), 2);
    CHECK_EQ(out[0 * 3 + 0], 1);
    CHECK_EQ(out[1 * 3 + 0], 1);
    CHECK_EQ(out[2 * 3 + 0], 0);
    CHECK_EQ(s_worker_total(out, 3, 0), 4);
    // With one user, it is the fixed class's.
    s_dispatch(classes, 3, 3, 1, out);
    CHECK_EQ(out[0], 1);
    CHECK_EQ(s_class_total(out, 3, 3, 1) + s_class_total(out, 3, 3, 2), 0);
    // The fixed count is a count, not a share: 1000 users still give 2.
    s_dispatch(classes, 3, 5, 1000, out);
    CHECK_EQ(s_class_total(out, 5, 3, 0), 2);
    CHECK_EQ(s_class_total(out, 5, 3, 1), 749); // 998 = 249 * AABA + AA
    CHECK_EQ(s_class_total(out, 5, 3, 2), 249);

    // Fixed counts above the total: first classes first.
    const master_class_t over[] = {{"A", 1, 5}, {"B", 1, 0}};
    s_dispatch(over, 2, 2, 3, out);
    CHECK_EQ(s_class_total(out, 2, 2, 0), 3);
    CHECK_EQ(s_class_total(out, 2, 2, 1), 0);
    // Only fixed classes: no more users than their counts.
    const master_class_t fixed[] = {{"A", 1, 2}, {"B", 1, 3}};
    s_dispatch(fixed, 2, 4, 10, out);
    CHECK_EQ(s_class_total(out, 4, 2, 0), 2);
    CHECK_EQ(s_class_total(out, 4, 2, 1), 3);
}

// A ramp: going from n to n + 1 users adds one user to worker n % W and
// changes nothing else, so ramping never moves running users.
static void s_test_ramp(void)
{
    const master_class_t classes[] = {
        {"Fixed", 1, 3}, {"Heavy", 5, 0}, {"Light", 1, 0}, {"Mid", 2, 0}};
    int64_t prev[S_MAX_WORKERS * S_MAX_CLASSES];
    int64_t next[S_MAX_WORKERS * S_MAX_CLASSES];
    size_t workers = 5;
    s_dispatch(classes, 4, workers, 0, prev);
    for (size_t i = 0; i < workers * 4; i++)
        CHECK_EQ(prev[i], 0);
    for (int64_t n = 0; n < 300; n++) {
        s_dispatch(classes, 4, workers, n + 1, next);
        int changed = 0;
        for (size_t i = 0; i < workers * 4; i++) {
            int64_t d = next[i] - prev[i];
            CHECK(d == 0 || d == 1);
            if (d) {
                changed++;
                CHECK_EQ(i / 4, (size_t)n % workers);
            }
        }
        CHECK_EQ(changed, 1);
        memcpy(prev, next, sizeof next);
    }
}

static void s_test_edges(void)
{
    int64_t out[S_MAX_WORKERS * S_MAX_CLASSES];
    const master_class_t one[] = {{"User", 1, 0}};
    // More workers than users: the first ones get one each.
    s_dispatch(one, 1, 8, 5, out);
    for (size_t w = 0; w < 8; w++)
        CHECK_EQ(out[w], w < 5 ? 1 : 0);
    // Zero and negative totals: everything zero (garbage cleared).
    s_dispatch(one, 1, 3, 0, out);
    for (size_t w = 0; w < 3; w++)
        CHECK_EQ(out[w], 0);
    s_dispatch(one, 1, 3, -5, out);
    for (size_t w = 0; w < 3; w++)
        CHECK_EQ(out[w], 0);
    // No workers or no classes: nothing is written.
    out[0] = 42;
    master_dispatch(one, 1, 0, 10, out);
    CHECK_EQ(out[0], 42);
    master_dispatch(one, 0, 4, 10, out);
    CHECK_EQ(out[0], 42);

    // Deterministic: the same call gives the same answer.
    const master_class_t three[] = {{"A", 3, 1}, {"B", 1, 0}, {"C", 4, 0}};
    int64_t again[S_MAX_WORKERS * S_MAX_CLASSES];
    s_dispatch(three, 3, 6, 77, out);
    s_dispatch(three, 3, 6, 77, again);
    CHECK(memcmp(out, again, 6 * 3 * sizeof out[0]) == 0);
}

void test_dispatch(bool verbose)
{
    (void)verbose;
    s_test_order();
    s_test_order_random();
    s_test_weights();
    s_test_fixed();
    s_test_ramp();
    s_test_edges();
}
