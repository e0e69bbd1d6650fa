"""Train the BitNet b1.58 model: AdamW, linear warm-up then cosine decay,
gradient clipping, a fixed seed, checkpoints every --ckpt-every steps (and
--resume to go on from the last one), validation perplexity printed as it
trains (computed as `bitnet perplexity -c L --score-from 1` computes it)."""
import argparse
import json
import math
import os
import time

import torch
import torch.nn.functional as F

from data import batch, encode_file, eval_chunks, perplexity
from model import BitNetLM, Config


def lr_at(step, a):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    p = (step - a.warmup) / max(1, a.steps - a.warmup)
    return a.lr * (a.min_lr_frac + (1 - a.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * p)))


def save(path, model, opt, step, gen, a, hist):
    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "gen": gen.get_state(),
                "cpu_rng": torch.get_rng_state(), "cfg": model.cfg.to_dict(), "args": vars(a), "hist": hist}, tmp)
    os.replace(tmp, path)  # a crash mid-write never leaves a torn checkpoint


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="folder with train.txt and valid.txt")
    ap.add_argument("--tokenizer", required=True, help="tokenizer.json")
    ap.add_argument("--out", required=True, help="folder for checkpoints")
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=40)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--eval-every", type=int, default=150)
    ap.add_argument("--ckpt-every", type=int, default=50)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--ffn", type=int, default=768)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--resume", action="store_true")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    ckpt = os.path.join(a.out, "ckpt.pt")
    cfg = Config(hidden_size=a.hidden, intermediate_size=a.ffn, num_hidden_layers=a.layers,
                 num_attention_heads=a.heads, num_key_value_heads=a.kv_heads, max_position_embeddings=a.ctx)
    train_ids = encode_file(a.tokenizer, os.path.join(a.data, "train.txt"))
    valid = eval_chunks(encode_file(a.tokenizer, os.path.join(a.data, "valid.txt")), a.ctx, cfg.bos_token_id)
    model = BitNetLM(cfg)
    decay = [p for p in model.parameters() if p.dim() == 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.wd}, {"params": other, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    gen = torch.Generator().manual_seed(a.seed)
    step, hist = 0, {"train": [], "valid": [], "seconds": 0.0}
    if a.resume and os.path.exists(ckpt):
        st = torch.load(ckpt, weights_only=False)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        gen.set_state(st["gen"])
        torch.set_rng_state(st["cpu_rng"])
        step, hist = st["step"], st["hist"]
        print(f"resumed at step {step}", flush=True)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{n_params / 1e6:.2f} M parameters; {len(train_ids)} training tokens, "
          f"{len(valid)} validation chunks of {a.ctx}; {a.steps} steps of {a.batch}x{a.ctx}", flush=True)
    t0, tlast = time.time() - hist["seconds"], time.time()
    while step < a.steps:
        model.train()
        for g in opt.param_groups:
            g["lr"] = lr_at(step, a)
        x = batch(train_ids, a.ctx, cfg.bos_token_id, a.batch, gen)
        logits = model(x)
        loss = F.cross_entropy(logits[:, :-1].flatten(0, 1), x[:, 1:].flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip).item()
        opt.step()
        step += 1
        hist["train"].append([step, loss.item()])
        if step % 10 == 0:
            now = time.time()
            print(f"step {step} loss {loss.item():.4f} lr {lr_at(step - 1, a):.2e} gnorm {gnorm:.2f} "
                  f"{(now - tlast) / 10:.2f} s/step", flush=True)
            tlast = now
        if step % a.eval_every == 0 or step == a.steps:
            model.eval()
            ppl, nll = perplexity(model, valid)
            hist["valid"].append([step, nll, ppl])
            print(f"step {step} validation loss {nll:.4f} perplexity {ppl:.3f} ({time.time() - t0:.0f} s)", flush=True)
        if step % a.ckpt_every == 0 or step == a.steps:
            hist["seconds"] = time.time() - t0
            save(ckpt, model, opt, step, gen, a, hist)
    with open(os.path.join(a.out, "history.json"), "w") as f:
        json.dump(hist, f)
    print(f"done: {step} steps in {hist['seconds']:.0f} s", flush=True)


if __name__ == "__main__":
    main()
