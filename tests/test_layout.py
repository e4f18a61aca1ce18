"""archcalc.layout: the strides torch gives each layer's output, and where a view cannot be made.

Every expected value is torch's: the strides of the tensors a built model makes (read by forward
hooks), `Tensor.view` and `Tensor.is_contiguous`. What the layouts decide is a figure of memory:
a flatten of a tensor its strides cannot merge is a copy, and a linear layer on more than 2
dimensions copies an input it cannot fold to a matrix (found by a fuzzer: archcalc's inference
peak of a linear layer after a permute was 64 B short of MemTracker's).
"""

from __future__ import annotations

import itertools
import random

import pytest
import yaml

from archcalc.analysis import analyze_graph
from archcalc.errors import SpecError
from archcalc.layout import contiguous, is_contiguous, viewed
from archcalc.memory import graph_layouts
from archcalc.spec import load_graph

torch = pytest.importorskip("torch")

BEFORE = {
    "contiguous": [],
    "permuted": [{"v": {"kind": "permute", "dims": [0, 1, 3, 2]}}],
    "channels-last": [{"v0": {"kind": "permute", "dims": [0, 2, 3, 1]}}, {"v1": {"kind": "layer_norm"}},
                      {"v": {"kind": "permute", "dims": [0, 3, 1, 2]}}],
    "cropped in height": [{"v": {"kind": "crop2d", "size": [4, 5]}}],
    "cropped in width": [{"v": {"kind": "crop2d", "size": [6, 3]}}],
    "a split": [{"v": {"kind": "split", "parts": 2, "take": 1}}],
}
"""Ways the (4, 6, 5) input reaches the layer under test."""

LAYERS = {
    "conv2d": {"kind": "conv2d", "out": 3, "kernel": 3, "padding": 1},
    "1×1 conv2d": {"kind": "conv2d", "out": 3, "kernel": 1},
    "depthwise conv2d": {"kind": "conv2d", "out": 2, "kernel": 3, "padding": 1, "groups": 2},
    "conv_transpose2d": {"kind": "conv_transpose2d", "out": 3, "kernel": 2, "stride": 2},
    "batchnorm2d": {"kind": "batchnorm2d"},
    "maxpool2d": {"kind": "maxpool2d", "kernel": 2},
    "avgpool2d": {"kind": "avgpool2d", "kernel": 2},
    "global average": {"kind": "adaptive_avgpool2d", "output_size": 1},
    "adaptive_maxpool2d": {"kind": "adaptive_maxpool2d", "output_size": 2},
    "layer_norm": {"kind": "layer_norm"},
    "channel_layer_norm": {"kind": "channel_layer_norm"},
    "softmax": {"kind": "softmax"},
    "mean": {"kind": "mean", "keepdim": True},
    "upsample2d": {"kind": "upsample2d", "scale": 2},
    "bilinear upsample2d": {"kind": "upsample2d", "scale": 2, "mode": "bilinear"},
    "pad2d": {"kind": "pad2d", "padding": 1},
    "channel_shuffle": {"kind": "channel_shuffle", "groups": 2},
    "pixel_shuffle": {"kind": "pixel_shuffle", "factor": 1},
    "lrn": {"kind": "lrn", "size": 2},
    "layer_scale": {"kind": "layer_scale"},
    "layer_scale of the last axis": {"kind": "layer_scale", "over": "last"},
    "relu": {"kind": "relu"},
    "relu in place": {"kind": "relu", "inplace": True},
    "gelu": {"kind": "gelu"},
    "dropout": {"kind": "dropout", "p": 0.5},
    "flatten": {"kind": "flatten"},
    "flatten from 2": {"kind": "flatten", "start_dim": 2},
    "linear": {"kind": "linear", "out": 3},
    "permute": {"kind": "permute", "dims": [0, 2, 3, 1]},
    "crop2d": {"kind": "crop2d", "size": [2, 2]},
    "add of itself": {"kind": "add", "from": ["x", "x"]},
    "add of a contiguous map": {"kind": "add", "from": ["x", "o"]},
    "add to a contiguous map": {"kind": "add", "from": ["o", "x"]},
    "multiply by a scale per channel": {"kind": "multiply", "from": ["x", "s"]},
    "a scale per channel multiplied": {"kind": "multiply", "from": ["s", "x"]},
    "concat with a contiguous map": {"kind": "concat", "from": ["x", "o"]},
    "concat of itself": {"kind": "concat", "from": ["x", "x"]},
}


def _network(before: str, layer: str, tmp_path, shape=(4, 6, 5), befores=BEFORE, layers=LAYERS):
    """The input laid out as `before` says (as 'x'), a contiguous map of its shape ('o', a softmax
    of it), a scale per channel ('s'), and the layer under test ('t')."""
    pooled = {"kind": f"adaptive_avgpool{len(shape) - 1}d", "output_size": 1, "from": "x"}
    chain = [*befores[before], {"x": {"kind": "identity", "from": _last(before, befores)}},
             {"o": {"kind": "softmax", "from": "x"}}, {"s": pooled}, {"t": {"from": "x", **layers[layer]}}]
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump({"name": "net", "input": list(shape), "layers": chain, "outputs": ["t", "o", "s"]}))
    return load_graph(path)


def _last(before: str, befores=BEFORE) -> str:
    """The layer that lays the input out as `before` says, or the input."""
    return next(iter(befores[before][-1])) if befores[before] else "input"


def _strides_torch_gives(graph, batch: int) -> dict[str, tuple[int, ...]]:
    from archcalc.torchmodel import build_graph

    model = build_graph(graph, None, batch).eval()
    seen = {}
    for name, module in model.named_modules():
        if name in {node.name for node in graph.nodes}:
            module.register_forward_hook(lambda module, inputs, output, name=name:
                                         seen.__setitem__(name, output.stride()))
    with torch.no_grad():
        model(torch.randn(batch, *graph.input_shape))
    return seen


def _laid_out_as_torch(graph, batches=(1, 2)) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 3-D convolution's kernel, and so its layout, depends on it (runs_on_onednn)
    try:
        for batch in batches:
            stats = analyze_graph(graph, None, batch)
            layouts = graph_layouts(graph, stats.shapes, stats.input_shape)
            given = _strides_torch_gives(graph, batch)
            assert {name: layouts[name] for name in given} == given, f"batch {batch}"
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("before", BEFORE)
def test_every_layers_output_is_laid_out_as_torch_lays_it_out(before, layer, tmp_path):
    """For each way its input is laid out (a permute's, a channels-last map, a crop's, a split's),
    the strides archcalc gives each layer's output are those of torch's tensor, at batch 1 and 2."""
    _laid_out_as_torch(_network(before, layer, tmp_path))


SMALL_MAPS = {"one channel": (1, 6, 5), "one position": (4, 1, 1)}
"""Maps whose channels-last strides are contiguous too, by torch's is_contiguous."""
ON_SMALL_MAPS = ["conv2d", "1×1 conv2d", "conv_transpose2d", "batchnorm2d", "global average", "layer_norm",
                 "channel_layer_norm", "softmax", "mean", "upsample2d", "bilinear upsample2d", "pad2d", "lrn",
                 "layer_scale", "relu", "relu in place", "gelu", "flatten", "flatten from 2", "linear", "permute",
                 "add of itself", "add of a contiguous map", "multiply by a scale per channel",
                 "concat with a contiguous map"]


@pytest.mark.parametrize("shape", SMALL_MAPS)
@pytest.mark.parametrize("layer", ON_SMALL_MAPS)
@pytest.mark.parametrize("before", ["contiguous", "permuted", "channels-last"])
def test_every_layers_output_of_one_channel_or_one_position_is_laid_out_as_torch_lays_it_out(
        before, layer, shape, tmp_path):
    """The same for maps of one channel or one position, whose layout torch's rules read two ways
    (a batch norm of a channels-last map of one position allocates contiguously: archcalc gave it
    channels-last strides, and counted a weight-gradient copy after it that torch never makes;
    found by a review)."""
    _laid_out_as_torch(_network(before, layer, tmp_path, SMALL_MAPS[shape]))


BEFORE_3D = {
    "contiguous": [],
    "channels-last": [{"v": {"kind": "channel_layer_norm"}}],
    "permuted": [{"v": {"kind": "permute", "dims": [0, 1, 2, 4, 3]}}],
    "cropped": [{"v": {"kind": "crop3d", "size": [3, 4, 6]}}],
}
LAYERS_3D = {
    "1×1×1 conv3d": {"kind": "conv3d", "out": 6, "kernel": 1},
    "3×3×3 conv3d": {"kind": "conv3d", "out": 6, "kernel": 3, "padding": 1},
    "strided conv3d": {"kind": "conv3d", "out": 6, "kernel": 3, "stride": 2, "padding": 1},
    "depthwise conv3d": {"kind": "conv3d", "out": 4, "kernel": 3, "padding": 1, "groups": 4},
    "(2+1)-D temporal conv3d": {"kind": "conv3d", "out": 4, "kernel": [3, 1, 1], "padding": [1, 0, 0]},
    "conv_transpose3d": {"kind": "conv_transpose3d", "out": 6, "kernel": 2, "stride": 2},
    "1×1×1 conv_transpose3d": {"kind": "conv_transpose3d", "out": 6, "kernel": 1},
    "avgpool3d": {"kind": "avgpool3d", "kernel": 1},
    "maxpool3d": {"kind": "maxpool3d", "kernel": 1},
    "adaptive_avgpool3d": {"kind": "adaptive_avgpool3d", "output_size": [2, 3, 3]},
    "adaptive_maxpool3d": {"kind": "adaptive_maxpool3d", "output_size": [2, 3, 3]},
    "batchnorm3d": {"kind": "batchnorm3d"},
    "upsample3d": {"kind": "upsample3d", "scale": 2},
    "trilinear upsample3d": {"kind": "upsample3d", "scale": 2, "mode": "trilinear"},
    "pad3d": {"kind": "pad3d", "padding": 1},
    "channel_layer_norm": {"kind": "channel_layer_norm"},
    "relu": {"kind": "relu"},
    "flatten": {"kind": "flatten"},
    "linear": {"kind": "linear", "out": 3},
}


@pytest.mark.parametrize("layer", LAYERS_3D)
@pytest.mark.parametrize("before", BEFORE_3D)
def test_every_3d_layers_output_is_laid_out_as_torch_lays_it_out(before, layer, tmp_path):
    """The same for maps of three spatial axes, at batch 1, 2 and 16 (a 3-D convolution of a
    channels-last map is channels-last only where oneDNN runs it; a 3-D average or adaptive pooling
    allocates contiguously: found by a review, archcalc gave them channels-last outputs)."""
    _laid_out_as_torch(_network(before, layer, tmp_path, (4, 3, 5, 6), BEFORE_3D, LAYERS_3D), (1, 2, 16))


BEFORE_1D = {
    "contiguous": [],
    "transposed": [{"v": {"kind": "permute", "dims": [0, 2, 1]}}],
    "channels-last": [{"v": {"kind": "channel_layer_norm"}}],
    "cropped": [{"v": {"kind": "crop1d", "size": 4}}],
}
LAYERS_1D = {
    "conv1d": {"kind": "conv1d", "out": 3, "kernel": 3, "padding": 1},
    "1×1 conv1d": {"kind": "conv1d", "out": 3, "kernel": 1},
    "conv_transpose1d": {"kind": "conv_transpose1d", "out": 3, "kernel": 2, "stride": 2},
    "avgpool1d": {"kind": "avgpool1d", "kernel": 1},
    "maxpool1d": {"kind": "maxpool1d", "kernel": 2},
    "adaptive_avgpool1d": {"kind": "adaptive_avgpool1d", "output_size": 2},
    "adaptive_maxpool1d": {"kind": "adaptive_maxpool1d", "output_size": 2},
    "batchnorm1d": {"kind": "batchnorm1d"},
    "upsample1d": {"kind": "upsample1d", "scale": 2},
    "pad1d": {"kind": "pad1d", "padding": 1},
    "relu": {"kind": "relu"},
    "flatten": {"kind": "flatten"},
    "linear": {"kind": "linear", "out": 3},
}


MAPS_1D = {"4×5": (4, 5), "one channel": (1, 5), "one position": (4, 1)}


@pytest.mark.parametrize(("before", "layer", "shape"), [
    (before, layer, shape) for before, layer, shape in itertools.product(BEFORE_1D, LAYERS_1D, MAPS_1D)
    if (before != "cropped" or MAPS_1D[shape][1] >= 4)  # a crop to 4 needs a length of 4, a window of 2 one of 2
    and (layer != "maxpool1d" or MAPS_1D[shape][0 if before == "transposed" else 1] >= 2)])
def test_every_1d_layers_output_is_laid_out_as_torch_lays_it_out(before, layer, shape, tmp_path):
    """The same for maps of one spatial axis, which torch convolves and pools as 2-D ones of height
    1 (a transposed map stays transposed through an average pooling; a convolution's input is made
    contiguous first, but for one that is only by its axes of size 1: found by a review)."""
    _laid_out_as_torch(_network(before, layer, tmp_path, MAPS_1D[shape], BEFORE_1D, LAYERS_1D))


def _tensors(count: int, seed: int):
    """Tensors of 1 to 4 dimensions (sizes 1 to 4) sliced and permuted at random."""
    rng = random.Random(seed)
    for _ in range(count):
        shape = [rng.randint(1, 4) for _ in range(rng.randint(1, 4))]
        t = torch.empty(shape)
        t = t.permute(*rng.sample(range(len(shape)), len(shape)))
        index = tuple(slice(rng.randint(0, size - 1), None, rng.choice([1, 1, 2])) for size in t.shape)
        yield t[index]


@pytest.mark.parametrize("seed", range(4))
def test_a_view_is_made_where_torch_makes_one_and_contiguity_is_torchs(seed):
    """`viewed` gives the strides of torch's `view` of any shape of the same elements, None where
    torch's view refuses; `is_contiguous` is torch's."""
    for t in _tensors(150, seed):
        shape, strides = tuple(t.shape), t.stride()
        assert is_contiguous(shape, strides) == t.is_contiguous()
        numel = t.numel()
        for new in {(numel,), (1, numel), (numel, 1), *[(a, numel // a) for a in range(1, numel + 1) if numel % a == 0],
                    shape[:1] + (numel // max(shape[0], 1),) if shape and shape[0] else ()}:
            if not new:
                continue
            try:
                expected = t.view(new).stride()
            except RuntimeError:
                expected = None
            assert viewed(shape, strides, new) == expected, (shape, strides, new)
    assert contiguous((2, 3, 4)) == torch.empty(2, 3, 4).stride()


NEEDS_A_MATRIX = {
    "a linear layer": {"kind": "linear", "out": 3},
    "a linear layer without a bias": {"kind": "linear", "out": 7, "bias": False},
    "a linear layer of more outputs": {"kind": "linear", "out": 9},
    "a flatten": {"kind": "flatten"},
    "a flatten from 2": {"kind": "flatten", "start_dim": 2},
}


@pytest.mark.parametrize(("before", "then"), list(itertools.product(BEFORE, NEEDS_A_MATRIX)))
def test_a_layer_that_needs_its_input_as_a_matrix_takes_the_memory_torch_takes(before, then, tmp_path):
    """A flatten or a linear layer after each layout (of a scaled input), then an in-place layer: archcalc's peak of
    inference and of a training step equals MemTracker's on real tensors, at batch 1 and 2 (a
    linear layer copies an input it cannot fold and adds its bias out of place; a flatten copies
    one it cannot view); where archcalc refuses the training step, torch refuses it too."""
    from test_training_memory import predicted as predicted_training
    from test_training_memory import tracked as tracked_training

    from archcalc.memory import inference_memory
    from archcalc.validation.peak import tracked_peaks

    layers = [{"w": {"kind": "layer_scale"}}, *BEFORE[before],  # a parameter to train
              {"m": {"from": _last(before) if BEFORE[before] else "w", **NEEDS_A_MATRIX[then]}},
              {"r": {"kind": "relu", "inplace": True}}]
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump({"name": "net", "input": [4, 6, 5], "layers": layers}))
    graph = load_graph(path)
    for batch in (1, 2):
        memory = inference_memory(graph, analyze_graph(graph, None, batch))
        assert (memory.parameters, memory.buffers, memory.activations, memory.peak) == \
            tuple(tracked_peaks(graph, graph.input_shape, [batch], fake=False)[0])
        try:
            predicted = predicted_training(graph, batch)
        except SpecError:  # an in-place change of a view of torch.chunk's: torch refuses it too
            with pytest.raises(RuntimeError, match="modified inplace"):
                tracked_training(graph, [batch], fake=False)
            continue
        assert predicted == tracked_training(graph, [batch], fake=False)[0]


FOUND_BY_A_FUZZER = {
    "a linear layer on a permute, beside the convolution before it": (
        [2, 2, 2], [{"l0": {"kind": "conv2d", "out": 2, "kernel": 3, "padding": 1}},
                    {"l1": {"kind": "permute", "dims": [0, 1, 3, 2]}}, {"l2": {"kind": "linear", "out": 2}}],
        ["l2", "l0"]),
    "a linear layer on a crop, a sigmoid beside it": (
        [2, 6, 4], [{"l0": {"kind": "conv2d", "out": 4, "kernel": 3, "padding": 1}},
                    {"l1": {"kind": "crop2d", "size": [4, 1], "from": "l0"}}, {"l2": {"kind": "sigmoid", "from": "l0"}},
                    {"l3": {"kind": "linear", "out": 1, "from": "l1"}}], ["l2", "l3"]),
    "a linear layer on a split of a scaled map": (
        [12, 5, 3], [{"l0": {"kind": "layer_scale"}}, {"l1": {"kind": "split", "parts": 4, "take": 3}},
                     {"l2": {"kind": "linear", "out": 3}}], ["l2", "l0"]),
}


@pytest.mark.parametrize("case", FOUND_BY_A_FUZZER)
def test_networks_a_fuzzer_found_peak_as_memtracker_measures(case, tmp_path):
    """Networks whose inference peak archcalc gave short of MemTracker's (1,916: 240 B against 272 at
    batch 1; 879: 1,144 against 1,208; 537: 2,360 against 2,480 at batch 2): a linear layer's copy
    of an input it cannot fold."""
    from archcalc.memory import inference_memory
    from archcalc.validation.peak import tracked_peaks

    shape, layers, outputs = FOUND_BY_A_FUZZER[case]
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump({"name": "net", "input": shape, "layers": layers, "outputs": outputs}))
    graph = load_graph(path)
    for batch in (1, 2):
        memory = inference_memory(graph, analyze_graph(graph, None, batch))
        assert (memory.parameters, memory.buffers, memory.activations, memory.peak) == \
            tuple(tracked_peaks(graph, graph.input_shape, [batch], fake=False)[0])



CHANNELS_LAST = {"n": {"kind": "channel_layer_norm"}}
CONV_3x3 = {"c": {"kind": "conv2d", "out": 5, "kernel": 3, "padding": 1}}
REACHING_A_CONVOLUTION_CHANNELS_LAST = {
    "permuted to channels-last and back": [{"p": {"kind": "permute", "dims": [0, 2, 3, 1]}}, {"l": {"kind": "layer_norm"}},
                                           {"q": {"kind": "permute", "dims": [0, 3, 1, 2]}}],
    "added to a contiguous map": [CHANNELS_LAST, {"o": {"kind": "conv2d", "out": 4, "kernel": 1, "from": "input"}},
                                  {"a": {"kind": "add", "from": ["n", "o"]}}],
    "max pooled": [CHANNELS_LAST, {"m": {"kind": "maxpool2d", "kernel": 2}}],
    "average pooled": [CHANNELS_LAST, {"m": {"kind": "avgpool2d", "kernel": 2}}],
    "joined to itself": [CHANNELS_LAST, {"m": {"kind": "concat", "from": ["n", "n"]}}],
    "through a dropout": [CHANNELS_LAST, {"m": {"kind": "dropout", "p": 0.5}}],
    "through a ReLU": [CHANNELS_LAST, {"m": {"kind": "relu"}}],
    "through a 1×1 convolution": [CHANNELS_LAST, {"m": {"kind": "conv2d", "out": 4, "kernel": 1}}],
}


@pytest.mark.parametrize("case", REACHING_A_CONVOLUTION_CHANNELS_LAST)
def test_a_convolution_of_a_channels_last_map_copies_its_weights_gradient_as_torch_does(case, tmp_path):
    """A 3×3 convolution of a map whose strides read as channels-last runs channels-last, and torch's
    AccumulateGrad copies its weight's gradient to the weight's layout: archcalc, which carried the
    layout only from a channel layer norm through a few kinds, missed that copy after a permute, an
    add, a pooling, a concat or a dropout (the training peak 4,308 B against MemTracker's 4,452 B at
    batch 1 for the permutes); it now follows the strides."""
    from test_training_memory import predicted as predicted_training
    from test_training_memory import tracked as tracked_training

    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump({"name": "net", "input": [4, 6, 6], "outputs": ["c"],
                                    "layers": [*REACHING_A_CONVOLUTION_CHANNELS_LAST[case], CONV_3x3]}))
    graph = load_graph(path)
    for batch in (1, 2):
        assert predicted_training(graph, batch) == tracked_training(graph, [batch], fake=False)[0]


TRANSPOSED_AFTER_A_CHANNEL_LAYER_NORM = {
    "2×2, stride 2, of a map of one row": ([8, 1, 2], {"kind": "conv_transpose2d", "out": 2, "kernel": 2, "stride": 2}),
    "3×3": ([4, 3, 3], {"kind": "conv_transpose2d", "out": 5, "kernel": 3, "padding": 1}),
    "3×3 in 2 groups": ([4, 3, 3], {"kind": "conv_transpose2d", "out": 8, "kernel": 3, "padding": 1, "groups": 2}),
    "3×3 depthwise (no copy)": ([4, 3, 3], {"kind": "conv_transpose2d", "out": 4, "kernel": 3, "padding": 1, "groups": 4}),
    "1×1 (no copy)": ([4, 3, 3], {"kind": "conv_transpose2d", "out": 5, "kernel": 1}),
}


@pytest.mark.parametrize("case", TRANSPOSED_AFTER_A_CHANNEL_LAYER_NORM)
def test_a_transposed_convolution_of_a_channels_last_map_copies_its_weights_gradient_as_torch_does(case, tmp_path):
    """A transposed convolution runs channels-last as a convolution does, and its weight (in, out /
    groups, kh, kw) is copied to its own layout where its second dimension and its kernel are over
    1: archcalc counted the copy for convolutions only (1,136 B against MemTracker's 1,328 B at
    batch 1 for the first; found by a review)."""
    from test_training_memory import predicted as predicted_training
    from test_training_memory import tracked as tracked_training

    shape, layer = TRANSPOSED_AFTER_A_CHANNEL_LAYER_NORM[case]
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump({"name": "net", "input": shape, "layers": [
        {"n": {"kind": "channel_layer_norm"}}, {"t": layer}]}))
    graph = load_graph(path)
    for batch in (1, 2):
        assert predicted_training(graph, batch) == tracked_training(graph, [batch], fake=False)[0]


ONE_POSITION = {
    "a channel layer norm's": [{"n": {"kind": "channel_layer_norm"}}],
    "after a 1×1 convolution": [{"s": {"kind": "conv2d", "out": 4, "kernel": 1}}, {"n": {"kind": "channel_layer_norm"}}],
    "of a crop": [{"k": {"kind": "crop2d", "size": [1, 1]}}, {"n": {"kind": "channel_layer_norm"}}],
}


@pytest.mark.parametrize("before", ONE_POSITION)
def test_a_convolution_of_a_channels_last_map_of_one_position_copies_its_weights_gradient(before, tmp_path, cli):
    """A channel layer norm's output of one position has channels-last strides, and torch's CPU
    kernels run a 3×3 convolution of it channels-last and copy its weight's gradient: archcalc took
    such a map as contiguous (2,464 B against MemTracker's 2,624 B at batch 1 after the 1×1
    convolution; found by a fuzzer). On fake tensors a channel layer norm lays that map out as a
    contiguous one, so `validate` measures such a step on real CPU tensors, and says so."""
    from test_training_memory import predicted as predicted_training
    from test_training_memory import tracked as tracked_training

    path = tmp_path / "net.yaml"
    shape = [4, 1, 2] if before == "of a crop" else [4, 1, 1]
    path.write_text(yaml.safe_dump({"name": "net", "input": shape, "layers": [
        *ONE_POSITION[before], {"c": {"kind": "conv2d", "out": 4, "kernel": 3, "padding": 1}}]}))
    graph = load_graph(path)
    for batch in (1, 2):
        assert predicted_training(graph, batch) == tracked_training(graph, [batch], fake=False)[0]
    result = cli("validate", str(path), "--train")
    assert result.exit_code == 0, result.output
    assert "the training peak is measured on real CPU tensors: on fake tensors 'c' reads a channels-last map of " \
           "one position" in " ".join(result.stdout.split())


CONVOLUTIONS_OF_1D_AND_3D_CHANNELS_LAST_MAPS = {
    "conv1d of one position": ([4, 1], {"kind": "conv1d", "out": 4, "kernel": 3, "padding": 1}),
    "conv1d of a length of 6 (made contiguous: no copy)": ([4, 6], {"kind": "conv1d", "out": 5, "kernel": 3, "padding": 1}),
    "conv3d, 3×3×3 (oneDNN's from batch 2)": ([4, 3, 3, 3], {"kind": "conv3d", "out": 4, "kernel": 3, "padding": 1}),
    "conv_transpose3d": ([4, 3, 3, 3], {"kind": "conv_transpose3d", "out": 4, "kernel": 2, "stride": 2}),
    "conv_transpose3d, 3×3×3": ([4, 3, 3, 3], {"kind": "conv_transpose3d", "out": 4, "kernel": 3, "padding": 1}),
}


@pytest.mark.parametrize("case", CONVOLUTIONS_OF_1D_AND_3D_CHANNELS_LAST_MAPS)
def test_a_1d_or_3d_convolution_of_a_channels_last_map_copies_its_weights_gradient_as_torch_does(case, tmp_path):
    """After a channel layer norm: a 1-D convolution runs as a 2-D one, channels-last where its
    input (left as it is where torch's is_contiguous holds) reads so; a 3-D one runs channels-last
    where oneDNN runs it (`runs_on_onednn`, one thread), a transposed one too. Where it does, its
    weight's gradient is copied (archcalc counted none: 8,328 B against MemTracker's 9,192 B for the
    conv3d at batch 2, and alike for the 3×3×3 conv_transpose3d, a 3-D transposed one's copy being
    left out until 6 December, where the 2×2×2 one's is not at the peak; 768 B against 928 B for the
    conv1d of one position at batch 1)."""
    from test_training_memory import predicted as predicted_training
    from test_training_memory import tracked as tracked_training

    shape, layer = CONVOLUTIONS_OF_1D_AND_3D_CHANNELS_LAST_MAPS[case]
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump({"name": "net", "input": shape, "layers": [
        {"n": {"kind": "channel_layer_norm"}}, {"c": layer}]}))
    graph = load_graph(path)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 3-D convolution's kernel depends on it
    try:
        for batch in (1, 2):
            assert predicted_training(graph, batch) == tracked_training(graph, [batch], fake=False)[0]
    finally:
        torch.set_num_threads(threads)


ONEDNN_BY_DTYPE = {"float64": lambda: False, "bfloat16": lambda: torch.ops.mkldnn._is_mkldnn_bf16_supported(),
                   "float16": lambda: torch.ops.mkldnn._is_mkldnn_fp16_supported()}
"""Whether torch runs every convolution of a type on oneDNN on this CPU (aten's use_mkldnn): never in
float64; in the 16-bit types where oneDNN's check of the CPU says so."""


@pytest.mark.parametrize("dtype", ONEDNN_BY_DTYPE)
def test_a_3d_convolution_of_a_channels_last_map_runs_on_onednn_as_its_dtype_decides(dtype, tmp_path):
    """oneDNN runs a 3-D convolution (its output channels-last after a channels-last map, its
    weight's gradient copied) by float32's rule only in float32: never in float64, and in every
    case in bfloat16 on a CPU with AVX-512 (float16 there only with AVX512-FP16). archcalc took
    float32's rule in every dtype: at batch 2 in float64, 57,344 B at inference against
    MemTracker's 45,248 B (the flatten after it a copy where torch's is a view) and 115,824 B in
    training against 89,904 B; in bfloat16 at batch 1, 9,152 B against 10,664 B at inference.
    archcalc takes a CPU with AVX-512 but not AVX512-FP16 (docs/memory.md); on another, the
    16-bit type it does not describe is skipped."""
    from test_training_memory import predicted as predicted_training
    from test_training_memory import tracked as tracked_training

    from archcalc.memory import inference_memory
    from archcalc.validation.peak import tracked_peaks

    if ONEDNN_BY_DTYPE[dtype]() != (dtype == "bfloat16"):
        pytest.skip(f"this CPU runs {dtype} convolutions on oneDNN otherwise than archcalc takes")
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump({"name": "net", "input": [4, 3, 3, 3], "layers": [
        {"n": {"kind": "channel_layer_norm"}}, {"c": {"kind": "conv3d", "out": 32, "kernel": 3, "padding": 1}},
        {"f": "flatten"}]}))
    graph = load_graph(path)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 3-D convolution's kernel depends on it
    try:
        measured = tracked_peaks(graph, graph.input_shape, [1, 2], dtype, fake=False)
        for batch, peak in zip((1, 2), measured):
            memory = inference_memory(graph, analyze_graph(graph, None, batch), dtype)
            assert (memory.parameters, memory.buffers, memory.activations, memory.peak) == tuple(peak)
        for batch in (1, 2):
            assert predicted_training(graph, batch, dtype=dtype) == \
                tracked_training(graph, [batch], dtype=dtype, fake=False)[0]
    finally:
        torch.set_num_threads(threads)


CHANGING_WITH_THE_BATCH = {
    "a linear layer after a permute": ([4, 4, 4], [{"p": {"kind": "permute", "dims": [0, 2, 3, 1]}},
                                                   {"fc": {"kind": "linear", "out": 8}}], (1, 2, 3, 8)),
    "a flatten after a permute of the batch": ([4, 4, 4], [{"p": {"kind": "permute", "dims": [1, 0, 2, 3]}},
                                                           {"f": {"kind": "flatten", "start_dim": 0, "end_dim": 1}},
                                                           {"s": {"kind": "layer_scale", "over": "last"}}], (1, 2, 3, 8)),
    "a 3-D convolution of a channels-last map": ([4, 3, 4, 4], [
        {"n": {"kind": "channel_layer_norm"}}, {"conv": {"kind": "conv3d", "out": 8, "kernel": [3, 1, 1], "padding": [1, 0, 0]}},
        {"f": "flatten"}, {"fc": {"kind": "linear", "out": 4}}], (1, 2, 15, 16, 17)),
}


@pytest.mark.parametrize("case", CHANGING_WITH_THE_BATCH)
def test_the_formula_in_the_batch_follows_layouts_that_change_with_it(case, tmp_path):
    """A batch of one is an axis of size 1, which a view merges where a larger batch's cannot (a
    linear layer after a permute folds its input without a copy at batch 1, with one from 2), and
    oneDNN runs a 3-D convolution from a batch of 16: `memory --batch N` takes those batches on
    their own. It raised an internal error (not a line in the batch) for the first two, and gave a
    line that is wrong from 16 on for the third (426,856 B where torch takes 623,464 at batch 16);
    found by a review. Each piece is MemTracker's peak, at inference and in training (one thread)."""
    from test_training_memory import tracked as tracked_training

    from archcalc.memory import memory_formula
    from archcalc.validation.peak import tracked_peaks

    shape, layers, batches = CHANGING_WITH_THE_BATCH[case]
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump({"name": "net", "input": shape, "layers": layers}))
    graph = load_graph(path)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        inference = memory_formula(path).formula
        assert [inference.at(b) for b in batches] == [p.total for p in tracked_peaks(graph, shape, list(batches), fake=False)]
        training = memory_formula(path, optimizer="momentum").formula
        assert [training.at(b) for b in batches] == [p[-1] for p in tracked_training(graph, list(batches), fake=False)]
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("spec", ["convnext_tiny", "convnext_small", "convnext_large"])
def test_a_convnexts_training_formula_is_its_peak_at_every_batch(spec):
    """`memory convnext_tiny --train --fit 8GiB` raised an internal error (not a line in the batch:
    its step at batch 1 differs), and so did ConvNeXt-L's (a backward's busiest moment, the
    weight-gradient copy at small batches, another later); the formula is the numeric training
    peak at each batch."""
    from archcalc.memory import memory_formula
    from archcalc.training import analyze_training

    formula = memory_formula(spec, optimizer="momentum").formula
    for batch in (1, 2, 3, 11, 12, 16, 21, 22):
        assert formula.at(batch) == analyze_training(spec, batch=batch).peak


def test_a_backwards_busiest_moment_changing_with_the_batch_is_each_a_line(tmp_path):
    """A backward's busiest moment is the most of several (its temporaries, a gradient summed, the
    weight-gradient copy), each a line in the batch: their most bends where another leads. The
    formula took the most as one line and was short from batch 9 on here (1,668,872 B against
    MemTracker's 1,705,736 at 9), and --fit named a batch over its budget (found by a review);
    each moment is now a line of its own, and the formula MemTracker's peak (one thread)."""
    from test_training_memory import tracked as tracked_training

    from archcalc.memory import memory_formula

    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump({"name": "net", "input": [96, 8, 8], "layers": [
        {"dw": {"kind": "conv2d", "out": 96, "kernel": 7, "padding": 3, "groups": 96}},
        {"n": {"kind": "channel_layer_norm"}}, {"down": {"kind": "conv2d", "out": 192, "kernel": 2, "stride": 2}},
        {"g": {"kind": "gelu"}}]}))
    formula = memory_formula(path, optimizer="momentum").formula
    batches = [1, 2, 8, 9, 12, 20]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert [formula.at(b) for b in batches] == [p[-1] for p in tracked_training(load_graph(path), batches, fake=False)]
    finally:
        torch.set_num_threads(threads)
    budget = formula.at(12)
    assert formula.fit(budget).batch == 12 and formula.at(13) > budget
