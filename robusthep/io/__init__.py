"""Model files: safetensors + JSON (no pickle), and ONNX export."""

from robusthep.io.model_files import FORMAT_VERSION, load_model, save_model
from robusthep.io.onnx import OnnxModel, export_onnx

__all__ = ["FORMAT_VERSION", "OnnxModel", "export_onnx", "load_model", "save_model"]
