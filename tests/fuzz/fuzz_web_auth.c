// tests/fuzz/fuzz_web_auth.c - what a web client controls before the
// master lets it in or lets it change the test: the Authorization header
// (master/web_auth.c) and the headers that say where a request comes
// from (master/web_origin.c). The input's lines are: the Authorization
// header, then Host, Origin, Referer and Sec-Fetch-Site (an empty line is
// an absent header).
//
// Checked: the header built from the credentials passes, and nothing
// passes that is not "Basic ..."; a request without any browser header
// may change the test.
#include <openssl/evp.h>
#include <strings.h>

#include "master/web_auth.h"
#include "master/web_origin.h"
#include "tests/fuzz/fuzz.h"

#define S_CREDENTIALS "admin:s3cret"
#define S_FIELDS 5

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = apex_calloc(1, size + 1);
    memcpy(text, data, size);
    char *fields[S_FIELDS] = {0};
    char *p = text;
    for (size_t i = 0; i < S_FIELDS && p; i++) {
        char *eol = strchr(p, '\n');
        if (eol)
            *eol = '\0';
        fields[i] = *p ? p : NULL;
        p = eol ? eol + 1 : NULL;
    }
    apex_error_t err = {""};
    master_web_auth_t *auth = master_web_auth_new(S_CREDENTIALS, &err);
    FUZZ_CHECK(auth != NULL, "%s", err.msg);
    bool ok = master_web_auth_check(auth, fields[0]);
    // Only the header that decodes to exactly the credentials passes.
    char good[64] = "Basic ";
    EVP_EncodeBlock((unsigned char *)good + 6,
                    (const unsigned char *)S_CREDENTIALS,
                    (int)strlen(S_CREDENTIALS));
    FUZZ_CHECK(master_web_auth_check(auth, good), "the right header failed");
    if (ok)
        FUZZ_CHECK(fields[0] && strncasecmp(fields[0], "Basic ", 6) == 0,
                   "'%s' passed", fields[0] ? fields[0] : "(none)");
    master_web_auth_destroy(&auth);

    // Where it comes from: any headers, over TLS or not.
    for (int tls = 0; tls < 2; tls++) {
        master_web_request_t req = {.method = "POST",
                                    .path = "/stop",
                                    .host = fields[1],
                                    .origin = fields[2],
                                    .referer = fields[3],
                                    .fetch_site = fields[4],
                                    .tls = tls};
        const char *why = master_web_origin_refusal(&req);
        if (!req.origin && !req.referer && !req.fetch_site)
            FUZZ_CHECK(why == NULL, "no browser header refused: %s", why);
    }
    free(text);
    return 0;
}
