// tests/unit/test_pyfmt.c - Python repr() of str and float, SHA-256 and
// Locust's error key. Every expected string was printed by
// /usr/bin/python3 (3.11) or comes from FIPS 180-4 and Locust itself.
#include "tests/unit/tests.h"

#include <math.h>

#include "common/pyfmt.h"

typedef struct {
    double value;         // the float
    const char *expected; // Python's repr() of it
} s_float_case_t;

static const s_float_case_t s_float_cases[] = {
    {1.7377226250019362, "1.7377226250019362"},
    {0.1, "0.1"},
    {1e-05, "1e-05"},
    {123456789012345680.0, "1.2345678901234568e+17"},
    {5e-324, "5e-324"},
    {1.7976931348623157e+308, "1.7976931348623157e+308"},
    {100.0, "100.0"},
    {0.5, "0.5"},
    {3.0, "3.0"},
    {0.0, "0.0"},
    {-0.0, "-0.0"},
    {0.0001, "0.0001"},
    {0.00012345, "0.00012345"},
    {1234567890123456.0, "1234567890123456.0"},
    {1e+16, "1e+16"},
    {1.5e+16, "1.5e+16"},
    {9999999999999998.0, "9999999999999998.0"},
    {1000000000000000.0, "1000000000000000.0"},
    {123.456, "123.456"},
    {-2.5, "-2.5"},
    {1e+22, "1e+22"},
    {1e-07, "1e-07"},
    {2.2250738585072014e-308, "2.2250738585072014e-308"},
    {1.5e-323, "1.5e-323"},
    {0.3, "0.3"},
    {0.6666666666666666, "0.6666666666666666"},
    {0.3333333333333333, "0.3333333333333333"},
    {9007199254740992.0, "9007199254740992.0"},
    {1.152921504606847e+18, "1.152921504606847e+18"},
    {5.684341886080802e-14, "5.684341886080802e-14"},
    {1e+23, "1e+23"},
    {5e-05, "5e-05"},
    {12345.6, "12345.6"},
    {1.2, "1.2"},
    {145.0, "145.0"},
    {1e+100, "1e+100"},
    {-1e-100, "-1e-100"},
    {0.001, "0.001"},
    {4.35, "4.35"},
    {2.675, "2.675"},
    // Powers of two, where the rounding interval is lopsided and the
    // nearest digits at a length can miss it while the next ones hit.
    {0x1p-1074, "5e-324"},
    {0x1p+1023, "8.98846567431158e+307"},
    {0x1p-1022, "2.2250738585072014e-308"},
    {0x1p+60, "1.152921504606847e+18"},
    {0x1p+70, "1.1805916207174113e+21"},
    {0x1p-20, "9.5367431640625e-07"},
    {0x1p-44, "5.684341886080802e-14"},
    {0x1p+54, "1.8014398509481984e+16"},
    {0x1p+196, "1.004336277661869e+59"},
    {0x1p+976, "6.386688990511104e+293"},
    {0x1p-1017, "7.120236347223045e-307"}, // nearest 16 digits: ...044
    {0x1p-1007, "7.291122019556398e-304"},
    {0x1p-957, "8.209073602596753e-289"},
    {0x1p-509, "5.966672584960166e-154"},
};

typedef struct {
    const char *text;     // a str, as UTF-8
    const char *expected; // Python's repr() of it, as UTF-8
} s_str_case_t;

static const s_str_case_t s_str_cases[] = {
    {"", "''"},
    {"abc", "'abc'"},
    {"it's", "\"it's\""},
    {"say \"hi\"", "'say \"hi\"'"},
    {"both ' and \"", "'both \\' and \"'"},
    {"back\\slash", "'back\\\\slash'"},
    {"line\nbreak\r\ttab", "'line\\nbreak\\r\\ttab'"},
    {"\x01\x1f\x7f", "'\\x01\\x1f\\x7f'"},
    {"caf\xc3\xa9", "'caf\xc3\xa9'"},             // é is printable
    {"\xc2\xa0nbsp\xc2\xad", "'\\xa0nbsp\\xad'"}, // NBSP, soft hyphen
    {"\xe2\x80\xa8", "'\\u2028'"},                // line separator
    {"\xe2\x80\x8b", "'\\u200b'"},                // zero width space
    {"\xf0\x9f\x98\x80", "'\xf0\x9f\x98\x80'"},   // an emoji
    {"\xf3\xa0\x80\x81", "'\\U000e0001'"},        // language tag
    {"it's a \"quote\" \\", "'it\\'s a \"quote\" \\\\'"},
    {"CatchResponseError('body did not match')",
     "\"CatchResponseError('body did not match')\""},
    {"ConnectionRefusedError(111, 'Connection refused')",
     "\"ConnectionRefusedError(111, 'Connection refused')\""},
};

static void s_check_float(double value, const char *expected)
{
    char out[APEX_PY_FLOAT_MAX];
    memset(out, 'x', sizeof out);
    apex_py_float_repr(value, out);
    CHECK(memchr(out, '\0', sizeof out) != NULL);
    CHECK_STR(out, expected);
}

static void s_test_float(bool verbose)
{
    size_t n = sizeof s_float_cases / sizeof s_float_cases[0];
    for (size_t i = 0; i < n; i++) {
        if (verbose)
            printf("  float %s\n", s_float_cases[i].expected);
        s_check_float(s_float_cases[i].value, s_float_cases[i].expected);
        if (s_float_cases[i].value > 0) {
            // The negative prints the same with a minus sign.
            char negative[APEX_PY_FLOAT_MAX + 1] = "-";
            strcat(negative, s_float_cases[i].expected);
            s_check_float(-s_float_cases[i].value, negative);
        }
    }
    s_check_float(INFINITY, "inf");
    s_check_float(-INFINITY, "-inf");
    s_check_float(NAN, "nan");
    s_check_float(-NAN, "nan");

    // Whatever the value, the text reads back as the same double and
    // fits the buffer; this walks bit patterns across the whole range.
    uint64_t bits = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 20000; i++) {
        bits = bits * 6364136223846793005ULL + 1442695040888963407ULL;
        double value;
        memcpy(&value, &bits, sizeof value);
        if (!isfinite(value))
            continue;
        char out[APEX_PY_FLOAT_MAX];
        apex_py_float_repr(value, out);
        CHECK(strlen(out) < APEX_PY_FLOAT_MAX);
        CHECK(strtod(out, NULL) == value);
    }
}

static void s_test_str(bool verbose)
{
    size_t n = sizeof s_str_cases / sizeof s_str_cases[0];
    for (size_t i = 0; i < n; i++) {
        char *out = apex_py_repr_str(s_str_cases[i].text);
        if (verbose)
            printf("  str %s\n", out);
        CHECK_STR(out, s_str_cases[i].expected);
        free(out);
    }
    // Bytes that are not UTF-8 cannot come from Python; they pass through.
    char *out = apex_py_repr_str("a\xff\xc3(b\xed\xa0\x80");
    CHECK_STR(out, "'a\xff\xc3(b\xed\xa0\x80'");
    free(out);
    // The longest growth: every byte becomes \xNN.
    char controls[256];
    memset(controls, '\x01', sizeof controls - 1);
    controls[sizeof controls - 1] = '\0';
    out = apex_py_repr_str(controls);
    CHECK_EQ(strlen(out), 2 + 4 * (sizeof controls - 1));
    free(out);
}

static void s_check_sha(const void *data, size_t size, const char *expected)
{
    char hex[APEX_SHA256_HEX];
    apex_sha256_hex(data, size, hex);
    CHECK_STR(hex, expected);
}

static void s_test_sha256(void)
{
    // FIPS 180-4 examples (NIST CSRC "SHA256.pdf" and the long message).
    s_check_sha(
        "", 0,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    s_check_sha(
        "abc", 3,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two_blocks =
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    s_check_sha(
        two_blocks, strlen(two_blocks),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    size_t million = 1000000;
    char *as = malloc(million);
    CHECK(as != NULL);
    memset(as, 'a', million);
    s_check_sha(
        as, million,
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(as);
    // Lengths around the padding edge (55, 56, 63, 64 bytes), from
    // Python's hashlib.
    static const char *const edges[] = {
        "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318",
        "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a",
        "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34",
        "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb",
    };
    static const size_t edge_sizes[] = {55, 56, 63, 64};
    char block[64];
    memset(block, 'a', sizeof block);
    for (size_t i = 0; i < 4; i++)
        s_check_sha(block, edge_sizes[i], edges[i]);
}

static void s_test_error_key(void)
{
    char key[APEX_SHA256_HEX];
    // Both keys were computed by Locust itself (see docs/protocol.md,
    // "Stats reports").
    apex_locust_error_key("GET", "/health",
                          "CatchResponseError('body did not match')", key);
    CHECK_STR(
        key,
        "890e1482be6c29febbbfd4918229f7eb75a55f7e0fe196c62802e3fd57b05d31");
    apex_locust_error_key("GET", "refused",
                          "ConnectionRefusedError(111, 'Connection refused')",
                          key);
    CHECK_STR(
        key,
        "dd0cb59aa487825ab3e9c886599ab24a76a8c5cb51fa7fed4c523b04097d0d87");
    // Both quotes and a newline: Python hashes
    // POST./login.'HTTPError(\'500 "Server" Error\')\n' (from hashlib).
    apex_locust_error_key("POST", "/login",
                          "HTTPError('500 \"Server\" Error')\n", key);
    CHECK_STR(
        key,
        "b08a6a35c446ecdd467d763767602862f3297cd12622bcec172ef437637843e5");
}

void test_pyfmt(bool verbose)
{
    s_test_float(verbose);
    s_test_str(verbose);
    s_test_sha256();
    s_test_error_key();
}
