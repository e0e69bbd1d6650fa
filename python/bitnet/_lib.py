"""Low-level layer: libbitnet through ctypes, mirroring core/include/bitnet/*.h.

Names, structs and constants keep their C spelling (bn_*, BN_*) so the C
headers are the documentation. Only what a host needs to run a model is
declared: settings, engine, model, session, sampler, vocabulary, streaming
decoding and chat templates. Every function returning bn_status is meant to
go through check(), which raises BitnetError with bn_last_error().
"""

import ctypes
import os
from ctypes import (POINTER, Structure, byref, c_char, c_char_p, c_float, c_int, c_int32,
                    c_size_t, c_uint, c_uint32, c_uint64, c_ubyte, c_void_p)

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))

# ---- status codes (bn_status, backend.h) -----------------------------------
BN_OK = 0
BN_ERR_INVALID = -1
BN_ERR_NOMEM = -2
BN_ERR_UNSUPPORTED = -3
BN_ERR_IO = -4
BN_ERR_FORMAT = -5
BN_ERR_DEVICE = -6
BN_ERR_ABI = -7
BN_ERR_NOT_FOUND = -8
BN_ERR_INTERNAL = -9

BN_LOG_ERROR, BN_LOG_WARN, BN_LOG_INFO, BN_LOG_DEBUG = 0, 1, 2, 3
BN_KERNEL_AUTO, BN_KERNEL_MAD, BN_KERNEL_TL1, BN_KERNEL_TL2 = 0, 1, 2, 3
BN_TYPE_F32, BN_TYPE_F16, BN_TYPE_Q8_0 = 0, 1, 8

# tokenizer.h flags
BN_TOK_ADD_SPECIAL = 1 << 0
BN_TOK_PARSE_SPECIAL = 1 << 1
BN_DETOK_SPECIAL = 1 << 0
BN_DETOK_STRIP_PREFIX = 1 << 1
BN_CHAT_PLAIN, BN_CHAT_LLAMA3, BN_CHAT_BITNET = 0, 1, 2
BN_SAMPLER_MAX_LAST_N = 1 << 20


# ---- structs -----------------------------------------------------------------
class bn_settings(Structure):
    _fields_ = [("backend", c_char_p), ("deny", c_char_p), ("plugin_path", c_char_p),
                ("model", c_char_p), ("kernel", c_char_p), ("threads", c_int),
                ("pin_threads", c_int), ("log_level", c_int), ("config_file", c_char_p),
                ("kv_page_tokens", c_int), ("kv_budget_bytes", c_uint64)]


class bn_cli_overrides(Structure):
    _fields_ = [("config_path", c_char_p), ("backend", c_char_p), ("deny", c_char_p),
                ("plugin_path", c_char_p), ("model", c_char_p), ("kernel", c_char_p),
                ("threads", c_int), ("pin_threads", c_int), ("log_level", c_int)]


class bn_plugin_report(Structure):
    _fields_ = [("name", c_char_p), ("path", c_char_p), ("version", c_char_p),
                ("abi_major", c_int), ("abi_minor", c_int), ("score", c_int),
                ("reason", c_char_p), ("usable", c_int), ("chosen", c_int)]


class bn_hparams(Structure):
    _fields_ = [("arch_name", c_char * 32)] + [(n, c_int32) for n in (
        "arch", "n_vocab", "n_ctx_train", "n_embd", "n_layer", "n_ff", "n_head", "n_head_kv",
        "head_dim", "n_rot", "rope_style", "act")] + [
        ("rope_freq_base", c_float), ("rope_freq_scale", c_float), ("norm_eps", c_float),
        ("has_sub_norms", c_int32), ("tied_embeddings", c_int32)]


class bn_mem_plan(Structure):
    _fields_ = [("weight_bytes", c_uint64 * 64)] + [(n, c_uint64) for n in (
        "weight_total", "kv_bytes_per_token", "kv_total", "scratch_bytes", "total", "available")] + [
        ("n_ctx", c_int32), ("n_batch", c_int32), ("kv_type", c_int32)]


class bn_model_opts(Structure):
    _fields_ = [(n, c_int32) for n in ("n_ctx", "n_batch", "kernel", "kv_type", "no_mem_check",
                                       "lm_head_type")]


class bn_sampler_params(Structure):
    _fields_ = [("temperature", c_float), ("top_k", c_int32), ("top_p", c_float),
                ("min_p", c_float), ("repeat_penalty", c_float), ("repeat_last_n", c_int32),
                ("frequency_penalty", c_float), ("presence_penalty", c_float), ("seed", c_uint64)]


class bn_sampler_candidate(Structure):
    _fields_ = [("id", c_int32), ("logit", c_float), ("p", c_float)]


class bn_tokens(Structure):
    _fields_ = [("ids", POINTER(c_int32)), ("n", c_size_t), ("cap", c_size_t)]


class bn_text(Structure):
    # data as POINTER(c_char), not c_char_p: the bytes may hold NULs and are
    # read with string_at(data, len).
    _fields_ = [("data", POINTER(c_char)), ("len", c_size_t), ("cap", c_size_t)]


BN_DETOK_RUN_MAX = 128


class bn_detok(Structure):
    # Allocated by the caller and written by the library: this layout must
    # be the header's exactly (tests/test_abi.py compares them).
    _fields_ = [("vocab", c_void_p), ("flags", c_uint), ("started", c_int),
                ("pend", c_ubyte * 4), ("npend", c_size_t),
                ("run", c_ubyte * BN_DETOK_RUN_MAX), ("nrun", c_size_t)]


class bn_chat_msg(Structure):
    _fields_ = [("role", c_char_p), ("content", c_char_p)]


# ---- loading -------------------------------------------------------------------
def _library_path():
    env = os.environ.get("BITNET_LIBRARY")
    if env:
        return env
    return os.path.join(_PKG_DIR, "lib", "libbitnet.so")


library_path = _library_path()
if not os.path.exists(library_path):
    raise ImportError(
        "bitnet: no libbitnet at %s (install the package with pip, or point BITNET_LIBRARY "
        "at a built libbitnet.so)" % library_path)
# Opened by its full path: the core locates plugins and the bundled model
# relative to the file it was loaded from (dladdr), so this must be the real
# install tree, not a copy found elsewhere on the loader path.
lib = ctypes.CDLL(library_path)

_vp = c_void_p
_pvp = POINTER(c_void_p)
_st = c_int  # bn_status

# (name, restype, argtypes)
_FUNCS = [
    ("bn_version", c_char_p, []),
    ("bn_status_str", c_char_p, [_st]),
    ("bn_last_error", c_char_p, []),
    ("bn_log_set_level", None, [c_int]),
    ("bn_log_get_level", c_int, []),
    ("bn_isa_from_name", c_uint32, [c_char_p]),
    # configuration
    ("bn_cli_overrides_init", None, [POINTER(bn_cli_overrides)]),
    ("bn_settings_resolve", _st, [POINTER(bn_cli_overrides), POINTER(bn_settings)]),
    ("bn_settings_free", None, [POINTER(bn_settings)]),
    ("bn_default_model_path", _st, [POINTER(c_char), c_size_t]),
    # engine
    ("bn_engine_create", _st, [POINTER(bn_settings), _pvp]),
    ("bn_engine_free", None, [_vp]),
    ("bn_engine_threads", c_int, [_vp]),
    ("bn_engine_plugin_count", c_size_t, [_vp]),
    ("bn_engine_plugin", POINTER(bn_plugin_report), [_vp, c_size_t]),
    ("bn_engine_search_path", c_char_p, [_vp]),
    # model and session
    ("bn_model_opts_init", None, [POINTER(bn_model_opts)]),
    ("bn_model_read_hparams", _st, [c_char_p, POINTER(bn_hparams)]),
    ("bn_model_load", _st, [_vp, c_char_p, POINTER(bn_model_opts), _pvp]),
    ("bn_model_free", None, [_vp]),
    ("bn_model_hparams", POINTER(bn_hparams), [_vp]),
    ("bn_model_mem_plan", POINTER(bn_mem_plan), [_vp]),
    ("bn_model_backend_name", c_char_p, [_vp]),
    ("bn_model_gguf", _vp, [_vp]),
    ("bn_session_create", _st, [_vp, _pvp]),
    ("bn_session_free", None, [_vp]),
    ("bn_session_reset", None, [_vp]),
    ("bn_session_pos", c_int32, [_vp]),
    ("bn_session_n_ctx", c_int32, [_vp]),
    ("bn_session_eval", _st, [_vp, POINTER(c_int32), c_int32, POINTER(c_float), c_int]),
    # sampler
    ("bn_sampler_params_init", None, [POINTER(bn_sampler_params)]),
    ("bn_sampler_params_check", _st, [POINTER(bn_sampler_params)]),
    ("bn_sampler_create", _st, [POINTER(bn_sampler_params), c_int32, _pvp]),
    ("bn_sampler_free", None, [_vp]),
    ("bn_sampler_reset", None, [_vp]),
    ("bn_sampler_accept", _st, [_vp, c_int32]),
    ("bn_sampler_sample", _st, [_vp, POINTER(c_float), POINTER(c_int32)]),
    ("bn_sampler_candidates", _st, [_vp, POINTER(c_float),
                                    POINTER(POINTER(bn_sampler_candidate)), POINTER(c_size_t)]),
    # vocabulary
    ("bn_vocab_load_gguf", _st, [_vp, _pvp]),
    ("bn_vocab_free", None, [_vp]),
    ("bn_vocab_model_name", c_char_p, [_vp]),
    ("bn_vocab_n_tokens", c_int32, [_vp]),
    ("bn_vocab_bos", c_int32, [_vp]),
    ("bn_vocab_eos", c_int32, [_vp]),
    ("bn_vocab_eot", c_int32, [_vp]),
    ("bn_vocab_add_bos", c_int, [_vp]),
    ("bn_vocab_add_eos", c_int, [_vp]),
    ("bn_vocab_is_eog", c_int, [_vp, c_int32]),
    ("bn_vocab_token_text", c_char_p, [_vp, c_int32]),
    ("bn_vocab_find", c_int32, [_vp, c_char_p, c_size_t]),
    ("bn_vocab_chat_template", c_char_p, [_vp]),
    ("bn_tokens_free", None, [POINTER(bn_tokens)]),
    ("bn_text_free", None, [POINTER(bn_text)]),
    ("bn_tokenize", _st, [_vp, c_char_p, c_size_t, c_uint, POINTER(bn_tokens)]),
    ("bn_token_piece", POINTER(c_char), [_vp, c_int32, c_uint, POINTER(c_size_t)]),
    ("bn_detok_init", None, [POINTER(bn_detok), _vp, c_uint]),
    ("bn_detok_push", _st, [POINTER(bn_detok), c_int32, POINTER(bn_text)]),
    ("bn_detok_flush", _st, [POINTER(bn_detok), POINTER(bn_text)]),
    ("bn_detokenize", _st, [_vp, POINTER(c_int32), c_size_t, c_uint, POINTER(bn_text)]),
    # chat templates
    ("bn_chat_detect", c_int, [c_char_p]),
    ("bn_chat_style_name", c_char_p, [c_int]),
    ("bn_chat_render", _st, [c_int, POINTER(bn_chat_msg), c_size_t, c_int, POINTER(bn_text)]),
]

for _name, _res, _args in _FUNCS:
    _f = getattr(lib, _name)
    _f.restype = _res
    _f.argtypes = _args
    globals()[_name] = _f
del _name, _res, _args, _f


# ---- errors --------------------------------------------------------------------
class BitnetError(RuntimeError):
    """A bn_status other than BN_OK, with bn_last_error()'s message."""

    def __init__(self, status, message, what=None):
        self.status = int(status)
        self.status_name = (bn_status_str(self.status) or b"").decode("utf-8", "replace")
        self.message = message
        self.what = what
        text = "%s (%s)" % (message or "failed", self.status_name)
        super().__init__("%s: %s" % (what, text) if what else text)


def last_error():
    return (bn_last_error() or b"").decode("utf-8", "replace")


def check(status, what=None):
    """Raise BitnetError unless status is BN_OK. Call it right after the C
    call: the message is per thread and the next failing call replaces it."""
    if status != BN_OK:
        raise BitnetError(status, last_error(), what)
    return status


# ---- small helpers shared by the high-level layer ----------------------------------
def version():
    return bn_version().decode()


def default_model_path():
    """bn_default_model_path: the model bundled with this install."""
    buf = ctypes.create_string_buffer(4096)
    check(bn_default_model_path(buf, len(buf)), "bundled model")
    return os.fsdecode(buf.value)


def text_bytes(t):
    """The bytes a bn_text holds."""
    return ctypes.string_at(t.data, t.len) if t.len else b""


def tokens_list(t):
    return t.ids[:t.n] if t.n else []


def int32_array(ids):
    return (c_int32 * len(ids))(*ids)


__all__ = [n for n in globals() if n.startswith(("bn_", "BN_"))] + [
    "BitnetError", "check", "last_error", "lib", "library_path", "version", "default_model_path",
    "text_bytes", "tokens_list", "int32_array", "byref"]
