"""archcalc: exact shapes, parameters and MACs/FLOPs of convolutional networks from a YAML spec."""

from archcalc.analysis import Figures, LayerStats, ModelStats, Row, analyze, analyze_graph
from archcalc.errors import SpecError
from archcalc.torchmodel import build_torch
from archcalc.validation import validate

__version__ = "0.1.0"
__all__ = ["Figures", "LayerStats", "ModelStats", "Row", "SpecError", "analyze", "analyze_graph",
           "build_torch", "validate", "__version__"]
