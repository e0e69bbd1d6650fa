"""Export a training checkpoint as a Hugging Face-style BitNet folder
(config.json, model.safetensors with f32 master weights, tokenizer files)
and write the PyTorch reference figures the engine's tests compare with.

The GGUF the converter writes stores the token embedding (also the LM head)
as F16, so the embedding is rounded to F16 here first: the exported
masters, the reference logits and the reference perplexity all belong to
exactly the model the engine runs. Ternary weights stay f32 masters; the
converter ternarises them with the same absmean rule as model.quant_weight.

Fixtures written to --fixtures:
  logits.bin  "BNLG" | int32 n_seq | int32 n_vocab | per sequence: int32 n,
              int32 ids[n], float32 logits[n * n_vocab]   (little-endian)
  reference.json  validation perplexity in the engine's convention, the
              chunk length, scored positions, token counts.
"""
import argparse
import json
import os
import shutil
import struct

import torch
from safetensors.torch import save_file

from data import encode_file, eval_chunks, perplexity
from model import BitNetLM, Config


def load(ckpt):
    st = torch.load(ckpt, weights_only=False)
    cfg = Config(**st["cfg"])
    model = BitNetLM(cfg)
    model.load_state_dict(st["model"])
    with torch.no_grad():  # the engine's F16 token_embd / LM head
        w = model.model.embed_tokens.weight
        w.copy_(w.half().float())
    return model.eval(), st


def hf_config(cfg):
    return {
        "architectures": ["BitNetForCausalLM"], "model_type": "bitnet", "hidden_act": "relu2",
        "hidden_size": cfg.hidden_size, "intermediate_size": cfg.intermediate_size,
        "num_hidden_layers": cfg.num_hidden_layers, "num_attention_heads": cfg.num_attention_heads,
        "num_key_value_heads": cfg.num_key_value_heads, "max_position_embeddings": cfg.max_position_embeddings,
        "rms_norm_eps": cfg.rms_norm_eps, "rope_theta": cfg.rope_theta, "vocab_size": cfg.vocab_size,
        "tie_word_embeddings": True, "bos_token_id": cfg.bos_token_id, "eos_token_id": cfg.eos_token_id,
        "attention_bias": False, "torch_dtype": "float32",
    }


def write_logits(path, model, seqs, n_vocab):
    with open(path, "wb") as f:
        f.write(b"BNLG" + struct.pack("<ii", len(seqs), n_vocab))
        with torch.no_grad():
            for ids in seqs:
                logits = model(ids.unsqueeze(0))[0].float().contiguous()
                f.write(struct.pack("<i", len(ids)))
                f.write(ids.to(torch.int32).numpy().astype("<i4").tobytes())
                f.write(logits.numpy().astype("<f4").tobytes())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--tokenizer-dir", required=True)
    ap.add_argument("--valid", required=True, help="held-out text (the file the perplexity test scores)")
    ap.add_argument("--hf-out", required=True)
    ap.add_argument("--fixtures", default=None)
    ap.add_argument("--chunks", type=int, default=0, help="also record the figure over the first N chunks")
    a = ap.parse_args()
    torch.set_num_threads(2)
    model, st = load(a.ckpt)
    cfg = model.cfg
    os.makedirs(a.hf_out, exist_ok=True)
    with open(os.path.join(a.hf_out, "config.json"), "w") as f:
        json.dump(hf_config(cfg), f, indent=2)
    tensors = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, os.path.join(a.hf_out, "model.safetensors"), metadata={"format": "pt"})
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(a.tokenizer_dir, name), os.path.join(a.hf_out, name))
    print(f"exported step {st['step']} to {a.hf_out}")
    if not a.fixtures:
        return
    os.makedirs(a.fixtures, exist_ok=True)
    ctx = cfg.max_position_embeddings
    ids = encode_file(os.path.join(a.tokenizer_dir, "tokenizer.json"), a.valid)
    chunks = eval_chunks(ids, ctx, cfg.bos_token_id)
    ppl, nll = perplexity(model, chunks)
    ref = {"step": st["step"], "ctx": ctx, "score_from": 1, "bos_first": True, "n_text_tokens": len(ids),
           "n_chunks": len(chunks), "scored_tokens": len(chunks) * (ctx - 1), "valid_nll": nll, "valid_ppl": ppl}
    if a.chunks:
        p2, n2 = perplexity(model, chunks[: a.chunks])
        ref.update({"part_chunks": a.chunks, "part_nll": n2, "part_ppl": p2})
    with open(os.path.join(a.fixtures, "reference.json"), "w") as f:
        json.dump(ref, f, indent=2)
    # held-out sequences: a chunk start with BOS (as perplexity sees it) and
    # a later stretch with no BOS, so positions and both openings are covered
    seqs = [chunks[3][:48].clone(), ids[5000:5012].clone()]
    write_logits(os.path.join(a.fixtures, "logits.bin"), model, seqs, cfg.vocab_size)
    print(json.dumps(ref, indent=2))


if __name__ == "__main__":
    main()
