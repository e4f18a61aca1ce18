"""The bundled models as torch's TorchScript exporter writes them without their weights' values,
kept in tests/reference/onnx_exports.zip so that the round trip through ONNX
(test_import_onnx.py) reads every bundled model in every run: torch's exporter runs each model's
forward on its full input, 4–6 CPU-minutes over them all.

A kept export is used only while its key holds: the sha256 of the spec file, the variant, the
sources of archcalc/torchmodel (which build the module) and torch's version (without its build's
tag: +cpu and the CUDA build export alike; not onnx's, which only reads and writes the file, as
the byte-for-byte comparison below would show). A
model whose key has changed is exported afresh by the test (correct, only slower) until
`python tests/onnx_exports.py` writes the archive anew.
test_a_weightless_export_is_the_export_less_its_values exports four models and compares them with
the kept files byte for byte.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCHIVE = ROOT / "tests" / "reference" / "onnx_exports.zip"

NOT_EXPORTED: dict[str, str] = {}
"""Bundled models torch's TorchScript exporter refuses (its message): none. It has no rule for
ShuffleNet V2's `aten::channel_shuffle`, which archcalc's ChannelShuffle module writes as the
Reshape, Transpose and Reshape it computes while it is exported, nor for GoogLeNet's auxiliary
heads' adaptive average pooling of 14 to 4 ("output size that are not factor of input size"),
which archcalc's AdaptiveAvgPool2d writes as an AveragePool of the windows' size, stride 1, and
a Gather of the windows' starts along each axis."""


def export(module, shape: tuple[int, ...], path, weights: bool = True) -> None:
    """The module as torch's TorchScript exporter writes it, as docs/import.md tells: eval mode,
    batch norms kept (no constant folding, which would fold them into the convolutions). Without
    `weights`, its parameters are written as external data (as torch writes a model over 2 GiB)
    that is never written: the exporter is run with export_params=False (the parameters graph
    inputs, no values serialised) and those inputs are made initialisers of their name, type and
    shape (test_a_weightless_export_is_the_export_less_its_values: the same file otherwise)."""
    import onnx
    import torch

    module.eval().requires_grad_(False)  # not traced for autograd: a quarter of the time
    torch.onnx.export(module, (torch.zeros(1, *shape),), str(path), dynamo=False, export_params=weights,
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    if not weights:
        model = onnx.load(str(path))
        for value in model.graph.input[1:]:
            tensor = onnx.TensorProto(name=value.name, data_type=value.type.tensor_type.elem_type,
                                      dims=[d.dim_value for d in value.type.tensor_type.shape.dim],
                                      data_location=onnx.TensorProto.EXTERNAL)
            tensor.external_data.add(key="location", value="weights.bin")
            model.graph.initializer.append(tensor)
        del model.graph.input[1:]
        onnx.save(model, str(path))


def distinct(module):
    """The module with each parameter a different constant: the exporter writes parameters of equal
    values as one (an Identity of another), and two convolutions of one input as one node."""
    import torch

    with torch.no_grad():
        for number, parameter in enumerate(module.parameters(), start=1):
            parameter.fill_(number)
    return module


def key(entry) -> str:
    """What a kept export of `entry` depends on, hashed."""
    import torch

    digest = hashlib.sha256()
    for part in (torch.__version__.split("+")[0], str(entry.variant), entry.path.read_bytes()):
        digest.update(part.encode() if isinstance(part, str) else part)
    for source in sorted((ROOT / "archcalc" / "torchmodel").glob("*.py")):
        digest.update(source.read_bytes())
    return digest.hexdigest()


def kept(entry) -> bytes | None:
    """The kept weightless export of `entry`, if its key holds."""
    if not ARCHIVE.is_file():
        return None
    with zipfile.ZipFile(ARCHIVE) as archive:
        keys = json.loads(archive.read("keys.json"))
        if keys.get(entry.name) != key(entry):
            return None
        return archive.read(f"{entry.name}.onnx")


def weightless(entry, path: Path):
    """`entry`'s module, with its weightless export written to `path`: the kept one, else torch's."""
    from archcalc.spec import load_graph
    from archcalc.torchmodel import build_graph

    graph, data = load_graph(entry.path, entry.variant), kept(entry)
    if data is not None:
        path.write_bytes(data)
        return build_graph(graph, device="meta")  # its state dict's names and shapes only
    module = build_graph(graph, initialise=False)
    export(distinct(module), graph.input_shape, path, weights=False)
    return module


def write_archive() -> None:
    """Every exportable bundled model's weightless export, with its key, into ARCHIVE."""
    import tempfile

    import torch

    from archcalc.spec import bundled, load_graph
    from archcalc.torchmodel import build_graph

    torch.set_num_threads(1)
    buffer, keys = io.BytesIO(), {}
    with tempfile.TemporaryDirectory() as folder, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in bundled():
            if entry.name in NOT_EXPORTED:
                continue
            path = Path(folder) / f"{entry.name}.onnx"
            graph = load_graph(entry.path, entry.variant)
            export(distinct(build_graph(graph, initialise=False)), graph.input_shape, path, weights=False)
            archive.write(path, f"{entry.name}.onnx")
            keys[entry.name] = key(entry)
            print(entry.name, file=sys.stderr)
        archive.writestr("keys.json", json.dumps(keys, indent=1, sort_keys=True))
    tmp = ARCHIVE.with_suffix(".tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(ARCHIVE)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    write_archive()
