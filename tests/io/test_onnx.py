import pytest
import torch

from robusthep.errors import DataError, ModelFileError
from robusthep.io import OnnxModel, export_onnx
from robusthep.nn import MonotonicWrapper, lipschitz_mlp


@pytest.mark.parametrize("group_size", [2, 4, 8])
def test_onnx_matches_torch(group_size, tmp_path):
    net = lipschitz_mlp(5, hidden=(16, 16), group_size=group_size, lipschitz=3.0)
    model = MonotonicWrapper(net, increasing=[0]).eval()
    onnx_model = OnnxModel(export_onnx(model, tmp_path / "m.onnx", in_features=5))
    x = torch.randn(1000, 5) * 4
    with torch.no_grad():
        assert (onnx_model(x) - model(x)).abs().max() < 1e-5


def test_onnx_graph_needs_no_custom_ops(tmp_path):
    import onnx

    path = export_onnx(lipschitz_mlp(3, hidden=(4,)), tmp_path / "m.onnx", in_features=3)
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert ops <= {
        "Gemm",
        "MatMul",
        "Add",
        "Max",
        "Min",
        "Concat",
        "Split",
        "Slice",
        "Constant",
        "Shape",
        "Gather",
        "TopK",
        "Reshape",
        "Unsqueeze",
        "Mul",
        "Div",
        "Sub",
        "Transpose",
        "Squeeze",
    }, ops


def test_bad_onnx_inputs(tmp_path):
    path = export_onnx(lipschitz_mlp(3, hidden=(4,)), tmp_path / "m.onnx", in_features=3)
    with pytest.raises(DataError, match=r"\(batch, 3\)"):
        OnnxModel(path)(torch.randn(2, 4))
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="onnxruntime cannot load"):
        OnnxModel(tmp_path / "bad.onnx")
