"""Token streams and the one validation convention shared with the engine.

Validation perplexity is computed exactly as `bitnet perplexity -c L
--score-from 1` computes it: the held-out text is tokenized without special
tokens, cut into consecutive chunks of L tokens (a partial last chunk is
dropped), the first token of each chunk is replaced by BOS, and positions
1..L-1 of every chunk are scored (the prediction made at position p-1 for
token p). Training windows have the same shape: BOS followed by L-1 tokens
taken from a random offset of the training text."""
import math

import torch
import torch.nn.functional as F
from tokenizers import Tokenizer


def encode_file(tokenizer_json, path):
    tok = Tokenizer.from_file(tokenizer_json)
    with open(path, encoding="utf-8") as f:
        return torch.tensor(tok.encode(f.read(), add_special_tokens=False).ids, dtype=torch.long)


def eval_chunks(ids, ctx, bos):
    n = len(ids) // ctx
    chunks = ids[: n * ctx].view(n, ctx).clone()
    chunks[:, 0] = bos
    return chunks


def batch(ids, ctx, bos, size, gen):
    starts = torch.randint(0, len(ids) - ctx, (size,), generator=gen)
    x = torch.stack([ids[s : s + ctx] for s in starts.tolist()])
    x[:, 0] = bos
    return x


@torch.no_grad()
def perplexity(model, chunks, batch_size=16):
    """exp(mean NLL) over positions 1..L-1 of every chunk, in float64 sums."""
    nll, count = 0.0, 0
    for i in range(0, len(chunks), batch_size):
        x = chunks[i : i + batch_size]
        logits = model(x)[:, :-1].double()
        nll += F.cross_entropy(logits.flatten(0, 1), x[:, 1:].flatten(), reduction="sum").item()
        count += x[:, 1:].numel()
    return math.exp(nll / count), nll / count
