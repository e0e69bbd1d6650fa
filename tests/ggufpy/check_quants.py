#!/usr/bin/env python3
"""ctest ggufpy_quants: known-answer bytes for Q8_0, F16, BF16, TQ1_0 and
TQ2_0 from gguf-py's quantisers (gguf.quants.quantize, llama.cpp's own
Python port of ggml's reference quantisers) against OUR encoders (the
reference plugin's `encode` slot, which `bitnet convert` uses), on seeded
random rows of several shapes and on edge values (zeros, exact rounding
ties, huge / tiny magnitudes, subnormals, infinities, NaNs).

Each case is checked twice:
  1. our bytes == the bytes our documented rule gives (plugins/common/
     encode.c), computed here in numpy and packed by gguf-py wherever
     gguf-py can pack them - byte for byte, no tolerance;
  2. our bytes vs gguf-py's bytes: equal, except where the two rules are
     documented to differ, and then only at the positions that rule
     difference predicts (each such difference is counted and printed):

  F16   numpy's float32 -> float16 cast keeps signalling NaNs signalling
        (0x7f800001 -> 0x7c01); IEEE 754 conversion (and x86 F16C
        vcvtps2ph) quiets them (-> 0x7e00 | top payload bits), which is
        what we do. Only signalling-NaN inputs may differ.
  Q8_0  none: ours follows ggml (quantize_row_q8_0_ref) and gguf-py,
        q = roundf(x * (1/d)), ties away from zero. (It used to round x / d
        to even: valid Q8_0 too, but 127-198 bytes of a fixture's Q8_0
        embedding differed from llama.cpp's.) Any difference fails.
  TQ1_0 / TQ2_0  gguf-py (like ggml's quantize_row_tq*_0_ref) takes d =
        max|x| per 256-block and q = roundf(x / d); ours is BitNet's
        absmean ternarisation over the WHOLE tensor (gamma = mean |x|,
        t = nearbyint(x / gamma) clamped to [-1, 1], ties to even; gamma =
        the common |x| when all non-zero |x| are equal) with fp16(gamma) in
        every block. So: on exactly ternary input t * a (one a per tensor)
        both must give the same bytes - except an all-zero block, where
        gguf-py stores d = 0 and we store fp16(a) (both decode to zeros);
        on general floats the two quantisers are different algorithms, so
        our bytes are checked against numpy's absmean model, packed by
        gguf-py (quantize of the codes t, whose per-block max is 1, with
        d then set to fp16(gamma)); gguf-py's own codes are only counted.

Every check also decodes our bytes with gguf.quants.dequantize and
compares with the values the rule promises (code * fp16 scale).

Negative control: one byte of our output flipped, per format, must be
reported by check 1 or 2, or the test fails. Exit 0 only if all pass.
"""
import argparse
import os
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ggufpy_common import gguf, np  # noqa: E402  (fails the test if gguf is missing)

Q = gguf.GGMLQuantizationType
F32, F16, Q8_0, BF16, TQ1_0, TQ2_0 = 0, 1, 8, 30, 34, 35
NAMES = {F16: "F16", Q8_0: "Q8_0", BF16: "BF16", TQ1_0: "TQ1_0", TQ2_0: "TQ2_0"}
STRICT_Q8 = True  # ours follows ggml exactly: no Q8_0 difference is allowed


def f32(bits):
    return np.array(bits, dtype=np.uint32).view(np.float32)


def bits32(x):
    return np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)


def encode_ours(exe, cases, work):
    """Run ggufpy-encode over all cases at once; returns a list of bytes."""
    inp, outp = os.path.join(work, "in.bin"), os.path.join(work, "out.bin")
    with open(inp, "wb") as fh:
        for c in cases:
            x = np.ascontiguousarray(c["x"], dtype=np.float32)
            fh.write(struct.pack("<iiqq", c["type"], 0, x.shape[0], x.shape[1]))
            fh.write(x.tobytes())
    r = subprocess.run([exe, inp, outp], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError(f"ggufpy-encode failed: {r.stderr.decode(errors='replace')}")
    res = []
    with open(outp, "rb") as fh:
        for c in cases:
            status, size = struct.unpack("<qQ", fh.read(16))
            data = fh.read(size)
            if status != 0:
                raise RuntimeError(f"case {c['name']}: our encoder refused: {data.decode(errors='replace')}")
            res.append(np.frombuffer(data, dtype=np.uint8).copy())
    return res


def gg_quantize(x, t):
    with np.errstate(all="ignore"):
        return np.ascontiguousarray(gguf.quants.quantize(np.ascontiguousarray(x, dtype=np.float32), Q(t)))


def gg_dequantize(b, t, shape):
    with np.errstate(all="ignore"):
        v = gguf.quants.dequantize(b.reshape(shape[0], -1), Q(t))
    return np.ascontiguousarray(v, dtype=np.float32).reshape(-1)


# ---------------------------------------------------------------- F16 / BF16

def exp_f16(c):
    """Our rule = IEEE round-to-nearest-even conversion; numpy's cast is
    that except for signalling NaNs, which IEEE (and we) quiet."""
    x = c["x"].reshape(-1)
    gg = gg_quantize(c["x"], F16).view(np.uint16).reshape(-1)
    b = bits32(x)
    a = b & 0x7FFFFFFF
    snan = (a > 0x7F800000) & ((a & 0x00400000) == 0)
    exp = gg.copy()
    exp[snan] = (((b[snan] >> 16) & 0x8000) | 0x7E00 | ((a[snan] >> 13) & 0x3FF)).astype(np.uint16)
    return exp.view(np.uint8), gg.view(np.uint8), np.repeat(snan, 2), "signalling NaN (numpy keeps it signalling)"


def exp_bf16(c):
    gg = gg_quantize(c["x"], BF16).reshape(-1)
    return gg.copy(), gg, np.zeros(gg.size, bool), ""


# ---------------------------------------------------------------- Q8_0

def q8_models(x):
    """(our bytes, ggml's bytes, positions where the rules give different codes, why)."""
    blk = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, 32)
    with np.errstate(all="ignore"):
        amax = np.abs(blk).max(axis=1, keepdims=True)
        d = (amax / np.float32(127)).astype(np.float32)
        quo = (blk / d).astype(np.float32)
        # ggml: id = 1/d (0 when d = 0); roundf(x * id), ties away from zero
        idv = np.where(d == 0, np.float32(0), np.float32(1) / d).astype(np.float32)
        prod = (blk * idv).astype(np.float32)
        ggml = (np.sign(prod) * np.floor(np.abs(prod) + np.float32(0.5)).astype(np.float64))
        # floor(|p| + 0.5) in float64 is exact for float32 p: roundf semantics
        ggml = ggml.astype(np.int8)
        ours = ggml.copy()  # ours is ggml's rule (plugins/common/encode.c)
    with np.errstate(all="ignore"):
        d16 = d.astype(np.float16).view(np.uint8)
    pack = lambda q: np.concatenate([d16, q.view(np.uint8)], axis=1).reshape(-1)  # noqa: E731
    differ = ours != ggml
    # 1: both see the same exact tie k + 0.5 and only the tie rule differs;
    # 2: x * (1/d) != x / d and the two land on different sides of k + 0.5
    tie = differ & (quo == prod) & (quo - np.floor(quo) == np.float32(0.5))
    why = np.where(tie, 1, np.where(differ, 2, 0))
    pos = np.concatenate([np.zeros((blk.shape[0], 2), bool), differ], axis=1).reshape(-1)
    return pack(ours), pack(ggml), pos, why


def exp_q8_0(c):
    ours, ggml, pos, why = q8_models(c["x"])
    gg = gg_quantize(c["x"], Q8_0).reshape(-1)
    c["q8_why"] = why
    if not np.array_equal(gg, ggml):
        # our model of ggml's rule must be what gguf-py does, or the explanation is void
        j = int(np.nonzero(gg != ggml)[0][0])
        raise AssertionError(f"{c['name']}: gguf-py's Q8_0 differs from the roundf(x * (1/d)) model at byte {j}")
    return ours, gg, pos, "ties to even on x/d (ours) vs away from zero on x*(1/d) (ggml)"


# ---------------------------------------------------------------- TQ1_0 / TQ2_0

def ternary_scale(x):
    """plugins/common/encode.c ternary_scale: the common non-zero |x| if
    there is exactly one, else mean |x| summed left to right in double."""
    a = np.abs(x.reshape(-1)).astype(np.float32)
    nz = np.unique(a[a != 0])
    if nz.size == 1:
        return np.float32(nz[0])
    return np.float32(np.cumsum(a.astype(np.float64))[-1] / a.size)


def tq_pack_codes(t, typ, scale16):
    """gguf-py packs codes t in {-1,0,1}; every block's d then set to scale16."""
    q = gg_quantize(t.astype(np.float32), typ)
    bs = 54 if typ == TQ1_0 else 66
    q = q.reshape(-1, bs).copy()
    q[:, bs - 2:] = np.frombuffer(np.float16(scale16).tobytes(), np.uint8)
    return q.reshape(-1)


def exp_tq(c):
    typ, x = c["type"], c["x"]
    gg = gg_quantize(x, typ).reshape(-1)
    bs = 54 if typ == TQ1_0 else 66
    g = ternary_scale(x)
    with np.errstate(all="ignore"):
        t = np.clip(np.rint((x / max(g, np.float32(1e-8))).astype(np.float32)), -1, 1).astype(np.int8)
    exp = tq_pack_codes(t, typ, np.float32(g).astype(np.float16))
    c["tq_codes"] = t
    c["tq_scale16"] = np.float32(g).astype(np.float16)
    if c.get("ternary"):
        # exactly t * a: gguf-py must agree except d of all-zero blocks
        zero_blk = np.all(x.reshape(-1, 256) == 0, axis=1)
        pos = np.zeros((zero_blk.size, bs), bool)
        pos[zero_blk, bs - 2:] = True
        return exp, gg, pos.reshape(-1), "all-zero block: gguf-py d = 0, ours fp16(tensor scale)"
    # general floats: different algorithms; any position may differ (counted, not failed)
    return exp, gg, np.ones(gg.size, bool), "per-block absmax + roundf (ggml) vs tensor absmean (BitNet)"


EXPECT = {F16: exp_f16, BF16: exp_bf16, Q8_0: exp_q8_0, TQ1_0: exp_tq, TQ2_0: exp_tq}


def promised_values(c, ours):
    """Values our bytes must decode to under the rule (for the dequantise check)."""
    t, x = c["type"], c["x"]
    if t in (F16, BF16):
        return None  # the byte check is the value check
    if t == Q8_0:
        blk = ours.reshape(-1, 34)
        d = blk[:, :2].copy().view(np.float16).astype(np.float32)
        with np.errstate(all="ignore"):  # d = inf (fp16 overflow) times code 0
            return (blk[:, 2:].view(np.int8).astype(np.float32) * d).reshape(-1)
    return (c["tq_codes"].astype(np.float32) * np.float32(c["tq_scale16"])).reshape(-1)


def check_case(c, ours, exp, gg, allowed, why):
    """Problems (list of str) and the number of explained gguf-py differences."""
    probs = []
    name = f"{NAMES[c['type']]} {c['name']} {c['x'].shape[0]}x{c['x'].shape[1]}"
    if ours.size != exp.size:
        return [f"{name}: {ours.size} bytes, expected {exp.size}"], 0
    bad = np.nonzero(ours != exp)[0]
    if bad.size:
        j = int(bad[0])
        probs.append(f"{name}: {bad.size} bytes differ from our documented rule, first at byte {j}: "
                     f"ours {ours[j]:#04x} rule {exp[j]:#04x}")
    dg = np.nonzero(ours != gg)[0]
    unexplained = dg[~allowed[dg]]
    if unexplained.size:
        j = int(unexplained[0])
        probs.append(f"{name}: {unexplained.size} bytes differ from gguf-py where the rules agree, first at "
                     f"byte {j}: ours {ours[j]:#04x} gguf-py {gg[j]:#04x}")
    explained = int(dg.size - unexplained.size)
    if c["type"] == Q8_0 and explained and STRICT_Q8:
        probs.append(f"{name}: {explained} bytes differ from ggml's Q8_0 rounding (GGUFPY_STRICT_Q8=1)")
    pv = promised_values(c, ours)
    if pv is not None:
        dq = gg_dequantize(ours, c["type"], c["x"].shape)
        if dq.size != pv.size or not np.array_equal(bits32(dq), bits32(pv)):
            probs.append(f"{name}: gguf-py's dequantisation of our bytes is not code * scale")
    return probs, explained


# ---------------------------------------------------------------- the cases

def make_cases(seed):
    rng = np.random.default_rng(seed)
    cases = []

    def add(t, name, x, **kw):
        cases.append(dict(type=t, name=name, x=np.ascontiguousarray(x, dtype=np.float32), **kw))

    def logrand(shape, lo, hi):
        return (rng.choice([-1.0, 1.0], size=shape) * 10.0 ** rng.uniform(lo, hi, size=shape)).astype(np.float32)

    # --- F16: random, then every rounding corner of the format ---
    add(F16, "normal", rng.standard_normal((4, 256)))
    add(F16, "log-uniform 1e-9..1e6", logrand((3, 512), -9, 6))
    e = 2.0 ** -24  # smallest f16 subnormal
    edges = [0.0, -0.0, 1.0, -1.0, 1 + 2 ** -11, 1 + 3 * 2 ** -11, -(1 + 2 ** -11), 2049.0, 2051.0, 4097.0,
             65504.0, 65519.0, 65519.996, 65520.0, -65520.0, 1e6, 3.4028235e38, np.inf, -np.inf,
             e, -e, e / 2, 3 * e / 2, 5 * e / 2, e / 2 * 1.0000001, e / 2 * 0.9999999, 2.0 ** -14,
             2.0 ** -14 - e / 2, 2.0 ** -14 - e, 2.0 ** -14 - 3 * e / 2, 1e-45, -1e-45, 1e-40, 1.17549435e-38,
             0.1, 0.2, 0.3, 1 / 3, 2 / 3, 1e-5, 6.1e-5, 6.0e-8, 5.9e-8, 3.0e-8, 2.9e-8]
    x = np.array(edges, dtype=np.float32)
    x = np.concatenate([x, f32([0x7FC00000, 0xFFC00000, 0x7FFFFFFF, 0x7FC02000])])  # quiet NaNs
    add(F16, "edges", x.reshape(1, -1))
    add(F16, "signalling NaNs", f32([0x7F800001, 0xFF800001, 0x7FA00001, 0x7F802000, 0x7FBFFFFF, 0xFF801000,
                                     0x7FC00001, 0x3F800000]).reshape(1, -1))
    # every f16 value and every midpoint between neighbours (exact ties): 2 x 31744 positive finite
    h = np.arange(0, 0x7C00, dtype=np.uint16).view(np.float16).astype(np.float32)
    mid = ((h[:-1].astype(np.float64) + h[1:].astype(np.float64)) / 2).astype(np.float32)
    add(F16, "all f16 values and midpoints", np.concatenate([h, -h, mid, -mid]).reshape(2, -1))

    # --- BF16 ---
    add(BF16, "normal", rng.standard_normal((4, 256)))
    add(BF16, "log-uniform 1e-40..1e38", logrand((2, 512), -40, 38))
    add(BF16, "edges", f32([0x3F808000, 0x3F818000, 0x3F808001, 0x3F807FFF, 0xBF808000, 0x7F7FFFFF, 0x7F7F8000,
                            0x7F7F7FFF, 0xFF7F8000, 0x00008000, 0x00018000, 0x00000001, 0x80008000, 0x00000000,
                            0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001,
                            0x7FA00001, 0xFF800001, 0x7FFFFFFF, 0x00800000, 0x007FFFFF]).reshape(1, -1))
    r = rng.integers(0, 2 ** 32, size=(2, 1024), dtype=np.uint64).astype(np.uint32)
    add(BF16, "random bit patterns (NaNs too)", f32(r))

    # --- Q8_0 ---
    add(Q8_0, "normal", rng.standard_normal((8, 256)))
    add(Q8_0, "one block", rng.standard_normal((1, 32)))
    add(Q8_0, "odd rows", rng.standard_normal((3, 96)) * 7)
    add(Q8_0, "log-uniform 1e-6..1e3", logrand((4, 128), -6, 3))
    k = np.arange(-127, 127, dtype=np.float32) + 0.5  # x/d = k + 0.5 exactly, d = 1
    ties = np.concatenate([[127.0], k, [-127.0]]).astype(np.float32)  # 256 values, 8 blocks
    ties = ties.reshape(8, 32)
    ties[:, 0] = 127.0  # every block: amax 127 -> d = 1 exactly
    add(Q8_0, "exact ties d=1", ties.reshape(1, -1))
    add(Q8_0, "exact ties d=1/8", (ties / 8).reshape(2, -1))
    # near ties (found by search): x/d = 46.499996 etc. rounds down under any tie
    # rule, but ggml's x * (1/d) is exactly 46.5 and rounds away, to 47
    near = rng.standard_normal((4, 32)).astype(np.float32) * 0.05
    for i, (am, xv) in enumerate([(0x3F84CF39, 0xBEDFCA07), (0x3F62F74C, 0x3EA63415), (0x3FA35049, 0xBF782F6C),
                                  (0x3FD2BADB, 0x3EFF87DE)]):
        near[i, 0], near[i, 7] = f32(am), f32(xv)
    add(Q8_0, "near ties x*(1/d) vs x/d", near.reshape(1, -1))
    # bf16-valued weights, as real checkpoints hold (ties are then frequent)
    bf = bits32(rng.standard_normal((8, 256)).astype(np.float32) * np.float32(0.02))
    add(Q8_0, "bf16-valued (checkpoint-like)", f32((bf + np.uint32(0x8000)) & np.uint32(0xFFFF0000)))
    z = np.zeros((2, 64), np.float32)
    z[1, 32:] = rng.standard_normal(32)
    add(Q8_0, "zero block", z)
    big = rng.standard_normal((1, 64)).astype(np.float32) * 1e7  # d > 65504: fp16 d = inf, codes still finite
    add(Q8_0, "d overflows fp16", big)
    add(Q8_0, "d underflows fp16", rng.standard_normal((1, 64)) * 1e-30)  # tiny but normal float32 d
    sub = rng.standard_normal((1, 64)).astype(np.float32)
    sub[0, 1::3] = f32(rng.integers(1, 0x7FFFFF, size=21, dtype=np.uint64).astype(np.uint32))  # subnormal x
    add(Q8_0, "subnormal values in normal blocks", sub)
    # (blocks whose max |x| is itself subnormal are left out: ggml's 1/d
    #  is then inf and roundf(x * inf) -> int8 is undefined behaviour in C)
    out = rng.standard_normal((2, 64)).astype(np.float32) * 0.01
    out[:, 5] = 100.0
    add(Q8_0, "outlier", out)

    # --- TQ1_0 / TQ2_0 ---
    for t in (TQ1_0, TQ2_0):
        for shape, a in [((1, 256), 1.0), ((3, 512), 0.1), ((2, 1024), 2.0 ** -15), ((4, 256), 1000.0),
                         ((1, 768), 0.5), ((2, 256), 0.0123)]:
            tr = rng.integers(-1, 2, size=shape).astype(np.float32)
            tr.reshape(-1, 256)[:, 0] = 1.0  # a non-zero in every block
            add(t, f"ternary*{a:g}", tr * np.float32(a), ternary=True)
        tr = rng.integers(-1, 2, size=(2, 512)).astype(np.float32)
        tr.reshape(-1, 256)[:, 0] = -1.0
        tr.reshape(-1, 256)[2] = 0.0  # one all-zero block
        add(t, "ternary*0.25 with a zero block", tr * np.float32(0.25), ternary=True)
        add(t, "all zeros", np.zeros((2, 256)), ternary=True)
        add(t, "normal", rng.standard_normal((4, 512)))
        add(t, "uniform", rng.uniform(-3, 3, (2, 256)))
        # gamma = 1 exactly and values at the ternarisation ties +-0.5 and +-1.5
        mags = np.tile(np.array([0.5, 0.5, 1.5, 1.5, 1.0, 0.0, 2.0, 1.0], np.float32), 64)  # sum = n
        add(t, "ties at gamma/2 (gamma = 1)", (mags * rng.choice([-1.0, 1.0], size=512)).reshape(2, 256))
        add(t, "log-uniform 1e-4..1e2", logrand((2, 512), -4, 2))
    return cases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--encode", required=True, help="ggufpy-encode")
    ap.add_argument("--seed", type=int, default=20250101)
    a = ap.parse_args()
    t0 = time.time()
    os.environ.pop("BITNET_PLUGIN_PATH", None)
    os.environ.pop("BITNET_BACKEND", None)
    cases = make_cases(a.seed)
    with tempfile.TemporaryDirectory(prefix="ggufpy-quants-") as work:
        ours_all = encode_ours(a.encode, cases, work)
    problems, n_bytes, per_type = [], 0, {}
    controls_failed, controlled = [], set()
    for c, ours in zip(cases, ours_all):
        exp, gg, allowed, why = EXPECT[c["type"]](c)
        probs, explained = check_case(c, ours, exp, gg, allowed, why)
        problems += probs
        n_bytes += ours.size
        st = per_type.setdefault(NAMES[c["type"]], {"cases": 0, "bytes": 0, "explained": 0})
        st["cases"] += 1
        st["bytes"] += ours.size
        st["explained"] += explained
        note = ""
        if explained:
            note = f"  ({explained} bytes differ from gguf-py: {why})"
            if c["type"] == Q8_0:
                w = c["q8_why"]
                note += f" [{int((w == 1).sum())} exact ties, {int((w == 2).sum())} x*(1/d) vs x/d]"
        print(f"{'FAIL' if probs else 'ok  '} {NAMES[c['type']]:5s} {c['name']:38s} "
              f"{c['x'].shape[0]}x{c['x'].shape[1]:<5d} {ours.size:6d} bytes{note}")
        # negative control: one flipped byte in our output must be reported
        if not probs and c["name"] in ("normal", "exact ties d=1", "edges", "ternary*0.1",
                                       "ties at gamma/2 (gamma = 1)"):
            bad = ours.copy()
            j = ours.size // 3 + 2 if c["type"] not in (TQ1_0, TQ2_0) else 7
            bad[j] ^= 0x04
            cp, _ = check_case(c, bad, exp, gg, allowed, why)
            if cp:
                print(f"     control ok: flipped byte {j} -> {cp[0]}")
                controlled.add(NAMES[c["type"]])
            else:
                controls_failed.append(f"{NAMES[c['type']]} {c['name']}: flipped byte {j} was not reported")
    print(f"\nSUMMARY: {len(cases)} cases, {n_bytes} encoded bytes compared; " +
          "; ".join(f"{k}: {v['cases']} cases {v['bytes']} bytes, {v['explained']} differ from gguf-py "
                    f"by a documented rule" for k, v in per_type.items()) +
          f"; {len(problems)} problems; {time.time() - t0:.1f}s")
    for t in sorted(set(NAMES.values()) - controlled):
        controls_failed.append(f"{t}: no negative control ran and was caught")
    for p in problems:
        print("FAIL", p)
    for f in controls_failed:
        print("FAIL control", f)
    return 1 if problems or controls_failed else 0


if __name__ == "__main__":
    sys.exit(main())
