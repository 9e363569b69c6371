"""Entropy coding of codec tokens: a context model fit on a codec's training tokens, the chunked `.ckc`
file format, and range coding through `constriction`.

    codeckit compress fit --model M DATA...          # fit the context model into M
    codeckit compress IN... --model M --out DIR      # audio or token files -> .ckc
    codeckit decompress IN... --model M --out DIR    # .ckc -> audio (or --tokens)

Names are imported on first use, so `import codeckit.compress` does not load the coder.
"""

from codeckit.compress.errors import CompressError

_LAZY = {
    "ContextConfig": "codeckit.compress.model",
    "ContextModel": "codeckit.compress.model",
    "CodecSpec": "codeckit.compress.model",
    "fit_context_model": "codeckit.compress.fit",
    "load_context_model": "codeckit.compress.storage",
    "save_context_model": "codeckit.compress.storage",
    "has_context_model": "codeckit.compress.storage",
    "CompressedReader": "codeckit.compress.reader",
    "ChunkWriter": "codeckit.compress.writer",
    "compress_codes": "codeckit.compress.files",
    "decompress_file": "codeckit.compress.files",
    "compressed_bits": "codeckit.compress.files",
}

__all__ = ["CompressError", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'codeckit.compress' has no attribute {name!r}")
