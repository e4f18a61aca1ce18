"""The inference peak as torch's own MemTracker measures it, on fake tensors: the model is built
and run without allocating, so any model size works on any machine."""

from __future__ import annotations

from typing import NamedTuple

import torch

from archcalc.graph import Graph

TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
                "float64": torch.float64}


class TrackedPeak(NamedTuple):
    """MemTracker's peak snapshot, in bytes: its Parameter, Buffer and Activation categories
    (at inference it files nothing under Gradient, Temp or Optstate) and its Total."""

    parameters: int
    buffers: int
    activations: int
    total: int


def tracked_peak(graph: Graph, shape: tuple[int, ...], dtype: str = "float32") -> TrackedPeak:
    """Build `graph` on fake tensors in `dtype`, make an input of `shape` (batch first) before the
    tracker starts, and run one forward pass in eval mode without gradients under MemTracker."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.distributed._tools.mem_tracker import MemTracker

    with FakeTensorMode():
        model, x = _built(graph, shape, TORCH_DTYPES[dtype])
        tracker = MemTracker()
        with torch.no_grad(), tracker:
            model(x)
    snapshot = {str(getattr(key, "value", key)): size for device in tracker.get_tracker_snapshot("peak").values()
                for key, size in device.items()}
    return TrackedPeak(*(snapshot.get(key, 0) for key in ("Parameter", "Buffer", "Activation", "Total")))


def _built(graph: Graph, shape: tuple[int, ...], dtype: torch.dtype):
    """The model and an input in `dtype` (made so by the default dtype: fake parameters cannot be
    converted after they are made)."""
    from archcalc.torchmodel import build_graph

    default = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        return build_graph(graph, shape[1:], shape[0]).eval(), torch.randn(shape)
    finally:
        torch.set_default_dtype(default)
