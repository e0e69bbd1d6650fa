#!/usr/bin/env python3
"""HF tokenizers on the benchmark chunks, one thread: encode_batch with
RAYON_NUM_THREADS=1 (set before the import, as rayon reads it once).
Prints one line: "hf <tokens> tokens <seconds> s <tokens/s> tokens/s"
(best of --runs)."""
import os

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse  # noqa: E402
import struct  # noqa: E402
import time  # noqa: E402

from tokenizers import Tokenizer  # noqa: E402


def read_chunks(path):
    with open(path, "rb") as f:
        assert f.read(6) == b"BNTC1\n"
        (n,) = struct.unpack("<I", f.read(4))
        out = []
        for _ in range(n):
            (k,) = struct.unpack("<I", f.read(4))
            out.append(f.read(k).decode("utf-8"))
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tokenizer")
    ap.add_argument("chunks")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    chunks = read_chunks(a.chunks)
    tok = Tokenizer.from_file(a.tokenizer)
    best = None
    for _ in range(a.runs):
        t0 = time.perf_counter()
        enc = tok.encode_batch(chunks, add_special_tokens=False)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    n = sum(len(e.ids) for e in enc)
    print("hf %d tokens %.3f s %.0f tokens/s" % (n, best, n / best))


if __name__ == "__main__":
    main()
