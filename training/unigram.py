"""Unigram baseline: token frequencies of the training split (add-one
smoothed), scored on the held-out split over the same positions as the
validation perplexity (chunks of --ctx, positions 1..ctx-1)."""
import argparse
import json
import math

import torch

from data import encode_file


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--valid", required=True)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--vocab", type=int, default=4096)
    a = ap.parse_args()
    tr = encode_file(a.tokenizer, a.train)
    va = encode_file(a.tokenizer, a.valid)
    counts = torch.bincount(tr, minlength=a.vocab).double() + 1.0
    logp = (counts / counts.sum()).log()
    n = len(va) // a.ctx
    scored = va[: n * a.ctx].view(n, a.ctx)[:, 1:].flatten()
    nll = -logp[scored].mean().item()
    print(json.dumps({"unigram_nll": nll, "unigram_ppl": math.exp(nll), "scored_tokens": len(scored)}))


if __name__ == "__main__":
    main()
