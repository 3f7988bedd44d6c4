// tests/fuzz/fuzz_secrets.c - masking the scenario's secrets in text a
// worker sent (common/secrets.c): the input's first line is a list of
// values (separated by '\t'), the rest the text.
//
// Checked: the masked text is never longer than the text, and holds none
// of the values that are masked (at least APEX_SECRET_MIN bytes), unless
// a value has a '*' in it (it may then be rebuilt from "***" and what
// surrounds it).
#include "common/secrets.h"
#include "tests/fuzz/fuzz.h"

#define S_MAX_VALUES 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *input = apex_calloc(1, size + 1);
    memcpy(input, data, size);
    char *nl = strchr(input, '\n');
    char *text = nl ? nl + 1 : input + size;
    if (nl)
        *nl = '\0';
    const char *values[S_MAX_VALUES];
    size_t n = 0;
    for (char *save = NULL, *v = strtok_r(input, "\t", &save);
         v && n < S_MAX_VALUES; v = strtok_r(NULL, "\t", &save))
        values[n++] = v;
    apex_secrets_t *s = apex_secrets_from(values, n, NULL);
    char *masked = apex_secrets_mask(s, text);
    FUZZ_CHECK(strlen(masked) <= strlen(text), "masking grew the text");
    bool unmaskable = false; // a value made of '*' and what is around it
    for (size_t i = 0; i < n; i++)
        if (strlen(values[i]) >= APEX_SECRET_MIN && strchr(values[i], '*'))
            unmaskable = true;
    for (size_t i = 0; i < n && !unmaskable; i++)
        if (strlen(values[i]) >= APEX_SECRET_MIN)
            FUZZ_CHECK(!strstr(masked, values[i]), "'%s' left in '%s'",
                       values[i], masked);
    apex_secrets_destroy(&s);
    free(masked);
    free(input);
    return 0;
}
