/* Finding the best few candidates without sorting the vocabulary: a bounded
 * min-heap scan for small k, and quickselect (by count or by probability
 * mass) for everything else. */
#include "sample_internal.h"

/* ---- heap scan ---------------------------------------------------------- */

/* Min-heap on rank: h[0] is the worst kept candidate. */
static void sift_down(bn_cand *h, size_t k, size_t i) {
    bn_cand v = h[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= k)
            break;
        if (c + 1 < k && bn_cand_better(&h[c], &h[c + 1]))
            c++; /* the worse child */
        if (!bn_cand_better(&v, &h[c]))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = v;
}

void bn_top_k_heap(const float *x, size_t n, size_t k, bn_cand *out) {
    for (size_t i = 0; i < k; i++) {
        out[i].id = (int32_t)i;
        out[i].logit = x[i];
        out[i].p = 0.0f;
    }
    for (size_t i = k / 2; i-- > 0;)
        sift_down(out, k, i);
    /* Ids grow along the scan, so a later logit equal to the worst kept one
     * ranks below it: a strict > is the whole test. Blocks with nothing
     * above the threshold (almost all of them) cost one SIMD compare. */
    enum { B = 16 };
    size_t i = k;
    for (; i < n; i++) {
        if ((i % B) == 0 && i + B <= n) {
            float thr = out[0].logit;
            int above = 0;
            for (int j = 0; j < B; j++)
                above += x[i + j] > thr;
            if (!above) {
                i += B - 1;
                continue;
            }
        }
        if (x[i] > out[0].logit) {
            out[0].id = (int32_t)i;
            out[0].logit = x[i];
            sift_down(out, k, 0);
        }
    }
}

/* ---- quickselect -------------------------------------------------------- */

static void swap_cand(bn_cand *a, bn_cand *b) {
    bn_cand t = *a;
    *a = *b;
    *b = t;
}

/* Sort c[0..n) best first (small n only). */
static void insertion_sort(bn_cand *c, size_t n) {
    for (size_t i = 1; i < n; i++) {
        bn_cand v = c[i];
        size_t j = i;
        for (; j > 0 && bn_cand_better(&v, &c[j - 1]); j--)
            c[j] = c[j - 1];
        c[j] = v;
    }
}

/* Median-of-three pivot, then Lomuto: returns the pivot's final index q,
 * with c[lo..q) better than it and c(q..hi) worse; *mass = weight of
 * c[lo..q). The rank order is total (ids differ), so no equal keys. */
static size_t partition(bn_cand *c, size_t lo, size_t hi, double *mass) {
    size_t mid = lo + (hi - lo) / 2, last = hi - 1;
    if (bn_cand_better(&c[mid], &c[lo]))
        swap_cand(&c[mid], &c[lo]);
    if (bn_cand_better(&c[last], &c[lo]))
        swap_cand(&c[last], &c[lo]);
    if (bn_cand_better(&c[last], &c[mid]))
        swap_cand(&c[last], &c[mid]);
    swap_cand(&c[lo], &c[mid]); /* median to the front */
    bn_cand pivot = c[lo];
    size_t store = lo + 1;
    double m = 0.0;
    for (size_t j = lo + 1; j < hi; j++)
        if (bn_cand_better(&c[j], &pivot)) {
            m += c[j].p;
            swap_cand(&c[store++], &c[j]);
        }
    swap_cand(&c[lo], &c[store - 1]);
    *mass = m;
    return store - 1;
}

void bn_top_k_select(bn_cand *c, size_t n, size_t k) {
    size_t lo = 0, hi = n;
    while (hi - lo > 16) {
        double unused;
        size_t q = partition(c, lo, hi, &unused);
        if (q == k || q + 1 == k)
            return;
        if (q > k)
            hi = q;
        else
            lo = q + 1;
    }
    insertion_sort(c + lo, hi - lo);
}

size_t bn_top_mass_select(bn_cand *c, size_t n, double target) {
    size_t lo = 0, hi = n;
    double acc = 0.0; /* weight of c[0..lo), all better than c[lo..hi) */
    while (hi - lo > 16) {
        double mass;
        size_t q = partition(c, lo, hi, &mass);
        if (acc + mass >= target) {
            hi = q;
        } else if (acc + mass + c[q].p >= target) {
            return q + 1;
        } else {
            acc += mass + c[q].p;
            lo = q + 1;
        }
    }
    insertion_sort(c + lo, hi - lo);
    for (size_t i = lo; i < hi; i++) {
        acc += c[i].p;
        if (acc >= target)
            return i + 1;
    }
    return hi;
}
