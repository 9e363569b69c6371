"""Feature extractors as encoders: `mfcc` (with deltas), `logmel`, and `ssl` (HuBERT, WavLM, wav2vec 2.0 / XLS-R
through transformers). Importing registers them; `codeckit.nn` imports this package, so ENCODERS finds them."""

import codeckit.features.logmel  # noqa: F401  (registers encoder "logmel")
import codeckit.features.mfcc  # noqa: F401  (registers encoder "mfcc")
import codeckit.features.ssl  # noqa: F401  (registers encoder "ssl"; transformers is imported only when built)
