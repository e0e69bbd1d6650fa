/* UTF-8 well-formedness (Unicode table 3-7) with U+FFFD replacement of
 * maximal ill-formed subparts, and the GPT-2 byte-level alphabet. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

size_t bn_utf8_next(const unsigned char *p, size_t n, size_t *ill) {
    unsigned char c = p[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0; /* no overlong forms */
        if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        *ill = 1;
        return 0;
    }
    /* The maximal subpart is the lead byte plus every continuation byte
     * that still fits a well-formed sequence. */
    size_t i = 1;
    for (; i < need; i++) {
        if (i >= n)
            break;
        unsigned char b = p[i];
        if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF))
            break;
    }
    if (i == need)
        return need;
    *ill = i;
    return 0;
}

int bn_utf8_valid(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        /* ASCII fast path, 8 bytes at a time. */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        size_t ill, k = bn_utf8_next(p + i, n - i, &ill);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

bn_status bn_utf8_sanitize(const char *s, size_t n, bn_text *out) {
    static const char fffd[3] = {(char)0xEF, (char)0xBF, (char)0xBD};
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0; /* run: start of well-formed bytes not yet copied */
    while (i < n) {
        size_t ill, k = bn_utf8_next(p + i, n - i, &ill);
        if (k) {
            i += k;
            continue;
        }
        bn_status st = bn_text_append(out, s + run, i - run);
        if (st == BN_OK)
            st = bn_text_append(out, fffd, 3);
        if (st != BN_OK)
            return st;
        i += ill;
        run = i;
    }
    return bn_text_append(out, s + run, n - run);
}

size_t bn_utf8_put(uint32_t cp, char *out) {
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* GPT-2's alphabet: printable Latin-1 bytes stand for themselves, the other
 * 68 bytes (controls, space, DEL, NBSP, soft hyphen ...) take code points
 * 256, 257, ... in byte order, so every byte is a visible character. */
static int printable_latin1(unsigned b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

static uint16_t byte_to_cp[256];
static int16_t cp_to_byte[256 + 68];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void build_tables(void) {
    unsigned next = 256;
    for (unsigned cp = 0; cp < 256 + 68; cp++)
        cp_to_byte[cp] = -1;
    for (unsigned b = 0; b < 256; b++) {
        byte_to_cp[b] = (uint16_t)(printable_latin1(b) ? b : next++);
        cp_to_byte[byte_to_cp[b]] = (int16_t)b;
    }
}

uint32_t bn_bytelevel_cp(unsigned char b) {
    pthread_once(&tables_once, build_tables);
    return byte_to_cp[b];
}

int bn_bytelevel_byte(uint32_t cp) {
    pthread_once(&tables_once, build_tables);
    return cp < 256 + 68 ? cp_to_byte[cp] : -1;
}

long bn_bytelevel_decode(const char *s, size_t n, char *out) {
    const unsigned char *p = (const unsigned char *)s;
    long o = 0;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        if (p[i] < 0x80) {
            cp = p[i++];
        } else if ((p[i] & 0xE0) == 0xC0 && i + 1 < n) {
            cp = (uint32_t)(p[i] & 0x1F) << 6 | (p[i + 1] & 0x3F);
            i += 2;
        } else {
            return -1; /* the alphabet has nothing beyond U+07FF */
        }
        int b = bn_bytelevel_byte(cp);
        if (b < 0)
            return -1;
        out[o++] = (char)b;
    }
    return o;
}
