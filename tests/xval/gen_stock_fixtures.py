#!/usr/bin/env python3
"""Reference logits from stock Hugging Face transformers, nothing replaced.

gen_fixtures.py swaps project-written float64 RMSNorm, quantisers, softmax
and RoPE tables into transformers to get a reference free of float32
rounding flips; that reference is therefore not fully independent of our
reading of the model. This script makes a second reference for the same
checkpoints with transformers exactly as users run it: BitNetForCausalLM
loaded with from_pretrained in float32, its own BitNet quantisation
(integrations/bitnet.py), eager attention, no patches.

Run by hand from the repository root (needs torch, transformers >= 5,
safetensors): python tests/xval/gen_stock_fixtures.py
Output: tests/xval/fixtures/<case>_stock/ (the checkpoint files copied, and
reference.txt / reference.bin in the xval format). Sequences: two
teacher-forced runs of random tokens (no collapse possible) and the greedy
continuations of two prompts fed back as sequences, so every position of a
generated text is compared, plus one greedy line; the script reports how
many distinct tokens each continuation has.
"""
import os
import shutil
import sys

os.environ.setdefault("TORCH_COMPILE_DISABLE", "1")

import torch
from transformers import AutoModelForCausalLM

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIX = os.path.join(ROOT, "tests", "xval", "fixtures")
CASES = ["b158_relu2", "bitnet_silu"]
COPY = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


def greedy(m, prompt, n):
    ids = list(prompt)
    gaps = []
    with torch.no_grad():
        for _ in range(n):
            lg = m(torch.tensor([ids])).logits[0, -1]
            top = torch.topk(lg, 2).values
            gaps.append(float(top[0] - top[1]))
            ids.append(int(lg.argmax()))
    return ids, min(gaps)


def pick_prompts(m, n_vocab, g, want=2):
    """Prompts whose greedy continuation keeps many distinct tokens."""
    best = []
    for _ in range(12):
        prompt = [0] + torch.randint(2, n_vocab, (7,), generator=g).tolist()
        ids, gap = greedy(m, prompt, 40)
        best.append((len(set(ids[len(prompt):])), gap, prompt, ids))
    best.sort(key=lambda b: (-b[0], -b[1]))
    return best[:want]


def build(case):
    src = os.path.join(FIX, case)
    dst = os.path.join(FIX, case + "_stock")
    os.makedirs(dst, exist_ok=True)
    for f in COPY:
        shutil.copy(os.path.join(src, f), os.path.join(dst, f))
    m = AutoModelForCausalLM.from_pretrained(dst, dtype=torch.float32, attn_implementation="eager").eval()
    qcls = {type(mod).__name__ for mod in m.modules()}
    assert any("BitLinear" in c for c in qcls), f"transformers' BitNet layers not in place: {sorted(qcls)}"
    V = m.config.vocab_size
    g = torch.Generator().manual_seed(17)
    runs = pick_prompts(m, V, g)
    seqs = [("rand1", torch.randint(2, V, (64,), generator=g).tolist()),
            ("rand2", [0] + torch.randint(2, V, (95,), generator=g).tolist())]
    for i, (distinct, gap, prompt, ids) in enumerate(runs):
        seqs.append((f"gen{i + 1}", ids))
        print(f"{case}_stock: greedy run {i + 1}: {distinct} distinct tokens in 40, min top-2 gap {gap:.4f}")
    prompt, cont = runs[0][2], runs[0][3]
    cont32, gap32 = cont[:len(prompt) + 32], None
    _, gap32 = greedy(m, prompt, 32)
    lines = [f"case {case}_stock", f"n_vocab {V}", f"gap {gap32:.6f}"]
    blobs = []
    with torch.no_grad():
        for label, ids in seqs:
            lg = m(torch.tensor([ids])).logits[0].to(torch.float32).numpy()
            lines.append(f"seq {label} {len(ids)} " + " ".join(map(str, ids)))
            blobs.append(lg.astype("<f4").tobytes())
    lines.append(f"greedy {len(prompt)} 32 " + " ".join(map(str, cont32)))
    open(os.path.join(dst, "reference.txt"), "w").write("\n".join(lines) + "\n")
    with open(os.path.join(dst, "reference.bin"), "wb") as f:
        for b in blobs:
            f.write(b)


def main():
    torch.set_num_threads(2)
    torch.manual_seed(0)
    for case in CASES:
        build(case)


if __name__ == "__main__":
    sys.exit(main())
