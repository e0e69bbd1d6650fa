#!/usr/bin/env python3
"""llama.cpp's logits on a GGUF written by `bitnet convert`, against the
Hugging Face reference logits of a fixture folder (tests/xval/fixtures/<case>
or one in the same format: reference.txt + reference.bin).

By hand only: llama.cpp is not built in CI. Needs python3 with numpy (and the
`gguf` package for --negative-control). Results and versions: docs/INTEROP.md.

1. Build llama.cpp's library (CPU only) and the small logits tool whose source
   this script carries:

     cmake -S LLAMA_SRC -B LLAMA_BUILD -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
           -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF \
           -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DBUILD_SHARED_LIBS=OFF
     cmake --build LLAMA_BUILD -j2 --target llama
     python3 tests/interop/llamacpp_logits.py --write-tool DIR   # DIR/llama_logits.cpp
     g++ -O2 -std=c++17 DIR/llama_logits.cpp -o DIR/llama-logits \
         -I LLAMA_SRC/include -I LLAMA_SRC/ggml/include \
         LLAMA_BUILD/src/libllama.a LLAMA_BUILD/ggml/src/libggml.a \
         LLAMA_BUILD/ggml/src/libggml-cpu.a LLAMA_BUILD/ggml/src/libggml-base.a \
         -fopenmp -lpthread -ldl

   The tool loads the GGUF on the CPU, feeds each token-id sequence as ONE
   batch (positions 0..n-1, logits for every position; token ids go in as
   they are: no tokenizer, no BOS) and writes float32 logits.

2. Convert a fixture and compare:

     build/bin/bitnet convert tests/xval/fixtures/bitnet_silu -o /tmp/x.gguf --type tq2_0
     python3 tests/interop/llamacpp_logits.py --tool DIR/llama-logits \
         /tmp/x.gguf tests/xval/fixtures/bitnet_silu

   Prints, per reference sequence: cosine at the last position, the minimum
   cosine over all positions, max |logit difference| and how many positions
   have the same argmax as the reference. By default llama.cpp runs with an
   F32 K/V cache and flash attention off (--kv f32 --fa off), so that no
   f16 rounding of K/V adds to the comparison; llama.cpp's own defaults are
   --kv f16 --fa auto (auto = on for the CPU). Exit status 0 when every
   position of every sequence has cosine >= --min-cos (default 0.999), 1 when
   not, 2 when llama.cpp fails (e.g. refuses the file; its last log lines are
   shown).

3. Negative control (shows the check can fail): a copy of a GGUF whose Q/K
   rows are reordered, in every head, from HF "halves" order (what llama.cpp's
   `bitnet` arch with NEOX RoPE expects) to interleaved pairs (the order the
   `llama` arch's convert_hf_to_gguf permute produces):

     python3 tests/interop/llamacpp_logits.py --negative-control /tmp/x.gguf /tmp/x-perm.gguf
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

TOOL_SOURCE = r"""
// llama-logits MODEL.gguf IDS.txt OUT.bin [THREADS [KV [FA]]]
// KV: K/V cache type, f32 (default here) or f16 (llama.cpp's default).
// FA: flash attention off (default here), on or auto (llama.cpp's default;
// picks on for the CPU, whose flash-attention kernel rounds K/V to f16).
// IDS.txt: one token-id sequence per line (ids separated by spaces).
// OUT.bin: for every sequence, n_tokens x n_vocab float32 (little endian),
// the logits of every position, the sequence fed as one batch from position 0.
#include "llama.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char ** argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL.gguf IDS.txt OUT.bin [THREADS [f32|f16 [off|on|auto]]]\n", argv[0]);
        return 2;
    }
    const int threads = argc > 4 ? atoi(argv[4]) : 2;
    const std::string kv = argc > 5 ? argv[5] : "f32";
    if (kv != "f32" && kv != "f16") { fprintf(stderr, "llama-logits: KV must be f32 or f16\n"); return 2; }
    const std::string fa = argc > 6 ? argv[6] : "off";
    if (fa != "off" && fa != "on" && fa != "auto") { fprintf(stderr, "llama-logits: FA must be off, on or auto\n"); return 2; }
    std::vector<std::vector<llama_token>> seqs;
    {
        std::ifstream f(argv[2]);
        std::string line;
        while (std::getline(f, line)) {
            std::istringstream ss(line);
            std::vector<llama_token> s;
            long v;
            while (ss >> v) s.push_back((llama_token) v);
            if (!s.empty()) seqs.push_back(s);
        }
    }
    if (seqs.empty()) { fprintf(stderr, "llama-logits: no sequences in %s\n", argv[2]); return 2; }
    size_t maxn = 0;
    for (auto & s : seqs) maxn = std::max(maxn, s.size());

    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    llama_model * model = llama_model_load_from_file(argv[1], mp);
    if (!model) { fprintf(stderr, "llama-logits: failed to load %s\n", argv[1]); return 1; }
    const llama_vocab * vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);

    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t) maxn;
    cp.n_batch = (uint32_t) maxn;
    cp.n_ubatch = (uint32_t) maxn;
    cp.n_seq_max = 1;
    cp.n_threads = threads;
    cp.n_threads_batch = threads;
    cp.type_k = cp.type_v = kv == "f32" ? GGML_TYPE_F32 : GGML_TYPE_F16;
    cp.flash_attn_type = fa == "off" ? LLAMA_FLASH_ATTN_TYPE_DISABLED
                       : fa == "on"  ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_AUTO;
    llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "llama-logits: failed to create a context\n"); return 1; }

    FILE * out = fopen(argv[3], "wb");
    if (!out) { fprintf(stderr, "llama-logits: cannot write %s\n", argv[3]); return 1; }
    for (auto & s : seqs) {
        llama_memory_clear(llama_get_memory(ctx), true);
        llama_batch b = llama_batch_init((int32_t) s.size(), 0, 1);
        for (size_t i = 0; i < s.size(); i++) {
            b.token[i] = s[i];
            b.pos[i] = (llama_pos) i;
            b.n_seq_id[i] = 1;
            b.seq_id[i][0] = 0;
            b.logits[i] = 1;
        }
        b.n_tokens = (int32_t) s.size();
        if (llama_decode(ctx, b) != 0) { fprintf(stderr, "llama-logits: llama_decode failed\n"); return 1; }
        for (size_t i = 0; i < s.size(); i++) {
            const float * lg = llama_get_logits_ith(ctx, (int32_t) i);
            if (!lg || fwrite(lg, sizeof(float), n_vocab, out) != (size_t) n_vocab) {
                fprintf(stderr, "llama-logits: no logits for position %zu\n", i);
                return 1;
            }
        }
        llama_batch_free(b);
    }
    fclose(out);
    printf("n_vocab %d n_seq %zu\n", n_vocab, seqs.size());
    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
"""


def load_fixture(folder):
    """reference.txt / reference.bin as tests/xval/xval_fixture.c reads them:
    returns n_vocab and [(label, ids, logits[n, n_vocab])]."""
    n_vocab, seqs = None, []
    with open(os.path.join(folder, "reference.txt")) as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            if w[0] == "n_vocab":
                n_vocab = int(w[1])
            elif w[0] == "seq":
                n = int(w[2])
                ids = [int(x) for x in w[3:3 + n]]
                if len(ids) != n:
                    raise ValueError(f"{folder}: seq {w[1]}: {len(ids)} ids, expected {n}")
                seqs.append((w[1], ids))
    if not n_vocab or not seqs:
        raise ValueError(f"{folder}/reference.txt: no n_vocab or no seq lines")
    blob = np.fromfile(os.path.join(folder, "reference.bin"), dtype="<f4")
    total = sum(len(ids) for _, ids in seqs) * n_vocab
    if blob.size != total:
        raise ValueError(f"{folder}/reference.bin: {blob.size} floats, expected {total}")
    out, off = [], 0
    for label, ids in seqs:
        n = len(ids) * n_vocab
        out.append((label, ids, blob[off:off + n].reshape(len(ids), n_vocab)))
        off += n
    return n_vocab, out


def run_tool(tool, gguf_path, seqs, threads, kv, fa):
    with tempfile.TemporaryDirectory() as tmp:
        ids_path = os.path.join(tmp, "ids.txt")
        out_path = os.path.join(tmp, "logits.bin")
        with open(ids_path, "w") as f:
            for _, ids, _ in seqs:
                f.write(" ".join(str(i) for i in ids) + "\n")
        p = subprocess.run([tool, gguf_path, ids_path, out_path, str(threads), kv, fa],
                           capture_output=True, text=True)
        if p.returncode != 0:
            log = (p.stderr + p.stdout).strip().splitlines()
            sys.stderr.write("llama.cpp failed (exit %d); last log lines:\n" % p.returncode)
            for line in log[-15:]:
                sys.stderr.write("  " + line + "\n")
            return None, None
        n_vocab = int(p.stdout.split()[1])
        return n_vocab, np.fromfile(out_path, dtype="<f4")


def compare(gguf_path, fixture, tool, threads, kv, fa, min_cos):
    n_vocab, seqs = load_fixture(fixture)
    got_vocab, blob = run_tool(tool, gguf_path, seqs, threads, kv, fa)
    if blob is None:
        return 2
    if got_vocab != n_vocab:
        print(f"vocab size: llama.cpp {got_vocab}, reference {n_vocab}")
        return 1
    ok, off = True, 0
    print(f"{'seq':<8} {'n':>3} {'cos_last':>10} {'cos_min':>10} {'max|dlogit|':>12} {'argmax':>7}")
    for label, ids, ref in seqs:
        n = len(ids)
        got = blob[off:off + n * n_vocab].reshape(n, n_vocab).astype(np.float64)
        off += n * n_vocab
        r = ref.astype(np.float64)
        cos = (got * r).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(r, axis=1))
        agree = int((got.argmax(1) == r.argmax(1)).sum())
        dmax = float(np.abs(got - r).max())
        print(f"{label:<8} {n:>3} {cos[-1]:>10.7f} {cos.min():>10.7f} {dmax:>12.4f} {agree:>3}/{n:<3}")
        ok = ok and bool(cos.min() >= min_cos)
    print("PASS" if ok else f"FAIL: some position has cosine < {min_cos}")
    return 0 if ok else 1


def negative_control(src, dst):
    """Copy src to dst with the Q/K rows of every head reordered from halves
    (row j*hd/2 + i) to interleaved pairs (row 2*i + j)."""
    import gguf

    reader = gguf.GGUFReader(src, "r")
    arch = reader.get_field("general.architecture").contents()
    n_head = int(reader.get_field(f"{arch}.attention.head_count").contents())
    kv = reader.get_field(f"{arch}.attention.head_count_kv")
    n_head_kv = int(kv.contents()) if kv else n_head
    writer = gguf.GGUFWriter(dst, arch=arch, endianess=reader.endianess)
    align = reader.get_field("general.alignment")
    if align:
        writer.data_alignment = int(align.contents())
    for field in reader.fields.values():
        if field.name == "general.architecture" or field.name.startswith("GGUF."):
            continue
        vt = field.types[0]
        sub = field.types[-1] if vt == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), vt, sub_type=sub)
    datas, permuted = [], 0
    for t in reader.tensors:
        data = t.data
        heads = {"attn_q.weight": n_head, "attn_k.weight": n_head_kv}.get(t.name.split(".", 2)[-1])
        if heads is not None:
            rows = data.shape[0]  # out features; each row holds whole blocks
            hd = rows // heads
            data = np.ascontiguousarray(
                data.reshape(heads, 2, hd // 2, *data.shape[1:]).swapaxes(1, 2).reshape(data.shape))
            permuted += 1
        datas.append(data)
        writer.add_tensor_info(t.name, data.shape, data.dtype, data.nbytes, t.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for data in datas:
        writer.write_tensor_data(data)
    writer.close()
    print(f"{dst}: Q/K rows permuted in {permuted} tensors (n_head {n_head}, n_head_kv {n_head_kv})")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("gguf", nargs="?", help="GGUF written by bitnet convert")
    ap.add_argument("fixture", nargs="?", help="fixture folder (reference.txt, reference.bin)")
    ap.add_argument("--tool", help="path of the built llama-logits tool (see --write-tool)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--kv", choices=("f32", "f16"), default="f32",
                    help="llama.cpp K/V cache type (default f32; f16 is llama.cpp's default)")
    ap.add_argument("--fa", choices=("off", "on", "auto"), default="off",
                    help="flash attention (default off; llama.cpp's default auto turns it on for the "
                         "CPU, whose kernel rounds K/V to f16 whatever --kv says)")
    ap.add_argument("--min-cos", type=float, default=0.999,
                    help="every position must reach this cosine (default 0.999)")
    ap.add_argument("--write-tool", metavar="DIR", help="write DIR/llama_logits.cpp and exit")
    ap.add_argument("--negative-control", nargs=2, metavar=("IN", "OUT"),
                    help="write OUT, a copy of IN with Q/K rows in interleaved-pair order, and exit")
    a = ap.parse_args()
    if a.write_tool:
        os.makedirs(a.write_tool, exist_ok=True)
        path = os.path.join(a.write_tool, "llama_logits.cpp")
        with open(path, "w") as f:
            f.write(TOOL_SOURCE.lstrip())
        print(path)
        return 0
    if a.negative_control:
        return negative_control(*a.negative_control)
    if not (a.gguf and a.fixture and a.tool):
        ap.error("need GGUF, FIXTURE and --tool (or --write-tool / --negative-control)")
    return compare(a.gguf, a.fixture, a.tool, a.threads, a.kv, a.fa, a.min_cos)


if __name__ == "__main__":
    sys.exit(main())
