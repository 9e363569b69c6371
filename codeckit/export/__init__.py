"""ONNX export, streaming state, and the torch-free onnxruntime runner."""
