"""archcalc: exact shapes, parameters and MACs/FLOPs of convolutional networks from a YAML spec."""

from archcalc.analysis import analyze, analyze_graph
from archcalc.errors import SpecError
from archcalc.stats import Figures, LayerStats, ModelStats, Row
from archcalc.version import __version__

__all__ = ["Figures", "LayerStats", "ModelStats", "Row", "SpecError", "analyze", "analyze_graph",
           "build_torch", "import_onnx", "import_torch", "validate", "__version__"]


def __getattr__(name: str):
    """`build_torch`, `import_torch`, `import_onnx` and `validate` load on first use: `archcalc table` never pays for them."""
    if name == "build_torch":
        from archcalc.torchmodel import build_torch

        return build_torch
    if name == "import_torch":
        from archcalc.importers import import_torch

        return import_torch
    if name == "import_onnx":
        from archcalc.importers import import_onnx

        return import_onnx
    if name == "validate":
        from archcalc.validation import validate

        return validate
    raise AttributeError(f"module 'archcalc' has no attribute '{name}'")
