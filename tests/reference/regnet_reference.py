"""Write tests/reference/regnet.json: torchvision's RegNets counted module by module.

Not part of the test suite, and torchvision is no dependency of archcalc: run it in a throw-away
environment with torch, torchvision and fvcore (the file was made with torch 2.14.1, torchvision
0.29.1 and fvcore 0.1.5.post20221221, on the CPU):

    python tests/reference/regnet_reference.py > tests/reference/regnet.json

Each model is built with weights=None in eval mode and run once on a 1×3×S×S input, S its DEFAULT
weights' crop size (384 for regnet_y_128gf, 224 for the others). For every leaf module call, in
call order, it records fvcore's count (FlopCountAnalysis.by_module: MACs of convolutions and
linear layers, plus batch norm and adaptive average pooling element counts) and FlopCounterMode's
(FLOPs, 2 per multiply-add); the calls where both are 0 (ReLU, Sigmoid) are left out.
"""

import json
import sys

import torch
import torchvision
from fvcore.nn import FlopCountAnalysis
from torch.utils.flop_counter import FlopCounterMode

MODELS = [f"regnet_x_{size}" for size in ("400mf", "800mf", "1_6gf", "3_2gf", "8gf", "16gf", "32gf")] + \
         [f"regnet_y_{size}" for size in ("400mf", "800mf", "1_6gf", "3_2gf", "8gf", "16gf", "32gf", "128gf")]


def leaf_calls(model: torch.nn.Module, x: torch.Tensor) -> list[str]:
    """Names of the leaf modules in the order the forward pass calls them."""
    calls, hooks = [], []
    for name, module in model.named_modules():
        if not list(module.children()):
            hooks.append(module.register_forward_pre_hook(lambda m, i, name=name: calls.append(name)))
    with torch.no_grad():
        model(x)
    for hook in hooks:
        hook.remove()
    return calls


def counts(name: str) -> dict:
    model = torchvision.models.get_model(name, weights=None).eval()
    size = torchvision.models.get_model_weights(name).DEFAULT.transforms().crop_size[0]
    x = torch.randn(1, 3, size, size)
    calls = leaf_calls(model, x)
    fvcore = FlopCountAnalysis(model, x)
    fvcore.unsupported_ops_warnings(False)
    by_module = fvcore.by_module()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    flops = counter.get_flop_counts()
    root = type(model).__name__
    pairs = [[by_module.get(call, 0), sum(flops.get(f"{root}.{call}", {}).values())] for call in calls]
    return {"input": [1, 3, size, size], "counts": [pair for pair in pairs if pair != [0, 0]]}


def main() -> None:
    torch.set_num_threads(1)
    models = {name: counts(name) for name in MODELS}
    sys.stdout.write("{\n" f'  "source": "torch {torch.__version__}, torchvision {torchvision.__version__}, '
                     'fvcore 0.1.5; weights=None, eval, batch 1, CPU; per leaf module call with a nonzero count: '
                     '[fvcore by_module, FlopCounterMode FLOPs]",\n  "models": {\n')
    lines = [f'    "{name}": {{"input": {json.dumps(m["input"])}, "counts": {json.dumps(m["counts"], separators=(",", ":"))}}}'
             for name, m in models.items()]
    sys.stdout.write(",\n".join(lines) + "\n  }\n}\n")


if __name__ == "__main__":
    main()
