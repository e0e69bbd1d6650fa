"""High-level API in the manner of llama-cpp-python: one object owns an
engine, a model, its vocabulary and one session, and returns OpenAI-shaped
completions. The call sequence is the CLI's (host/model_setup.c,
host/generate.c), so a greedy completion here prints what `bitnet run` prints.
"""

import ctypes
import os
import time
import uuid

from . import _lib as L
from ._lib import BitnetError, byref, check
from ._stops import StopMatcher

_KV_TYPES = {"f16": L.BN_TYPE_F16, "f32": L.BN_TYPE_F32, "q8_0": L.BN_TYPE_Q8_0}
_KERNELS = {"auto": L.BN_KERNEL_AUTO, "mad": L.BN_KERNEL_MAD, "tl1": L.BN_KERNEL_TL1,
            "tl2": L.BN_KERNEL_TL2}


def _int_arg(name, v, lo, hi=None, allow_none=False):
    if v is None and allow_none:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError("%s must be an integer, got %r" % (name, v))
    if v < lo or (hi is not None and v > hi):
        raise ValueError("%s must be in [%s, %s], got %d" % (name, lo, hi if hi is not None else "inf", v))
    return v


def _stop_list(stop):
    if stop is None:
        return []
    stops = [stop] if isinstance(stop, str) else list(stop)
    for s in stops:
        if not isinstance(s, str) or not s:
            raise ValueError("stop must be a non-empty string or a list of them, got %r" % (s,))
    return stops


class Bitnet:
    """A loaded model with one session (used by one thread at a time, as
    the C session is). Starting a completion resets the session; a stream
    still open from an earlier call then raises RuntimeError when resumed."""

    def __init__(self, model_path=None, n_ctx=0, n_threads=None, backend=None, seed=None,
                 n_batch=256, kernel=None, kv_type="f16"):
        """model_path None: as the CLI resolves it -- the [model] path of the
        config file or BITNET_MODEL if set, else the bundled model. n_ctx 0:
        the model's training context. n_threads None: the settings' (one per
        physical core by default). backend: force a plugin by name. seed:
        sampling seed for calls that give none (None: a fresh random one each
        call). kernel: "auto", "mad", "tl1" or "tl2". kv_type: the KV cache,
        "f16", "f32" or "q8_0" (8-bit, about half the memory of f16), as the
        CLI's --kv-type."""
        self._closed = True  # until everything below exists; close() is then safe
        self._engine = self._model = self._vocab = self._session = None
        self._settings = None
        n_ctx = _int_arg("n_ctx", n_ctx, 0)
        n_batch = _int_arg("n_batch", n_batch, 1, 4096)
        n_threads = _int_arg("n_threads", n_threads, 1, 4096, allow_none=True)
        if seed is not None:
            _int_arg("seed", seed, 0, 2**64 - 1)
        if kv_type not in _KV_TYPES:
            raise ValueError("kv_type must be one of %s, got %r" % (", ".join(_KV_TYPES), kv_type))
        self._kv_type = _KV_TYPES[kv_type]
        if kernel is not None and kernel not in _KERNELS:
            raise ValueError("kernel must be one of %s, got %r" % (", ".join(_KERNELS), kernel))
        self.seed = seed
        self._gen = 0  # bumped by every completion; an older stream sees the change

        cli = L.bn_cli_overrides()
        L.bn_cli_overrides_init(byref(cli))
        if model_path is not None:
            cli.model = os.fsencode(model_path)
        if backend is not None:
            cli.backend = backend.encode()
        if kernel is not None:
            cli.kernel = kernel.encode()
        if n_threads is not None:
            cli.threads = n_threads
        settings = L.bn_settings()
        check(L.bn_settings_resolve(byref(cli), byref(settings)), "settings")
        self._settings = settings  # from here on close() frees it
        try:
            self._open(n_ctx, n_batch)
        except BaseException:
            self.close()
            raise
        self._closed = False

    def _open(self, n_ctx, n_batch):
        s = self._settings
        self.model_path = os.fsdecode(s.model) if s.model else L.default_model_path()
        eng = ctypes.c_void_p()
        check(L.bn_engine_create(byref(s), byref(eng)), "cannot start the engine")
        self._engine = eng
        mo = L.bn_model_opts()
        L.bn_model_opts_init(byref(mo))
        mo.n_ctx, mo.n_batch, mo.kv_type = n_ctx, n_batch, self._kv_type
        mo.kernel = _KERNELS.get((s.kernel or b"auto").decode(), L.BN_KERNEL_AUTO)
        model = ctypes.c_void_p()
        check(L.bn_model_load(eng, os.fsencode(self.model_path), byref(mo), byref(model)),
              "cannot load model '%s'" % self.model_path)
        self._model = model
        vocab = ctypes.c_void_p()
        check(L.bn_vocab_load_gguf(L.bn_model_gguf(model), byref(vocab)), "cannot read the model's tokenizer")
        self._vocab = vocab
        sess = ctypes.c_void_p()
        check(L.bn_session_create(model, byref(sess)), "creating a session")
        self._session = sess
        self._n_vocab = L.bn_model_hparams(model).contents.n_vocab
        self._logits = (ctypes.c_float * self._n_vocab)()
        self._chat_style = L.bn_chat_detect(L.bn_vocab_chat_template(vocab))

    # ---- lifetime ----------------------------------------------------------------
    def close(self):
        """Free the session, vocabulary, model and engine (idempotent)."""
        self._closed = True
        self._gen = getattr(self, "_gen", 0) + 1  # open streams see this and stop
        # In the reverse order of creation, as bn_host_close does.
        for attr, free in (("_session", L.bn_session_free), ("_vocab", L.bn_vocab_free),
                           ("_model", L.bn_model_free), ("_engine", L.bn_engine_free)):
            h = getattr(self, attr, None)
            setattr(self, attr, None)
            if h:
                free(h)
        s = getattr(self, "_settings", None)
        self._settings = None
        if s is not None:
            L.bn_settings_free(byref(s))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone already
            pass

    def _check_open(self):
        if self._closed:
            raise RuntimeError("this Bitnet has been closed")

    # ---- model facts -----------------------------------------------------------------
    def n_ctx(self):
        self._check_open()
        return L.bn_session_n_ctx(self._session)

    def n_vocab(self):
        return self._n_vocab

    def token_bos(self):
        self._check_open()
        return L.bn_vocab_bos(self._vocab)

    def token_eos(self):
        self._check_open()
        return L.bn_vocab_eos(self._vocab)

    @property
    def backend_name(self):
        self._check_open()
        return L.bn_model_backend_name(self._model).decode()

    @property
    def chat_format(self):
        """The chat template style the C library recognised ("plain" if none)."""
        return L.bn_chat_style_name(self._chat_style).decode()

    # ---- tokens ---------------------------------------------------------------------
    def tokenize(self, text, add_bos=True, special=False):
        """Token ids of text (str is UTF-8 encoded). add_bos: BOS / EOS as the
        vocabulary says (BN_TOK_ADD_SPECIAL); special: control-token texts in
        the input become those tokens (BN_TOK_PARSE_SPECIAL)."""
        self._check_open()
        if isinstance(text, str):
            text = text.encode("utf-8")
        if not isinstance(text, (bytes, bytearray)):
            raise ValueError("text must be str or bytes, got %s" % type(text).__name__)
        text = bytes(text)
        flags = (L.BN_TOK_ADD_SPECIAL if add_bos else 0) | (L.BN_TOK_PARSE_SPECIAL if special else 0)
        toks = L.bn_tokens()
        try:
            check(L.bn_tokenize(self._vocab, text, len(text), flags, byref(toks)), "tokenize")
            return L.tokens_list(toks)
        finally:
            L.bn_tokens_free(byref(toks))

    def detokenize(self, tokens, special=False):
        """Bytes of tokens (bn_detokenize: always well-formed UTF-8; a
        sequence cut short becomes U+FFFD). special: render control tokens."""
        self._check_open()
        ids = self._check_ids(tokens, L.bn_vocab_n_tokens(self._vocab))
        text = L.bn_text()
        try:
            check(L.bn_detokenize(self._vocab, L.int32_array(ids), len(ids),
                                  L.BN_DETOK_SPECIAL if special else 0, byref(text)), "detokenize")
            return L.text_bytes(text)
        finally:
            L.bn_text_free(byref(text))

    @staticmethod
    def _check_ids(tokens, n):
        try:
            ids = list(tokens)
        except TypeError:
            raise ValueError("expected a sequence of token ids, got %s" % type(tokens).__name__)
        for t in ids:
            if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t < n:
                raise ValueError("token id %r outside the vocabulary of %d" % (t, n))
        return ids

    # ---- generation ------------------------------------------------------------------
    def _sampler_params(self, temperature, top_p, top_k, min_p, repeat_penalty, repeat_last_n,
                        frequency_penalty, presence_penalty, seed):
        if seed is None:
            seed = self.seed
        if seed is None:
            seed = int.from_bytes(os.urandom(8), "little")
        sp = L.bn_sampler_params()
        L.bn_sampler_params_init(byref(sp))
        try:
            sp.temperature, sp.top_p, sp.min_p = float(temperature), float(top_p), float(min_p)
            sp.repeat_penalty = float(repeat_penalty)
            sp.frequency_penalty, sp.presence_penalty = float(frequency_penalty), float(presence_penalty)
        except TypeError as e:
            raise ValueError("sampling parameters must be numbers: %s" % e)
        sp.top_k = _int_arg("top_k", top_k, 0, 2**31 - 1)
        sp.repeat_last_n = _int_arg("repeat_last_n", repeat_last_n, 0, L.BN_SAMPLER_MAX_LAST_N)
        sp.seed = _int_arg("seed", seed, 0, 2**64 - 1)
        # The C library is the judge of the ranges (top_p in (0, 1], ...).
        if L.bn_sampler_params_check(byref(sp)) != L.BN_OK:
            raise ValueError(L.last_error())
        return sp

    def _prompt_ids(self, prompt):
        if isinstance(prompt, (str, bytes, bytearray)):
            ids = self.tokenize(prompt, add_bos=True)  # as `bitnet run` does
        else:
            ids = self._check_ids(prompt, self._n_vocab)
        return ids

    def _prepare(self, ids, max_tokens, stop, sampling):
        self._check_open()
        n_predict = _int_arg("max_tokens", max_tokens, 0, allow_none=True)
        if not ids:
            raise ValueError("the prompt is empty")
        if len(ids) >= self.n_ctx():
            raise ValueError("the prompt is %d tokens but the context holds %d" % (len(ids), self.n_ctx()))
        sp = self._sampler_params(**sampling)
        return ids, -1 if n_predict is None else n_predict, sp, _stop_list(stop)

    def _generate(self, ids, n_predict, sp, stops, text_start, result):
        """Yield text pieces (host/generate.c's loop plus stop strings); set
        result["finish_reason"] and result["completion_tokens"] at the end.
        text_start: the output begins a text of its own (a chat reply, a
        prompt with no text), so a SentencePiece prefix space is dropped."""
        self._check_open()
        self._gen += 1
        me, sess, vocab = self._gen, self._session, self._vocab
        sampler_free, text_free = L.bn_sampler_free, L.bn_text_free  # usable in a late finally
        L.bn_session_reset(sess)
        smp = ctypes.c_void_p()
        check(L.bn_sampler_create(byref(sp), self._n_vocab, byref(smp)), "creating the sampler")
        text = L.bn_text()
        try:
            check(L.bn_session_eval(sess, L.int32_array(ids), len(ids), self._logits, 0),
                  "evaluating the prompt")
            for t in ids:
                check(L.bn_sampler_accept(smp, t), "sampler")
            dt = L.bn_detok()
            L.bn_detok_init(byref(dt), vocab, L.BN_DETOK_STRIP_PREFIX if text_start else 0)
            matcher = StopMatcher(stops)
            tok = ctypes.c_int32()
            n, finish, stopped = 0, "length", False
            while n_predict < 0 or n < n_predict:
                check(L.bn_sampler_sample(smp, self._logits, byref(tok)), "sampling")
                check(L.bn_sampler_accept(smp, tok.value), "sampler")
                n += 1
                if L.bn_vocab_is_eog(vocab, tok.value):
                    finish = "stop"
                    break
                result["completion_tokens"] += 1
                text.len = 0
                check(L.bn_detok_push(byref(dt), tok.value, byref(text)), "detokenize")
                out, stopped = matcher.feed(L.text_bytes(text).decode("utf-8"))
                if out:
                    yield out
                    if self._gen != me or self._closed:
                        raise RuntimeError("this stream was superseded by a later call on the same "
                                           "Bitnet (one session), or the Bitnet was closed")
                if stopped:
                    finish = "stop"
                    break
                # As the CLI: the last token stays un-evaluated.
                if L.bn_session_pos(sess) >= L.bn_session_n_ctx(sess) or n == n_predict:
                    break
                check(L.bn_session_eval(sess, byref(tok), 1, self._logits, 0), "decoding")
            if not stopped:
                text.len = 0
                check(L.bn_detok_flush(byref(dt), byref(text)), "detokenize")
                out, stopped = matcher.feed(L.text_bytes(text).decode("utf-8"))
                out += "" if stopped else matcher.finish()
                finish = "stop" if stopped else finish
                if out:
                    yield out
            result["finish_reason"] = finish
        finally:
            text_free(byref(text))
            sampler_free(smp)

    def _meta(self, prefix):
        return {"id": "%s-%s" % (prefix, uuid.uuid4().hex), "created": int(time.time()),
                "model": self.model_path}

    @staticmethod
    def _usage(n_prompt, result):
        return {"prompt_tokens": n_prompt, "completion_tokens": result["completion_tokens"],
                "total_tokens": n_prompt + result["completion_tokens"]}

    def create_completion(self, prompt, max_tokens=16, temperature=0.8, top_p=0.95, top_k=40,
                          min_p=0.05, repeat_penalty=1.0, repeat_last_n=64, frequency_penalty=0.0,
                          presence_penalty=0.0, seed=None, stop=None, stream=False):
        """Complete prompt (str/bytes, tokenized with BOS as `bitnet run`
        does, or a list of token ids used as is). max_tokens None: until end
        of text or a full context. temperature 0: greedy. Returns a
        text_completion dict, or with stream=True a generator of chunks."""
        ids, n_predict, sp, stops = self._prepare(
            self._prompt_ids(prompt), max_tokens, stop,
            dict(temperature=temperature, top_p=top_p, top_k=top_k, min_p=min_p,
                 repeat_penalty=repeat_penalty, repeat_last_n=repeat_last_n,
                 frequency_penalty=frequency_penalty, presence_penalty=presence_penalty, seed=seed))
        meta = dict(self._meta("cmpl"), object="text_completion")
        result = {"finish_reason": None, "completion_tokens": 0}
        # As `bitnet run` with an empty prompt: no prompt text, the output starts the text.
        text_start = self.detokenize(ids) == b""
        pieces = self._generate(ids, n_predict, sp, stops, text_start, result)

        def choice(text, finish):
            return {"text": text, "index": 0, "logprobs": None, "finish_reason": finish}

        if not stream:
            text = "".join(pieces)
            return dict(meta, choices=[choice(text, result["finish_reason"])],
                        usage=self._usage(len(ids), result))

        def chunks():
            for piece in pieces:
                yield dict(meta, choices=[choice(piece, None)])
            yield dict(meta, choices=[choice("", result["finish_reason"])])
        return chunks()

    __call__ = create_completion

    def create_chat_completion(self, messages, max_tokens=None, temperature=0.2, top_p=0.95, top_k=40,
                               min_p=0.05, repeat_penalty=1.0, repeat_last_n=64, frequency_penalty=0.0,
                               presence_penalty=0.0, seed=None, stop=None, stream=False):
        """Reply to messages ([{"role": ..., "content": ...}]) rendered with
        the model's chat template as the C library knows it (bn_chat_render;
        see chat_format). Returns a chat.completion dict, or with stream=True
        a generator of chat.completion.chunk dicts."""
        self._check_open()
        ids = self.tokenize(self._render_chat(messages), add_bos=True, special=True)
        ids, n_predict, sp, stops = self._prepare(
            ids, max_tokens, stop,
            dict(temperature=temperature, top_p=top_p, top_k=top_k, min_p=min_p,
                 repeat_penalty=repeat_penalty, repeat_last_n=repeat_last_n,
                 frequency_penalty=frequency_penalty, presence_penalty=presence_penalty, seed=seed))
        meta = self._meta("chatcmpl")
        result = {"finish_reason": None, "completion_tokens": 0}
        pieces = self._generate(ids, n_predict, sp, stops, True, result)  # a reply starts a text
        if not stream:
            text = "".join(pieces)
            return dict(meta, object="chat.completion", usage=self._usage(len(ids), result), choices=[{
                "index": 0, "message": {"role": "assistant", "content": text}, "logprobs": None,
                "finish_reason": result["finish_reason"]}])

        def chunk(delta, finish):
            return dict(meta, object="chat.completion.chunk", choices=[
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}])

        def chunks():
            yield chunk({"role": "assistant"}, None)
            for piece in pieces:
                yield chunk({"content": piece}, None)
            yield chunk({}, result["finish_reason"])
        return chunks()

    def _render_chat(self, messages):
        if isinstance(messages, (str, bytes)) or not messages:
            raise ValueError("messages must be a non-empty list of {'role', 'content'} dicts")
        msgs = (L.bn_chat_msg * len(messages))()
        keep = []  # the encoded strings msgs points into, alive until the call returns
        for i, m in enumerate(messages):
            role, content = (m.get("role"), m.get("content")) if isinstance(m, dict) else (None, None)
            content = "" if content is None else content
            if not isinstance(role, str) or not role or not isinstance(content, str):
                raise ValueError("message %d must have a string 'role' and string 'content'" % i)
            if "\0" in role or "\0" in content:
                raise ValueError("message %d contains a NUL character" % i)
            keep += [role.encode("utf-8"), content.encode("utf-8")]
            msgs[i].role, msgs[i].content = keep[-2], keep[-1]
        text = L.bn_text()
        try:
            check(L.bn_chat_render(self._chat_style, msgs, len(messages), 1, byref(text)), "chat template")
            return L.text_bytes(text)
        finally:
            L.bn_text_free(byref(text))


Llama = Bitnet
