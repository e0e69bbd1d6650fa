#!/bin/sh
# Regenerate the seed corpora of the new fuzz targets (run by hand; the
# output is committed under tests/fuzz/corpus/<target>/, each under ~1 MB):
#   tests/fuzz/make_corpus.sh BUILD_DIR
# BUILD_DIR must hold gen-gguf-seeds and bitnet-make-model (run_fuzz.sh's
# build does). corpus/gguf and corpus/safetensors are left as they are.
set -eu
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
c=$src/tests/fuzz/corpus
gen=$build/bin/gen-gguf-seeds
fx=$src/tests/fixtures/tokenizers
mkdir -p "$c/spm" "$c/tokjson" "$c/hfconfig" "$c/ini" "$c/vocab" "$c/model"

# vocab: the three fixture tokenizers cut to 300 tokens + their specials
"$gen" --vocab "$fx/gpt2-bpe/vocab.gguf" 300 "$c/vocab/gpt2-bpe.gguf"
"$gen" --vocab "$fx/llama2-spm/vocab.gguf" 300 "$c/vocab/llama2-spm.gguf"
"$gen" --vocab "$fx/llama3-bpe" 300 "$c/vocab/llama3-bpe.gguf"

# spm: the synthetic model (with / without add_dummy_prefix) and the first
# 300 pieces of a real one with every other field kept
"$gen" --spm "$c/spm/synthetic.model" 1
"$gen" --spm "$c/spm/synthetic-nodummy.model" 0
python3 - "$src/tests/interop/fixtures/bitnet_1bitllm/tokenizer.model" "$c/spm/real-300.model" <<'PY'
import sys
def varint(data, p):
    v = s = 0
    while True:
        b = data[p]; p += 1
        v |= (b & 0x7F) << s; s += 7
        if not b & 0x80:
            return v, p
def enc(v):
    out = bytearray()
    while True:
        b = v & 0x7F; v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return out
def fields(data):
    p = 0
    while p < len(data):
        start = p
        key, p = varint(data, p)
        wt, body = key & 7, None
        if wt == 0: _, p = varint(data, p)
        elif wt == 1: p += 8
        elif wt == 5: p += 4
        elif wt == 2:
            n, p = varint(data, p); body = data[p:p + n]; p += n
        yield key, data[start:p], body
out, pieces = bytearray(), 0
for key, raw, body in fields(open(sys.argv[1], 'rb').read()):
    if key >> 3 == 1:
        pieces += 1
        if pieces > 300:
            continue
    elif key >> 3 == 3:  # normalizer_spec: cut its 240 KB precompiled_charsmap to 64 bytes
        ns = bytearray()
        for k2, raw2, body2 in fields(body):
            ns += enc(k2) + enc(64) + body2[:64] if k2 >> 3 == 2 and k2 & 7 == 2 else raw2
        raw = enc(key) + enc(len(ns)) + ns
    out += raw
open(sys.argv[2], 'wb').write(out)
PY

# tokjson: a SentencePiece-style (byte_fallback) and a GPT-2 style file as
# shipped in the fixtures, and Llama 3's cut to 300 tokens
cp "$src/tests/interop/fixtures/bitnet_1bitllm/tokenizer.json" "$c/tokjson/spm-byte-fallback.json"
cp "$src/tests/xval/fixtures/b158_relu2/tokenizer.json" "$c/tokjson/gpt2-bytelevel.json"
python3 - "$fx/llama3-bpe/tokenizer.json" "$c/tokjson/llama3-cut.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
m = d['model']
vocab = {k: v for k, v in m['vocab'].items() if v < 300}
merges = []
for mg in m['merges']:
    a, b = mg.split(' ', 1) if isinstance(mg, str) else mg
    if a in vocab and b in vocab and a + b in vocab:
        merges.append(mg)
    if len(merges) == 200:
        break
m['vocab'], m['merges'] = vocab, merges
added = d['added_tokens'][:12]
for i, t in enumerate(added):
    t['id'] = 300 + i
d['added_tokens'] = added
d['post_processor']['processors'] = [{'type': 'TemplateProcessing',
    'single': [{'SpecialToken': {'id': '<|begin_of_text|>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}}]}]
d['post_processor']['type'] = 'Sequence'
json.dump(d, open(sys.argv[2], 'w'), ensure_ascii=False, separators=(',', ':'))
PY

# two small hand-written ones: merges as pairs (one side an object), added
# tokens past a SentencePiece model's pieces
cat > "$c/tokjson/bytelevel-pairs.json" <<'J'
{"added_tokens":[{"id":8,"content":"<|endoftext|>","special":true},{"id":9,"content":"<tool>","special":false}],
"normalizer":null,"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"use_regex":true},
"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<|endoftext|>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}]},
"model":{"type":"BPE","unk_token":null,"byte_fallback":false,"vocab":{"Ġ":0,"t":1,"h":2,"e":3,"Ġt":4,"he":5,"Ġthe":6,"a":7,"x":12},
"merges":[["Ġ","t"],["h","e"],[{"content":"Ġt"},"he"],"a x"]}}
J
cat > "$c/tokjson/spm-added.json" <<'J'
{"added_tokens":[{"id":0,"content":"<unk>","special":true},{"id":1,"content":{"content":"<s>"},"special":true},
{"id":300,"content":"<pad>","special":true},{"id":302,"content":"<tool_call>","special":false}],
"normalizer":null,"pre_tokenizer":null,"model":{"type":"BPE","byte_fallback":true,"unk_token":"<unk>","vocab":{"<unk>":0},"merges":[]}}
J

# hfconfig: the fixtures' config.json files and two newer-style variants
for f in xval/fixtures/b158_packed xval/fixtures/b158_relu2 xval/fixtures/bitnet_silu \
         interop/fixtures/bitnet_1bitllm interop/fixtures/llama_f32; do
  cp "$src/tests/$f/config.json" "$c/hfconfig/$(basename "$f").json"
done
cat > "$c/hfconfig/rope-parameters.json" <<'J'
{"model_type": "bitnet", "hidden_act": "relu2", "hidden_size": 64, "intermediate_size": 128,
 "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1, "vocab_size": 300,
 "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "tie_word_embeddings": false,
 "rope_parameters": {"rope_type": "default", "rope_theta": 500000.0},
 "quantization_config": {"quant_method": "bitnet", "linear_class": "autobitlinear"}, "rope_scaling": null}
J
cat > "$c/hfconfig/minimal.json" <<'J'
{"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":2,"vocab_size":1,"max_position_embeddings":1}
J

# ini: every key, with good and bad values, comments and odd syntax
cat > "$c/ini/full.ini" <<'I'
; bitnet configuration
[backend]
name = reference
deny = cpu-avx512,cpu-avx2
plugin_path = /opt/bitnet/plugins:/usr/lib/bitnet/plugins
kernel = tl1

[runtime]
threads = 4
pin_threads = yes

[model]
path = /models/ggml-model-i2_s.gguf

[log]
level = debug
I
cat > "$c/ini/bad.ini" <<'I'
# bad values and unknown keys are warned about and skipped
[runtime]
threads = -3
threads = 99999999999999999999
pin_threads = maybe
[log]
level = loud
level = 7
[backend]
kernel = tl9
colour = blue
[nosuch]
key = value
this line has no equals sign
[unterminated
I
printf '[RunTime]\r\nThreads=0\r\nPIN_THREADS = Off\r\n[LOG]\r\nlevel: WARNING\r\n\t[model]\r\n  path = "a b" ; comment\r\n' > "$c/ini/case-crlf.ini"

# model: tiny models over the cut llama2 vocab (300 tokens), one per
# architecture and weight type, all fitting fuzz-model's 64 MiB budget
mm() { "$build/bin/bitnet-make-model" --vocab "$c/vocab/llama2-spm.gguf" --layers 1 --ctx 32 --seed 7 "$@"; }
mm -o "$c/model/llama-f32.gguf" --arch llama --type f32 --embd-type f32 --embd 32 --ff 64 --heads 4 --kv-heads 2
mm -o "$c/model/llama-f16-q8.gguf" --arch llama --type f16 --embd-type q8_0 --embd 32 --ff 64 --heads 2 --kv-heads 1
mm -o "$c/model/b158-i2s.gguf" --arch bitnet-b1.58 --type i2_s --embd-type q8_0 --embd 128 --ff 128 --heads 2 --kv-heads 1
mm -o "$c/model/bitnet-tq2.gguf" --arch bitnet --type tq2_0 --embd-type q8_0 --embd 256 --ff 256 --heads 2 --kv-heads 2
mm -o "$c/model/b158-tq1.gguf" --arch bitnet-b1.58 --type tq1_0 --embd-type q8_0 --embd 256 --ff 256 --heads 4 --kv-heads 1
du -sh "$c"/*

# model: hostile variants of one seed the memory plan or the loader must
# refuse (a 16M-token context, a 1G feed-forward, 30000 layers)
python3 - "$c/model" <<'PY' || echo "make_corpus.sh: python3 'gguf' package missing; hostile model seeds not written" >&2
import shutil, sys
from gguf import GGUFReader
d = sys.argv[1]
for name, key, val in [('hostile-ctx', 'llama.context_length', 1 << 24),
                       ('hostile-ff', 'llama.feed_forward_length', 1 << 30),
                       ('hostile-layers', 'llama.block_count', 30000)]:
    out = f'{d}/{name}.gguf'
    shutil.copy(f'{d}/llama-f16-q8.gguf', out)
    r = GGUFReader(out, 'r+')
    r.fields[key].parts[-1][0] = val
    del r
PY
du -sh "$c/model"
