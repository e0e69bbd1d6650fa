/* Decoding: token pieces to UTF-8 text, one token at a time.
 *
 * A byte-level or <0xXX> token may carry part of a character, so the
 * decoder holds back a trailing incomplete sequence until the bytes that
 * complete it arrive; bytes that can never become well-formed are replaced
 * by U+FFFD right away, so the output is always well-formed UTF-8. */
#include <string.h>

#include "tok_internal.h"

static const char fffd[3] = {(char)0xEF, (char)0xBF, (char)0xBD};

static int valid_lead(unsigned char c) { return c >= 0xC2 && c <= 0xF4; }

void bn_detok_init(bn_detok *d, const bn_vocab *v, unsigned flags) {
    memset(d, 0, sizeof *d);
    d->vocab = v;
    d->flags = flags;
}

/* Feed held-back bytes one at a time from p until they resolve; returns
 * how many bytes of p were consumed. */
static bn_status resolve_pending(bn_detok *d, const char *p, size_t n, size_t *used, bn_text *out) {
    size_t i = 0;
    while (d->npend && i < n) {
        d->pend[d->npend++] = (unsigned char)p[i++];
        size_t ill, k = bn_utf8_next(d->pend, d->npend, &ill);
        if (k) {
            bn_status st = bn_text_append(out, (const char *)d->pend, k);
            d->npend = 0;
            if (st != BN_OK)
                return st;
        } else if (ill < d->npend) {
            /* The new byte broke the sequence: replace what came before it
             * and look at the byte again as a fresh start. */
            d->npend = 0;
            i--;
            bn_status st = bn_text_append(out, fffd, 3);
            if (st != BN_OK)
                return st;
        }
        /* else still an incomplete prefix: keep holding */
    }
    *used = i;
    return BN_OK;
}

static bn_status emit_bytes(bn_detok *d, const char *s, size_t n, bn_text *out) {
    size_t used = 0;
    bn_status st = resolve_pending(d, s, n, &used, out);
    if (st != BN_OK)
        return st;
    const unsigned char *p = (const unsigned char *)s;
    size_t i = used, run = used;
    while (i < n) {
        size_t ill, k = bn_utf8_next(p + i, n - i, &ill);
        if (k) {
            i += k;
            continue;
        }
        st = bn_text_append(out, s + run, i - run);
        if (st != BN_OK)
            return st;
        if (i + ill == n && valid_lead(p[i])) { /* incomplete at the end: hold */
            memcpy(d->pend, p + i, ill);
            d->npend = ill;
            return BN_OK;
        }
        st = bn_text_append(out, fffd, 3);
        if (st != BN_OK)
            return st;
        i += ill;
        run = i;
    }
    return bn_text_append(out, s + run, n - run);
}

/* Text of a piece, after the prefix space that SentencePiece's encoder
 * added to the whole text is dropped (BN_DETOK_STRIP_PREFIX, as HF's Strip
 * decoder drops the first character of the fused text when it is a space). */
static bn_status emit_piece(bn_detok *d, const char *p, size_t len, bn_text *out) {
    const bn_vocab *v = d->vocab;
    if (!d->started && (d->flags & BN_DETOK_STRIP_PREFIX) && v->kind == BN_VOCAB_SPM && v->add_space_prefix &&
        len && p[0] == ' ') {
        p++;
        len--;
    }
    d->started = 1;
    return emit_bytes(d, p, len, out);
}

static int well_formed(const unsigned char *p, size_t n) {
    size_t ill;
    for (size_t i = 0, k; i < n; i += k)
        if (!(k = bn_utf8_next(p + i, n - i, &ill)))
            return 0;
    return 1;
}

/* End a run of SentencePiece byte tokens: all of it as text, or (HF's
 * ByteFallback) one U+FFFD per byte when any part is not well formed. */
static bn_status end_byte_run(bn_detok *d, bn_text *out) {
    size_t n = d->nrun;
    d->nrun = 0;
    if (!n || well_formed(d->run, n))
        return n ? emit_piece(d, (const char *)d->run, n, out) : BN_OK;
    d->started = 1;
    for (size_t i = 0; i < n; i++) {
        bn_status st = bn_text_append(out, fffd, 3);
        if (st != BN_OK)
            return st;
    }
    return BN_OK;
}

bn_status bn_detok_push(bn_detok *d, int32_t id, bn_text *out) {
    const bn_vocab *v = d->vocab;
    if (id < 0 || id >= v->n)
        return bn_fail(BN_ERR_INVALID, "detokenize: token id %d outside the vocab of %d", id, v->n);
    size_t len;
    const char *p = bn_token_piece(v, id, d->flags, &len);
    if (len == 0) /* skipped control text does not end a byte run (HF skips it before decoding) */
        return out->data ? BN_OK : bn_text_append(out, "", 0);
    bn_status st = BN_OK;
    if (v->kind == BN_VOCAB_SPM && v->types && v->types[id] == BN_TOKEN_BYTE && len == 1) {
        if (d->nrun == BN_DETOK_RUN_MAX) /* a run this long is written as it stands */
            st = emit_piece(d, (const char *)d->run, d->nrun, out), d->nrun = 0;
        d->run[d->nrun++] = (unsigned char)p[0];
        return st != BN_OK ? st : out->data ? BN_OK : bn_text_append(out, "", 0);
    }
    if ((st = end_byte_run(d, out)) != BN_OK)
        return st;
    return emit_piece(d, p, len, out);
}

bn_status bn_detok_flush(bn_detok *d, bn_text *out) {
    bn_status st = end_byte_run(d, out);
    if (st == BN_OK)
        st = d->npend ? bn_text_append(out, fffd, 3) : bn_text_append(out, "", 0);
    d->npend = 0;
    return st;
}

bn_status bn_detokenize(const bn_vocab *v, const int32_t *ids, size_t n, unsigned flags,
                        bn_text *out) {
    bn_detok d;
    bn_detok_init(&d, v, flags);
    for (size_t i = 0; i < n; i++) {
        bn_status st = bn_detok_push(&d, ids[i], out);
        if (st != BN_OK)
            return st;
    }
    return bn_detok_flush(&d, out);
}

static void print_escaped(FILE *f, const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t ill, k = bn_utf8_next(p + i, n - i, &ill);
        if (k > 1) {
            fwrite(p + i, 1, k, f);
            i += k;
            continue;
        }
        unsigned char c = p[i++];
        if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c == '\r')
            fputs("\\r", f);
        else if (c == '\\' || c == '\'')
            fprintf(f, "\\%c", c);
        else if (c >= 0x20 && c < 0x7F)
            fputc(c, f);
        else
            fprintf(f, "\\x%02x", c);
    }
}

void bn_tokens_print(FILE *f, const bn_vocab *v, const int32_t *ids, size_t n, int ids_only) {
    for (size_t i = 0; i < n; i++) {
        if (ids_only) {
            fprintf(f, "%s%d", i ? " " : "", ids[i]);
            continue;
        }
        size_t len;
        const char *p = bn_token_piece(v, ids[i], BN_DETOK_SPECIAL, &len);
        fprintf(f, "%6d\t'", ids[i]);
        if (p)
            print_escaped(f, p, len);
        else
            fputs("<out of range>", f);
        fputs("'\n", f);
    }
    if (ids_only)
        fputc('\n', f);
}
