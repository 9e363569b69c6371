"""ONNX export of codecs and a torch-free onnxruntime runner.

- `codeckit.export.exporter.export_codec(codec, out_dir)` writes `encoder.onnx` / `decoder.onnx` (offline, dynamic
  batch and length) and, for causal codecs, `encoder_step.onnx` / `decoder_step.onnx` (one streaming step with
  the layers' states as explicit inputs and outputs). Every graph carries the codec declaration and its
  state spec as JSON in the ONNX metadata (`codeckit.export.metadata`).
- `codeckit.export.runner` (numpy + onnxruntime only) encodes, decodes and streams from those files.

This package's `__init__` imports nothing heavy, so the runner loads in a process without torch.
"""
