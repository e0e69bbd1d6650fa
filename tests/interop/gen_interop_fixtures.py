#!/usr/bin/env python3
"""GGUF files written by other engines' own converters, for tests/interop.

Run by hand (needs torch, transformers >= 5, safetensors, sentencepiece,
numpy; CPU only), from the repository root:

  python tests/interop/gen_interop_fixtures.py --llama-cpp LLAMA_CPP_SRC \
      [--bitnet-cpp BITNET_REPO]

LLAMA_CPP_SRC is a llama.cpp source tree (vendor/llama.cpp of the
llama-cpp-python sdist on PyPI); its convert_hf_to_gguf.py runs unmodified
with its own gguf-py. BITNET_REPO is a checkout of microsoft/BitNet; its
utils/convert-hf-to-gguf-bitnet.py runs unmodified except that the gguf
package it imports (its llama.cpp fork's gguf-py) is stood in for by PyPI's
gguf plus the names the fork adds (see SHIM).

Output, tests/interop/fixtures/:
  bitnet_1bitllm/      an HF checkpoint in the layout of 1bitLLM's
                       bitnet_b1_58 models (BitnetForCausalLM, model_type
                       "llama", sub-norms named inner_attn_ln / ffn_layernorm,
                       a SentencePiece tokenizer.model), which is what
                       llama.cpp's converter maps to its `bitnet` arch. Its
                       weights are tests/xval/fixtures/bitnet_silu's, renamed,
                       so bitnet_silu's transformers logits are its reference.
  llamacpp-bitnet-{tq2_0,tq1_0}.gguf   llama.cpp's converter on bitnet_1bitllm.
  llama_f32/           a stock LlamaForCausalLM (random, bf16-representable
                       weights, RoPE theta 500000, untied head) with its
                       logits from stock transformers modules in float32
                       (reference.txt / reference.bin, the xval format).
  llamacpp-llama-bf16.gguf             llama.cpp's converter on llama_f32
                       (bf16 out: the weights exactly).
  bitnetcpp-b158-i2_s.gguf             bitnet.cpp's converter on
                       tests/xval/fixtures/b158_relu2 (arch bitnet-b1.58, I2_S).
Everything is seeded.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import types

import numpy as np
import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "interop", "fixtures")
XVAL = os.path.join(ROOT, "tests", "xval", "fixtures")


def spm_tokenizer(folder, vocab_size=512):
    """A real SentencePiece BPE model (byte fallback) trained on the
    project's KJV validation text, plus the tokenizer.json / config that
    transformers writes for it. (transformers 5.25 writes a tokenizer.json
    whose vocab holds only the 3 special pieces; our importer, like
    llama.cpp's converter, takes the pieces from tokenizer.model.)"""
    import sentencepiece as spm
    from transformers import LlamaTokenizerFast

    spm.SentencePieceTrainer.train(
        input=os.path.join(ROOT, "tests", "trained", "valid.txt"), model_prefix=os.path.join(folder, "tokenizer"),
        model_type="bpe", vocab_size=vocab_size, byte_fallback=True, character_coverage=1.0,
        bos_id=1, eos_id=2, unk_id=0, pad_id=-1, minloglevel=2, num_threads=1)
    fast = LlamaTokenizerFast(vocab_file=os.path.join(folder, "tokenizer.model"), legacy=True)
    fast.save_pretrained(folder)


def run(cmd, env=None):
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, env=env)


def make_1bitllm(dst):
    """bitnet_silu's weights in 1bitLLM's layout and config keys."""
    from safetensors.torch import load_file, save_file

    src = os.path.join(XVAL, "bitnet_silu")
    os.makedirs(dst, exist_ok=True)
    w = load_file(os.path.join(src, "model.safetensors"))
    ren = {"self_attn.attn_sub_norm": "self_attn.inner_attn_ln", "mlp.ffn_sub_norm": "mlp.ffn_layernorm"}
    out = {}
    for k, v in w.items():
        for a, b in ren.items():
            k = k.replace(a, b)
        out[k] = v.contiguous()
    save_file(out, os.path.join(dst, "model.safetensors"), metadata={"format": "pt"})
    hf = json.load(open(os.path.join(src, "config.json")))
    cfg = {
        "architectures": ["BitnetForCausalLM"], "model_type": "llama", "hidden_act": "silu",
        "hidden_size": hf["hidden_size"], "intermediate_size": hf["intermediate_size"],
        "num_attention_heads": hf["num_attention_heads"], "num_key_value_heads": hf["num_key_value_heads"],
        "num_hidden_layers": hf["num_hidden_layers"], "max_position_embeddings": hf["max_position_embeddings"],
        "rms_norm_eps": hf["rms_norm_eps"], "rope_theta": hf["rope_parameters"]["rope_theta"],
        "vocab_size": hf["vocab_size"], "tie_word_embeddings": True, "bos_token_id": 1, "eos_token_id": 2,
        "torch_dtype": "bfloat16",
    }
    json.dump(cfg, open(os.path.join(dst, "config.json"), "w"), indent=2)
    spm_tokenizer(dst, hf["vocab_size"])


def make_llama(dst):
    """A stock LlamaForCausalLM and its logits from stock transformers
    modules in float32, loaded back from the saved checkpoint as users load it."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(11)
    os.makedirs(dst, exist_ok=True)
    cfg = LlamaConfig(vocab_size=512, hidden_size=256, intermediate_size=512, num_hidden_layers=2,
                      num_attention_heads=8, num_key_value_heads=2, max_position_embeddings=256,
                      rms_norm_eps=1e-5, rope_theta=500000.0, tie_word_embeddings=False,
                      bos_token_id=1, eos_token_id=2, hidden_act="silu")
    m = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():
        for n, p in m.named_parameters():
            if p.dim() == 2:  # large enough that attention is not a flat average, so RoPE shows
                p.copy_(torch.randn_like(p) * (0.08 if "proj" in n else 0.5))
            else:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            p.copy_(p.to(torch.bfloat16).to(torch.float32))  # bf16-representable: exact in every file
    m.to(torch.bfloat16).save_pretrained(dst, safe_serialization=True)
    spm_tokenizer(dst, 512)
    # loaded back as users load it: .to(bfloat16) above also rounded the
    # RoPE inv_freq buffer of the in-memory model
    md = LlamaForCausalLM.from_pretrained(dst, dtype=torch.float32).eval()
    g = torch.Generator().manual_seed(5)
    seqs = [("random", torch.randint(3, 512, (48,), generator=g).tolist()),
            ("text", [1] + torch.randint(3, 512, (23,), generator=g).tolist()),
            ("long", torch.randint(3, 512, (96,), generator=g).tolist())]
    lines = ["case llama_f32", "n_vocab 512"]
    blobs = []
    with torch.no_grad():
        for label, ids in seqs:
            lg = md(torch.tensor([ids])).logits[0].to(torch.float32).numpy()
            lines.append(f"seq {label} {len(ids)} " + " ".join(map(str, ids)))
            blobs.append(lg.astype("<f4").tobytes())
        # greedy continuation of a short prompt, as the xval fixtures have
        prompt = seqs[1][1][:16]
        ids = list(prompt)
        gaps = []
        for _ in range(32):
            lg = md(torch.tensor([ids])).logits[0, -1]
            top = torch.topk(lg, 2).values
            gaps.append(float(top[0] - top[1]))
            ids.append(int(lg.argmax()))
    lines.insert(2, f"gap {min(gaps):.6f}")
    lines.append(f"greedy {len(prompt)} 32 " + " ".join(map(str, ids)))
    open(os.path.join(dst, "reference.txt"), "w").write("\n".join(lines) + "\n")
    with open(os.path.join(dst, "reference.bin"), "wb") as f:
        for b in blobs:
            f.write(b)
    print(f"llama_f32: smallest greedy top-2 gap {min(gaps):.4f}")


def llama_cpp_convert(src, hf_dir, outtype, out):
    env = dict(os.environ, PYTHONPATH=os.path.join(src, "gguf-py"))
    run([sys.executable, os.path.join(src, "convert_hf_to_gguf.py"), hf_dir, "--outtype", outtype,
         "--outfile", out], env=env)


SHIM = r'''
# Stand-in for the gguf-py of bitnet.cpp's llama.cpp fork: PyPI's gguf plus
# the names the fork adds (arch bitnet-b1.58 with the bitnet tensor list,
# types I2_S = 36, TL1 = 38, TL2 = 39; only I2_S is written here; the 2B-4T
# sub-norm tensor names). Made by gen_interop_fixtures.py; nothing else changes.
import enum, gguf, gguf.constants as C
names = {m.name: int(m.value) for m in C.MODEL_ARCH}
names["BITNET_B158"] = max(names.values()) + 1
A = enum.IntEnum("MODEL_ARCH", names)
C.MODEL_ARCH_NAMES = {A[k.name]: v for k, v in C.MODEL_ARCH_NAMES.items()}
C.MODEL_ARCH_NAMES[A.BITNET_B158] = "bitnet-b1.58"
C.MODEL_TENSORS = {A[k.name]: v for k, v in C.MODEL_TENSORS.items()}
C.MODEL_TENSORS[A.BITNET_B158] = C.MODEL_TENSORS[A.BITNET]
qt = {m.name: int(m.value) for m in C.GGMLQuantizationType}
qt.update(I2_S=36, TL1=38, TL2=39)
Q = enum.IntEnum("GGMLQuantizationType", qt)
C.GGML_QUANT_SIZES = {Q(int(k)): v for k, v in C.GGML_QUANT_SIZES.items()}
C.GGML_QUANT_SIZES[Q.I2_S] = (1, 1)
for mod in (gguf, C):
    mod.MODEL_ARCH, mod.GGMLQuantizationType = A, Q
    mod.MODEL_ARCH_NAMES, mod.MODEL_TENSORS, mod.GGML_QUANT_SIZES = C.MODEL_ARCH_NAMES, C.MODEL_TENSORS, C.GGML_QUANT_SIZES
import gguf.tensor_mapping as TM, gguf.gguf_writer as GW, gguf.quants as QM
QM.GGML_QUANT_SIZES = C.GGML_QUANT_SIZES
# the fork maps the sub-norm names of microsoft/bitnet-b1.58-2B-4T too
TM.TensorNameMap.block_mappings_cfg[C.MODEL_TENSOR.ATTN_SUB_NORM] += ("model.layers.{bid}.self_attn.attn_sub_norm",)
TM.TensorNameMap.block_mappings_cfg[C.MODEL_TENSOR.FFN_SUB_NORM] += ("model.layers.{bid}.mlp.ffn_sub_norm",)
TM.MODEL_ARCH = GW.GGMLQuantizationType = Q
TM.MODEL_TENSORS = C.MODEL_TENSORS
GW.GGML_QUANT_SIZES = C.GGML_QUANT_SIZES
'''


def bitnet_cpp_convert(repo, out, tmp):
    hf = os.path.join(tmp, "b158")
    shutil.copytree(os.path.join(XVAL, "b158_relu2"), hf)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        os.remove(os.path.join(hf, f))
    # transformers >= 5 nests rope_theta in rope_parameters; the real 2B-4T
    # config.json (and what bitnet.cpp's converter reads) has it at the top
    cfg_path = os.path.join(hf, "config.json")
    cfg = json.load(open(cfg_path))
    cfg["rope_theta"] = cfg["rope_parameters"]["rope_theta"]
    json.dump(cfg, open(cfg_path, "w"), indent=2)
    spm_tokenizer(hf, 512)
    shim = os.path.join(tmp, "shim")
    os.makedirs(shim)
    open(os.path.join(shim, "sitecustomize.py"), "w").write(SHIM)
    env = dict(os.environ, PYTHONPATH=shim + os.pathsep + os.path.join(repo, "utils"))
    run([sys.executable, os.path.join(repo, "utils", "convert-hf-to-gguf-bitnet.py"), hf, "--outtype", "i2_s",
         "--outfile", out], env=env)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llama-cpp", required=True)
    ap.add_argument("--bitnet-cpp")
    a = ap.parse_args()
    torch.set_num_threads(2)
    os.makedirs(OUT, exist_ok=True)
    one = os.path.join(OUT, "bitnet_1bitllm")
    make_1bitllm(one)
    for t in ("tq2_0", "tq1_0"):
        llama_cpp_convert(a.llama_cpp, one, t, os.path.join(OUT, f"llamacpp-bitnet-{t}.gguf"))
    lf = os.path.join(OUT, "llama_f32")
    make_llama(lf)
    llama_cpp_convert(a.llama_cpp, lf, "bf16", os.path.join(OUT, "llamacpp-llama-bf16.gguf"))
    if a.bitnet_cpp:
        with tempfile.TemporaryDirectory() as tmp:
            bitnet_cpp_convert(a.bitnet_cpp, os.path.join(OUT, "bitnetcpp-b158-i2_s.gguf"), tmp)


if __name__ == "__main__":
    sys.exit(main())
