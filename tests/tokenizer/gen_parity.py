#!/usr/bin/env python3
"""Seeded corpus + Hugging Face tokenizers ids, for the C parity test.

Each string is generated as raw bytes; some contain ill-formed UTF-8 on
purpose. HF gets bytes.decode("utf-8", errors="replace") (one U+FFFD per
maximal ill-formed subpart); the C side gets the raw bytes and must do the
same replacement itself. Ids come from encode(add_special_tokens=False),
which still matches added tokens in the text (the C side uses
BN_TOK_PARSE_SPECIAL), and HF's decode of those ids is stored too.

Output format (little-endian): b"BNTP1\\n", u32 count, then per string:
u32 byte length, bytes, u32 id count, i32 ids, u32 decoded length, bytes.
Exit code 1 when the tokenizers package is not importable.
"""
import argparse
import os
import random
import struct
import sys
import unicodedata

try:
    from tokenizers import Tokenizer
except ImportError:
    print("FAIL: the Python package 'tokenizers' is not importable (bash scripts/install-deps.sh)")
    sys.exit(1)

WORDS = ("the of and to in is that it for was on are with as I his they be at one have this from "
         "or had by hot word but what some we can out other were all there when up use your how "
         "said an each she which do their time if will way about many then them write would like "
         "so these her long make thing see him two has look more day could go come did number "
         "sound no most people my over know water than call first who may down side been now find "
         "Hello World HELLO LLaMA GPT BitNet tokenizer naïve café résumé Äpfel über straße ÉCOLE "
         "hello's it'S WE'LL I'M you'RE they'VE she'D ſtop Kelvin").split()
SCRIPTS = [
    (0x0041, 0x007A), (0x00C0, 0x024F), (0x0370, 0x03FF), (0x0400, 0x04FF), (0x0530, 0x058F),
    (0x0590, 0x05FF), (0x0600, 0x06FF), (0x0900, 0x097F), (0x0980, 0x09FF), (0x0E00, 0x0E7F),
    (0x10A0, 0x10FF), (0x1100, 0x11FF), (0x3040, 0x30FF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3),
    (0x0300, 0x036F), (0x2000, 0x206F), (0x2070, 0x209F), (0x20A0, 0x20CF), (0x2100, 0x214F),
    (0x2150, 0x218F), (0x2190, 0x21FF), (0x2200, 0x22FF), (0x2460, 0x24FF), (0x2500, 0x257F),
    (0xFF00, 0xFFEF), (0x1D400, 0x1D7FF), (0x1F300, 0x1F5FF), (0x1F600, 0x1F64F),
    (0x1F900, 0x1F9FF), (0x0660, 0x0669), (0x06F0, 0x06F9), (0x0966, 0x096F), (0xFF10, 0xFF19),
]
SPACES = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", "\r", " \n", "\t\n", "\u00a0", "\u2003",
          "\u3000", "\u0085", "\u2028", "\u2029", "\u200b", "\u000b", "\u000c", " " * 17,
          "\n" * 5, "\t\t\t", " \t \n "]
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🇺🇸", "🏳️‍🌈", "❤️", "🦙", "🤖", "1️⃣", "🧑🏿‍💻"]
CODE = ["int main(void) {\n    return 0;\n}", "for (i = 0; i < n; ++i) x[i] += y[i];",
        "def f(x):\n\treturn x ** 2  # square", "if (a && b || !c) { /* c */ }",
        "print(f\"{x!r:>10}\")", "SELECT * FROM t WHERE id = 42;", "<div class=\"a\">&amp;</div>",
        "$ ls -la | grep '^d' > out.txt 2>&1", "x = [1, 2, 3]; y = {'a': 1}",
        "std::vector<int> v{1,2,3};", "```python\nimport os\n```", "a->b.c[0] = ~d ^ e;"]
SPECIAL = ["<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>",
           "<|reserved_special_token_5|>", "<|eot_id", "<|", "|>", "<|end_of_text|>"]
INVALID = [b"\x80", b"\xbf", b"\xc0\xaf", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xf0\x9f",
           b"\xf0\x9f\x98", b"\xf4\x90\x80\x80", b"\xff", b"\xfe\xfe", b"\xe0\x80\x80",
           b"\xc3\x28", b"\xf8\x88\x80\x80\x80"]


def assigned(cp):
    """Code points assigned in this Python's Unicode (unassigned ones and
    surrogates excluded): letters and digits added by a later Unicode
    version are classified differently by PCRE2 (its own Unicode version)
    and by HF's Oniguruma (a newer one), so they cannot be compared."""
    return unicodedata.category(chr(cp)) not in ("Cn", "Cs")


def rand_char(r):
    while True:
        lo, hi = r.choice(SCRIPTS)
        cp = r.randint(lo, hi)
        if assigned(cp):
            return chr(cp)


def rand_number(r):
    n = r.choice([1, 2, 3, 4, 5, 7, 10, 16])
    s = "".join(r.choice("0123456789") for _ in range(n))
    return s + (r.choice([".", ",", "e-", "%", "'s"]) + "7" if r.random() < 0.2 else "")


def piece(r):
    k = r.random()
    if k < 0.30:
        w = r.choice(WORDS)
        return (" " if r.random() < 0.7 else "") + w
    if k < 0.42:
        return r.choice(SPACES)
    if k < 0.52:
        return rand_number(r)
    if k < 0.64:
        return "".join(rand_char(r) for _ in range(r.randint(1, 8)))
    if k < 0.70:
        return r.choice(EMOJI)
    if k < 0.77:
        return r.choice(CODE)
    if k < 0.85:
        return "".join(r.choice("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") for _ in range(r.randint(1, 4)))
    if k < 0.88:
        return r.choice(SPECIAL)
    if k < 0.94:  # any code point, astral planes included (no surrogates)
        cp = r.randint(0x20, 0x2FFFF)
        return chr(cp) if assigned(cp) else "?"
    return chr(r.randint(0x80, 0x24F)) + chr(r.randint(0x300, 0x36F))


def make_string(r):
    shape = r.random()
    if shape < 0.05:
        return b""
    if shape < 0.10:  # long runs (whitespace, digits, one letter)
        unit = r.choice([" ", "\n", "\t", "0", "a", "ab", "!", "—", " \n"])
        return (unit * r.randint(2, 300)).encode()
    n = r.randint(1, 40)
    parts = [piece(r).encode("utf-8") for _ in range(n)]
    if r.random() < 0.15:  # ill-formed UTF-8 somewhere
        for _ in range(r.randint(1, 3)):
            parts.insert(r.randint(0, len(parts)), r.choice(INVALID))
    return b"".join(parts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=12000)
    ap.add_argument("--seed", type=int, default=1234)
    a = ap.parse_args()
    r = random.Random(a.seed)
    raw = [make_string(r) for _ in range(a.n)]
    text = [b.decode("utf-8", errors="replace") for b in raw]
    tok = Tokenizer.from_file(a.tokenizer)
    enc = tok.encode_batch(text, add_special_tokens=False)
    ids = [e.ids for e in enc]
    dec = tok.decode_batch(ids, skip_special_tokens=False)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "wb") as f:
        f.write(b"BNTP1\n")
        f.write(struct.pack("<I", len(raw)))
        for b, i, d in zip(raw, ids, dec):
            db = d.encode("utf-8")
            f.write(struct.pack("<I", len(b)) + b)
            f.write(struct.pack("<I", len(i)) + struct.pack("<%di" % len(i), *i))
            f.write(struct.pack("<I", len(db)) + db)
    n_bad = sum(1 for b in raw if b.decode("utf-8", errors="replace").encode() != b)
    print("Unicode %s (Python) for the random code points" % unicodedata.unidata_version)
    print("wrote %d strings (%d with ill-formed UTF-8, %d tokens) to %s"
          % (len(raw), n_bad, sum(map(len, ids)), a.out))


if __name__ == "__main__":
    main()
