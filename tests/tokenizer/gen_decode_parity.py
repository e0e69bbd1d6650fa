#!/usr/bin/env python3
"""Seeded id sequences + Hugging Face tokenizers' decode of them, for the C
decode-parity test (test-tok-decode-parity).

The reference is HF `tokenizers` decode(ids, skip_special_tokens=True): what
a Hugging Face pipeline prints for generated ids. Half the sequences start
with BOS, the shape of a generation from BOS.

  --spm vocab.gguf     SentencePiece (Llama 2 / 1bitLLM) vocabulary. Its pieces
                       are read with the `gguf` package (llama.cpp's gguf-py, an
                       independent reader) and put into an HF Tokenizer with the
                       decoder that transformers' LlamaConverter gives Llama
                       tokenizers: Replace("▁"," "), ByteFallback, Fuse,
                       Strip(left=1). The C side decodes with
                       BN_DETOK_STRIP_PREFIX.
  --json tokenizer.json  A byte-level BPE tokenizer as HF ships it (Llama 3);
                       the C side imports the same file and decodes with no flags.

Output (little-endian): b"BNDP1\\n", u32 count, then per sequence:
u32 id count, i32 ids, u32 decoded length, UTF-8 bytes.
"""
import argparse
import random
import struct
import sys

try:
    from tokenizers import AddedToken, Tokenizer, decoders, models
except ImportError:
    print("FAIL: the Python package 'tokenizers' is not importable (bash scripts/install-deps.sh)")
    sys.exit(1)


def spm_tokenizer(path):
    try:
        import gguf
    except ImportError:
        print("FAIL: the Python package 'gguf' is not importable (bash scripts/install-deps.sh)")
        sys.exit(1)
    r = gguf.GGUFReader(path)

    def arr(key):
        f = r.fields[key]
        return [f.parts[i] for i in f.data]

    pieces = [bytes(p).decode("utf-8") for p in arr("tokenizer.ggml.tokens")]
    types = [int(t[0]) for t in arr("tokenizer.ggml.token_type")]
    unk = pieces[types.index(2)]
    tok = Tokenizer(models.BPE(vocab={p: i for i, p in enumerate(pieces)}, merges=[], unk_token=unk,
                               byte_fallback=True, fuse_unk=True))
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    # control and unknown pieces are special in HF's Llama tokenizers: skipped on decode
    tok.add_special_tokens([AddedToken(pieces[i], special=True, normalized=False)
                            for i, t in enumerate(types) if t in (2, 3)])
    bos = int(r.fields["tokenizer.ggml.bos_token_id"].parts[-1][0])
    return tok, types, bos


def json_tokenizer(path):
    tok = Tokenizer.from_file(path)
    n = tok.get_vocab_size(with_added_tokens=True)
    added = {t.content for t in tok.get_added_tokens_decoder().values()}
    types = [3 if tok.id_to_token(i) in added else 1 for i in range(n)]
    bos = tok.token_to_id("<|begin_of_text|>")
    if bos is None:
        bos = types.index(3)
    return tok, types, bos


def utf8_run(r, byte_ids):
    """Byte tokens spelling a valid multi-byte character (or, rarely, a broken one)."""
    cp = r.choice([r.randint(0x80, 0x7FF), r.randint(0x800, 0xD7FF), r.randint(0x10000, 0x10FFFF)])
    b = chr(cp).encode("utf-8", errors="surrogatepass")
    if r.random() < 0.1:
        b = b[:-1]  # truncated sequence
    return [byte_ids[x] for x in b]


def make_seq(r, types, bos, byte_ids, normal, special):
    seq = [bos] if r.random() < 0.5 else []
    for _ in range(r.randint(0, 24)):
        k = r.random()
        if k < 0.75:
            seq.append(r.choice(normal))
        elif k < 0.85 and byte_ids:
            seq.extend(utf8_run(r, byte_ids))
        elif k < 0.9:
            seq.append(r.choice(special))
        else:
            seq.append(r.randrange(len(types)))
    return seq


def main():
    ap = argparse.ArgumentParser()
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--spm")
    g.add_argument("--json")
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=99)
    a = ap.parse_args()
    tok, types, bos = spm_tokenizer(a.spm) if a.spm else json_tokenizer(a.json)
    byte_ids = {}
    if a.spm:
        for i, t in enumerate(types):
            if t == 6:
                byte_ids[int(tok.id_to_token(i)[3:5], 16)] = i
    normal = [i for i, t in enumerate(types) if t == 1]
    special = [i for i, t in enumerate(types) if t in (2, 3)]
    r = random.Random(a.seed)
    seqs = [make_seq(r, types, bos, byte_ids, normal, special) for _ in range(a.n)]
    dec = tok.decode_batch(seqs, skip_special_tokens=True)
    with open(a.out, "wb") as f:
        f.write(b"BNDP1\n" + struct.pack("<I", len(seqs)))
        for s, d in zip(seqs, dec):
            db = d.encode("utf-8")
            f.write(struct.pack("<I", len(s)) + struct.pack("<%di" % len(s), *s))
            f.write(struct.pack("<I", len(db)) + db)
    print("wrote %d sequences (%d from BOS, %d tokens) to %s"
          % (len(seqs), sum(1 for s in seqs if s[:1] == [bos]), sum(map(len, seqs)), a.out))


if __name__ == "__main__":
    main()
