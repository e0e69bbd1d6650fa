"""Shared fixtures: the bundled model, loaded once, and the CLI of the same
install (bin/ beside the lib/ that holds the loaded libbitnet)."""
import os
import subprocess

import pytest

import bitnet

THREADS = 2  # the same for the bindings and the CLI, so both run the same kernels


@pytest.fixture(scope="session")
def model_path():
    return bitnet.default_model_path()


@pytest.fixture(scope="session")
def llm(model_path):
    with bitnet.Bitnet(model_path, n_threads=THREADS) as m:
        yield m


@pytest.fixture(scope="session")
def cli():
    """Path of `bitnet`: $BITNET_CLI, else <prefix>/bin/bitnet of the loaded library."""
    path = os.environ.get("BITNET_CLI") or os.path.join(
        os.path.dirname(os.path.dirname(bitnet.library_path)), "bin", "bitnet")
    if not os.access(path, os.X_OK):
        # The wheel ships bin/bitnet; only a BITNET_LIBRARY pointing elsewhere may lack it.
        if "BITNET_LIBRARY" in os.environ:
            pytest.skip("no bitnet CLI beside %s (set BITNET_CLI)" % bitnet.library_path)
        pytest.fail("the installed package has no CLI at %s" % path)

    def run(*args, stdin=None):
        p = subprocess.run([path, *args], input=stdin, capture_output=True, check=False)
        assert p.returncode == 0, p.stderr.decode(errors="replace")
        return p.stdout.decode("utf-8")
    return run
