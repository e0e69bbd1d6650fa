"""bitnet: run 1.58-bit ternary LLMs from Python.

Bitnet (alias Llama) is the high-level class, in the manner of
llama-cpp-python; bitnet._lib mirrors the C API through ctypes.
"""

from ._lib import BitnetError, default_model_path, library_path, version
from .llama import Bitnet, Llama

__version__ = version()

__all__ = ["Bitnet", "Llama", "BitnetError", "default_model_path", "library_path", "version",
           "__version__"]
