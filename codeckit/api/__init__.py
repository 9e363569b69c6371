"""The Python API for speech LMs: `load` a codec, `tokenize` audio into codes, `detokenize` codes back to audio.

    codec = codeckit.load("path/to/model_dir")          # or a name in the model cache folder, or "hf:ORG/NAME"
    tokens = codec.tokenize(["a.wav", "b.flac"])          # Tokens: padded codes per level + lengths
    audio = codec.detokenize(tokens)                      # list of (channels, samples) tensors

Inputs are converted at the edge, once (codeckit.audio): files and arrays are down-mixed to the codec's
channels and resampled (soxr) to its rate. Items up to one chunk window long are coded in one pass
(batched); longer ones in chunks of `chunk_seconds`, cut at multiples of the codec's `pad_multiple`
(planned by `codeckit.chunking`):

- causal codecs whose encoder (decoder) streams exactly (every layer with memory keeps its state, see
  `codeckit.nn.streaming`) run chunk after chunk with carried state: the result is the single pass's.
- other codecs use overlap-save: each chunk runs with `context_seconds` of real signal (or codes) on
  both sides and only the chunk's own codes (samples) are kept. While the context covers the model's
  receptive field, a chunk sees exactly what a single pass gives it, so results agree up to float
  rounding and no crossfade is needed (a decoder's NoiseBlock noise is drawn per chunk window).

Files are read block by block, so peak memory does not grow with the file's length. Modules: `loading`
(`load`, `resolve_model`), `model` (`CodecModel`), `inputs` (reading inputs); `Tokens` is `codeckit.tokens.batch`'s and
`chunked` (coding one long item).
"""

from codeckit.api.inputs import AudioInput
from codeckit.api.loading import load, resolve_model
from codeckit.api.model import CodecModel
from codeckit.modeldir import DEFAULT_CACHE
from codeckit.tokens.batch import Tokens

__all__ = ["DEFAULT_CACHE", "AudioInput", "CodecModel", "Tokens", "load", "resolve_model"]
