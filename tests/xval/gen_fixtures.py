#!/usr/bin/env python3
"""Cross-validation fixtures: tiny random BitNet checkpoints and the logits
Hugging Face transformers computes for them.

Run by hand (not in CI; CI only runs the C test on the committed output):

    TORCH_COMPILE_DISABLE=1 /work/venv-ref/bin/python tests/xval/gen_fixtures.py

(from the repository root; needs torch, transformers >= 5, tokenizers,
safetensors, accelerate, numpy; CPU only). Output: tests/xval/fixtures/<case>/
holding a Hugging Face checkpoint folder (config.json, model.safetensors,
tokenizer.json, tokenizer_config.json) plus reference.txt (token sequences,
greedy continuations, tokenizer vectors) and reference.bin (float32
little-endian logits, every position of every sequence, in the order
reference.txt lists them). Everything is seeded: running it again gives the
same files.

The reference is transformers' own BitNetForCausalLM loaded with
from_pretrained, so its BitNet quantisation is the one that runs
(integrations/bitnet.py): the checkpoint's config.json carries a
quantization_config with quant_method "bitnet", and
  - "autobitlinear" + "online": bf16 masters, absmean ternary weights and
    per-token absmax int8 activations computed in every forward;
  - "bitlinear" (offline): packed uint8 [out/4, in] weights + weight_scale,
    weight = code / weight_scale, the same int8 activations.
The forward runs in float64 with eager attention (FLOAT64 below); logits
are stored as float32. Linear and embedding weights are random but
bf16-representable; norm weights are random too (so a swapped norm shows)
and keep float32 precision (NORM WEIGHTS below); Q/K weights are large
enough that attention is not a flat average (so RoPE shows); the greedy
prompt is picked among a few for a clear top-2 margin. The script checks
that the quantised linear classes are in place, that the logits differ from
the same weights run without quantisation (so the quantisation really ran),
and that no first-layer activation quantisation sits on an exact tie.

FLOAT64. Every BitLinear rounds its input to int8 per token, so a value
that float32 arithmetic puts within ~1e-6 of a rounding boundary may round
either way, depending only on the order of float operations; later layers
carry one such flip to ~0.1 logits. A float32 reference would add its own
flips to the engine's. The model therefore runs in float64 (model.double()),
and the few places where transformers' BitNet casts to float32 anyway
(RMSNorm, the weight / activation quantisers, softmax, RoPE tables) compute
in float64 too (compute_in_input_dtype); the arithmetic is otherwise
transformers' own. Remaining differences are the engine's float32 rounding.

NORM WEIGHTS. The first layer quantises rmsnorm(embedding) * norm_weight,
i.e. 127 * e_i * w_i / max_k |e_k * w_k| whatever the RMS factor: with e and
w both bf16 (8-bit mantissas) this ratio hits k + 1/2 exactly now and then
(5 times in one of the earlier sequences), and an exact tie is decided by
rounding noise alone, in the reference as in any engine. Norm weights with
float32 precision (stored as F32, which the converter keeps as F32) make
such ties as rare as anywhere else; layer0_ties() checks there are none.

Cases:
  b158_relu2    hidden_act relu2 (BitNet b1.58 2B-4T shape family) -> engine
                arch bitnet-b1.58, NEOX RoPE; bf16 masters, online.
  bitnet_silu   hidden_act silu (1bitLLM "bitnet", RoPE theta 10000 as those
                models) -> engine arch bitnet, NEOX RoPE with Q/K in HF order
                as llama.cpp defines that arch; bf16 masters.
  b158_packed   relu2 with packed ternary weights (transformers' offline
                BitLinear format).
"""
import json
import os
import random
import shutil
import struct
import sys
from fractions import Fraction

os.environ.setdefault("TORCH_COMPILE_DISABLE", "1")  # eager kernels only: no compiled graphs

import numpy as np
import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import BitNetConfig, BitNetForCausalLM
import transformers.integrations.bitnet as hf_bitnet
import transformers.models.bitnet.modeling_bitnet as hf_model
from transformers.integrations.bitnet import AutoBitLinear, BitLinear, pack_weights

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")
BOS, EOS = "<|begin_of_text|>", "<|end_of_text|>"
N_GEN = 32

WORDS = (
    "the a an of to and in is was for on with as by at from that this it be are were has had have not but or "
    "which one all their there been if more when will would who so no out up into than them can only other new "
    "some could time these two may then do first any my now such like our over man me even most made after also "
    "did many before must through back years where much your way well down should because each just those people "
    "how too little state good very make world still own see men work long get here between both life being under "
    "never day same another know while last might us great old year off come since against go came right used take "
    "three ternary weights engine model token layer norm rotary attention cache kernel plugin matrix vector scale "
    "quantise activation integer float byte merge vocabulary decode encode forward greedy sample logits softmax"
).split()


def corpus(seed, n_lines=3000):
    rng = random.Random(seed)
    lines = []
    for _ in range(n_lines):
        n = rng.randint(4, 14)
        words = [rng.choice(WORDS) for _ in range(n)]
        if rng.random() < 0.3:
            words.insert(rng.randrange(len(words)), str(rng.randint(0, 99999)))
        s = " ".join(words)
        s = s[0].upper() + s[1:] + rng.choice([".", ".", "!", "?", ",", ";"])
        if rng.random() < 0.1:
            s = "  " + s + "\n"
        lines.append(s)
    return lines


def train_tokenizer(vocab_size, seed):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[BOS, EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(seed), trainer=trainer)
    return tok


def save_tokenizer(tok, folder):
    tok.save(os.path.join(folder, "tokenizer.json"))
    cfg = {
        "bos_token": BOS,
        "eos_token": EOS,
        "add_bos_token": False,
        "add_eos_token": False,
        "model_max_length": 128,
        "tokenizer_class": "PreTrainedTokenizerFast",
    }
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)


def bf16_round(t):
    return t.to(torch.bfloat16).to(torch.float32)


def random_weights(model, seed, embd_std):
    """Random masters (bf16-representable) and non-trivial norm weights, so a
    swapped norm or rope style changes the output. Norm weights keep float32
    precision (see NORM WEIGHTS in the module docstring)."""
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for name, p in model.state_dict().items():
        if name == "lm_head.weight":
            continue
        if name.endswith("norm.weight"):
            v = 0.5 + torch.rand(p.shape, generator=g)
        elif "embed_tokens" in name:
            v = torch.randn(p.shape, generator=g) * embd_std
        elif "q_proj" in name or "k_proj" in name:
            # Large enough that attention is not a near-uniform average, so
            # RoPE (and its pairing) visibly shapes the output.
            v = torch.randn(p.shape, generator=g) * 0.1
        else:
            v = torch.randn(p.shape, generator=g) * 0.02
        sd[name] = v if name.endswith("norm.weight") else bf16_round(v)
    return sd


def absmean_ternary(w):
    """The same arithmetic as transformers' WeightQuant (for packing)."""
    scale = 1.0 / w.abs().mean().clamp(min=1e-5)
    return (w * scale).round().clamp(-1, 1), scale


def write_checkpoint(folder, cfg_dict, sd, packed):
    os.makedirs(folder, exist_ok=True)
    tensors = {}
    for name, v in sd.items():
        is_linear = name.startswith("model.layers.") and name.endswith("_proj.weight")
        if packed and is_linear:
            t, scale = absmean_ternary(v)
            tensors[name] = pack_weights(t.to(torch.int8).clone()).contiguous()
            # BitLinear divides by weight_scale: weight = code / weight_scale.
            tensors[name[: -len("weight")] + "weight_scale"] = scale.reshape(1).to(torch.bfloat16)
        elif name.endswith("norm.weight"):
            tensors[name] = v.to(torch.float32).contiguous()
        else:
            tensors[name] = v.to(torch.bfloat16).contiguous()
    save_file(tensors, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg_dict, f, indent=2, sort_keys=True)


def compute_in_input_dtype():
    """transformers' BitNet casts to float32 in a few places (meant to
    protect bf16/fp16 runs): RMSNorm, the weight and activation quantisers
    (.float()), the softmax and the RoPE tables. In a float64 model those
    casts would put float32 rounding back into the reference, so each of
    these functions is replaced by the same arithmetic done in the input's
    dtype; nothing else changes."""

    def rms_norm(self, h):
        variance = h.pow(2).mean(-1, keepdim=True)
        return self.weight * (h * torch.rsqrt(variance + self.variance_epsilon))

    def weight_quant(ctx, w):
        scale = 1.0 / w.abs().mean().clamp_(min=1e-5)
        return (w * scale).round().clamp(-1, 1) / scale

    def act_quant(ctx, a):
        scale = 127 / a.abs().max(dim=-1, keepdim=True).values.clamp_(min=1e-5)
        return (a * scale).round().clamp(-128, 127) / scale

    def attention(module, query, key, value, attention_mask, scaling, dropout=0.0, **kwargs):
        k = hf_model.repeat_kv(key, module.num_key_value_groups)
        v = hf_model.repeat_kv(value, module.num_key_value_groups)
        w = torch.matmul(query, k.transpose(2, 3)) * scaling
        if attention_mask is not None:
            w = w + attention_mask
        w = torch.nn.functional.softmax(w, dim=-1)
        return torch.matmul(w, v).transpose(1, 2).contiguous(), w

    @torch.no_grad()
    def rope(self, x, position_ids):
        base = self.config.rope_parameters["rope_theta"]
        dim = self.inv_freq.shape[0] * 2
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
        freqs = position_ids[..., None].to(torch.float64) * inv_freq
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(x.dtype), emb.sin().to(x.dtype)

    hf_model.BitNetRMSNorm.forward = rms_norm
    hf_bitnet.WeightQuant.forward = staticmethod(weight_quant)
    hf_bitnet.ActQuant.forward = staticmethod(act_quant)
    hf_model.eager_attention_forward = attention
    hf_model.BitNetRotaryEmbedding.forward = rope


def load_reference(folder):
    m = BitNetForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager")
    assert m.model.rotary_emb.rope_type == "default" and m.model.rotary_emb.attention_scaling == 1.0
    m = m.double()
    m.eval()
    return m


def plain_model(cfg_dict, sd, packed):
    """The same weights with no quantisation anywhere (control)."""
    c = dict(cfg_dict)
    c.pop("quantization_config", None)
    m = BitNetForCausalLM(BitNetConfig(**{k: v for k, v in c.items() if k not in ("model_type", "transformers_version")}))
    m = m.to(torch.float32)
    sd2 = dict(sd)
    if packed:
        for name, v in sd.items():
            if name.startswith("model.layers.") and name.endswith("_proj.weight"):
                t, scale = absmean_ternary(v)
                sd2[name] = t / bf16_round(scale)
    missing, unexpected = m.load_state_dict(sd2, strict=False)
    assert not unexpected and all(k == "lm_head.weight" for k in missing), (missing, unexpected)
    m.tie_weights()
    m = m.double()
    m.config._attn_implementation = "eager"
    m.eval()
    return m


@torch.no_grad()
def logits_of(model, ids):
    out = model(input_ids=torch.tensor([ids], dtype=torch.long), use_cache=False)
    return out.logits[0].to(torch.float32).numpy()


@torch.no_grad()
def greedy(model, prompt, n):
    """Argmax continuation, one full-sequence forward per step (no cache
    code involved). Also returns the smallest top-1/top-2 gap seen."""
    ids = list(prompt)
    gaps = []
    for _ in range(n):
        lg = logits_of(model, ids)[-1]
        top = np.argsort(-lg)[:2]
        gaps.append(float(lg[top[0]] - lg[top[1]]))
        ids.append(int(top[0]))
    return ids[len(prompt):], min(gaps)


def layer0_ties(sd, ids):
    """Exact ties (x * 127 / max|x| = k + 1/2) in the first layer's int8
    activation quantisation, in exact rational arithmetic. Its input is
    rmsnorm(embedding) * weight, so the quantised value is
    127 * e_i * w_i / max_k |e_k * w_k| whatever the RMS factor is."""
    emb = sd["model.embed_tokens.weight"].to(torch.float64).numpy()
    w = sd["model.layers.0.input_layernorm.weight"].to(torch.float64).numpy()
    ties = []
    for pos, tok in enumerate(ids):
        p = [Fraction(float(a)) * Fraction(float(b)) for a, b in zip(emb[tok], w)]
        m = max(abs(x) for x in p)
        for i, x in enumerate(p):
            t = 2 * 127 * x / m
            if t.denominator == 1 and t.numerator % 2:
                ties.append((pos, i))
    return ties


def cosine(a, b):
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


CASES = [
    dict(name="b158_relu2", act="relu2", layers=2, heads=8, kv=2, ff=512, packed=False, seed=1001, theta=500000.0),
    dict(name="bitnet_silu", act="silu", layers=2, heads=4, kv=2, ff=512, packed=False, seed=2002, theta=10000.0),
    dict(name="b158_packed", act="relu2", layers=4, heads=8, kv=2, ff=768, packed=True, seed=3003, theta=500000.0),
]

TEXTS = [
    "The engine reads ternary weights and decodes one token at a time.",
    "  Forty-two layers? No: 2 layers, 8 heads; greedy logits!\n",
]


def build_case(case, tok):
    folder = os.path.join(OUT, case["name"])
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    n_vocab = tok.get_vocab_size()
    qc = (
        {"quant_method": "bitnet", "linear_class": "bitlinear", "quantization_mode": "offline"}
        if case["packed"]
        else {"quant_method": "bitnet", "linear_class": "autobitlinear", "quantization_mode": "online"}
    )
    cfg = BitNetConfig(
        vocab_size=n_vocab,
        hidden_size=256,
        intermediate_size=case["ff"],
        num_hidden_layers=case["layers"],
        num_attention_heads=case["heads"],
        num_key_value_heads=case["kv"],
        hidden_act=case["act"],
        max_position_embeddings=128,
        rope_theta=case["theta"],
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,
        bos_token_id=tok.token_to_id(BOS),
        eos_token_id=tok.token_to_id(EOS),
    )
    cfg_dict = cfg.to_dict()
    cfg_dict["quantization_config"] = qc
    cfg_dict["architectures"] = ["BitNetForCausalLM"]
    torch.manual_seed(case["seed"])
    skeleton = BitNetForCausalLM(cfg)
    sd = random_weights(skeleton, case["seed"], embd_std=0.1)
    del skeleton
    write_checkpoint(folder, cfg_dict, sd, case["packed"])
    save_tokenizer(tok, folder)

    ref = load_reference(folder)
    want = BitLinear if case["packed"] else AutoBitLinear
    n_q = sum(isinstance(mod, want) for mod in ref.modules())
    assert n_q == 7 * case["layers"], f"{case['name']}: {n_q} {want.__name__} modules, expected {7 * case['layers']}"
    assert not isinstance(ref.lm_head, (BitLinear, AutoBitLinear)), "the LM head must stay float"
    if not case["packed"]:
        assert all(mod.online_quant for mod in ref.modules() if isinstance(mod, AutoBitLinear))
    plain = plain_model(cfg_dict, sd, case["packed"])

    rng = random.Random(case["seed"])
    bos = tok.token_to_id(BOS)
    seqs = [
        ("text", [bos] + tok.encode(TEXTS[0]).ids),
        ("random", [rng.randrange(n_vocab) for _ in range(48)]),
        ("repeat", ([bos] + [rng.randrange(2, n_vocab) for _ in range(5)]) * 4),
    ]
    blobs, lines = [], []
    lines.append(f"case {case['name']}")
    lines.append(f"n_vocab {n_vocab}")
    report = []
    for label, ids in seqs:
        lg = logits_of(ref, ids)
        lp = logits_of(plain, ids)
        c_plain = min(cosine(lg[i], lp[i]) for i in range(len(ids)))
        d_plain = float(np.abs(lg - lp).max())
        assert d_plain > 1e-2, f"{case['name']}/{label}: quantisation had no effect (max diff {d_plain})"
        report.append(f"  {label:7s} len {len(ids):2d}: vs unquantised min cos {c_plain:.6f}, max |d| {d_plain:.4f}")
        lines.append(f"seq {label} {len(ids)} " + " ".join(map(str, ids)))
        blobs.append(lg.astype("<f4").tobytes())
    # Random models settle into repeating a token; a switch is where the
    # top-2 gap is small. Of a few prompts, keep the one whose continuation
    # switches token at least twice with the widest smallest gap, so an exact
    # match is a fair demand on float32 arithmetic done differently.
    best = None
    for k in range(8):
        prompt = seqs[0][1][:16] if k == 0 else [bos] + [rng.randrange(2, n_vocab) for _ in range(15)]
        gen, gap = greedy(ref, prompt, N_GEN)
        switches = sum(a != b for a, b in zip(gen, gen[1:]))
        if switches >= 2 and (best is None or gap > best[2]):
            best = (prompt, gen, gap)
    assert best is not None, f"{case['name']}: no prompt gives a varied continuation"
    prompt, gen, gap = best
    for label, ids in seqs + [("greedy", prompt + gen)]:
        ties = layer0_ties(sd, ids)
        assert not ties, f"{case['name']}/{label}: exact rounding ties in layer 0 at (pos, col) {ties[:5]}"
    report.append(f"  greedy: min top-1/top-2 gap {gap:.4f}; tokens {gen}")
    lines.append(f"gap {gap:.6f}")
    lines.append(f"greedy {len(prompt)} {N_GEN} " + " ".join(map(str, prompt + gen)))
    for t in TEXTS:
        ids = tok.encode(t).ids
        lines.append(f"tok {t.encode().hex()} {len(ids)} " + " ".join(map(str, ids)))
    with open(os.path.join(folder, "reference.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(folder, "reference.bin"), "wb") as f:
        for b in blobs:
            f.write(b)
    print(case["name"])
    print("\n".join(report))
    return gap


def main():
    torch.set_num_threads(2)
    compute_in_input_dtype()
    os.makedirs(OUT, exist_ok=True)
    tok = train_tokenizer(512, seed=7)
    for case in CASES:
        build_case(case, tok)
    total = 0
    for root, _, files in os.walk(OUT):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    print(f"fixtures: {total / 1e6:.2f} MB in {OUT}")


if __name__ == "__main__":
    sys.exit(main())
