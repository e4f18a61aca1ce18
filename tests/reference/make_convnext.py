"""Write tests/reference/convnext.json from torchvision's per-module counts.

Input: the per-module-call lists `layers/<model>.json` measured with torch 2.14.1, torchvision
0.29.1 and fvcore 0.1.5.post20221221 (weights=None, eval mode, CPU, 1×3×224×224): for every leaf
module, fvcore's FlopCountAnalysis count (`fvcore`) and FlopCounterMode's (`fcm`). Output: per
model, the [fvcore, fcm] pair of every leaf module that either counter counts (the others count 0
under both), in call order. Run: python tests/reference/make_convnext.py LAYERS_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

MODELS = ("convnext_tiny", "convnext_small", "convnext_base", "convnext_large")
NOTE = ("torchvision 0.29.1, torch 2.14.1, fvcore 0.1.5.post20221221; weights=None, eval, CPU, "
        "1x3x224x224: per leaf module counted by either counter, in call order, "
        "[fvcore FlopCountAnalysis, FlopCounterMode]; made by make_convnext.py")


def counted(layers_file: Path) -> list[list[int]]:
    layers = json.loads(layers_file.read_text())["layers"]
    return [[layer["fvcore"], layer["fcm"]] for layer in layers
            if layer["leaf"] and (layer["fvcore"] or layer["fcm"])]


def main(layers_dir: str) -> None:
    reference = {"note": NOTE} | {model: counted(Path(layers_dir) / f"{model}.json") for model in MODELS}
    out = Path(__file__).with_name("convnext.json")
    out.write_text("{\n" + ",\n".join(f"  {json.dumps(key)}: {json.dumps(value)}"
                                       for key, value in reference.items()) + "\n}\n")


if __name__ == "__main__":
    main(sys.argv[1])
