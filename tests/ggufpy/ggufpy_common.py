"""Shared helpers for the gguf-py cross-checks (check_reader.py, check_quants.py).

gguf-py (llama.cpp's gguf package from PyPI) is the independent side: its
GGUFReader parses every file, its quants module (de)quantises. A missing
package is a test FAILURE, never a skip.
"""
import sys

try:
    import numpy as np
    import gguf
    from gguf import GGMLQuantizationType, GGUFValueType
    from gguf.gguf_reader import ReaderField
except ImportError as e:  # pragma: no cover - the point is to fail loudly
    print(f"FAIL: the gguf-py cross-check needs the Python packages 'gguf' and 'numpy' "
          f"(pip install gguf numpy; scripts/install-deps.sh installs them): {e}", file=sys.stderr)
    sys.exit(1)

GGUF_META = ("GGUF.version", "GGUF.tensor_count", "GGUF.kv_count")
I2_S = 36  # BitNet's fork id; unknown to gguf-py (upstream retired ids 36-38)


class RawTensor:
    """A tensor of a type gguf-py does not know (I2_S), built from the
    tensor-table entry gguf-py parsed; its bytes are taken by offset and
    the size the type's definition gives (I2_S: n/4 packed bytes + 32 bytes
    of float32 scale and padding)."""

    def __init__(self, reader, field, start_offs):
        _nl, name_data, _nd, dims, raw_dtype, offset_tensor = field.parts
        self.name = str(bytes(name_data), encoding="utf-8")
        self.tensor_type = int(raw_dtype[0])
        self.shape = dims
        self.n_elements = int(np.prod(dims))
        if self.tensor_type != I2_S:
            raise ValueError(f"tensor {self.name}: type id {self.tensor_type} unknown to gguf-py and to this test")
        self.n_bytes = self.n_elements // 4 + 32
        self.data_offset = int(start_offs + offset_tensor[0])
        self.data = reader.data[self.data_offset:self.data_offset + self.n_bytes]
        self.field = field


class Reader(gguf.GGUFReader):
    """gguf.GGUFReader, unchanged in what it parses, with two additions:

    * the file is held as a plain ndarray view of the np.memmap gguf-py maps
      (np.asarray), not the memmap itself: numpy's memmap subclass hooks made
      parsing a 128k-token vocabulary take 32 s instead of 11 s; the bytes
      and gguf-py's parsing code are the same.
    * tensors whose type id gguf-py does not know (I2_S = 36 from BitNet's
      llama.cpp fork) would make GGMLQuantizationType(36) raise in
      _build_tensors; gguf-py builds all the others, and those become
      RawTensor (table entry as gguf-py parsed it, bytes by offset).
    """

    @property
    def data(self):
        return self._raw

    @data.setter
    def data(self, v):
        self._raw = np.asarray(v) if isinstance(v, np.memmap) else v

    def _build_tensors(self, start_offs, fields):
        known, unknown = [], []
        for f in fields:
            try:
                GGMLQuantizationType(int(f.parts[4][0]))
                known.append(f)
            except ValueError:
                unknown.append(f)
        super()._build_tensors(start_offs, known)
        built = {id(t.field): t for t in self.tensors}
        self.tensors = [built[id(f)] if id(f) in built else RawTensor(self, f, start_offs) for f in fields]
        self.n_raw_tensors = len(unknown)


def _walk(parts, i, vtype):
    """Value of type vtype starting at parts[i] (gguf-py's parts list of a
    field, which it fills in file order: a string is [len, bytes], a scalar
    [value], an array [elem type, count, elements...] recursively - nested
    arrays included, which ReaderField.contents() cannot return).
    Returns (canonical value, next index), in the encoding ggufpy-dump uses."""
    vt = GGUFValueType(vtype)
    if vt == GGUFValueType.STRING:
        assert int(parts[i][0]) == parts[i + 1].nbytes
        return "s:" + parts[i + 1].tobytes().hex(), i + 2
    if vt == GGUFValueType.ARRAY:
        et, n = int(parts[i][0]), int(parts[i + 1][0])
        i += 2
        if et == GGUFValueType.STRING:  # the fast path for vocabularies: [len, bytes] pairs
            lens = parts[i:i + 2 * n:2]
            strs = parts[i + 1:i + 2 * n:2]
            if any(int(ln[0]) != s.nbytes for ln, s in zip(lens, strs)):
                raise AssertionError("string length part disagrees with its bytes")
            return {"et": et, "n": n, "items": ["s:" + s.tobytes().hex() for s in strs]}, i + 2 * n
        items = []
        for _ in range(n):
            v, i = _walk(parts, i, et)
            items.append(v)
        return {"et": et, "n": n, "items": items}, i
    a = parts[i]
    if vt == GGUFValueType.FLOAT32:
        return "f32:%08x" % int(a.view(np.uint32)[0]), i + 1
    if vt == GGUFValueType.FLOAT64:
        return "f64:%016x" % int(a.view(np.uint64)[0]), i + 1
    if vt == GGUFValueType.BOOL:
        return int(bool(a[0])), i + 1
    return int(a[0]), i + 1


def _contents_canonical(field):
    """The same value through gguf-py's public accessor ReaderField.contents()
    (scalars and flat arrays only; None where it does not apply)."""
    t0 = field.types[0]
    if t0 == GGUFValueType.ARRAY and (len(field.types) != 2 or field.types[1] == GGUFValueType.ARRAY):
        return None  # nested (contents() flattens) or empty (no element type recorded)
    try:
        c = field.contents()
    except UnicodeDecodeError:
        return None  # contents() decodes strings as UTF-8; the raw bytes are compared anyway
    et = field.types[-1]

    def conv(x):
        if et == GGUFValueType.STRING:
            return "s:" + x.encode("utf-8").hex()
        if et == GGUFValueType.FLOAT32:
            return "f32:%08x" % int(np.array([x], dtype=np.float32).view(np.uint32)[0])
        if et == GGUFValueType.FLOAT64:
            return "f64:%016x" % int(np.array([x], dtype=np.float64).view(np.uint64)[0])
        return int(x)

    if t0 == GGUFValueType.ARRAY:
        return {"et": int(et), "n": len(c), "items": [conv(x) for x in c]}
    return conv(c)


def _crc32(a):
    import zlib
    return zlib.crc32(np.ascontiguousarray(a).view(np.uint8).reshape(-1).tobytes()) & 0xFFFFFFFF


def _fmt(v, limit=120):
    s = repr(v)
    return s if len(s) <= limit else s[:limit] + "..."


def _first_diff(a, b):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                if k == "items" and isinstance(a.get(k), list) and isinstance(b.get(k), list):
                    for j, (x, y) in enumerate(zip(a[k], b[k])):
                        if x != y:
                            return f"item {j}: ours {_fmt(x)} gguf-py {_fmt(y)}"
                    return f"items: ours {len(a[k])} gguf-py {len(b[k])}"
                return f"{k}: ours {_fmt(a.get(k))} gguf-py {_fmt(b.get(k))}"
    return f"ours {_fmt(a)} gguf-py {_fmt(b)}"


DEQ_TYPES = {GGMLQuantizationType.F16, GGMLQuantizationType.BF16, GGMLQuantizationType.Q8_0,
             GGMLQuantizationType.Q6_K, GGMLQuantizationType.TQ1_0, GGMLQuantizationType.TQ2_0}


def compare(ours, reader, deq_blob, label):
    """Compare ggufpy-dump's JSON (`ours`, plus its dequantised floats in
    deq_blob) with gguf-py's reading of the same file. Returns (problems,
    stats); each problem is one line naming the file and the field."""
    probs = []
    st = {"keys": 0, "tensors": 0, "deq": 0, "raw": 0, "contents": 0, "bytes": 0}

    def bad(msg):
        probs.append(f"{label}: {msg}")

    f = reader.fields
    hdr = {
        "version": int(f["GGUF.version"].parts[0][0]),
        "tensor_count": int(f["GGUF.tensor_count"].parts[0][0]),
        "kv_count": int(f["GGUF.kv_count"].parts[0][0]),
        "alignment": int(reader.alignment),
        "data_offset": int(reader.data_offset),
        "file_size": int(reader.data.nbytes),
    }
    for k, v in hdr.items():
        if ours[k] != v:
            bad(f"header {k}: ours {ours[k]} gguf-py {v}")

    # ---- metadata: same keys in the same order, same types and values ----
    theirs = [(name, fld) for name, fld in f.items() if name not in GGUF_META]
    if len(theirs) != len(ours["kv"]):
        bad(f"kv count: ours {len(ours['kv'])} gguf-py {len(theirs)}")
    for i, (kv, (name, fld)) in enumerate(zip(ours["kv"], theirs)):
        key = bytes.fromhex(kv["k"])
        kraw = fld.parts[1].tobytes()
        if key != kraw:
            bad(f"kv {i}: key ours {key!r} gguf-py {kraw!r}")
            continue
        kname = key.decode("utf-8", "replace")
        raw_type = int(fld.parts[2][0])
        if kv["t"] != raw_type or int(fld.types[0]) != raw_type:
            bad(f"key {kname}: type ours {kv['t']} gguf-py {raw_type} / {fld.types[0]}")
            continue
        val, end = _walk(fld.parts, 3, raw_type)
        if end != len(fld.parts):
            bad(f"key {kname}: gguf-py parts not consumed ({end} of {len(fld.parts)})")
        if kv["v"] != val:
            bad(f"key {kname}: value differs: {_first_diff(kv['v'], val)}")
        pub = _contents_canonical(fld)
        if pub is not None:
            st["contents"] += 1
            if pub != val:
                bad(f"key {kname}: gguf-py contents() disagrees with its parts: {_first_diff(pub, val)}")
        st["keys"] += 1

    # ---- tensors: table entries, bytes, dequantised values ----
    if len(reader.tensors) != len(ours["tensors"]):
        bad(f"tensor count: ours {len(ours['tensors'])} gguf-py {len(reader.tensors)}")
    for i, (ot, tt) in enumerate(zip(ours["tensors"], reader.tensors)):
        name = bytes.fromhex(ot["name"])
        tname_raw = tt.field.parts[1].tobytes()
        nm = name.decode("utf-8", "replace")
        if name != tname_raw or nm != tt.name:
            bad(f"tensor {i}: name ours {name!r} gguf-py {tname_raw!r}")
            continue
        gtype = int(tt.tensor_type)
        shape = [int(x) for x in tt.shape]
        exp = {
            "ggml_type": gtype,
            "n_dims": len(shape),
            "ne": shape + [1] * (4 - len(shape)),
            "n_elems": int(tt.n_elements),
            "offset": int(tt.field.parts[5][0]),
            "file_offset": int(tt.data_offset),
            "size": int(tt.n_bytes),
        }
        for k, v in exp.items():
            if ot[k] != v:
                bad(f"tensor {nm}: {k} ours {ot[k]} gguf-py {v}")
        if isinstance(tt, RawTensor):
            st["raw"] += 1
            if ot["type_name"] != "I2_S":
                bad(f"tensor {nm}: type id {gtype} is {ot['type_name']} to us, I2_S by size to this test")
        elif ot["type_name"] != tt.tensor_type.name:
            bad(f"tensor {nm}: type name ours {ot['type_name']} gguf-py {tt.tensor_type.name}")
        data = tt.data
        if data.nbytes != tt.n_bytes:
            bad(f"tensor {nm}: gguf-py got {data.nbytes} bytes of {tt.n_bytes} (past the end of the file?)")
        crc = _crc32(data)
        if crc != ot["crc32"]:
            bad(f"tensor {nm}: bytes differ (crc32 ours {ot['crc32']:08x} gguf-py {crc:08x})")
        if tt.data_offset % hdr["alignment"]:
            bad(f"tensor {nm}: data at {tt.data_offset} is not aligned to {hdr['alignment']}")
        st["tensors"] += 1
        st["bytes"] += int(data.nbytes)
        if not isinstance(tt, RawTensor) and tt.tensor_type in DEQ_TYPES:
            if ot["deq"] is None:
                bad(f"tensor {nm}: no dequantisation on our side: {bytes.fromhex(ot['deq_err']).decode()}")
                continue
            off, n = ot["deq"]
            mine = np.frombuffer(deq_blob, dtype=np.uint32, count=n, offset=off)
            ref = np.ascontiguousarray(gguf.quants.dequantize(data, tt.tensor_type), dtype=np.float32).reshape(-1)
            if ref.size != n:
                bad(f"tensor {nm}: dequantised {n} values, gguf-py {ref.size}")
                continue
            diff = np.nonzero(mine != ref.view(np.uint32))[0]
            if diff.size:
                j = int(diff[0])
                bad(f"tensor {nm} ({tt.tensor_type.name}): {diff.size} of {n} dequantised values differ, "
                    f"first at {j}: ours {mine[j:j+1].view(np.float32)[0]!r} gguf-py {ref[j]!r}")
            st["deq"] += 1
    return probs, st
