"""Write efficientnet.json: torchvision's EfficientNets counted per layer by fvcore and FlopCounterMode.

Not a test and not run by one: it needs torchvision, which archcalc never depends on. Run it in a
throw-away environment (the file was made with torch 2.14.1, torchvision 0.29.1, fvcore
0.1.5.post20221221, Python 3.11, on the CPU):

    python tests/reference/efficientnet_layers.py > tests/reference/efficientnet.json

Each model is built with weights=None in eval mode and run once on 1×3×S×S, S its default weights'
crop size. For every leaf module, in the order of its call, fvcore's count (FlopCountAnalysis
by_module) and FlopCounterMode's (its per-module total) are taken; the file keeps the calls where
either is nonzero, as [fvcore, FlopCounterMode] pairs.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version

import torch
import torchvision
from fvcore.nn import FlopCountAnalysis
from torch.utils.flop_counter import FlopCounterMode

MODELS = [f"efficientnet_b{i}" for i in range(8)] + [f"efficientnet_v2_{size}" for size in "sml"]


def counted_leaves(name: str) -> list[list[int]]:
    """[fvcore, FlopCounterMode] of every leaf module call of `name` that either counts."""
    size = torchvision.models.get_model_weights(name).DEFAULT.transforms().crop_size[0]
    model = torchvision.models.get_model(name, weights=None).eval()
    x = torch.randn(1, 3, size, size)
    calls = []
    hooks = [module.register_forward_pre_hook(lambda *_, module_name=module_name: calls.append(module_name))
             for module_name, module in model.named_modules() if not list(module.children())]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    for hook in hooks:  # fvcore runs the model again
        hook.remove()
    flop_counts = counter.get_flop_counts()
    analysis = FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    by_module = analysis.by_module()
    root = type(model).__name__
    pairs = [[by_module.get(call, 0), sum(flop_counts.get(f"{root}.{call}", {}).values())] for call in calls]
    return [pair for pair in pairs if any(pair)]


def main() -> None:
    torch.set_num_threads(1)
    versions = f"torch {torch.__version__}, torchvision {torchvision.__version__}, fvcore {version('fvcore')}"
    models = {name: counted_leaves(name) for name in MODELS}
    lines = [f'  "source": "tests/reference/efficientnet_layers.py with {versions}",',
             '  "models": {']
    lines += [f'    "{name}": {json.dumps(pairs, separators=(",", ":"))}{"," if i < len(models) - 1 else ""}'
              for i, (name, pairs) in enumerate(models.items())]
    sys.stdout.write("{\n" + "\n".join(lines) + "\n  }\n}\n")


if __name__ == "__main__":
    main()
