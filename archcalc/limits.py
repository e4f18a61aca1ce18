"""Every bound archcalc puts on a spec, in one place (documented in docs/spec.md, "Limits").

Each is far above what a real network needs (a 10,000-layer plain stack and ResNet-1001 pass)
and low enough that an absurd spec is refused in milliseconds, before it can exhaust time,
memory or the Python stack.
"""

MAX_FILE_BYTES = 4 * 1024 * 1024
"""Size of a spec file. A written-out 10,000-layer stack is about 0.4 MiB."""

MAX_PATH_CHARS = 4096
"""Characters of a path a spec (`kind: model`'s `spec:`) or a baseline (`spec:`) names: Linux's
PATH_MAX, beyond which no file opens. Resolving a path of a million 'a/' took over a minute."""

MAX_ONNX_BYTES = 2 * 1024**3
"""Size of an ONNX file (`archcalc import onnx`): protobuf's own limit on one message, which an
ONNX file without external data is. It is read whole (weights too): memory is about twice this."""

MAX_ONNX_NODES = 100_000
"""Nodes of an ONNX graph: a bundled model exported has 2,500 at most (EfficientNet-V2-L)."""

MAX_YAML_DEPTH = 256
"""Mappings and lists nested inside each other, counted through aliases."""

MAX_YAML_NODES = 250_000
"""YAML nodes after alias expansion: refuses 'billion laughs' documents early. A written-out
30,000-layer stack is about 210,000 nodes."""

MAX_EXPANDED = 60_000
"""Items after every repeat is expanded: layers, block and group instances, repeats and
items switched off by `when`. A projection refuses an absurd repeat before expanding it. The
largest model it lets through, written out a layer a line (the costliest way per layer), is
answered within 2 s of CPU (benchmarks/refusals.py); at 100,000 that stack took 2.1–2.9 s."""

MAX_VARIANTS = 1_000
"""Variants in one spec file: each is a model that `check`, `report` and `list` analyse. The
largest bundled family has 14."""

MAX_SYMBOLIC_LAYERS = 4_000
"""Layers analysed with a symbol among the sizes (`--input 3xHxW`), checked before sympy is
imported. ResNet-1001 (3,339 layers) is within it."""

MAX_SYMBOLIC_COMPUTED = 600
"""Layers of a symbolic analysis whose rules run: a layer that repeats an earlier one (same
fields, same input shapes) is not counted. Each costs a millisecond or more of sympy; DenseNet-201
runs 421, ResNet-1001 40."""

MAX_SYMBOLIC_SIZES = 56
"""Distinct formulas among the sizes of a symbolic analysis (a shrinking stack makes a new height
at each layer): each costs tens of milliseconds, one with a floor the most. U-Net's valid
convolutions and crops make 52 (`archcalc table unet --input 1xHxW`); the other bundled models 18 at
most."""

MAX_SYMBOLIC_DIVISOR = 65_536
"""Largest divisor in a symbolic size, ⌊(H + 65,535)/65536⌋: the strides along one axis
multiplied. Constraints are decided by arithmetic, not by scanning a period, so the divisor
itself costs little: what grows with it is the set of residues at which a stride divides exactly
(up to this many numbers: milliseconds), and the strided layers it allows, each a new formula
with a floor, the costliest kind for sympy. The worst at this bound, 16 strides of 2 along H and
W, or along T, H and W, take about as long as the 56 floor formulas the formula bound allows
(benchmarks/refusals.py). The bundled models divide by
4,096 at most (M5: audio, where a hop times the pooling strides by thousands)."""

MAX_NESTING = 64
"""Blocks and groups inside each other."""

MAX_INCLUDED = 4
"""Specs whose models are included in each other (`kind: model`): a segmentation spec takes its
backbone from a classification spec, one level."""

MAX_EXPRESSION_CHARS = 1_000
"""Length of one expression."""

MAX_EXPRESSION_DEPTH = 32
"""Operations in one expression each working on the result of another: nested in each other or
chained (a flat sum of 33 terms chains 32)."""

MAX_INT_BITS = 14_000
"""The most bits of a whole number a spec's YAML may hold: Python writes at most 4,300 decimal digits
(about 14,284 bits), and one read from 0x or 0b digits (which it reads whatever their number) failed
wherever it was printed."""
MAX_MAGNITUDE = 10**15
"""Largest absolute number an expression may produce."""

MAX_EXPONENT = 64
"""Largest exponent (in size) of `pow` in an expression: no power is costly to compute, and
anything of base 2 or more is past MAX_MAGNITUDE long before it."""

MAX_DIMENSION = 2**31 - 1
"""Largest batch, channel count, height, width or feature count of any tensor."""

MAX_TENSOR_BYTES = 2**63 - 1
"""The most bytes one tensor torch makes may take: its storage's size is an int64 (past it torch
refuses: "Storage size calculation overflowed")."""

MAX_SWEEP_POINTS = 10_000
"""Points of one `archcalc sweep`: settings of the spec's parameters (`--set`) × input sizes ×
batch sizes, counted before any work."""

MAX_THREADS = 1_024
"""torch's CPU threads while timing (`validate --threads`, `device-profile --threads`): 100,000
crashed Python in torch's thread pool (a segmentation fault), 10²⁰ overflowed in torch."""

MAX_RUNS = 1_000
"""Timed passes of `validate --runs`, and warm-up passes of `--warmup`, each. A pass of ResNet-50
took 81 ms on one thread of this project's CPU (docs/validation.md), so 1,000 take under two
minutes; unbounded, a slip of `--runs 1000000000` ran for days (LeNet-5, 0.14 ms a pass) and
printed nothing on a pipe, each run holding a time per block and layer. benchmarks/
latency_vs_roofline.py gives a model at most as many runs, and takes at most as many with --runs."""

MAX_FIELD_PERIOD = 4_096
"""Units after which the regions of a receptive field behind upsampling must repeat; a longer
pattern (an upsampling by 4,099/4,097) gives the layers behind it no field."""

MAX_FIELD_READS = 1_000_000
"""Reads of one unit's region while working out the fields that repeat (behind upsampling) of
one model; past it, the rest of those layers have no field."""
