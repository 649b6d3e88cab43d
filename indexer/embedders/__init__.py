"""Text embedders: the protocol (base), sentence-transformers on torch, ONNX Runtime, the ONNX export,
query micro-batching, and the factory that picks one from the settings.

Import direction inside the package: factory -> backends -> base; onnx_export -> torch_backend.
"""
