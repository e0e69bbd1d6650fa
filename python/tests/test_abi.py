"""The ctypes mirror against the C headers it mirrors: every struct's size
and field offsets, and every BN_* constant, compiled with the C compiler.
Structs such as bn_detok are allocated here and written by the library, so
a field added in C but not here corrupts Python's memory."""
import ctypes
import os
import shutil
import subprocess

import pytest

from bitnet import _lib as L

INCLUDE = os.path.join(os.path.dirname(__file__), "..", "..", "core", "include")
STRUCTS = [n for n, v in vars(L).items()
           if n.startswith("bn_") and isinstance(v, type) and issubclass(v, ctypes.Structure)]
CONSTS = sorted(n for n, v in vars(L).items() if n.startswith("BN_") and isinstance(v, int))


def c_layout(tmp_path):
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc or not os.path.isdir(INCLUDE):
        pytest.skip("needs a C compiler and the source tree's core/include")
    lines = ['#include <bitnet/bitnet.h>', '#include <bitnet/model.h>', '#include <bitnet/sampler.h>',
             '#include <bitnet/tokenizer.h>', '#include <stddef.h>', '#include <stdio.h>',
             'int main(void) {']
    for s in STRUCTS:
        lines.append('printf("%s %%zu\\n", sizeof(%s));' % (s, s))
        for f in getattr(L, s)._fields_:
            lines.append('printf("%s.%s %%zu\\n", offsetof(%s, %s));' % (s, f[0], s, f[0]))
    for c in CONSTS:
        lines.append('printf("%s %%lld\\n", (long long)(%s));' % (c, c))
    lines.append("return 0; }")
    (tmp_path / "abi.c").write_text("\n".join(lines))
    subprocess.run([cc, "-std=c11", "-I", INCLUDE, "abi.c", "-o", "abi"], cwd=tmp_path, check=True)
    out = subprocess.run([str(tmp_path / "abi")], capture_output=True, check=True, text=True).stdout
    return dict(line.rsplit(" ", 1) for line in out.splitlines())


def test_structs_and_constants_match_the_headers(tmp_path):
    c = c_layout(tmp_path)
    py = {}
    for s in STRUCTS:
        t = getattr(L, s)
        py[s] = ctypes.sizeof(t)
        for f in t._fields_:
            py["%s.%s" % (s, f[0])] = getattr(t, f[0]).offset
    py.update({n: getattr(L, n) for n in CONSTS})
    assert {k: int(v) for k, v in c.items()} == py
