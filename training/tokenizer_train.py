"""Train the byte-level BPE tokenizer on the training split and write it as
a Hugging Face tokenizer (tokenizer.json + tokenizer_config.json), the form
`bitnet convert` imports (ByteLevel pre-tokenizer with the GPT-2 regex ->
tokenizer.ggml.pre "gpt-2")."""
import argparse
import json
import os

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

BOS, EOS = "<|begin_of_text|>", "<|end_of_text|>"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--vocab", type=int, default=4096)
    a = ap.parse_args()
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=a.vocab, special_tokens=[BOS, EOS], min_frequency=2,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train([a.train], trainer)
    os.makedirs(a.out, exist_ok=True)
    tok.save(os.path.join(a.out, "tokenizer.json"))
    cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": BOS, "eos_token": EOS,
           "add_bos_token": True, "add_eos_token": False, "model_max_length": 256}
    with open(os.path.join(a.out, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    print(f"tokenizer: {tok.get_vocab_size()} tokens, bos {tok.token_to_id(BOS)}, eos {tok.token_to_id(EOS)}")


if __name__ == "__main__":
    main()
