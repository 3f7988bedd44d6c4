// tests/unit/test_secrets.c - common/secrets.c: which values are secrets
// (long enough, not the host unless it has credentials, once each), the
// masking (every occurrence, longest value first, in place and as a
// copy), the names sent, a scenario's "env", and its use by the log
// (apex_log_set_secrets) and by the stats (apex_stats_set_mask for
// failure texts as they are recorded, apex_stats_mask for a worker's
// report as it arrives).
#include "tests/unit/tests.h"

#include <unistd.h>

#include "common/log.h"
#include "common/secrets.h"
#include "common/stats.h"

#define S_TOKEN "tok-3f9a7c1e"
#define S_HOST "http://10.0.0.5:8080"

static void s_rules(void)
{
    const char *values[] = {S_TOKEN, "short", S_HOST, S_TOKEN,
                            "tok-3f9a7c1e-longer"};
    apex_secrets_t *s = apex_secrets_from(values, 5, S_HOST);
    // "short" is too short, the host is shown, the token counts once.
    CHECK_EQ(apex_secrets_count(s), 2);
    char text[] =
        "GET " S_HOST "/x?t=tok-3f9a7c1e-longer&u=" S_TOKEN S_TOKEN " short";
    CHECK(apex_secrets_mask_in_place(s, text));
    // The longer value is masked whole, not as the token plus "-longer".
    CHECK_STR(text, "GET " S_HOST "/x?t=***&u=****** short");
    CHECK(!apex_secrets_mask_in_place(s, text));
    char *copy = apex_secrets_mask(s, "Bearer " S_TOKEN);
    CHECK_STR(copy, "Bearer ***");
    free(copy);
    copy = apex_secrets_mask(s, "nothing here");
    CHECK_STR(copy, "nothing here");
    free(copy);
    CHECK(apex_secrets_mask(s, NULL) == NULL);
    CHECK(!apex_secrets_mask_in_place(s, NULL));
    CHECK(!apex_secrets_mask_in_place(NULL, text));
    char whole[] = S_TOKEN;
    CHECK(apex_secrets_mask_fn(s, whole));
    CHECK_STR(whole, "***");
    CHECK(apex_secrets_sent(s) == NULL); // not from a scenario
    apex_secrets_destroy(&s);
    apex_secrets_destroy(&s);
    CHECK(s == NULL);
    CHECK_EQ(apex_secrets_count(NULL), 0);

    // A host with credentials in it is a secret all the same.
    const char *creds[] = {"http://u:pw@h:80"};
    s = apex_secrets_from(creds, 1, "http://u:pw@h:80");
    CHECK_EQ(apex_secrets_count(s), 1);
    apex_secrets_destroy(&s);
}

static void s_scenario(void)
{
    setenv("APEX_TEST_TOKEN", S_TOKEN, 1);
    setenv("APEX_TEST_URL", S_HOST, 1);
    unsetenv("APEX_TEST_UNSET");
    const char *json =
        "{\"host\": \"${APEX_TEST_URL}\", \"headers\": {\"Authorization\": "
        "\"Bearer ${APEX_TEST_TOKEN}\", \"X-Opt\": "
        "\"${APEX_TEST_UNSET:-none}\"}, \"users\": [{\"name\": \"U\", "
        "\"tasks\": [{\"path\": \"/x\"}]}]}";
    apex_error_t err = {""};
    apex_scenario_t *sc = apex_scenario_parse(json, strlen(json), "t", &err);
    CHECK(sc != NULL);
    apex_secrets_t *s = apex_secrets_new(sc, sc->host);
    CHECK_EQ(apex_secrets_count(s), 1); // the token; the URL is the host
    char *sent = apex_secrets_sent(s);
    CHECK(sent && strstr(sent, "APEX_TEST_TOKEN") &&
          strstr(sent, "APEX_TEST_URL") && !strstr(sent, "UNSET"));
    free(sent);
    apex_secrets_destroy(&s);
    s = apex_secrets_new(sc, NULL); // another host: the URL is masked too
    CHECK_EQ(apex_secrets_count(s), 2);

    // The stats: failure texts masked as recorded, so they group.
    apex_stats_t *stats = apex_stats_new(1);
    apex_stats_set_mask(stats, apex_secrets_mask_fn, s);
    apex_stats_entry_t *e = apex_stats_get(stats, "GET", "/x", 1);
    apex_stats_record(stats, e, 10, 0, 1);
    apex_stats_record_failure(stats, e, "401 for " S_HOST "/x?t=" S_TOKEN, 1);
    apex_stats_record_failure(stats, e, "401 for " S_HOST "/x?t=" S_TOKEN, 2);
    CHECK_EQ(apex_stats_error_count(stats), 1);
    CHECK_STR(apex_stats_error_at(stats, 0)->error, "401 for ***/x?t=***");
    CHECK_EQ(apex_stats_error_at(stats, 0)->occurrences, 2);
    apex_stats_set_mask(stats, NULL, NULL);
    apex_stats_record_failure(stats, e, S_TOKEN, 3);
    CHECK_STR(apex_stats_error_at(stats, 1)->error, S_TOKEN);

    // A report as it arrives: names, methods and texts, the index kept.
    apex_stats_entry_t *named = apex_stats_get(stats, "GET", S_TOKEN, 1);
    apex_stats_record(stats, named, 10, 0, 1);
    apex_stats_mask(stats, apex_secrets_mask_fn, s);
    CHECK_STR(named->name, "***");
    CHECK(apex_stats_find(stats, "GET", "***") == named);
    CHECK(apex_stats_find(stats, "GET", "/x") == e);
    CHECK_STR(apex_stats_error_at(stats, 1)->error, "***");
    apex_stats_destroy(&stats);
    apex_secrets_destroy(&s);
    apex_scenario_destroy(&sc);

    // No scenario, no "env": nothing.
    s = apex_secrets_new(NULL, NULL);
    CHECK_EQ(apex_secrets_count(s), 0);
    apex_secrets_destroy(&s);
}

// The log masks every line while secrets are set.
static void s_log(void)
{
    const char *values[] = {S_TOKEN};
    apex_secrets_t *s = apex_secrets_from(values, 1, NULL);
    char path[] = "/tmp/apex-test-secrets-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    CHECK(dup2(fd, STDERR_FILENO) == STDERR_FILENO);
    apex_log_init("apex.test", APEX_LOG_INFO);
    apex_log_set_secrets(s);
    apex_info("header Bearer %s sent", S_TOKEN);
    apex_log_set_secrets(NULL);
    apex_info("after: %s", S_TOKEN);
    fflush(stderr);
    CHECK(dup2(saved, STDERR_FILENO) == STDERR_FILENO);
    close(saved);
    char text[1024] = "";
    CHECK(pread(fd, text, sizeof text - 1, 0) > 0);
    close(fd);
    CHECK(strstr(text, "header Bearer *** sent") != NULL);
    CHECK(strstr(text, "after: " S_TOKEN) != NULL);
    CHECK_EQ(strstr(text, S_TOKEN) - text, strstr(text, "after: ") - text + 7);
    apex_secrets_destroy(&s);
}

void test_secrets(bool verbose)
{
    (void)verbose;
    s_rules();
    s_scenario();
    s_log();
}
