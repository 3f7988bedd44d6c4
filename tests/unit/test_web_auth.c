// tests/unit/test_web_auth.c - master/web_auth.c: the Authorization
// header checked against --web-auth's credentials (the right ones in any
// spelling of the scheme; the wrong user or password, a NUL inside, junk,
// an overlong header refused: the review's finding 15), and
// --web-auth-file's first line.
#include "tests/unit/tests.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "master/web_auth.h"

// "Basic " + base64 of len bytes of text (a NUL may be among them).
static void s_header(char *out, const char *scheme, const char *text,
                     size_t len)
{
    size_t n = strlen(scheme);
    memcpy(out, scheme, n);
    EVP_EncodeBlock((unsigned char *)out + n, (const unsigned char *)text,
                    (int)len);
}

static void s_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fwrite(text, 1, strlen(text), f);
    fclose(f);
    CHECK_EQ(chmod(path, mode), 0);
}

void test_web_auth(bool verbose)
{
    (void)verbose;
    apex_error_t err = {""};
    master_web_auth_t *auth = master_web_auth_new("admin:s3cret:x", &err);
    CHECK(auth != NULL);
    char h[8192]; // "Basic " and the base64 of big below
    s_header(h, "Basic ", "admin:s3cret:x", 14);
    CHECK(master_web_auth_check(auth, h));
    s_header(h, "basic  ", "admin:s3cret:x", 14);
    CHECK(master_web_auth_check(auth, h));
    // Wrong password, user, a prefix, a NUL and more after it.
    s_header(h, "Basic ", "admin:s3cret", 12);
    CHECK(!master_web_auth_check(auth, h));
    s_header(h, "Basic ", "root:s3cret:x", 13);
    CHECK(!master_web_auth_check(auth, h));
    s_header(h, "Basic ", "admin:s3cret:x\0junk", 19);
    CHECK(!master_web_auth_check(auth, h));
    s_header(h, "Basic ", "admin:s3cret:x\0", 15);
    CHECK(!master_web_auth_check(auth, h));
    // Not Basic, not base64, empty, nothing.
    CHECK(!master_web_auth_check(auth, "Bearer YWRtaW46czNjcmV0Ong="));
    CHECK(!master_web_auth_check(auth, "Basic !!!!"));
    CHECK(!master_web_auth_check(auth, "Basic YWRta"));
    CHECK(!master_web_auth_check(auth, "Basic "));
    CHECK(!master_web_auth_check(auth, NULL));
    CHECK(!master_web_auth_check(NULL, h));
    // Overlong: refused before decoding.
    char big[3 * MASTER_WEB_AUTH_MAX + 1];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    s_header(h, "Basic ", big, sizeof big - 1);
    CHECK(!master_web_auth_check(auth, h));
    master_web_auth_destroy(&auth);
    master_web_auth_destroy(&auth);
    CHECK(auth == NULL);

    CHECK(master_web_auth_new("nocolon", &err) == NULL);
    CHECK(strstr(err.msg, "expected user:password") != NULL);
    CHECK(master_web_auth_new(":pass", &err) == NULL);
    CHECK(master_web_auth_new(big, &err) == NULL);

    // --web-auth-file: the first line, its end dropped.
    char dir[] = "/tmp/apex-test-web-auth-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/pw", dir);
    s_file(path, "ops:pa ss\r\nsecond line\n", 0600);
    char *line = master_web_auth_read_file(path, &err);
    CHECK_STR(line, "ops:pa ss");
    free(line);
    s_file(path, "\n", 0644); // readable by others: warned, and empty
    CHECK(master_web_auth_read_file(path, &err) == NULL);
    CHECK(strstr(err.msg, "empty") != NULL);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fwrite("a:b\0c\n", 1, 6, f);
    fclose(f);
    CHECK(master_web_auth_read_file(path, &err) == NULL);
    CHECK(strstr(err.msg, "expected one line") != NULL);
    CHECK(unlink(path) == 0);
    CHECK(master_web_auth_read_file(path, &err) == NULL);
    CHECK(strstr(err.msg, "cannot read: No such file") != NULL);
    CHECK(rmdir(dir) == 0);
}
