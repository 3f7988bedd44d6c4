// common/pyfmt.c - see pyfmt.h.
//
// repr(str) follows CPython's unicode_repr(): pick the quote, then copy
// each character, escaping \\, the quote, \t, \n, \r, other characters
// below U+0020 and DEL as \xNN, and every non-printable character as
// \xNN, \uXXXX or \UXXXXXXXX. "Non-printable" is Python's
// str.isprintable() being false; for non-ASCII that is the Unicode
// categories Cc, Cf, Zs (but space), Zl, Zp, Co and Cn. s_unprintable[]
// lists the assigned ones of Unicode 14.0 (Python 3.11), so a string
// holding unassigned code points, or code points assigned in later
// Unicode versions, can print differently from a given Python; error
// texts do not hold them. Bytes that are not valid UTF-8 cannot be in a
// Python str at all and are copied through unchanged.
//
// repr(float) follows CPython's float_repr() with 'r' formatting: the
// shortest decimal digits that read back as the same double (and among
// those the nearest to it), laid out in fixed notation when the decimal
// exponent is in [-4, 16) and in scientific notation otherwise. The
// digits come from glibc's correctly rounded "%.*e" at increasing
// precision, checked with strtod(); where the interval that rounds to
// the double is lopsided (at powers of two) the correctly rounded digits
// can miss it while their neighbour one unit away hits it, so that
// neighbour is tried too, as dtoa's shortest mode would find it.
//
// SHA-256 is written from FIPS 180-4, processing one 64-byte block at a
// time with an 8-word state; it allocates nothing.
#include "common/pyfmt.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

#define APEX_PY_ESCAPE_MAX 4       // output bytes per input byte, at most
#define APEX_PY_CONTROL_END 0x20   // characters below this are escaped
#define APEX_PY_DEL 0x7f           // DEL is escaped too
#define APEX_PY_LATIN1_END 0x100   // escapes below this use \xNN
#define APEX_PY_BMP_END 0x10000    // escapes below this use \uXXXX
#define APEX_PY_DIGITS_MAX 17      // significant digits that fix any double
#define APEX_PY_FIXED_MIN_EXP (-4) // fixed notation from 1e-4 ...
#define APEX_PY_FIXED_END_EXP 16   // ... up to but excluding 1e16
#define APEX_PY_NUM_BUF 64         // scratch for "%.*e" output

#define APEX_SHA256_BLOCK 64 // bytes per compression block
#define APEX_SHA256_WORDS 8  // 32-bit words of state and of digest
#define APEX_SHA256_ROUNDS 64
#define APEX_SHA256_LEN_BYTES 8 // the message length trailer, in bytes

// ---------------------------------------------------------------------
// repr(str)

typedef struct {
    uint32_t first; // first code point of the range
    uint32_t last;  // last code point of the range, inclusive
} s_range_t;

// Non-ASCII code points that are assigned and not printable in Python
// 3.11 (Unicode 14.0): generated with unicodedata from every code point
// where not isprintable() and the category is neither Cn nor Cs.
static const s_range_t s_unprintable[] = {
    {0x80, 0xa0},       {0xad, 0xad},       {0x600, 0x605},
    {0x61c, 0x61c},     {0x6dd, 0x6dd},     {0x70f, 0x70f},
    {0x890, 0x891},     {0x8e2, 0x8e2},     {0x1680, 0x1680},
    {0x180e, 0x180e},   {0x2000, 0x200f},   {0x2028, 0x202f},
    {0x205f, 0x2064},   {0x2066, 0x206f},   {0x3000, 0x3000},
    {0xe000, 0xf8ff},   {0xfeff, 0xfeff},   {0xfff9, 0xfffb},
    {0x110bd, 0x110bd}, {0x110cd, 0x110cd}, {0x13430, 0x13438},
    {0x1bca0, 0x1bca3}, {0x1d173, 0x1d17a}, {0xe0001, 0xe0001},
    {0xe0020, 0xe007f}, {0xf0000, 0xffffd}, {0x100000, 0x10fffd},
};

static bool s_is_unprintable(uint32_t cp)
{
    size_t n = sizeof s_unprintable / sizeof s_unprintable[0];
    for (size_t i = 0; i < n; i++)
        if (cp >= s_unprintable[i].first && cp <= s_unprintable[i].last)
            return true;
    return false;
}

// Decode one well-formed UTF-8 sequence of 2 to 4 bytes at s into *cp
// and return its length, or 0 if the bytes there are not one (overlong
// forms, surrogates and code points past U+10FFFF included).
static size_t s_utf8_decode(const unsigned char *s, uint32_t *cp)
{
    size_t len;
    uint32_t v, min;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2, v = s[0] & 0x1f, min = 0x80;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3, v = s[0] & 0x0f, min = 0x800;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4, v = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    // A NUL terminator fails the continuation test, so we never read
    // past the end of the string.
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

static char *s_put_escape(char *p, uint32_t cp)
{
    if (cp < APEX_PY_LATIN1_END)
        return p + sprintf(p, "\\x%02x", (unsigned)cp);
    if (cp < APEX_PY_BMP_END)
        return p + sprintf(p, "\\u%04x", (unsigned)cp);
    return p + sprintf(p, "\\U%08x", (unsigned)cp);
}

char *apex_py_repr_str(const char *utf8)
{
    assert(utf8);
    size_t len = strlen(utf8);
    // Python prefers single quotes and switches to double quotes only
    // when that saves escaping: the text has ' and no ".
    char quote = '\'';
    if (strchr(utf8, '\'') && !strchr(utf8, '"'))
        quote = '"';
    // Every byte grows to at most 4 ("\x01"; "\U0010fffd" is 10 bytes for
    // 4), plus two quotes and the NUL.
    char *out = apex_calloc(len + 1, APEX_PY_ESCAPE_MAX);
    char *p = out;
    *p++ = quote;
    const unsigned char *s = (const unsigned char *)utf8;
    while (*s) {
        unsigned char c = *s;
        if (c == '\\' || c == (unsigned char)quote) {
            *p++ = '\\';
            *p++ = (char)c;
            s++;
        } else if (c == '\t' || c == '\n' || c == '\r') {
            *p++ = '\\';
            *p++ = c == '\t' ? 't' : c == '\n' ? 'n' : 'r';
            s++;
        } else if (c < APEX_PY_CONTROL_END || c == APEX_PY_DEL) {
            p = s_put_escape(p, c);
            s++;
        } else if (c < APEX_PY_DEL) {
            *p++ = (char)c;
            s++;
        } else {
            uint32_t cp = 0;
            size_t n = s_utf8_decode(s, &cp);
            if (n == 0) {
                *p++ = (char)c; // not UTF-8: see the top of the file
                s++;
            } else if (s_is_unprintable(cp)) {
                p = s_put_escape(p, cp);
                s += n;
            } else {
                memcpy(p, s, n);
                p += n;
                s += n;
            }
        }
    }
    *p++ = quote;
    *p = '\0';
    return out;
}

// ---------------------------------------------------------------------
// repr(float)

typedef struct {
    char digits[APEX_PY_DIGITS_MAX + 2]; // significant digits, NUL-ended
    int exp; // decimal exponent of the first digit: d.ddd x 10^exp
} s_decimal_t;

// Split "d.ddde+XX" (as printed by "%.*e" for a positive finite value)
// into digits and exponent.
static void s_decimal_parse(const char *text, s_decimal_t *dec)
{
    size_t n = 0;
    const char *p = text;
    for (; *p && *p != 'e'; p++)
        if (*p != '.' && n < APEX_PY_DIGITS_MAX + 1)
            dec->digits[n++] = *p;
    dec->digits[n] = '\0';
    dec->exp = *p == 'e' ? atoi(p + 1) : 0;
}

static double s_decimal_value(const s_decimal_t *dec)
{
    char text[APEX_PY_NUM_BUF];
    snprintf(text, sizeof text, "%c.%se%d", dec->digits[0], dec->digits + 1,
             dec->exp);
    return strtod(text, NULL);
}

// Move dec one unit in its last digit, up or down, keeping the number of
// digits (1.99 + 1 unit = 2.00; 1.00 - 1 unit = 0.99 = 9.90e-1).
static void s_decimal_step(s_decimal_t *dec, bool up)
{
    size_t n = strlen(dec->digits);
    size_t i = n;
    while (i > 0) {
        i--;
        if (up && dec->digits[i] < '9') {
            dec->digits[i]++;
            return;
        }
        if (!up && dec->digits[i] > '0') {
            dec->digits[i]--;
            break;
        }
        dec->digits[i] = up ? '0' : '9';
    }
    if (up) { // 9.99 became 0.00: it is 1.00 one decade higher
        dec->digits[0] = '1';
        dec->exp++;
        return;
    }
    if (dec->digits[0] == '0') { // 1.00 became 0.99: renormalize
        memmove(dec->digits, dec->digits + 1, n);
        dec->digits[n - 1] = '9';
        dec->exp--;
    }
}

// The shortest digits of a positive finite value that read back as it.
static void s_shortest(double value, s_decimal_t *dec)
{
    char text[APEX_PY_NUM_BUF];
    for (int precision = 0; precision < APEX_PY_DIGITS_MAX; precision++) {
        snprintf(text, sizeof text, "%.*e", precision, value);
        double back = strtod(text, NULL);
        s_decimal_parse(text, dec);
        if (back == value)
            return;
        // The nearest digits missed; the next ones on the far side of
        // value may still be inside its rounding interval.
        s_decimal_t other = *dec;
        s_decimal_step(&other, back < value);
        if (s_decimal_value(&other) == value) {
            *dec = other;
            return;
        }
    }
    snprintf(text, sizeof text, "%.*e", APEX_PY_DIGITS_MAX - 1, value);
    s_decimal_parse(text, dec);
}

void apex_py_float_repr(double value, char *out)
{
    assert(out);
    if (isnan(value)) {
        strcpy(out, "nan");
        return;
    }
    if (isinf(value)) {
        strcpy(out, value < 0 ? "-inf" : "inf");
        return;
    }
    char *p = out;
    if (signbit(value))
        *p++ = '-';
    if (value == 0) {
        strcpy(p, "0.0");
        return;
    }
    s_decimal_t dec;
    s_shortest(fabs(value), &dec);
    size_t n = strlen(dec.digits);
    while (n > 1 && dec.digits[n - 1] == '0')
        dec.digits[--n] = '\0';

    if (dec.exp < APEX_PY_FIXED_MIN_EXP || dec.exp >= APEX_PY_FIXED_END_EXP) {
        // Scientific: "1e-05", "1.5e+16", at least two exponent digits.
        *p++ = dec.digits[0];
        if (n > 1) {
            *p++ = '.';
            memcpy(p, dec.digits + 1, n - 1);
            p += n - 1;
        }
        sprintf(p, "e%c%02d", dec.exp < 0 ? '-' : '+', abs(dec.exp));
        return;
    }
    if (dec.exp < 0) { // "0.000123"
        *p++ = '0';
        *p++ = '.';
        for (int i = -1; i > dec.exp; i--)
            *p++ = '0';
        memcpy(p, dec.digits, n);
        p += n;
    } else { // "123.45", "100.0": the integer part, zero-padded
        size_t whole = (size_t)dec.exp + 1;
        for (size_t i = 0; i < whole; i++)
            *p++ = i < n ? dec.digits[i] : '0';
        *p++ = '.';
        if (n > whole) {
            memcpy(p, dec.digits + whole, n - whole);
            p += n - whole;
        } else {
            *p++ = '0';
        }
    }
    *p = '\0';
}

// ---------------------------------------------------------------------
// SHA-256 (FIPS 180-4, section 6.2)

static const uint32_t s_sha256_k[APEX_SHA256_ROUNDS] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t s_sha256_h0[APEX_SHA256_WORDS] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static inline uint32_t s_rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static void s_sha256_block(uint32_t state[APEX_SHA256_WORDS],
                           const uint8_t block[APEX_SHA256_BLOCK])
{
    uint32_t w[APEX_SHA256_ROUNDS];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)block[4 * t] << 24 | (uint32_t)block[4 * t + 1] << 16 |
               (uint32_t)block[4 * t + 2] << 8 | (uint32_t)block[4 * t + 3];
    for (int t = 16; t < APEX_SHA256_ROUNDS; t++) {
        uint32_t s0 =
            s_rotr(w[t - 15], 7) ^ s_rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 =
            s_rotr(w[t - 2], 17) ^ s_rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int t = 0; t < APEX_SHA256_ROUNDS; t++) {
        uint32_t big1 = s_rotr(e, 6) ^ s_rotr(e, 11) ^ s_rotr(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = h + big1 + ch + s_sha256_k[t] + w[t];
        uint32_t big0 = s_rotr(a, 2) ^ s_rotr(a, 13) ^ s_rotr(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = big0 + maj;
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
}

void apex_sha256_hex(const void *data, size_t size, char out[APEX_SHA256_HEX])
{
    assert(data || size == 0);
    assert(out);
    uint32_t state[APEX_SHA256_WORDS];
    memcpy(state, s_sha256_h0, sizeof state);
    const uint8_t *p = data;
    size_t left = size;
    for (; left >= APEX_SHA256_BLOCK; left -= APEX_SHA256_BLOCK) {
        s_sha256_block(state, p);
        p += APEX_SHA256_BLOCK;
    }
    // Padding: the rest, a 1 bit, zeros, and the length in bits as a
    // big-endian 64-bit number; one block, or two if the rest is long.
    uint8_t tail[2 * APEX_SHA256_BLOCK] = {0};
    if (left)
        memcpy(tail, p, left);
    tail[left] = 0x80;
    size_t tail_len = left + 1 + APEX_SHA256_LEN_BYTES <= APEX_SHA256_BLOCK
                          ? APEX_SHA256_BLOCK
                          : 2 * APEX_SHA256_BLOCK;
    uint64_t bits = (uint64_t)size * 8;
    for (int i = 0; i < APEX_SHA256_LEN_BYTES; i++)
        tail[tail_len - 1 - (size_t)i] = (uint8_t)(bits >> (8 * i));
    for (size_t off = 0; off < tail_len; off += APEX_SHA256_BLOCK)
        s_sha256_block(state, tail + off);

    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < APEX_SHA256_WORDS; i++)
        for (int j = 0; j < 8; j++)
            out[8 * i + j] = hex[(state[i] >> (28 - 4 * j)) & 0xf];
    out[APEX_SHA256_HEX - 1] = '\0';
}

void apex_locust_error_key(const char *method, const char *name,
                           const char *error, char out[APEX_SHA256_HEX])
{
    assert(method);
    assert(name);
    assert(error);
    char *quoted = apex_py_repr_str(error);
    char *text = apex_sprintf("%s.%s.%s", method, name, quoted);
    apex_sha256_hex(text, strlen(text), out);
    free(text);
    free(quoted);
}
