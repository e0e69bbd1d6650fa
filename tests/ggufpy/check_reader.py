#!/usr/bin/env python3
"""ctest ggufpy_reader: gguf-py (llama.cpp's reader) must see exactly what
our reader sees in every kind of GGUF file our writer produces.

Files made here (in --work):
  * `bitnet convert` of every HF fixture (tests/xval/fixtures/*,
    tests/interop/fixtures/{bitnet_1bitllm,llama_f32}) with every linear
    --type it accepts, --tq-scale blocks, --embd-type q8_0 / f32;
  * GGUF -> GGUF re-encodings (`bitnet convert X.gguf -o Y.gguf --type T`),
    of our files and of the llama.cpp / bitnet.cpp files in
    tests/interop/fixtures;
  * `bitnet convert --vocab-only` of tests/fixtures/tokenizers/llama3-bpe
    and of the HF fixtures' tokenizers;
  * tiny models from bitnet-make-model (three architectures, every type);
  * ggufpy-write: every metadata value type (nested arrays too) and
    tensor type through the writer API, alignment 64, an empty file.
The committed llama.cpp / bitnet.cpp files are read as well ("foreign").

For each file ggufpy-dump prints our reader's view as JSON (every key,
type and value; every tensor's name, type, shape, offsets, size, CRC-32 of
its bytes) and the reference plugin's dequantisation of every F16 / BF16 /
Q8_0 / Q6_K / TQ1_0 / TQ2_0 tensor; ggufpy_common.compare checks all of it
against gguf.GGUFReader and gguf.quants.dequantize, bit for bit. I2_S
(id 36) is unknown to gguf-py: its table entry still comes from gguf-py,
its bytes are taken by offset and the size I2_S's definition gives.

Negative controls: the comparison must report a byte flipped in one
tensor (a TQ2_0 one, then an I2_S one), in one metadata string, and
doctored dumps (an offset, a float value, a dequantised value, a dropped
key) - each exactly where it was made, or the test fails.

Exit status 0 only if every file agrees and every control is caught.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ggufpy_common import Reader, compare, np  # noqa: E402  (fails the test if gguf is missing)


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.decode(errors='replace')[-2000:]}")
    return r.stdout


def build_files(a, submit):
    """Run every producer, handing each finished file to submit(label, path,
    kind) at once (so the slow reads start early); returns [(label, path, kind)]."""
    root, w = a.root, a.work
    bitnet = [a.bitnet, "convert", "-q", "-t", "1"]
    xval = os.path.join(root, "tests/xval/fixtures")
    interop = os.path.join(root, "tests/interop/fixtures")
    hf = [os.path.join(xval, d) for d in sorted(os.listdir(xval))
          if os.path.isfile(os.path.join(xval, d, "config.json"))]
    hf.append(os.path.join(interop, "bitnet_1bitllm"))
    llama = os.path.join(interop, "llama_f32")
    files = []

    def out(name):
        return os.path.join(w, name + ".gguf")

    def add(label, cmd, path, kind="ours"):
        if cmd:
            run(cmd)
        files.append((label, path, kind))
        submit(label, path, kind)

    # the two big vocabularies first: gguf-py reads them slowest
    l3 = os.path.join(root, "tests/fixtures/tokenizers/llama3-bpe")
    add("vocab-only:llama3-bpe", bitnet + [l3, "-o", out("llama3-vocab"), "--vocab-only"], out("llama3-vocab"))
    spm = os.path.join(root, "tests/fixtures/tokenizers/llama2-spm/vocab.gguf")
    small = os.path.join(xval, "b158_relu2")
    # TQ rows are made of 256-value blocks: embd and ff multiples of 256
    shape = ["--embd", "256", "--layers", "2", "--ff", "512", "--heads", "4", "--kv-heads", "2", "--ctx", "64"]
    for name, extra in [("mm-b158-i2_s-spm", ["--arch", "bitnet-b1.58", "--type", "i2_s", "--vocab", spm]),
                        ("mm-b158-i2_s-embd128", ["--embd", "128", "--ff", "256", "--type", "i2_s", "--vocab", small]),
                        ("mm-bitnet-tq2_0", ["--arch", "bitnet", "--type", "tq2_0", "--vocab", small]),
                        ("mm-llama-tq1_0-q8", ["--arch", "llama", "--type", "tq1_0", "--embd-type", "q8_0",
                                               "--vocab", small]),
                        ("mm-b158-tq2_0-f32", ["--arch", "bitnet-b1.58", "--type", "tq2_0", "--embd-type", "f32",
                                               "--vocab", small, "--seed", "7"])]:
        add(f"make-model:{name}", [a.make_model, "-o", out(name)] + shape + extra, out(name))  # later flags win

    for d in hf + [llama]:
        n = os.path.basename(d)
        types = ["i2_s", "tq1_0", "tq2_0"] + (["f16", "f32"] if d == llama else [])
        for t in types:
            add(f"hf:{n}:{t}", bitnet + [d, "-o", out(f"{n}-{t}"), "--type", t], out(f"{n}-{t}"))
        for t in ["tq1_0", "tq2_0"]:
            add(f"hf:{n}:{t}:tq-scale-blocks",
                bitnet + [d, "-o", out(f"{n}-{t}-blk"), "--type", t, "--tq-scale", "blocks"], out(f"{n}-{t}-blk"))
        lin = "f16" if d == llama else "i2_s"
        add(f"hf:{n}:{lin}:embd-q8_0", bitnet + [d, "-o", out(f"{n}-eq8"), "--type", lin, "--embd-type", "q8_0"],
            out(f"{n}-eq8"))
        lin = "f32" if d == llama else "tq2_0"
        add(f"hf:{n}:{lin}:embd-f32", bitnet + [d, "-o", out(f"{n}-ef32"), "--type", lin, "--embd-type", "f32"],
            out(f"{n}-ef32"))
        add(f"vocab-only:{n}", bitnet + [d, "-o", out(f"{n}-vocab"), "--vocab-only"], out(f"{n}-vocab"))

    run([a.write, w])
    add("writer-api", None, os.path.join(w, "values.gguf"))
    add("writer-api:align64", None, os.path.join(w, "align64.gguf"))
    add("writer-api:empty", None, os.path.join(w, "empty.gguf"))

    rq = [("b158_relu2-i2_s", "tq2_0", []), ("b158_relu2-i2_s", "tq1_0", []),
          ("b158_relu2-i2_s", "tq2_0", ["--tq-scale", "blocks"]), ("b158_relu2-tq1_0", "i2_s", []),
          ("b158_relu2-tq2_0", "tq1_0", []), ("bitnet_1bitllm-tq2_0-blk", "tq2_0", []),
          ("llama_f32-i2_s", "tq2_0", [])]
    for src, t, extra in rq:
        dst = out(f"rq-{src}-to-{t}{'-blk' if extra else ''}")
        add(f"requant:{src}->{t}{' '.join([''] + extra)}", bitnet + [out(src), "-o", dst, "--type", t] + extra, dst)
    for fx, t in [("bitnetcpp-b158-i2_s", "tq2_0"), ("llamacpp-bitnet-tq1_0", "i2_s"),
                  ("llamacpp-bitnet-tq2_0", "tq1_0"), ("llamacpp-llama-bf16", "tq2_0")]:
        src = os.path.join(interop, fx + ".gguf")
        add(f"foreign:{fx}", None, src, "foreign")
        dst = out(f"rq-{fx}-to-{t}")
        add(f"requant:{fx}->{t}", bitnet + [src, "-o", dst, "--type", t], dst)
    return files


def check_one(args):
    label, path, dump, work, idx = args
    t0 = time.time()
    deq = os.path.join(work, f"deq-{idx}.bin")
    ours = json.loads(run([dump, path, deq]))
    with open(deq, "rb") as fh:
        blob = fh.read()
    rd = Reader(path)
    probs, st = compare(ours, rd, blob, label)
    os.unlink(deq)
    st["seconds"] = time.time() - t0
    return label, probs, st


def writer_known_answers(work):
    """values.gguf holds what ggufpy_write.c put there: gguf-py must read
    exactly those keys, in insertion order (a replaced key keeps its place,
    a removed one is gone), with those types and values; and the bytes of
    the tensor the fill callback produced. (The comparison with our reader
    cannot see a writer bug both readers would read alike; this can.)"""
    import struct
    from ggufpy_common import _walk

    def f32(x):
        return "f32:%08x" % struct.unpack("<I", struct.pack("<f", x))[0]

    def f64(x):
        return "f64:%016x" % struct.unpack("<Q", struct.pack("<d", x))[0]

    def s(b):
        return "s:" + (b.encode() if isinstance(b, str) else b).hex()

    def arr(et, items):
        return {"et": et, "n": len(items), "items": items}

    inf, nan = float("inf"), float("nan")
    exp = [
        ("general.architecture", 8, s("ggufpy-test")),
        ("s.u8.max", 0, 255), ("s.u8.zero", 0, 0), ("s.i8.min", 1, -128), ("s.i8.max", 1, 127),
        ("s.u16.max", 2, 65535), ("s.i16.min", 3, -32768), ("s.u32.max", 4, 2 ** 32 - 1),
        ("s.i32.min", 5, -2 ** 31), ("s.i32.max", 5, 2 ** 31 - 1), ("s.u64.max", 10, 2 ** 64 - 1),
        ("s.i64.min", 11, -2 ** 63), ("s.i64.max", 11, 2 ** 63 - 1),
        ("s.f32.pi", 6, f32(3.14159265)), ("s.f32.negzero", 6, "f32:80000000"), ("s.f32.inf", 6, f32(inf)),
        ("s.f32.nan", 6, "f32:7fc00000"), ("s.f32.subnormal", 6, "f32:00000001"), ("s.f32.max", 6, "f32:7f7fffff"),
        ("s.f64.tenth", 12, f64(0.1)), ("s.f64.min_sub", 12, "f64:0000000000000001"),
        ("s.f64.neginf", 12, f64(-inf)), ("s.bool.true", 7, 1), ("s.bool.false", 7, 0),
        ("s.str.empty", 8, s("")), ("s.str.utf8", 8, s("h\u00e9llo \u2581w\U0001F600")),
        ("s.str.nul", 8, s(b"a\0b\0")), ("s.str.newline", 8, s('line1\nline2\t"q"\\')),
        ("s.replaced", 6, f32(2.5)),
        ("a.u8", 9, arr(0, [0, 1, 255])), ("a.i8", 9, arr(1, [-128, 0, 127])), ("a.u16", 9, arr(2, [0, 65535])),
        ("a.i16", 9, arr(3, [-32768, 32767, -1])), ("a.u32", 9, arr(4, [0, 2 ** 32 - 1, 7])),
        ("a.i32", 9, arr(5, [-2 ** 31, -1, 0, 2 ** 31 - 1])), ("a.u64", 9, arr(10, [0, 2 ** 64 - 1, 2 ** 63])),
        ("a.i64", 9, arr(11, [-2 ** 63, -1, 2 ** 63 - 1])), ("a.bool", 9, arr(7, [1, 0, 1, 1])),
        ("a.f32", 9, arr(6, [f32(0.0), "f32:80000000", f32(1 / 3), f32(-1e-40), f32(inf), f32(-65504.0),
                             "f32:7fc00000"])),
        ("a.f64", 9, arr(12, [f64(0.1), f64(-2.5), f64(1e308), f64(-0.0), f64(5e-324)])),
        ("a.empty_i32", 9, arr(5, [])), ("a.empty_f64", 9, arr(12, [])),
        ("a.str", 9, arr(8, [s(""), s("x"), s("\u2581the"), s("<0x0A>")])), ("a.str_empty", 9, arr(8, [])),
        ("a.strn", 9, arr(8, [s(b"a\0b"), s(b""), s(b"\xff\xfe")])),
        ("a.i32_big", 9, None),
        ("x.nested_str", 9, arr(9, [arr(8, [s("ab"), s("cde")]), arr(8, []), arr(8, [s(""), s("\u00e9")])])),
        ("x.nested_i32", 9, arr(9, [arr(5, [1, -2, 3]), arr(5, [2 ** 31 - 1])])),
        ("x.nested3", 9, arr(9, [arr(9, [arr(6, [f32(0.5)]), arr(6, [])]), arr(9, [arr(6, [f32(1.5), "f32:80000000"])])])),
    ]
    del nan
    rd = Reader(os.path.join(work, "values.gguf"))
    got = [(k, f) for k, f in rd.fields.items() if not k.startswith("GGUF.")]
    probs = []
    if [k for k, _ in got] != [k for k, _t, _v in exp]:
        probs.append(f"writer-api: keys/order {[k for k, _ in got]} != {[k for k, _t, _v in exp]}")
    for (k, t, v), (k2, f) in zip(exp, got):
        val, _ = _walk(f.parts, 3, int(f.parts[2][0]))
        if k != k2 or int(f.parts[2][0]) != t or (v is not None and val != v):
            probs.append(f"writer-api: key {k}: wrote type {t} value {v!r}, gguf-py reads {k2} type "
                         f"{int(f.parts[2][0])} value {val!r}")
        elif v is None and (val["et"] != 5 or val["n"] != 5000):
            probs.append(f"writer-api: key {k}: not 5000 int32")
    t = next(t for t in rd.tensors if t.name == "t.fill.i8")
    k = np.arange(4096 * 300, dtype=np.uint64)
    want = ((k * np.uint64(2654435761)) >> np.uint64(13)).astype(np.uint8)
    if list(map(int, t.shape)) != [4096, 300] or not np.array_equal(np.asarray(t.data).reshape(-1).view(np.uint8), want):
        probs.append("writer-api: tensor t.fill.i8 is not what the fill callback produced")
    if not probs:
        print(f"ok   writer-api known answers: {len(exp)} keys in insertion order, fill-callback tensor bytes")
    return probs


def controls(a, files):
    """Each doctored input must be reported, and only where it was made."""
    failures = []
    dump = a.dump

    def view(path, deq=True):
        dq = os.path.join(a.work, "ctl-deq.bin")
        ours = json.loads(run([dump, path, dq]))
        with open(dq, "rb") as fh:
            blob = fh.read()
        return ours, blob

    def expect(name, probs, must):
        hits = [p for p in probs if all(m in p for m in must)]
        others = [p for p in probs if p not in hits]
        if not hits or others:
            failures.append(f"negative control '{name}' not caught as expected: wanted a report with {must}, "
                            f"got {probs or 'nothing'}")
        else:
            print(f"control ok: {name}: {hits[0]}")

    def flipped_copy(src, off, name):
        dst = os.path.join(a.work, name)
        shutil.copyfile(src, dst)
        with open(dst, "r+b") as fh:
            fh.seek(off)
            b = fh.read(1)[0]
            fh.seek(off)
            fh.write(bytes([b ^ 0x01]))
        return dst

    # 1. a byte of a TQ2_0 tensor: gguf-py reads the doctored copy, we the original
    src = os.path.join(a.work, "b158_relu2-tq2_0.gguf")
    ours, blob = view(src)
    rd = Reader(src)
    tq = next(t for t in rd.tensors if int(t.tensor_type) == 35)
    bad = flipped_copy(src, tq.data_offset + tq.n_bytes // 3, "ctl-tq2.gguf")
    probs, _ = compare(ours, Reader(bad), blob, "ctl")
    expect("TQ2_0 byte flipped", [p for p in probs if "dequantised" not in p], [tq.name, "bytes differ"])
    expect("TQ2_0 byte flipped (dequantised)", [p for p in probs if "bytes differ" not in p],
           [tq.name, "dequantised values differ"])

    # 2. a byte of an I2_S tensor (the raw-bytes path gguf-py cannot type)
    src = os.path.join(a.work, "b158_relu2-i2_s.gguf")
    ours, blob = view(src)
    rd = Reader(src)
    i2 = next(t for t in rd.tensors if int(t.tensor_type) == 36)
    bad = flipped_copy(src, i2.data_offset + 5, "ctl-i2s.gguf")
    probs, _ = compare(ours, Reader(bad), blob, "ctl")
    expect("I2_S byte flipped", probs, [i2.name, "bytes differ"])

    # 3. a byte of a metadata string value
    fld = rd.fields["tokenizer.ggml.model"]
    off = fld.parts[-1].ctypes.data - rd.data.ctypes.data
    bad = flipped_copy(src, off, "ctl-kv.gguf")
    probs, _ = compare(ours, Reader(bad), blob, "ctl")
    expect("metadata string byte flipped", probs, ["key tokenizer.ggml.model", "value differs"])

    # 4. doctored dumps of the writer-api file
    src = os.path.join(a.work, "values.gguf")
    rd = Reader(src)
    ours, blob = view(src)
    d = json.loads(json.dumps(ours))
    d["tensors"][4]["offset"] += 32
    tname = bytes.fromhex(d["tensors"][4]["name"]).decode()
    expect("tensor offset changed", compare(d, rd, blob, "ctl")[0], [tname, "offset ours"])
    d = json.loads(json.dumps(ours))
    kv = next(k for k in d["kv"] if bytes.fromhex(k["k"]) == b"s.f32.pi")
    kv["v"] = "f32:%08x" % (int(kv["v"][4:], 16) ^ 1)
    expect("float32 value's last bit changed", compare(d, rd, blob, "ctl")[0], ["key s.f32.pi", "value differs"])
    d = json.loads(json.dumps(ours))
    kv = next(k for k in d["kv"] if bytes.fromhex(k["k"]) == b"x.nested3")
    kv["v"]["items"][1]["items"][0]["items"][1] = "f32:00000000"  # -0.0 -> +0.0, three levels deep
    expect("nested array value changed", compare(d, rd, blob, "ctl")[0], ["key x.nested3", "value differs"])
    d = json.loads(json.dumps(ours))
    del d["kv"][5]
    expect("key dropped", compare(d, rd, blob, "ctl")[0][:1], ["kv count"])
    t = next(t for t in ours["tensors"] if bytes.fromhex(t["name"]) == b"t.tq1_0.2d")
    b = bytearray(blob)
    b[t["deq"][0] + 4 * 100 + 3] ^= 0x80  # flip the sign of value 100
    expect("dequantised value changed", compare(ours, rd, bytes(b), "ctl")[0],
           ["t.tq1_0.2d", "dequantised values differ"])
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--bitnet", required=True)
    ap.add_argument("--make-model", required=True)
    ap.add_argument("--dump", required=True)
    ap.add_argument("--write", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    a = ap.parse_args()
    t0 = time.time()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    os.environ.pop("BITNET_PLUGIN_PATH", None)
    os.environ.pop("BITNET_BACKEND", None)
    problems, tot = [], {"files": 0, "keys": 0, "tensors": 0, "deq": 0, "raw": 0, "contents": 0, "bytes": 0}
    futures = []
    with ProcessPoolExecutor(max_workers=max(1, a.jobs)) as ex:
        files = build_files(a, lambda lb, p, k: futures.append(ex.submit(check_one, (lb, p, a.dump, a.work,
                                                                                     len(futures)))))
        t_build = time.time() - t0
        for fut in futures:
            label, probs, st = fut.result()
            problems += probs
            tot["files"] += 1
            for k in st:
                if k in tot:
                    tot[k] += st[k]
            print(f"{'FAIL' if probs else 'ok  '} {label:55s} {st['keys']:3d} keys {st['tensors']:3d} tensors "
                  f"({st['deq']} dequantised, {st['raw']} I2_S raw) {st['seconds']:.1f}s")
    kinds = {lb: k for lb, _p, k in files}
    problems += writer_known_answers(a.work)
    failures = controls(a, files)
    n_ours = sum(1 for k in kinds.values() if k == "ours")
    print(f"\nSUMMARY: {tot['files']} files ({n_ours} written by us, {tot['files'] - n_ours} foreign), "
          f"{tot['keys']} keys ({tot['contents']} also via contents()), {tot['tensors']} tensors "
          f"({tot['bytes']} bytes; {tot['deq']} dequantised by both sides; {tot['raw']} I2_S read raw), "
          f"{len(problems)} disagreements; producing files {t_build:.1f}s, total {time.time() - t0:.1f}s")
    for p in problems:
        print("DISAGREE", p)
    for f in failures:
        print("FAIL", f)
    if not a.keep:
        shutil.rmtree(a.work, ignore_errors=True)
    return 1 if problems or failures else 0


if __name__ == "__main__":
    sys.exit(main())
