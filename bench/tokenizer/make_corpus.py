#!/usr/bin/env python3
"""Benchmark text for the tokenizer: English prose (the license texts in
/usr/share/common-licenses) and Python source (this interpreter's standard
library, files in sorted order) up to --mb megabytes, cut into chunks of
about 2 KB at line boundaries (both tokenizers encode the same chunks).

Output (little-endian): b"BNTC1\\n", u32 count, then per chunk u32 length +
bytes."""
import argparse
import glob
import os
import struct
import sysconfig


def sources(limit):
    files = sorted(glob.glob("/usr/share/common-licenses/*"))
    files += sorted(glob.glob(os.path.join(sysconfig.get_paths()["stdlib"], "**", "*.py"),
                           recursive=True))
    total = 0
    for path in files:
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            data = f.read()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        yield data
        total += len(data)
        if total >= limit:
            return


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--mb", type=float, default=4.0)
    a = ap.parse_args()
    chunks = []
    for doc in sources(int(a.mb * 1e6)):
        cur = b""
        for line in doc.splitlines(keepends=True):
            cur += line
            if len(cur) >= 2048:
                chunks.append(cur)
                cur = b""
        if cur:
            chunks.append(cur)
    with open(a.out, "wb") as f:
        f.write(b"BNTC1\n" + struct.pack("<I", len(chunks)))
        for c in chunks:
            f.write(struct.pack("<I", len(c)) + c)
    print("corpus: %d chunks, %.2f MB" % (len(chunks), sum(map(len, chunks)) / 1e6))


if __name__ == "__main__":
    main()
