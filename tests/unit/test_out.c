// tests/unit/test_out.c - master/out.h: --out influxdb=URL and the
// APEX_INFLUXDB_* variables, into the URLs, credentials, tags and bounds
// the writer uses; every kind of bad value, and fini twice.
#include "master/out.h"
#include "tests/unit/tests.h"

// Parse arg with env; the error text when it fails ("" on success).
static const char *s_fails(const char *arg, const master_out_env_t *env)
{
    static apex_error_t err;
    memset(&err, 0, sizeof err);
    master_out_t out;
    if (master_out_parse(arg, env, &out, &err) == 0) {
        master_out_fini(&out);
        return "";
    }
    CHECK(out.write_url == NULL && out.tags == NULL); // left empty
    return err.msg;
}

static void s_v1(void)
{
    master_out_t out;
    apex_error_t err = {""};
    CHECK_EQ(
        master_out_parse("influxdb=http://127.0.0.1:8086/k6", NULL, &out, &err),
        0);
    CHECK_STR(out.shown, "http://127.0.0.1:8086/k6");
    CHECK_STR(out.write_url, "http://127.0.0.1:8086/write?db=k6&precision=ms");
    CHECK_STR(out.create_url, "http://127.0.0.1:8086/query");
    CHECK_STR(out.create_body, "q=CREATE%20DATABASE%20%22k6%22");
    CHECK(!out.v2 && !out.insecure && !out.username && !out.auth_header);
    CHECK_STR(out.tags, "");
    CHECK_NEAR(out.interval, 1.0, 0);
    CHECK_EQ(out.queue_points, MASTER_OUT_DEFAULT_QUEUE);
    master_out_fini(&out);
    master_out_fini(&out); // safe twice
    CHECK(out.shown == NULL);

    // k6's default URL; a path prefix (reverse proxy) and an escaped name.
    CHECK_EQ(master_out_parse("influxdb", NULL, &out, &err), 0);
    CHECK_STR(out.write_url, "http://localhost:8086/write?db=k6&precision=ms");
    master_out_fini(&out);
    CHECK_EQ(master_out_parse("influxdb=https://h/influx/my%20db%22", NULL,
                              &out, &err),
             0);
    CHECK_STR(out.write_url,
              "https://h/influx/write?db=my%20db%22&precision=ms");
    CHECK_STR(out.create_url, "https://h/influx/query");
    CHECK_STR(out.create_body,
              "q=CREATE%20DATABASE%20%22my%20db%5C%22%22"); // "my db\""
    master_out_fini(&out);
    CHECK_EQ(master_out_parse("influxdb=http://[::1]:9/", NULL, &out, &err), 0);
    CHECK_STR(out.write_url, "http://[::1]:9/write?db=k6&precision=ms");
    master_out_fini(&out);
}

static void s_v2_and_env(void)
{
    master_out_env_t env = {
        .organization = "my org",
        .token = "s3cret",
        .tags = "env=ci,team=a b",
        .push_interval = "500ms",
        .queue_points = "50",
        .insecure = "TRUE",
    };
    master_out_t out;
    apex_error_t err = {""};
    CHECK_EQ(master_out_parse("influxdb=http://h:8086/apex", &env, &out, &err),
             0);
    CHECK(out.v2 && out.insecure);
    CHECK_STR(out.write_url, "http://h:8086/api/v2/write?org=my%20org&bucket="
                             "apex&precision=ms");
    CHECK(out.create_url == NULL && out.create_body == NULL);
    CHECK_STR(out.auth_header, "Authorization: Token s3cret");
    CHECK_STR(out.tags, ",env=ci,team=a\\ b");
    CHECK_NEAR(out.interval, 0.5, 1e-12);
    CHECK_EQ(out.queue_points, 50);
    master_out_fini(&out);

    env.bucket = "b/1";
    CHECK_EQ(master_out_parse("influxdb=http://h:8086", &env, &out, &err), 0);
    CHECK_STR(out.write_url, "http://h:8086/api/v2/write?org=my%20org&bucket="
                             "b%2f1&precision=ms");
    master_out_fini(&out);

    master_out_env_t basic = {.username = "u:x", .password = "p"};
    CHECK_EQ(master_out_parse("influxdb=http://h/db", &basic, &out, &err), 0);
    CHECK_STR(out.username, "u:x");
    CHECK_STR(out.password, "p");
    master_out_fini(&out);
}

static void s_bad(void)
{
    CHECK(strstr(s_fails("json=x.json", NULL), "unknown output \"json\""));
    CHECK(strstr(s_fails("", NULL), "unknown output"));
    CHECK(strstr(s_fails("influxdb=", NULL), "expected influxdb=URL"));
    CHECK(strstr(s_fails("influxdb=localhost:8086/k6", NULL),
                 "expected a URL starting with http://"));
    CHECK(strstr(s_fails("influxdb=http://u:p@h/k6", NULL), "credentials"));
    CHECK(strstr(s_fails("influxdb=http://h/k6?db=x", NULL), "no query"));
    CHECK(strstr(s_fails("influxdb=http://h/k6#x", NULL), "no query"));
    CHECK(strstr(s_fails("influxdb=http://h/k%0a6", NULL), "%-escape"));
    CHECK(strstr(s_fails("influxdb=http://h/k%zz", NULL), "%-escape"));
    CHECK(strstr(s_fails("influxdb=http://h/k%4", NULL), "%-escape"));
    CHECK(strstr(s_fails("influxdb=http:// h/", NULL), "not a valid URL"));

    master_out_env_t env = {.tags = "a"};
    CHECK(strstr(s_fails("influxdb", &env), "APEX_INFLUXDB_TAGS: expected"));
    const char *bad_tags[] = {"a=", "=b", "a=b=c", "a=b,", ",a=b", "a=b,,c=d"};
    for (size_t i = 0; i < sizeof bad_tags / sizeof *bad_tags; i++) {
        env.tags = bad_tags[i];
        CHECK(strstr(s_fails("influxdb", &env), "APEX_INFLUXDB_TAGS"));
    }
    env.tags = "name=x";
    CHECK(strstr(s_fails("influxdb", &env), "'name' is a tag Apex sets"));
    env.tags = "a=b\\";
    CHECK(strstr(s_fails("influxdb", &env), "final backslash"));
    env.tags = "a=1,b=1,c=1,d=1,e=1,f=1,g=1,h=1,i=1,j=1,k=1,l=1,m=1,n=1,o=1,"
               "p=1,q=1";
    CHECK(strstr(s_fails("influxdb", &env), "more than 16 tags"));

    master_out_env_t e2 = {.push_interval = "20s"};
    CHECK(strstr(s_fails("influxdb", &e2), "APEX_INFLUXDB_PUSH_INTERVAL"));
    e2 = (master_out_env_t){.push_interval = "soon"};
    CHECK(strstr(s_fails("influxdb", &e2), "APEX_INFLUXDB_PUSH_INTERVAL"));
    e2 = (master_out_env_t){.queue_points = "0"};
    CHECK(strstr(s_fails("influxdb", &e2), "APEX_INFLUXDB_QUEUE_POINTS"));
    e2 = (master_out_env_t){.insecure = "maybe"};
    CHECK(strstr(s_fails("influxdb", &e2), "APEX_INFLUXDB_INSECURE"));
    e2 = (master_out_env_t){.bucket = "b"};
    CHECK(strstr(s_fails("influxdb", &e2), "needs APEX_INFLUXDB_ORGANIZATION"));
    e2 = (master_out_env_t){.password = "p"};
    CHECK(strstr(s_fails("influxdb", &e2), "needs APEX_INFLUXDB_USERNAME"));
    e2 = (master_out_env_t){.token = "a\r\nX-Evil: 1"};
    CHECK(strstr(s_fails("influxdb", &e2), "APEX_INFLUXDB_TOKEN: control"));
}

void test_out(bool verbose)
{
    (void)verbose;
    s_v1();
    s_v2_and_env();
    s_bad();
    master_out_env_t env;
    setenv("APEX_INFLUXDB_TAGS", "x=y", 1);
    master_out_env_read(&env);
    CHECK_STR(env.tags, "x=y");
    unsetenv("APEX_INFLUXDB_TAGS");
}
