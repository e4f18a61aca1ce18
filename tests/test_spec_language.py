"""The spec language: every construct of docs/spec.md, checked on small specs by hand-worked figures."""

from __future__ import annotations

import json
import re
import textwrap

import pytest
from conftest import tier

import archcalc
from archcalc.errors import SpecError
from archcalc.spec import bundled, load_graph
from archcalc.spec.catalog import load_document, specs_dir


def test_named_layers_input_and_override(write_spec):
    path = write_spec("""
        name: tiny
        input: 3x32x32
        layers:
          - conv: {kind: conv2d, out: 4, kernel: 3}
          - act: relu
    """)
    stats = archcalc.analyze(path)
    assert [layer.name for layer in stats.layers] == ["conv", "act"]
    assert stats.layers[0].shape == (1, 4, 30, 30)
    wider = archcalc.analyze(path, input="3x64x48", batch=5)
    assert wider.input_shape == (5, 3, 64, 48)
    assert wider.layers[0].shape == (5, 4, 62, 46)
    assert wider.totals.macs == 5 * 4 * 62 * 46 * 3 * 3 * 3


def test_blocks_repeat_first_and_arithmetic(write_spec):
    path = write_spec("""
        name: stacked
        input: [8, 16, 16]
        params: {width: 8}
        blocks:
          unit:
            params: {out: ~, stride: 1}
            layers:
              - conv: {kind: conv2d, out: out, kernel: 3, stride: stride, padding: 1, bias: false}
              - bn: batchnorm2d
        layers:
          - stage: {kind: unit, repeat: 3, out: width * 2, first: {stride: 2}}
    """)
    stats = archcalc.analyze(path)
    names = [layer.name for layer in stats.layers]
    assert names == ["stage.0.conv", "stage.0.bn", "stage.1.conv", "stage.1.bn", "stage.2.conv", "stage.2.bn"]
    shapes = {layer.name: layer.shape for layer in stats.layers}
    assert shapes["stage.0.conv"] == (1, 16, 8, 8)   # stride 2 only in the first repetition
    assert shapes["stage.2.conv"] == (1, 16, 8, 8)
    assert stats.totals.weight == 16 * 8 * 9 + 2 * 16 * 16 * 9 + 3 * 16


def test_residual_with_identity_and_projection(write_spec):
    path = write_spec("""
        name: residual
        input: [4, 8, 8]
        blocks:
          res:
            params: {out: ~, stride: 1, project: false}
            layers:
              - conv: {kind: conv2d, out: out, kernel: 3, stride: stride, padding: 1}
              - shortcut: {kind: conv2d, from: input, out: out, kernel: 1, stride: stride, when: project}
              - sum: {kind: add, from: [conv, shortcut]}
        layers:
          - a: {kind: res, out: 4}
          - b: {kind: res, out: 6, stride: 2, project: true}
    """)
    stats = archcalc.analyze(path)
    layers = {layer.name: layer for layer in stats.layers}
    assert "a.shortcut" not in layers                    # switched off: the identity is used
    assert layers["a.sum"].inputs == ("a.conv", "input")
    assert layers["b.shortcut"].inputs == ("a.sum",)     # 'input' is the block's input
    assert layers["b.sum"].inputs == ("b.conv", "b.shortcut")
    assert layers["b.sum"].shape == (1, 6, 4, 4)


def test_a_merge_switched_off_passes_its_first_input(write_spec):
    path = write_spec("""
        name: optional-residual
        input: [4, 8, 8]
        blocks:
          unit:
            params: {out: ~, stride: 1}
            layers:
              - conv: {kind: conv2d, out: out, kernel: 3, stride: stride, padding: 1}
              - sum: {kind: add, from: [conv, input], when: "stride == 1"}
        layers:
          - a: {kind: unit, out: 4}
          - b: {kind: unit, out: 6, stride: 2}
          - c: {kind: unit, out: 6}
    """)
    layers = {layer.name: layer for layer in archcalc.analyze(path).layers}
    assert layers["a.sum"].inputs == ("a.conv", "input")
    assert "b.sum" not in layers                         # off: the block's output is b.conv
    assert layers["c.conv"].inputs == ("b.conv",)
    assert layers["c.sum"].inputs == ("c.conv", "b.conv")


def test_concat_branches_and_inline_groups(write_spec):
    path = write_spec("""
        name: inception-ish
        input: [16, 10, 10]
        layers:
          - stem: {kind: conv2d, out: 8, kernel: 1}
          - b1: {kind: conv2d, out: 4, kernel: 1}
          - b2:
              from: stem
              layers:
                - reduce: {kind: conv2d, out: 2, kernel: 1}
                - conv: {kind: conv2d, out: 6, kernel: 3, padding: 1}
          - b3: {kind: maxpool2d, kernel: 3, stride: 1, padding: 1, from: stem}
          - cat: {kind: concat, from: [b1, b2, b3]}
    """)
    stats = archcalc.analyze(path)
    layers = {layer.name: layer for layer in stats.layers}
    assert layers["b2.reduce"].inputs == ("stem",)
    assert layers["cat"].inputs == ("b1", "b2.conv", "b3")
    assert layers["cat"].shape == (1, 4 + 6 + 8, 10, 10)


def test_references_reach_enclosing_lists(write_spec):
    path = write_spec("""
        name: dag
        input: [3, 8, 8]
        layers:
          - early: {kind: conv2d, out: 5, kernel: 1}
          - group:
              layers:
                - c: {kind: conv2d, out: 5, kernel: 1}
                - skip: {kind: add, from: [c, early]}
    """)
    layers = {layer.name: layer for layer in archcalc.analyze(path).layers}
    assert layers["group.skip"].inputs == ("group.c", "early")


def test_variants_and_kind_parameters(write_spec):
    path = write_spec("""
        name: family
        input: [3, 8, 8]
        params: {width: 4, act: relu}
        variants:
          small: {}
          large: {width: 16, act: tanh, input: [3, 16, 16]}
        layers:
          - conv: {kind: conv2d, out: width, kernel: 3}
          - act: act
    """)
    small = archcalc.analyze(path)            # the first variant is the default
    large = archcalc.analyze(path, variant="large")
    assert (small.model, small.layers[0].shape, small.layers[1].kind) == ("small", (1, 4, 6, 6), "relu")
    assert (large.model, large.layers[0].shape, large.layers[1].kind) == ("large", (1, 16, 14, 14), "tanh")


def test_variant_setting_an_undeclared_parameter_is_an_error(write_spec):
    path = write_spec("""
        name: family
        input: [3, 8, 8]
        params: {width: 4}
        variants:
          big: {widht: 8}
        layers:
          - conv: {kind: conv2d, out: width, kernel: 3}
    """)
    with pytest.raises(SpecError, match=r"sets 'widht', which is not a parameter \(did you mean 'width'\?\)"):
        archcalc.analyze(path)


@pytest.mark.parametrize("wrong, message, column", [
    ("{widht: 8}", "variant 'big' sets 'widht', which is not a parameter (did you mean 'width'?)", 9),
    ("[8]", "variant 'big' must be a mapping of parameter values", 8),
    ("{outputs: conv}", "'outputs' must be a list of layer names", 18),
    ("{input: 3x}", "input must be channels and 1 to 3 sizes (C×L, C×H×W or C×D×H×W), like 3x224x224, got '3x'", 16),
    ("{expect: {parms: 8}}", "unknown key 'parms' in expect (did you mean 'params'?)", 18),
    ("{published: {gflops: abc}}", "published 'gflops' must be a number, got 'abc'", 29),
])
def test_every_variant_is_checked_whichever_is_analysed(write_spec, wrong, message, column):
    """A typo in the variant 'big' was an error only when 'big' was analysed: `archcalc table
    model.yaml` (the default, 'small') printed its table, exit 0, over a file that is wrong."""
    path = write_spec(f"""
        name: family
        input: [3, 8, 8]
        params: {{width: 4}}
        variants:
          small: {{}}
          big: {wrong}
        layers:
          - conv: {{kind: conv2d, out: width, kernel: 3}}
    """)
    for variant in ("small", None):
        with pytest.raises(SpecError) as refused:
            archcalc.analyze(path, variant=variant)
        assert refused.value.message == message
        assert (refused.value.location.line, refused.value.location.column) == (6, column)


def test_the_specs_own_input_is_checked_where_every_variant_sets_its_own(write_spec):
    """`input: garbage` passed, exit 0, where each variant gave its own input: the spec's was never read."""
    path = write_spec("""
        name: family
        input: garbage
        variants:
          small: {input: [3, 8, 8]}
        layers:
          - r: relu
    """)
    with pytest.raises(SpecError, match="got 'garbage'") as refused:
        archcalc.analyze(path)
    assert (refused.value.location.line, refused.value.location.column) == (2, 8)


@pytest.mark.parametrize("expression, message", [
    ("__import__('os')", "only min, max, ceil, floor, round, int, pow and log may be called"),
    ("width.real", "'width.real' is not allowed in 'width.real'"),
    # an operator alone unparses to '': the message named nothing (found by a fuzzer)
    ("3 if width is 4 else 5", "'is' is not allowed in '3 if width is 4 else 5'"),
    ("3 if width not in [4] else 5", "'not in' is not allowed in '3 if width not in \\[4\\] else 5'"),
    # the spec's list is the language's list, not the loader's YList
    ("1 if widths < 3 else 2", ("cannot evaluate '1 if widths < 3 else 2': '<' not supported between instances of "
                                "'list' and 'int'")),
    ("3 +\\n 4", r"cannot read the expression '3 \+\\n 4'\n"),
    # the functions take numbers, not true/false (ceil and max took them: found by a fuzzer); the
    # value refused is said as the spec writes it, true, false and null (it said Python's True)
    ("ceil(true)", "ceil takes numbers, got true\n"),
    ("max(true, 2)", "max takes numbers, got true\n"),
    ("min([1, false])", "min takes numbers, got false\n"),
    ("max(true)", "max takes two numbers or more, or one list of them, got true\n"),
    ("pow(2, [1, true])", r"pow takes numbers, got \[1, true\]\n"),
    ("floor()", "floor takes 1 argument, got 0"),
    ("2 ** 64", "operator not allowed"),
    ("width / 0", "division by zero"),
    ("10 ** 3", "operator not allowed"),
    # a sign takes a number as + - * do: -true was -1 (Python's bool is an int), 'w - -true' 3
    ("width - -true", "arithmetic on something that is not a number in 'width - -true'"),
    ("+false + 4", "arithmetic on something that is not a number in '\\+false \\+ 4'"),
    ("-widths", "arithmetic on something that is not a number in '-widths'"),
    # Python's grammar reads a fullwidth 'ｗ' as 'w' (NFKC): another parameter than the one written
    ("ｗidth * 2", "the name 'ｗidth' in 'ｗidth \\* 2' is read as 'width'"),
    # Python leaves a comment out: 'width*2#*4' was 8, the '*4' written and never read
    ("width*2#*4", "the expression 'width\\*2#\\*4' ends in a comment"),
    # Python reads '4if' with a SyntaxWarning of its own, a line on stderr: refused as unreadable
    ("4if width else 5", "cannot read the expression '4if width else 5'"),
])
def test_expressions_are_a_small_safe_language(expression, message, write_spec):
    path = write_spec(f"""
        name: evil
        input: [3, 8, 8]
        params: {{width: 4, widths: [1, 2]}}
        layers:
          - conv: {{kind: conv2d, out: "{expression}", kernel: 1}}
    """)
    with pytest.raises(SpecError, match=message):
        archcalc.analyze(path)


def test_expression_helpers(write_spec):
    path = write_spec("""
        name: helpers
        input: [3, 8, 8]
        params: {widths: [10, 20, 30]}
        layers:
          - conv: {kind: conv2d, out: "max(widths[1] // 3, ceil(7 / 2)) if widths[0] == 10 else 1", kernel: 1}
    """)
    assert archcalc.analyze(path).layers[0].shape[1] == max(20 // 3, 4)


def test_every_bundled_spec_cites_its_source_and_analyses():
    files = sorted(specs_dir().glob("*.yaml"))
    assert {f.stem for f in files} >= {"lenet", "alexnet", "vgg", "resnet"}
    for path in files:
        assert len(str(load_document(path).get("source", ""))) > 20, path
    for entry in bundled():
        stats = archcalc.analyze(entry.name)
        assert stats.source and stats.totals.params > 0


def test_one_resnet_file_gives_the_whole_family():
    names = {entry.name for entry in bundled() if entry.path.name == "resnet.yaml"}
    assert names >= {"resnet18", "resnet34", "resnet50", "resnet101", "resnet152"}
    depths = {name: sum(1 for layer in archcalc.analyze(name).layers if layer.kind in ("conv2d", "linear")
                        and "downsample" not in layer.name) for name in ["resnet18", "resnet50", "resnet152"]}
    assert depths == {"resnet18": 18, "resnet50": 50, "resnet152": 152}


def test_block_defaults_are_expressions_over_the_arguments(write_spec):
    path = write_spec("""
        name: defaults
        input: [3, 8, 8]
        blocks:
          wide:
            params: {out: width * 4, width: ~}
            layers:
              - conv: {kind: conv2d, out: out, kernel: 1}
        layers:
          - a: {kind: wide, width: 5}
          - b: {kind: wide, width: 2, out: 7}
    """)
    shapes = {layer.name: layer.shape[1] for layer in archcalc.analyze(path).layers}
    assert shapes == {"a.conv": 5 * 4, "b.conv": 7}


# A model of another spec (`kind: model`): its layers as a group, its errors in its own file.

def test_a_model_item_takes_another_specs_layers_up_to_until(write_spec):
    path = write_spec("""
        name: head_on_lenet
        input: [1, 32, 32]
        layers:
          - features: {kind: model, spec: lenet, until: pool2}
          - head: {kind: conv2d, out: 10, kernel: 5}
    """)
    stats = archcalc.analyze(path)
    lenet = archcalc.analyze("lenet5").layers
    taken = lenet[:[layer.name for layer in lenet].index("pool2") + 1]
    assert [(layer.name, layer.shape, layer.figures) for layer in stats.layers[:-1]] == \
           [("features." + layer.name, layer.shape, layer.figures) for layer in taken]
    assert stats.blocks["features"][0] == "lenet5 (specs/lenet.yaml)"


@pytest.mark.parametrize("until, message, hint", [
    ("1", "'until' names the int 1: a layer's name is text",
     "quote the layer's name as it is written in that spec (YAML reads a bare 1, yes or null as no text)"),
    ('"1"', None, None),
])
def test_until_of_a_layer_named_by_digits_is_quoted(until, message, hint, write_spec):
    """`until: 1` said "'until' names '1', which is not a top-level layer (did you mean '1'?)": YAML
    reads 1 as a number (an attacking review)."""
    write_spec("name: digits\ninput: [3, 8, 8]\nlayers:\n  - '0': {kind: conv2d, out: 4, kernel: 3}\n"
               "  - '1': relu\n  - '2': {kind: conv2d, out: 2, kernel: 3}\n", name="digits.yaml")
    path = write_spec(f"name: cut\ninput: [3, 8, 8]\nlayers:\n  - m: {{kind: model, spec: digits.yaml, until: {until}}}\n")
    if message is None:
        assert [layer.name for layer in archcalc.analyze(path).layers] == ["m.0", "m.1"]
        return
    with pytest.raises(SpecError, match=re.escape(message)) as caught:
        archcalc.analyze(path)
    assert caught.value.hint == hint


@pytest.mark.parametrize("spec, layer", [
    ("name: t\ninput: [4, 8, 8]\nlayers:\n  - r: {kind: conv2d, repeat: 3, out: '8 - 4 * index', kernel: 1}\n", "r.2"),
    (("name: t\ninput: [4, 8, 8]\nblocks:\n  b:\n    params: {k: ~}\n    layers:\n      - c: {kind: conv2d, out: 4, kernel: k}\n"
      "layers:\n  - st: {kind: b, repeat: 3, k: '8 // (2 - index)'}\n"), "st.2"),
    ("name: t\ninput: [4, 8, 8]\nlayers:\n  - r: {kind: conv2d, repeat: 3, out: 0, kernel: 1}\n", "r"),  # alike: the item
])
def test_an_error_in_a_copy_that_differs_names_the_copy(spec, layer, write_spec):
    """A repeat's third copy got out = 8 - 4·2 = 0, and the error named the item 'r' (an attacking
    review): the copy's name says which index failed. Where the copies are alike, the item."""
    path = write_spec(spec)
    with pytest.raises(SpecError) as caught:
        archcalc.analyze(path)
    assert caught.value.layer == layer

def test_a_model_items_unknown_variant_is_not_told_to_leave_out_an_option(write_spec):
    """The hint said 'leave out --variant', an option nobody gave (an attacking review)."""
    write_spec("name: plain\ninput: [3, 8, 8]\nlayers:\n  - c: {kind: conv2d, out: 4, kernel: 3}\n", name="plain.yaml")
    path = write_spec("name: outer\ninput: [3, 8, 8]\nlayers:\n  - m: {kind: model, spec: plain.yaml, variant: big}\n")
    with pytest.raises(SpecError, match="unknown variant 'big': this spec defines only 'plain'") as caught:
        archcalc.analyze(path)
    assert caught.value.hint == "leave out the variant asked for (--variant, or a model item's variant:)"

def test_a_model_item_sets_that_specs_parameters_and_reads_relative_paths(write_spec):
    write_spec("""
        name: inner
        input: [3, 8, 8]
        params: {width: 4}
        layers:
          - conv: {kind: conv2d, out: width, kernel: 3}
    """, name="inner.yaml")
    path = write_spec("""
        name: outer
        input: [3, 16, 16]
        params: {w: 6}
        layers:
          - body: {kind: model, spec: inner.yaml, width: "w * 2"}
    """)
    assert archcalc.analyze(path).layers[0].shape == (1, 12, 14, 14)


@pytest.mark.parametrize("item, message, where", [
    ("{kind: model, spec: resnett}", "'resnett' is not a bundled spec (did you mean 'resnet'?)", "model.yaml:4"),
    ("{kind: model, spec: resnet, until: layer5}",
     "'until' names 'layer5', which is not a top-level layer of that spec (did you mean 'layer4'?)", "model.yaml:4"),
    ("{kind: model, spec: resnet, variant: resnet51}", "unknown variant 'resnet51' (did you mean 'resnet50'?) in 'resnet'",
     "model.yaml:4"),
    ("{kind: model, spec: resnet, widths: 3}", "unknown key 'widths'", "model.yaml:4"),
    ("{kind: model, spec: missing.yaml}", "cannot include 'missing.yaml': there is no file", "model.yaml:4"),
    ("{kind: model, spec: model.yaml}", "the model of 'model.yaml' includes itself", "model.yaml:4"),
])
def test_a_wrong_model_item_is_refused_with_where(write_spec, item, message, where):
    path = write_spec(f"""
        name: m
        input: [3, 64, 64]
        layers:
          - part: {item}
    """)
    with pytest.raises(SpecError) as error:
        archcalc.analyze(path)
    assert message in str(error.value) and where in str(error.value), str(error.value)


@pytest.mark.parametrize("keys, message", [
    ("repeat: 0, first: {strid: 2}", "unknown key 'strid' (did you mean 'stride'?)"),
    ("repeat: 0, first: {kind: bogus}", "unknown layer kind 'bogus'"),
    ("repeat: 0, first: {repeat: 3}", "'repeat' cannot be changed in 'first'"),
    ("when: false, first: {stride: 2}", "'first' sets fields of the first of a 'repeat' or 'for_each'"),
    ("when: false, as: row", "'as' names the row of 'for_each', and this item has none"),
    ("when: false, repeat: 2, for_each: [[1]], as: row", "an item has either 'repeat' or 'for_each', not both"),
])
def test_an_item_left_out_still_has_its_keys_checked(write_spec, keys, message):
    """docs/spec.md: an item left out (by 'when', or a repeat of 0) still has its kind and keys
    checked. Its 'first', and the keys that go with a repeat, were not: each of these was taken."""
    path = write_spec(f"""
        name: left_out
        input: [3, 8, 8]
        layers:
          - a: {{kind: conv2d, out: 4, kernel: 3}}
          - b: {{kind: conv2d, out: 4, kernel: 3, {keys}}}
    """)
    with pytest.raises(SpecError) as error:
        archcalc.analyze(path)
    assert f"layer 'b': {message}" in str(error.value), str(error.value)


@pytest.mark.parametrize("params, item, said", [
    ("{resnet18: resnet50}", "spec: resnet, variant: resnet18",
     "'variant: resnet18' names both the parameter 'resnet18' (= 'resnet50') and a variant of 'resnet'"),
    ("{resnet: vgg}", "spec: resnet, variant: resnet18",
     "'spec: resnet' names both the parameter 'resnet' (= 'vgg') and the spec 'resnet'"),
])
def test_a_model_items_name_that_is_also_a_parameter_is_ambiguous(write_spec, params, item, said):
    """As 'kind:' refuses a parameter of a kind's name. The parameter was taken without a word:
    ResNet-50 cut after layer1 where ResNet-18 up to layer4 was written."""
    path = write_spec(f"""
        name: taken
        input: [3, 64, 64]
        params: {params}
        layers:
          - bb: {{kind: model, {item}}}
    """)
    with pytest.raises(SpecError) as error:
        archcalc.analyze(path)
    assert f"layer 'bb': {said}" in str(error.value), str(error.value)


def test_a_spec_that_includes_itself_is_refused_at_once_with_its_cycle(write_spec):
    """The spec given was not among the including ones: one that included itself once (a 'when'
    ending the loop) was taken, and a → b → a was refused at a → b → a → b, its message two
    parentheses deep, saying 'includes itself, or … more than 4 deep'."""
    looped = write_spec("""
        name: looped
        input: [3, 8, 8]
        params: {again: true}
        layers:
          - c: {kind: conv2d, out: 4, kernel: 1}
          - m: {kind: model, spec: looped.yaml, again: false, when: again}
    """, name="looped.yaml")
    with pytest.raises(SpecError) as error:
        archcalc.analyze(looped)
    assert "layer 'm': the model of 'looped.yaml' includes itself" in str(error.value), str(error.value)
    write_spec("name: b\ninput: [3, 8, 8]\nlayers:\n  - m: {kind: model, spec: a.yaml}\n", name="b.yaml")
    first = write_spec("name: a\ninput: [3, 8, 8]\nlayers:\n  - m: {kind: model, spec: b.yaml}\n", name="a.yaml")
    with pytest.raises(SpecError) as error:
        archcalc.analyze(first)
    assert "layer 'm.m': the model of 'a.yaml' includes itself (" in str(error.value), str(error.value)
    assert str(error.value).count("in the model taken from") == 1


@pytest.mark.parametrize("off", ["when: deep", "repeat: 0"])
def test_a_loop_through_another_spec_is_refused_where_the_item_that_starts_it_is_left_out(write_spec, off,
                                                                                         monkeypatch):
    """docs/spec.md: a spec that includes itself, directly or through others, is refused even where
    a `when` would end the loop. a → b → a with a's item left out was taken (b was read, its own
    items not), while analysing b, whose item is left out too, was also taken: a loop in neither."""
    write_spec(f"name: b\ninput: [4, 8, 8]\nparams: {{deep: false}}\nlayers:\n  - r: relu\n"
               f"  - back: {{kind: model, spec: a.yaml, {off}}}\n", name="b.yaml")
    first = write_spec(f"name: a\ninput: [3, 8, 8]\nparams: {{deep: false}}\nlayers:\n"
                       f"  - c: {{kind: conv2d, out: 4, kernel: 1}}\n  - m: {{kind: model, spec: b.yaml, {off}}}\n",
                       name="a.yaml")
    second = first.with_name("b.yaml")
    monkeypatch.chdir(first.parent)  # the specs named from here
    for path, route, line in ((first, "a.yaml → b.yaml → a.yaml", 6), (second, "b.yaml → a.yaml → b.yaml", 6)):
        with pytest.raises(SpecError) as error:
            archcalc.analyze(path.name)
        assert error.value.message.endswith(f"leads to a loop of specs that include each other ({route})")
        assert error.value.location.line == line


def test_a_loop_is_found_through_a_parameter_and_a_block_but_not_in_a_block_no_item_uses(write_spec, monkeypatch):
    write_spec("name: c\ninput: [4, 8, 8]\nlayers:\n  - r: relu\n  - back: {kind: model, spec: b.yaml, repeat: 0}\n",
               name="c.yaml")
    unused = "blocks:\n  wrap:\n    layers:\n      - inner: {kind: model, spec: which}\n"
    write_spec(f"name: b\ninput: [4, 8, 8]\nparams: {{which: c.yaml}}\n{unused}layers:\n  - r: relu\n", name="b.yaml")
    top = write_spec("name: top\ninput: [3, 8, 8]\nparams: {deep: false}\nlayers:\n"
                     "  - c: {kind: conv2d, out: 4, kernel: 1}\n  - m: {kind: model, spec: b.yaml, when: deep}\n")
    monkeypatch.chdir(top.parent)
    assert [layer.name for layer in archcalc.analyze(top).layers] == ["c"]  # b's block is used by no item
    write_spec(f"name: b\ninput: [4, 8, 8]\nparams: {{which: c.yaml}}\n{unused}layers:\n  - w: wrap\n", name="b.yaml")
    with pytest.raises(SpecError) as error:
        archcalc.analyze(top)
    assert error.value.message.endswith("(b.yaml → c.yaml → b.yaml)"), error.value.message


def test_specs_include_each_other_four_deep_and_no_deeper(write_spec):
    for depth in range(1, 6):
        write_spec(f"name: s{depth}\ninput: [3, 8, 8]\nlayers:\n  - m: {{kind: model, spec: s{depth + 1}.yaml}}\n",
                   name=f"s{depth}.yaml")
    write_spec("name: s6\ninput: [3, 8, 8]\nlayers:\n  - r: relu\n", name="s6.yaml")
    path = write_spec("name: top\ninput: [3, 8, 8]\nlayers:\n  - m: {kind: model, spec: s3.yaml}\n")
    assert [layer.name for layer in archcalc.analyze(path).layers] == ["m.m.m.m.r"]  # s3 → s4 → s5 → s6
    path.write_text(path.read_text().replace("s3.yaml", "s2.yaml"))
    with pytest.raises(SpecError) as error:
        archcalc.analyze(path)
    assert "specs are included more than 4 deep" in str(error.value)


def test_an_error_in_an_included_model_is_shown_at_the_item_that_takes_it(write_spec):
    """Its layers run on what the including spec feeds them, and its expressions on the values that
    spec sets: the error is at the model item, naming the layer, and the line inside for the latter."""
    write_spec("""
        name: inner
        input: [3, 8, 8]
        params: {widths: [4]}
        layers:
          - conv: {kind: conv2d, out: "widths[0]", kernel: 9}
    """, name="inner.yaml")
    path = write_spec("""
        name: outer
        input: [3, 8, 8]
        layers:
          - body: {kind: model, spec: inner.yaml}
    """)
    with pytest.raises(SpecError) as error:
        archcalc.analyze(path)
    assert f"{path.name}:4:5: layer 'body.conv'" in str(error.value) and "does not fit the padded input" in str(error.value)
    path.write_text(path.read_text().replace("spec: inner.yaml}", "spec: inner.yaml, widths: []}"))
    with pytest.raises(SpecError) as error:
        archcalc.analyze(path)
    assert f"{path.name}:4:5: layer 'body.conv': index 0 of 'widths', an empty list" in str(error.value)
    assert "inner.yaml:5:" in str(error.value) and "in the model taken from 'inner.yaml'" in str(error.value)


def test_a_block_parameter_can_name_the_layer_it_reads(write_spec):
    """`from: skip` with the parameter skip: 'a' reads layer a; a layer of that name wins over it."""
    path = write_spec("""
        name: m
        input: [3, 8, 8]
        blocks:
          merge:
            params: {skip: ~}
            layers:
              - conv: {kind: conv2d, out: 3, kernel: 1}
              - add: {kind: add, from: [conv, skip]}
        layers:
          - a: {kind: conv2d, out: 3, kernel: 3, padding: 1}
          - b: {kind: conv2d, out: 3, kernel: 1}
          - m1: {kind: merge, skip: "'a'"}
          - m2: {kind: merge, skip: "'input'"}
    """)
    from archcalc.spec import load_graph

    inputs = {node.name: node.inputs for node in load_graph(path).nodes}
    assert inputs["m1.add"] == ("m1.conv", "a")
    assert inputs["m2.add"] == ("m2.conv", "m1.add")  # 'input' in a block: the block's input


LEVEL = """
    name: t
    input: [4, 8, 8]
    blocks:
      level:
        params: {skip: ~}
        layers:
          - conv: {kind: conv2d, out: 4, kernel: 1}
          - cat: {kind: concat, from: [conv, skip]}
    layers:
      - conv: {kind: conv2d, out: 6, kernel: 1}
      - up: {kind: level, skip: "'conv'"}
"""


def test_a_layer_a_parameter_names_both_where_it_is_given_and_in_the_block_is_refused(write_spec):
    """An attacking review found the caller's `skip: 'conv'` read as the block's own `conv`, silently;
    with the block's layer renamed, the caller's. The name is looked up both where it is given and
    in the block: two different layers are refused, one is taken wherever it is."""
    from archcalc.spec import load_graph

    with pytest.raises(SpecError) as error:
        load_graph(write_spec(LEVEL))
    assert "layer 'up.cat': the parameter 'skip' names 'conv', which is both the layer 'conv' where 'skip' is " \
        "given and 'up.conv' in the block" in str(error.value) and "rename one of the two layers" in str(error.value)
    renamed = load_graph(write_spec(LEVEL.replace("- conv: {kind: conv2d, out: 4", "- c: {kind: conv2d, out: 4")
                                    .replace("from: [conv, skip]", "from: [c, skip]")))
    assert {node.name: node.inputs for node in renamed.nodes}["up.cat"] == ("up.c", "conv")  # the caller's
    alone = load_graph(write_spec(LEVEL.replace("- conv: {kind: conv2d, out: 6, kernel: 1}",
                                                "- first: {kind: conv2d, out: 6, kernel: 1}")))
    assert {node.name: node.inputs for node in alone.nodes}["up.cat"] == ("up.conv", "up.conv")  # the block's


@pytest.mark.parametrize("passed", ["skip", '"(skip)"'])
def test_a_layer_name_passed_on_by_a_block_is_looked_up_where_it_was_first_given(write_spec, passed):
    """`skip: skip` passes the caller's name on: the top-level `conv` it was given as is not the
    outer block's `conv`, which a lookup from the inner call alone would find (and take). An
    expression reading that parameter alone passes it on too (a review found `(skip)` did not)."""
    from archcalc.spec import load_graph

    path = write_spec("""
        name: t
        input: [4, 8, 8]
        blocks:
          inner:
            params: {skip: ~}
            layers:
              - cat: {kind: concat, from: [input, skip]}
          outer:
            params: {skip: ~}
            layers:
              - conv: {kind: conv2d, out: 3, kernel: 1}
              - in: {kind: inner, skip: PASSED}
        layers:
          - conv: {kind: conv2d, out: 6, kernel: 1}
          - o: {kind: outer, skip: "'conv'"}
    """.replace("PASSED", passed))
    with pytest.raises(SpecError, match=r"the parameter 'skip' names 'conv', which is both the layer 'conv' where "
                                        r"'skip' is given and 'o\.conv' in the block"):
        load_graph(path)


def test_every_copy_of_a_repeat_reads_a_digit_named_layer_as_the_first_does(write_spec):
    """An attacking review found copy 1 of a repeat reading `from: "0"` as copy 0 (`st.0`), where
    copy 0 read the top-level layer "0" (as nn.Sequential names its children): a repeat's copies
    are no list the spec wrote. Each concat is the 4 input channels and the 5 of "0": 9."""
    path = write_spec("""
        name: t
        input: [4, 8, 8]
        blocks:
          u:
            layers:
              - c: {kind: concat, from: [input, "0"]}
              - r: {kind: conv2d, out: 4, kernel: 1}
        layers:
          - "0": {kind: conv2d, out: 5, kernel: 1}
          - st: {kind: u, repeat: 3, from: input}
    """)
    from archcalc.spec import load_graph

    graph = load_graph(path)
    inputs = {node.name: node.inputs for node in graph.nodes}
    assert [inputs[f"st.{index}.c"] for index in range(3)] == [("input", "0"), ("st.0.r", "0"), ("st.1.r", "0")]
    stats = archcalc.analyze(path)
    assert {layer.name: layer.shape for layer in stats.layers if layer.name.endswith(".c")} == {
        f"st.{index}.c": (1, 9, 8, 8) for index in range(3)}


@pytest.mark.parametrize("spec", ["/etc/passwd", "../outside.yaml", "/etc/../tmp/x.yaml", "sub/../../up.yaml",
                                  "notes.txt/"])
def test_a_model_item_reads_only_yaml_files_beside_or_below_its_spec(write_spec, spec):
    """A spec nobody has read must not make archcalc read (and quote in its errors) files elsewhere."""
    path = write_spec(f"""
        name: m
        input: [3, 8, 8]
        layers:
          - part: {{kind: model, spec: "{spec}"}}
    """)
    with pytest.raises(SpecError) as error:
        archcalc.analyze(path)
    assert str(error.value).startswith(f"{path}:4:") and "its own folder or below it" in str(error.value)


@pytest.mark.parametrize("item, message", [
    ('spec: "a\\0b"', r"'a\x00b' is not a bundled spec"),
    ('spec: "a\\0b.yaml"', r"cannot include 'a\x00b.yaml': the path cannot be resolved"),
    (f'spec: {"y" * 300}.yaml', "cannot include 'yyyyyyyyyyyyyyyyyyyy…yyyyyyyyyyyyyyy.yaml': the path cannot be resolved"),
    ("spec: loop.yaml", "cannot include 'loop.yaml': the path cannot be resolved"),
    ("spec: pipe.yaml", "cannot include 'pipe.yaml': there is no file"),
    ('spec: resnet, variant: "a\\nb"', r"the variant name 'a\nb' is not one line of text"),
])
def test_an_odd_model_item_is_one_error_at_the_item(write_spec, cli, item, message):
    """A NUL, a name too long for the file system, a loop of links, a named pipe, a variant name on
    two lines: one line of error at the item, exit 2, nothing read from elsewhere."""
    import os

    path = write_spec(f"""
        name: m
        input: [3, 8, 8]
        layers:
          - part: {{kind: model, {item}}}
    """)
    (path.parent / "loop.yaml").symlink_to("loop.yaml")
    os.mkfifo(path.parent / "pipe.yaml")
    result = cli("table", str(path))
    assert result.exit_code == 2 and result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"error: {path}:4:") and "layer 'part'" in first and message in first


@pytest.mark.parametrize("expression, value", [
    ("round(2.5)", 2), ("round(3.5)", 4), ("round(-2.5) + 4", 2), ("round(2.6)", 3),  # half to even
    ("int(7.9)", 7), ("int(-7.9) + 9", 2),                                        # towards 0
    ("pow(2, 10)", 1024), ("pow(4, 0.5) * 4", 8), ("pow(2, -1) * 16", 8), ("pow(-2, 3) + 16", 8),
    ("round(log(pow(2.54, 3)) / log(2.54))", 3), ("round(log(1024, 2))", 10),
    ("pow(2, 3) if log(8, 2) > 2.9 else 0", 8),
    ("-" * 32 + "8", 8), ("+".join(["1"] * 33), 33),  # 32 operations, each on another's result: the limit
])
def test_round_int_pow_and_log(expression, value, write_spec):
    path = write_spec(f"""
        name: functions
        input: [3, 8, 8]
        layers:
          - conv: {{kind: conv2d, out: "{expression}", kernel: 1}}
    """)
    assert archcalc.analyze(path).layers[0].shape[1] == value


@pytest.mark.parametrize("expression, message", [
    ("pow(9, pow(9, 9))", r"pow takes an exponent from -64 to 64, got 387420489"),
    ("pow(2, 65)", r"pow takes an exponent from -64 to 64, got 65"),
    ("pow(10, 16)", r"'pow\(10, 16\)' gives 1e\+16, beyond the limit of 1e\+15"),
    # a fuzzer's: just past the limit, its value was shown as the limit ("gives 1e+15, beyond the limit of 1e+15")
    ("int(1e15) + 0.5", r"'int\(1e15\) \+ 0\.5' gives 1,000,000,000,000,000\.5, beyond the limit of 1e\+15"),
    ("-pow(10, 15) - 1", r"gives -1,000,000,000,000,001, beyond the limit of 1e\+15"),
    ("pow(1e15, 64)", r"gives inf, beyond the limit"),
    ("pow(0, -1)", r"division by zero in 'pow\(0, -1\)'"),
    ("pow(-8, 1 / 3)", r"a negative number to the power 0.33\d+ is not a real number"),
    ("log(0)", r"log takes a number above 0, got 0"),
    ("log(-3)", r"log takes a number above 0, got -3"),
    ("log(8, 1)", r"the base of log must be above 0 and not 1"),
    ("round('a')", r"round takes numbers, got 'a'"),
    ("int([1])", r"int takes numbers, got \[1\]"),
    ("round(2.5, 1)", r"round takes 1 argument, got 2"),
    ("pow(2)", r"pow takes 2 arguments, got 1"),
    ("log(1, 2, 3)", r"log takes 1 or 2 arguments, got 3"),
    ("2 ** 3", r"operator not allowed"),
    ("1e15 / 1e-300", r"gives inf, beyond the limit"),
    ("pow(" * 40 + "2" + ", 1)" * 40, r"chains or nests more than 32 operations"),
    # 33 minuses, each on the result of the next: the shortest text with too many, 34 characters (32 were refused)
    ("-" * 33 + "8", r"'-{33}8' chains or nests more than 32 operations, each working on the result of another"),
    # a flat sum of 34 terms: 33 '+', each adding to the sum before it (it was said to "nest")
    ("+".join(["1"] * 34), r"chains or nests more than 32 operations, each working on the result of another"),
    # the constant 1e308 is refused before the product is made: the product (inf) was said to give 1e+308
    ("1e308 * 10", r": '1e308' in '1e308 \* 10' gives 1e\+308, beyond the limit of 1e\+15$"),
])
def test_functions_refuse_what_they_cannot_compute_at_the_field(expression, message, write_spec):
    path = write_spec(f"""
        name: refused
        input: [3, 8, 8]
        layers:
          - conv: {{kind: conv2d, out: "{expression}", kernel: 1}}
    """)
    with pytest.raises(SpecError, match=message) as caught:
        archcalc.analyze(path)
    assert caught.value.layer == "conv" and caught.value.location.line == 4  # at the field



@pytest.mark.parametrize("field, expression", [
    ("out", "4 if w == w else 8"),   # nan == nan is false: 8 filters, silently
    ("when", "w > 1"),               # false: the layer left out, silently
    ("when", "not ws[0] > 1"),       # through a list's item
    ("out", "max(4, ws[1]) if ws[0] <= 1 else 4"),
])
def test_a_nan_parameter_is_refused_where_an_expression_reads_it(field, expression, write_spec):
    """.nan makes every comparison false, so it is refused where it is read, as .inf is (found by an
    attacking review: '4 if w == w else 8' gave 8 filters and 'w > 1' dropped a layer, exit 0)."""
    path = write_spec(f"""
        name: nan
        input: [3, 8, 8]
        params: {{w: .nan, ws: [.nan, 2]}}
        layers:
          - conv: {{kind: conv2d, kernel: 1, {'' if field == 'out' else 'out: 4, '}{field}: "{expression}"}}
    """)
    with pytest.raises(SpecError, match=r"is nan, not a number") as caught:
        archcalc.analyze(path)
    assert caught.value.layer == "conv" and caught.value.location.line == 5

def test_an_expression_nested_to_the_bound_is_evaluated():
    """32 levels, the most allowed, in 32 characters: 31 minus signs before a number (the text too
    short to nest deeper, which parse then does not walk for its depth)."""
    from archcalc.spec.expr import evaluate

    assert evaluate("-" * 31 + "8", {}) == -8
    assert evaluate("-" * 30 + "8", {}) == 8


def test_a_repeat_gives_each_copy_its_index_and_count(write_spec):
    path = write_spec("""
        name: indexed
        input: [8, 16, 16]
        blocks:
          unit:
            params: {out: ~, stride: 1}
            layers:
              - conv: {kind: conv2d, out: out, kernel: 3, stride: stride, padding: 1}
        layers:
          - a: {kind: unit, repeat: 3, out: "8 * (index + 1)", first: {stride: 2}}
          - b: {kind: conv2d, repeat: 2, out: "4 * count + index", kernel: 1}
          - g: {repeat: 2, layers: [{x: {kind: conv2d, out: "index + 5", kernel: 1}}]}
          - c: {kind: conv2d, repeat: 2, out: 6, kernel: 1}
    """)
    stats = archcalc.analyze(path)
    shapes = {layer.name: layer.shape for layer in stats.layers}
    assert [shapes[f"a.{i}.conv"] for i in range(3)] == [(1, 8, 8, 8), (1, 16, 8, 8), (1, 24, 8, 8)]
    assert [shapes[f"b.{i}"][1] for i in range(2)] == [8, 9]
    assert [shapes[f"g.{i}.x"][1] for i in range(2)] == [5, 6]   # an inline group's items see it too
    from archcalc.spec import load_graph

    nodes = {node.name: node for node in load_graph(path).nodes}
    assert nodes["c.0"].attrs is nodes["c.1"].attrs             # copies that do not read it share their fields


def test_for_each_makes_one_copy_per_row_chained_like_repeat(write_spec):
    path = write_spec("""
        name: rows
        input: [8, 16, 16]
        params: {rows: [[8, 1], [16, 2], [24, 1]]}
        blocks:
          unit:
            params: {out: ~, stride: 1, last: false}
            layers:
              - conv: {kind: conv2d, out: out, kernel: 3, stride: stride, padding: 1}
              - relu: {kind: relu, when: not last}
        layers:
          - stage: {kind: unit, for_each: rows, as: row, out: "row[0]", stride: "row[1]",
                    last: index == count - 1, first: {stride: 2}}
          - widths: {kind: conv2d, for_each: [4, 6], as: width, out: width, kernel: 1}
          - none: {kind: relu, for_each: "[]", as: row}
    """)
    stats = archcalc.analyze(path)
    assert [layer.name for layer in stats.layers] == [
        "stage.0.conv", "stage.0.relu", "stage.1.conv", "stage.1.relu", "stage.2.conv", "widths.0", "widths.1"]
    layers = {layer.name: layer for layer in stats.layers}
    assert layers["stage.0.conv"].shape == (1, 8, 8, 8)          # the row's stride 1, changed by `first`
    assert layers["stage.1.conv"].shape == (1, 16, 4, 4)
    assert layers["stage.2.conv"].inputs == ("stage.1.relu",)
    assert layers["widths.1"].shape == (1, 6, 4, 4) and layers["widths.0"].inputs == ("stage.2.conv",)


def test_true_and_false_in_an_expression_are_never_a_parameter_or_a_row(write_spec):
    """A parameter named 'false' (holding true) kept a layer whose `when: "false"` docs/spec.md
    reads as false, and `as: "true"` made `bias: "true"` the row's 4: a name that collides with
    true/false was taken for it, silently. true and false are the booleans: a parameter cannot
    be so named (it could never be read), and `as` cannot take them."""
    path = write_spec("""
        name: collide
        input: [3, 8, 8]
        params: {"false": true}
        layers:
          - kept: {kind: conv2d, out: 4, kernel: 1}
          - dropped: {kind: conv2d, out: 4, kernel: 1, when: "false"}
    """)
    with pytest.raises(SpecError, match="'false' cannot name a parameter") as refused:
        archcalc.analyze(path)
    assert (refused.value.location.line, refused.value.location.column) == (3, 10)
    path = write_spec("""
        name: collide
        input: [3, 8, 8]
        layers:
          - c: {kind: conv2d, out: 4, kernel: 1, bias: "true", for_each: [4, 8], as: "true"}
    """)
    with pytest.raises(SpecError, match="'as' must be a name other than index, count, true and false, got 'true'"):
        archcalc.analyze(path)


@pytest.mark.parametrize("name", ["w-1", "1w", "w 1", "", "_w", "if", "None", "True", "ｗ", "w.x"])
@pytest.mark.parametrize("whose", ["spec", "block"])
def test_a_parameter_no_expression_can_read_as_itself_is_refused_at_its_name(write_spec, name, whose):
    """A parameter 'w-1' beside 'w: 8' was read as w - 1: `out: w-1` gave 7 channels, and the
    variant's 'w-1: 2' changed nothing, with exit 0. A parameter is named as a layer is (an ASCII
    letter, then letters, digits and _), and not by a word an expression reads as its own."""
    params = f'{{w: 8, "{name}": 2}}'
    path = write_spec(f"""
        name: named
        input: [3, 8, 8]
        {"params: " + params if whose == "spec" else ""}
        blocks:
          unit:
            params: {params if whose == "block" else "{w: 8}"}
            layers:
              - conv: {{kind: conv2d, out: w, kernel: 1}}
        layers:
          - u: unit
    """)
    with pytest.raises(SpecError) as refused:
        archcalc.analyze(path)
    assert refused.value.message == f"{name!r} cannot name a parameter"
    line = 3 if whose == "spec" else 6  # at the name as written: its quote
    column = path.read_text(encoding="utf-8").splitlines()[line - 1].index(f'"{name}"') + 1
    assert (refused.value.location.line, refused.value.location.column) == (line, column)


def test_a_variant_of_a_parameter_named_otherwise_than_it_reads_was_silent(write_spec):
    path = write_spec("""
        name: dashed
        input: [3, 8, 8]
        params: {w: 8, w-1: 3}
        variants:
          small: {w-1: 2}
        layers:
          - conv: {kind: conv2d, out: w-1, kernel: 1}
    """)
    with pytest.raises(SpecError, match="'w-1' cannot name a parameter"):
        archcalc.analyze(path, variant="small")


@pytest.mark.parametrize("off", ["", ", when: false"])
def test_a_model_items_key_that_is_also_a_parameter_of_its_spec_is_refused(write_spec, off):
    """`repeat: 2` on a model item whose spec has a parameter 'repeat' (its convolution's channels)
    made 2 copies of a convolution of 2 channels, exit 0: the value went to both, as a block's
    parameter named 'repeat' once ran 3×3 copies (that one is refused). So is this, kept or left out."""
    write_spec("name: inner\ninput: [4, 8, 8]\nparams: {repeat: 4}\nlayers:\n"
               "  - c: {kind: conv2d, out: repeat, kernel: 1}\n", name="inner.yaml")
    path = write_spec(f"""
        name: outer
        input: [3, 8, 8]
        layers:
          - s: {{kind: conv2d, out: 4, kernel: 1}}
          - m: {{kind: model, spec: inner.yaml, repeat: 2{off}}}
    """)
    with pytest.raises(SpecError) as refused:
        archcalc.analyze(path)
    assert refused.value.message == ("'repeat' is both this item's own key and a parameter of the spec 'inner.yaml': "
                                     "its value would go to both"), refused.value
    assert (refused.value.location.line, refused.value.location.column) == (5, 40)


@pytest.mark.parametrize("name", ["description", "input", "outputs", "expect", "published"])
def test_a_parameter_named_as_a_variants_own_key_is_refused(write_spec, name):
    """A parameter 'description' (4 channels) that the variant 'b' sets to 8: the variant's
    'description: 8' was read as its description, and 'b' had 4 channels, exit 0 (by hand: a 1×1
    convolution of 3 into 4 channels has 16 parameters, into 8, 32; 16 was reported)."""
    path = write_spec(f"""
        name: family
        input: [3, 8, 8]
        params: {{{name}: 4}}
        variants:
          a: {{}}
          b: {{{name}: 8}}
        layers:
          - c: {{kind: conv2d, out: {name}, kernel: 1}}
    """)
    with pytest.raises(SpecError) as refused:
        archcalc.analyze(path, variant="b")
    assert refused.value.message == f"{name!r} cannot name a parameter: a variant's '{name}:' is its own {name}"
    assert (refused.value.location.line, refused.value.location.column) == (3, 10)


@pytest.mark.parametrize("name", ["if", "None", "_row", "in"])
def test_a_row_name_no_expression_reads_as_itself_is_refused(write_spec, name):
    """`as: if` and `as: None` were taken, though no expression can read the row by them."""
    path = write_spec(f"""
        name: rows
        input: [3, 8, 8]
        layers:
          - c: {{kind: conv2d, out: 4, kernel: 1, for_each: [1, 2], as: {name}}}
    """)
    with pytest.raises(SpecError, match=f"'as' must be a name other than index, count, true and false, got '{name}'"):
        archcalc.analyze(path)


def test_an_outer_index_reaches_an_inner_repeat_as_a_block_parameter(write_spec):
    path = write_spec("""
        name: nested
        input: [4, 8, 8]
        blocks:
          stage:
            params: {stage: ~}
            layers:
              - conv: {kind: conv2d, repeat: 2, out: "10 * (stage + 1) + index", kernel: 1}
        layers:
          - stages: {kind: stage, repeat: 2, stage: index}
    """)
    widths = [layer.shape[1] for layer in archcalc.analyze(path).layers]
    assert widths == [10, 11, 20, 21]


def test_a_copys_names_reach_no_blocks_layers_through_a_group(write_spec):
    """docs/spec.md: the names do not reach inside a block. A block inside a repeated inline group
    whose items read 'index' saw it too (out = 1, 12, 23); the same block in a group whose items
    read none of it was refused. Both are refused now, at the block's layer."""
    path = write_spec("""
        name: leaking
        input: [3, 8, 8]
        blocks:
          leaf:
            params: {w: 4}
            layers:
              - conv: {kind: conv2d, out: "w + index * 10", kernel: 1}
        layers:
          - g: {repeat: 3, layers: [{l: {kind: leaf, w: "1 + index"}}]}
    """)
    with pytest.raises(SpecError) as error:
        archcalc.analyze(path)
    assert "layer 'g.0.l.conv': unknown name 'index'" in str(error.value), str(error.value)


def test_a_block_in_a_repeated_group_sees_the_models_parameters_whatever_came_before(write_spec):
    """A model parameter 'count' read by a block inside a repeated group whose items read 'index':
    the block saw the copy's count (2) where the model's is 4, and once the copy's names were kept
    from it, the instance cache, keyed by them, made the answer depend on what the process had
    analysed before (refused, then accepted)."""
    path = write_spec("""
        name: counted
        input: [3, 8, 8]
        params: {count: 4, grouped: false}
        variants:
          plain: {}
          grouped: {grouped: true}
        blocks:
          leaf:
            params: {w: 1}
            layers:
              - conv: {kind: conv2d, out: "w * count", kernel: 1}
        layers:
          - a: {kind: leaf, w: 1, when: "not grouped"}
          - g: {repeat: 2, layers: [{l: {kind: leaf, w: "1 + index"}}], when: grouped}
    """)
    for variant in ("grouped", "plain", "grouped"):
        widths = [layer.shape[1] for layer in archcalc.analyze(path, variant=variant).layers]
        assert widths == ([4, 8] if variant == "grouped" else [4]), (variant, widths)


def test_an_inner_repeats_index_hides_a_groups_copys(write_spec):
    """docs/spec.md: an inner repeat's index hides an outer one. Inside a repeated inline group it
    was refused, the outer copy's index taken for a parameter of that name."""
    path = write_spec("""
        name: nested
        input: [4, 8, 8]
        layers:
          - g: {repeat: 2, layers: [{b: {kind: conv2d, out: "10 + index", kernel: 1, repeat: 2}}]}
          - h: {for_each: [[1], [2]], as: row, layers: [{c: {kind: conv2d, out: "row[0]", kernel: 1, for_each: [[5]],
                                                            as: row}}]}
    """)
    assert [layer.shape[1] for layer in archcalc.analyze(path).layers] == [10, 11, 10, 11, 5, 5]


def test_the_expansion_bound_stays_exact_when_copies_differ(write_spec, cli):
    """A copy that reads its index may expand to more or fewer items than the one before: the
    two-copy projection is not used, so a spec within the bound passes and one past it is refused."""
    template = """
        name: varying
        input: [3, 8, 8]
        blocks:
          unit:
            params: {{n: ~}}
            layers:
              - r: {{kind: relu, repeat: n}}
        layers:
          - s: {{kind: unit, repeat: 10, n: "{n} if index == 1 else 1"}}
    """
    # 1 repeat + 10 instances + 10 inner repeats + 9 relus + n relus
    within = archcalc.analyze(write_spec(template.format(n=60_000 - 30)))
    assert len(within.layers) == 60_000 - 30 + 9
    result = cli("table", str(write_spec(template.format(n=60_000 - 29))))
    assert result.exit_code == 2 and "expands to more than 60,000 layers" in result.stderr


def test_repeat_names_are_refused_where_they_would_mislead(write_spec):
    spec = """
        name: clash
        input: [3, 8, 8]
        params: {count: 16}
        layers:
          - conv: {kind: conv2d, repeat: 2, out: %s, kernel: 1}
    """
    assert archcalc.analyze(write_spec(spec % "8")).layers[0].shape[1] == 8  # a parameter 'count' not read: fine
    with pytest.raises(SpecError, match="'count' in a repeated item is how many copies there are"):
        archcalc.analyze(write_spec(spec % "count"))


def test_the_regnet_width_rule_gives_torchvisions_stages():
    """RegNetX-400MF with every width computed per block from its index (tests/specs/regnet_x_sketch.yaml):
    torchvision's stages (widths 32, 64, 160, 400; depths 1, 2, 7, 12) and its published
    5,495,976 parameters and 0.41 GFLOPS (RegNet_X_400MF_Weights, torchvision 0.29)."""
    from pathlib import Path

    stats = archcalc.analyze(Path(__file__).parent / "specs" / "regnet_x_sketch.yaml")
    layers = {layer.name: layer for layer in stats.layers}
    widths = [layers[f"blocks.{i}.c.conv"].shape[1] for i in range(22)]
    starts = [i for i in range(22) if f"blocks.{i}.proj.conv" in layers]
    assert [widths[i] for i in starts] == [32, 64, 160, 400]
    assert [b - a for a, b in zip(starts, [*starts[1:], 22])] == [1, 2, 7, 12]
    weights = [layers[f"blocks.{i}.b.conv"].figures.weight for i in starts]  # grouped: width × 16 × 3 × 3
    assert weights == [width * 16 * 9 for width in (32, 64, 160, 400)]
    assert stats.totals.params == 5_495_976 and f"{stats.totals.macs / 1e9:.2f}" == "0.41"


@pytest.mark.parametrize("variant, params, gflops", [("efficientnet_b0", 5_288_548, "0.39"),
                                                     ("efficientnet_b4", 19_341_616, "4.39")])
def test_the_efficientnet_table_scales_to_torchvisions_models(variant, params, gflops):
    """EfficientNet from the B0 table, scaled by width (channels rounded to multiples of 8 as
    torchvision's _make_divisible) and depth (ceil): torchvision's published parameters and
    GFLOPS (EfficientNet_B0/B4_Weights, torchvision 0.29). tests/specs/efficientnet_sketch.yaml."""
    from pathlib import Path

    stats = archcalc.analyze(Path(__file__).parent / "specs" / "efficientnet_sketch.yaml", variant=variant)
    assert stats.totals.params == params and f"{stats.totals.macs / 1e9:.2f}" == gflops


def test_the_regnet_rule_in_doubles_matches_torchs_float32_widths():
    """torchvision computes RegNet's block widths in float32 tensors, archcalc's expressions in
    doubles: for every RegNet setting of torchvision's regnet.py (depth, w_0, w_a, w_m) both give
    the same widths."""
    torch = pytest.importorskip("torch")
    import math

    from archcalc.spec.expr import evaluate

    settings = [(16, 48, 27.89, 2.09), (14, 56, 38.84, 2.4), (27, 48, 20.71, 2.65), (21, 80, 42.63, 2.66),
                (17, 192, 76.82, 2.19), (18, 200, 106.23, 2.48), (20, 232, 115.89, 2.53), (27, 456, 160.83, 2.52),
                (22, 24, 24.48, 2.54), (16, 56, 35.73, 2.28), (18, 80, 34.01, 2.25), (25, 88, 26.31, 2.25),
                (23, 80, 49.56, 2.88), (22, 216, 55.59, 2.1), (23, 320, 69.86, 2.0)]
    rule = "round(w_0 * pow(w_m, round(log((index * w_a + w_0) / w_0) / log(w_m))) / 8) * 8"
    for depth, w_0, w_a, w_m in settings:
        cont = torch.arange(depth) * w_a + w_0
        capacity = torch.round(torch.log(cont / w_0) / math.log(w_m))
        expected = (torch.round(torch.divide(w_0 * torch.pow(w_m, capacity), 8)) * 8).int().tolist()
        names = {"w_0": w_0, "w_a": w_a, "w_m": w_m}
        assert [evaluate(rule, {**names, "index": i}) for i in range(depth)] == expected


# Block instances met again are copied (archcalc.spec.instances): what a copy gives is what expanding gives

def _expanded(path, variant=None, copying=True):
    """The graph of `path` as (nodes, scopes, outputs), with copying of block instances or without it."""
    import importlib

    expand = importlib.import_module("archcalc.spec.expand")
    from archcalc.spec import load_graph

    kept = expand._INSTANCES
    expand._INSTANCES = kept if copying else _Forgetful()
    try:
        graph = load_graph(path, variant)
    finally:
        expand._INSTANCES = kept
    return graph.nodes, graph.scopes, graph.outputs


def _refusals_copying_and_not(path) -> list[tuple]:
    """The error (message, location, layer) that expanding `path` raises with copies of block
    instances, and the one it raises without."""
    errors = []
    for copying in (True, False):
        with pytest.raises(SpecError) as raised:
            _expanded(path, copying=copying)
        errors.append((raised.value.message, raised.value.location, raised.value.layer))
    return errors


class _Forgetful(dict):
    """A memo that keeps nothing: every instance is expanded."""

    def __setitem__(self, key, value) -> None:
        pass


def _copies(monkeypatch) -> list[str]:
    """The dotted names of the block instances copied from here on."""
    import importlib

    builder = importlib.import_module("archcalc.spec.expand")._Builder
    copied, copy = [], builder._copy
    monkeypatch.setattr(builder, "_copy", lambda self, known, full, *rest: copied.append(full) or copy(self, known, full, *rest))
    return copied


@pytest.mark.parametrize("entry", [tier(entry) for entry in bundled()])
def test_every_bundled_model_expands_alike_with_block_instances_copied(entry, monkeypatch):
    """The fast tier checks FAST_MODELS (ResNet-50 copies its bottlenecks), a full run every model."""
    _expanded(entry.path, entry.variant)  # the instances kept, as by the models before it in a process
    copied = _copies(monkeypatch)
    assert _expanded(entry.path, entry.variant) == _expanded(entry.path, entry.variant, copying=False)
    if entry.name == "resnet50":
        assert {"layer1.1", "layer1.2", "layer4.2"} <= set(copied)  # the second and third bottleneck of a stage


COPIES = """
    name: copies
    input: [4, 8, 8]
    params: {act: relu}
    variants:
      with_relu: {}
      with_silu: {act: silu}
    blocks:
      plain:                     # an item switched off: the next reads the block's input
        params: {out: 4, pre_on: true}
        layers:
          - pre: {kind: conv2d, out: out, kernel: 1, when: pre_on}
          - conv: {kind: conv2d, out: out, kernel: 3, padding: 1}
          - add: {kind: add, from: [conv, input]}
      outer:                     # reads a layer outside itself
        layers:
          - a: {kind: plain}
          - b: {kind: plain, pre_on: false}
          - c: {kind: conv2d, out: 4, kernel: 1, from: stem}
          - sum: {kind: add, from: [c, b]}
      unit:                      # a kind named by a parameter, a layer named by one
        params: {skip: ~}
        layers:
          - conv: {kind: conv2d, out: 4, kernel: 3, padding: 1}
          - act: act
          - none: {kind: act, repeat: 0}
          - add: {kind: add, from: [act, skip]}
    layers:
      - stem: {kind: conv2d, out: 4, kernel: 1}
      - blocks: {kind: outer, repeat: 3}
      - units: {kind: unit, repeat: 2, skip: "'conv'"}
"""


def test_copied_instances_read_their_own_place(write_spec, monkeypatch):
    """Hand-worked wiring of the second copies: the `plain` instances copied (the second one's
    first layer switched off, so its conv reads the block's input); `outer`, which reads `stem`,
    and `unit`, whose kind is a parameter's value, expanded each time."""
    path = write_spec(COPIES)
    copied = _copies(monkeypatch)
    nodes, scopes, outputs = _expanded(path, "with_relu")
    wiring = {node.name: (node.kind.key, node.inputs) for node in nodes}
    assert {name: wired for name, wired in wiring.items() if name.startswith(("blocks.1.", "units.1."))} == {
        "blocks.1.a.pre": ("conv2d", ("blocks.0.sum",)),
        "blocks.1.a.conv": ("conv2d", ("blocks.1.a.pre",)),
        "blocks.1.a.add": ("add", ("blocks.1.a.conv", "blocks.0.sum")),
        "blocks.1.b.conv": ("conv2d", ("blocks.1.a.add",)),
        "blocks.1.b.add": ("add", ("blocks.1.b.conv", "blocks.1.a.add")),
        "blocks.1.c": ("conv2d", ("stem",)),
        "blocks.1.sum": ("add", ("blocks.1.c", "blocks.1.b.add")),
        "units.1.conv": ("conv2d", ("units.0.add",)),
        "units.1.act": ("relu", ("units.1.conv",)),
        "units.1.add": ("add", ("units.1.act", "units.1.conv")),
    }
    assert scopes["blocks.1.b"].output == "blocks.1.b.add" and scopes["units.1.none"].label == "relu ×0"
    assert outputs == ("units.1.add",)
    assert copied == ["blocks.1.a", "blocks.1.b", "blocks.2.a", "blocks.2.b"]
    assert (nodes, scopes, outputs) == _expanded(path, "with_relu", copying=False)
    silu = _expanded(path, "with_silu")  # after with_relu in the same process: the parameter's kind
    assert {node.kind.key for node in silu[0] if node.name.endswith(".act")} == {"silu"}
    assert silu[1]["units.0.none"].label == "silu ×0"
    assert silu == _expanded(path, "with_silu", copying=False)


@pytest.mark.parametrize("layers, limit, message", [
    ("- a: {kind: outer, deep: true}", None, "block 'outer' includes itself (outer → inner → outer)"),
    ("- a: {kind: inner, deep: false}\n- b: {kind: inner, deep: true}", None, "block 'inner' includes itself"),
    ("- a: {kind: wide}\n- b: {kind: wide}\n- c: {kind: wide}", ("MAX_EXPANDED", 100),
     "the model expands to more than 100 layers"),
    ("- a: {kind: wide}\n- b: {layers: [{c: {layers: [{d: {kind: wide}}]}}]}",
     ("MAX_NESTING", 3), "blocks are nested more than 3 deep"),
])
def test_an_instance_that_would_fail_fails_where_expanding_fails(layers, limit, message, write_spec, monkeypatch):
    """A block met inside itself, or a copy past the expansion or nesting bound after an instance
    that expanded within it: refused as without copying, at the same place."""
    import importlib

    text = """
        name: failing
        input: [4, 8, 8]
        blocks:
          outer:
            params: {deep: ~}
            layers:
              - x: {kind: inner, deep: deep}
          inner:
            params: {deep: ~}
            layers:
              - y: relu
              - z: {kind: outer, deep: false, when: deep}
          wide:
            layers:
              - r: {kind: relu, repeat: 40}
              - g: {layers: [{s: relu}]}
        layers:
    """
    if limit:
        monkeypatch.setattr(importlib.import_module("archcalc.spec.expand"), *limit)
    copied = _copies(monkeypatch)
    path = write_spec(textwrap.dedent(text) + textwrap.indent(layers, "  ") + "\n")
    errors = _refusals_copying_and_not(path)
    assert errors[0] == errors[1]
    assert message in errors[0][0]
    assert copied == (["b"] if limit and limit[0] == "MAX_EXPANDED" else [])


RATES = """
    name: rates
    input: [4, 8, 8]
    params: {rate: 0.4}
    blocks:
      unit:                      # RegNet's and EfficientNet's shape: parameters worked out per block
        params: {i: ~, width: "4 if i < 2 else 8", p: "rate * i / 4"}
        layers:
          - conv: {kind: conv2d, out: width, kernel: 3, padding: 1}
          - drop: {kind: dropout, p: p}
          - add: {kind: add, from: [drop, conv]}
    layers:
      - units: {kind: unit, repeat: 4, i: index}
"""


def test_an_instance_whose_layers_are_placed_as_anothers_is_a_copy_with_its_own_fields(write_spec, monkeypatch):
    """Each `unit` is given its own `i`, which its parameters read and then only its layers' fields:
    every unit after the first is a copy of it, its layers' fields resolved again in its own scope
    (by hand: widths 4, 4, 8, 8; rates 0.4 · i / 4). Where `i` also decides whether a layer is there
    (`when`), it is part of what a copy must share: each unit is expanded."""
    path = write_spec(RATES)
    copied = _copies(monkeypatch)
    nodes, scopes, outputs = _expanded(path)
    assert copied == ["units.1", "units.2", "units.3"]
    assert [node.attrs["out"] for node in nodes if node.name.endswith(".conv")] == [4, 4, 8, 8]
    assert [node.attrs["p"] for node in nodes if node.name.endswith(".drop")] == [0.0, 0.1, 0.2, 0.30000000000000004]
    assert (nodes, scopes, outputs) == _expanded(path, copying=False)
    placed = write_spec(RATES.replace("p: p}", "p: p, when: i != 2}"))
    copied.clear()
    nodes, scopes, outputs = _expanded(placed)
    assert copied == []
    assert [node.name for node in nodes if node.name.endswith(".drop")] == ["units.0.drop", "units.1.drop", "units.3.drop"]
    assert (nodes, scopes, outputs) == _expanded(placed, copying=False)


def test_a_copys_own_field_that_fails_fails_where_expanding_fails(write_spec, monkeypatch):
    """At a rate of 1.6 the fourth unit's dropout would drop with 1.6 · 3 / 4 = 1.2: refused at that
    layer, as expanding it refuses it, though the unit is a copy; at 1.2 (0, 0.3, 0.6, 0.9) the model
    passes."""
    path = write_spec(RATES.replace("rate: 0.4", "rate: 1.2"))
    assert _expanded(path) == _expanded(path, copying=False)
    path = write_spec(RATES.replace("rate: 0.4", "rate: 1.6"))
    copied = _copies(monkeypatch)
    errors = _refusals_copying_and_not(path)
    assert copied == ["units.1", "units.2", "units.3"]
    assert errors[0] == errors[1]
    assert errors[0][2] == "units.3.drop" and "1.2" in errors[0][0]


def test_an_empty_list_and_an_empty_mapping_in_a_value_are_not_the_same_instance(write_spec, monkeypatch):
    """`x` works out to [[]] in `a` and to [{}] in `b`, which are not equal: only `a` has its relu,
    copying or not (both once made the same key; found by a review of the copies)."""
    path = write_spec("""
        name: empties
        input: [4, 8, 8]
        params: {e1: [[]], e2: [{}]}
        blocks:
          blk:
            params: {sel: 0, x: "e1 if sel == 0 else e2"}
            layers:
              - r: {kind: relu, when: "x == [[]]"}
        layers:
          - a: {kind: blk, sel: 0}
          - b: {kind: blk, sel: 1}
    """)
    copied = _copies(monkeypatch)
    nodes, scopes, outputs = _expanded(path)
    assert [node.name for node in nodes] == ["a.r"] and copied == []
    assert (nodes, scopes, outputs) == _expanded(path, copying=False)


def test_a_list_given_to_expand_and_changed_after_is_read_anew():
    """A caller's list of parameter values, changed between two expansions: the second reads its
    new value (a conv of 8 and the relu that 8 switches on), as without copying."""
    import importlib

    from archcalc.spec.source import parse_yaml

    expand = importlib.import_module("archcalc.spec.expand")
    doc = parse_yaml(textwrap.dedent("""
        name: changed
        input: [4, 8, 8]
        params: {ws: [4]}
        blocks:
          unit:
            layers:
              - c: {kind: conv2d, out: "ws[0]", kernel: 1}
              - r: {kind: relu, when: "ws[0] == 8"}
        layers:
          - a: unit
    """), "changed.yaml")
    widths = [4]
    first = expand.expand(doc, "changed.yaml", settings={"ws": widths})
    widths[0] = 8
    second = expand.expand(doc, "changed.yaml", settings={"ws": widths})
    assert [(node.name, node.attrs["out"]) for node in first.nodes] == [("a.c", 4)]
    assert [node.name for node in second.nodes] == ["a.c", "a.r"] and second.nodes[0].attrs["out"] == 8


def test_a_copy_is_refused_where_a_parameter_around_it_names_one_of_its_kinds(write_spec):
    """`inner`, expanded first where no parameter is named `relu`, is met again inside `outer`,
    whose parameter `relu` (a text) names its layer kind too: refused there, copying or not (a copy
    was taken whole, and the model passed)."""
    path = write_spec("""
        name: kinds
        input: [4, 8, 8]
        blocks:
          inner:
            layers:
              - r: relu
          outer:
            params: {relu: "'x'"}
            layers:
              - i: inner
        layers:
          - a: inner
          - b: outer
    """)
    errors = _refusals_copying_and_not(path)
    assert errors[0] == errors[1]
    assert errors[0][2] == "b.i.r" and "names both the parameter 'relu' (= 'x') and the layer kind" in errors[0][0]


def test_an_instance_met_again_is_expanded_again_where_what_it_reads_differs(write_spec):
    """A block instance is kept by the values of the names it reads: the same block under another
    value, one of another type (true is not 1), or where the name is not known, is expanded afresh."""
    from archcalc.spec import load_graph

    path = write_spec("""
        name: reads
        input: [3, 8, 8]
        params: {w: 4}
        variants: {four: {}, six: {w: 6}, one: {w: 1}, truth: {w: true}}
        blocks:
          inner:
            layers:
              - c: {kind: conv2d, out: w, kernel: 1}
        layers:
          - a: inner
          - b: {kind: inner, repeat: 2}
    """)
    widths = {variant: [layer.shape[1] for layer in archcalc.analyze(path, variant=variant).layers]
              for variant in ("four", "six", "one")}
    assert widths == {"four": [4, 4, 4], "six": [6, 6, 6], "one": [1, 1, 1]}
    with pytest.raises(SpecError) as truth:
        load_graph(path, "truth")
    assert (truth.value.layer, truth.value.message) == ("a.c", "field 'out' must be a whole number, got True")
    unknown = write_spec("""
        name: unknown
        input: [3, 8, 8]
        blocks:
          inner:
            layers:
              - c: {kind: conv2d, out: n, kernel: 1}
          outer:
            params: {n: 2}
            layers:
              - i: inner
        layers:
          - o: outer
          - p: inner
    """, "unknown.yaml")
    with pytest.raises(SpecError) as raised:  # `n` is known inside `outer` only
        load_graph(unknown)
    assert raised.value.layer == "p.c" and "'n' is neither a number nor a known name" in raised.value.message


@pytest.mark.parametrize("layers", [
    "  - c: {kind: conv2d, out: 3, kernel: 1, repeat: 0}\n", "  - c: {kind: conv2d, out: 3, kernel: 1, when: false}\n",
    "  - g:\n      layers: []\n"], ids=["repeat 0", "when false", "empty group"])
def test_a_model_left_without_layers_is_one_error(cli, write_spec, layers):
    """It was an IndexError (exit 1) in every command."""
    result = cli("table", write_spec(f"name: e\ninput: [3, 8, 8]\nlayers:\n{layers}"))
    assert result.exit_code == 2 and "has no layer once its repeats and conditions are applied" in result.stderr


@pytest.mark.parametrize("off", ["when: extra", "repeat: 0"])
@pytest.mark.parametrize("item, says, wrong", [
    ("{kind: conv2d, out: 8, kernal: 3, OFF}", "unknown key 'kernal' (did you mean 'kernel'?)", "kernal"),
    ("{kind: conv2e, out: 8, kernel: 3, OFF}", "unknown layer kind 'conv2e' (did you mean 'conv2d'?)", "conv2e"),
    ("{kind: pair, widht: 8, OFF}", "unknown key 'widht' (did you mean 'width'?)", "widht"),
    # a model of another spec: its keys were not checked at all where it was left out
    ("{kind: model, spec: part.yaml, widht: 8, OFF}", "unknown key 'widht' (did you mean 'width'?)", "widht"),
    ("{kind: model, spec: prat.yaml, OFF}", "cannot include 'prat.yaml': there is no file", "prat"),
    ("{kind: model, spec: model.yaml, OFF}", "the model of 'model.yaml' includes itself (",
     "model.yaml")])
def test_an_item_left_out_still_has_its_kind_and_keys_checked(write_spec, off, item, says, wrong):
    """A misspelt field of an item that `when` or a repeat of 0 leaves out passed silently in the
    variants that leave it out; it is now the same error in every variant, at its place. Its
    fields are not evaluated (they may hold only where the item is in). A model item's spec is
    read for its parameters, and one that includes itself is refused, as docs/spec.md says,
    even where a `when` would end the loop."""
    write_spec("name: part\ninput: [3, 8, 8]\nparams: {width: 4}\nlayers:\n"
               "  - c: {kind: conv2d, out: width, kernel: 1}\n", name="part.yaml")
    path = write_spec(f"""
        name: switched
        input: [3, 16, 16]
        params: {{extra: false}}
        blocks:
          pair:
            params: {{width: ~}}
            layers:
              - a: {{kind: conv2d, out: width, kernel: 3}}
        layers:
          - conv: {{kind: conv2d, out: 8, kernel: 3}}
          - more: {item.replace("OFF", off)}
    """)
    with pytest.raises(SpecError) as raised:
        load_graph(path)
    assert raised.value.message.startswith(says) and raised.value.layer == "more", raised.value.message
    line = path.read_text().splitlines()[10]
    assert (raised.value.location.line, raised.value.location.column) == (11, line.index(wrong) + 1), line


@pytest.mark.parametrize("off", ["when: extra", "repeat: 0"])
@pytest.mark.parametrize("item, says, layer, line, wrong", [
    ("{layers: [{a: {kind: conv2d, out: 8, kernal: 3}}], OFF}", "unknown key 'kernal' (did you mean 'kernel'?)",
     "more.a", 12, "kernal"),
    ("{layers: [{a: relu}, {b: {layers: [{c: conv2e}]}}], OFF}", "unknown layer kind 'conv2e' (did you mean 'conv2d'?)",
     "more.b.c", 12, "conv2e"),
    ("{kind: pair, OFF}", "unknown key 'strde' (did you mean 'stride'?)", "more.b", 9, "strde"),
])
def test_the_items_of_a_group_or_block_left_out_have_their_kind_and_keys_checked(write_spec, off, item, says,
                                                                                  layer, line, wrong):
    """A misspelt field inside an inline group or a block that `when` or a repeat of 0 leaves out
    passed, exit 0, where the same field on the item itself was an error in every variant. A kind
    that a block's parameter names is still found per instance (`- a: act`)."""
    path = write_spec(f"""
        name: switched
        input: [3, 16, 16]
        params: {{extra: false}}
        blocks:
          pair:
            params: {{act: relu}}
            layers:
              - a: act
              - b: {{kind: conv2d, out: 4, kernel: 1, strde: 1}}
        layers:
          - conv: {{kind: conv2d, out: 8, kernel: 3}}
          - more: {item.replace("OFF", off)}
    """)
    with pytest.raises(SpecError) as raised:
        load_graph(path)
    assert raised.value.message.startswith(says) and raised.value.layer == layer, raised.value
    text = path.read_text().splitlines()[line - 1]
    assert (raised.value.location.line, raised.value.location.column) == (line, text.index(wrong) + 1), text


@pytest.mark.parametrize("item, says", [
    ("{kind: relu, repeat: 2, first: 5, when: extra}",
     "'first' must be a mapping of fields that differ in the first repetition"),
    ("{kind: relu, for_each: [1, 2], when: extra}",
     "'for_each' needs 'as: NAME', the name that each row takes in the item's fields"),
    ("{kind: relu, for_each: [1, 2], as: 5, when: extra}",
     "'as' must be a name other than index, count, true and false, got 5"),
    ("{layers: [{a: {kind: relu, for_each: [1], as: index}}], when: extra}",
     "'as' must be a name other than index, count, true and false, got 'index'"),
    ("{kind: conv2e, layers: [{a: relu}], kernal: 3, when: extra}",
     "a layer has either 'kind' or 'layers' (an inline group), not both"),
])
def test_an_item_left_out_has_its_first_and_as_checked(write_spec, item, says):
    """'first: 5', a for_each without 'as' or with 'as: 5', or both 'kind' and 'layers' (its kind
    and keys then unchecked) passed, exit 0, where `when` left the item out, though each is
    refused where it is in, without evaluating a field."""
    path = write_spec(f"""
        name: switched
        input: [3, 16, 16]
        params: {{extra: false}}
        layers:
          - conv: {{kind: conv2d, out: 8, kernel: 3}}
          - more: {item}
    """)
    with pytest.raises(SpecError) as raised:
        load_graph(path)
    assert raised.value.message == says, raised.value
    path.write_text(path.read_text().replace("extra: false", "extra: true"))  # the item kept: the same error
    with pytest.raises(SpecError) as kept:
        load_graph(path)
    assert kept.value.message == says, kept.value


@pytest.mark.parametrize("off", ["when: extra", "repeat: 0"])
@pytest.mark.parametrize("item, layer", [("{layers: {a: relu}, OFF}", "more"), ("{kind: loose, OFF}", "more")])
def test_a_group_or_block_left_out_whose_layers_are_no_list_is_refused(write_spec, off, item, layer):
    """An inline group or a block whose 'layers:' is a mapping, not a list, passed, exit 0, where
    `when` or a repeat of 0 left it out: kept, it is refused as "'layers' must be a list of
    '- name: …' items"; left out, its items' kinds and keys are checked, and so is that."""
    path = write_spec(f"""
        name: switched
        input: [3, 16, 16]
        params: {{extra: false}}
        blocks:
          loose:
            layers: {{a: relu}}
        layers:
          - conv: {{kind: conv2d, out: 8, kernel: 3}}
          - more: {item.replace("OFF", off)}
    """)
    with pytest.raises(SpecError) as raised:
        load_graph(path)
    assert raised.value.message == "'layers' must be a list of '- name: …' items" and raised.value.layer == layer, \
        raised.value
    assert raised.value.location.line == 9



def test_a_block_left_out_whose_parameter_names_a_kind_is_taken_as_where_it_is_in(write_spec):
    """Inside a block left out, a kind its parameter names is known per instance only: `- a: act`
    (act = 'relu') and `- g: gelu` beside a parameter 'gelu' given a number are no error."""
    path = write_spec("""
        name: switched
        input: [3, 8, 8]
        params: {deep: false}
        blocks:
          unit:
            params: {act: "'relu'", gelu: 0}
            layers:
              - a: act
              - g: gelu
        layers:
          - r: relu
          - u: {kind: unit, when: deep}
    """)
    assert [layer.name for layer in archcalc.analyze(path).layers] == ["r"]
    path.write_text(path.read_text().replace("deep: false", "deep: true"))
    assert [layer.kind for layer in archcalc.analyze(path).layers] == ["relu", "relu", "gelu"]


def test_a_model_item_left_out_may_name_its_spec_by_a_parameter_that_holds_none(write_spec):
    """A parameter naming the spec may hold a spec only where the item is in: `backbone: none` with
    `when: "backbone != 'none'"` leaves the item out, and its spec is not looked for."""
    write_spec("name: part\ninput: [3, 8, 8]\nlayers:\n  - c: {kind: conv2d, out: 4, kernel: 1}\n", name="part.yaml")
    path = write_spec("""
        name: switched
        input: [3, 8, 8]
        params: {backbone: none}
        variants:
          plain: {}
          with_backbone: {backbone: part.yaml}
        layers:
          - r: relu
          - x: {kind: model, spec: backbone, when: "backbone != 'none'"}
    """)
    assert [layer.name for layer in archcalc.analyze(path).layers] == ["r"]
    assert [layer.name for layer in archcalc.analyze(path, variant="with_backbone").layers] == ["r", "x.c"]


@pytest.mark.parametrize("off", ["when: deep", "repeat: 0"])
@pytest.mark.parametrize("item, message, column", [
    ("variant: resnet51", "unknown variant 'resnet51' (did you mean 'resnet50'?) in 'resnet'", 45),
    ("until: layer5", "'until' names 'layer5', which is not a top-level layer of that spec (did you mean 'layer4'?)", 43),
])
def test_a_model_item_left_out_still_has_its_variant_and_until_checked(write_spec, off, item, message, column):
    """A misspelt variant or until of a model item left out passed, exit 0, though the same spelling
    in a field is an error in every variant; a name given by a parameter is still read only where
    the item is in."""
    path = write_spec(f"""
        name: switched
        input: [3, 224, 224]
        params: {{deep: false, chosen: resnet51}}
        layers:
          - c: {{kind: conv2d, out: 3, kernel: 1}}
          - b: {{kind: model, spec: resnet, {item}, {off}}}
    """)
    with pytest.raises(SpecError) as refused:
        archcalc.analyze(path)
    assert refused.value.message == message
    assert (refused.value.location.line, refused.value.location.column) == (6, column)
    path.write_text(path.read_text().replace("variant: resnet51", "variant: chosen"))
    if "variant" in item:
        assert [layer.name for layer in archcalc.analyze(path).layers] == ["c"]


@pytest.mark.parametrize("off", ["for_each: nets, as: row", "for_each: [resnet18, resnet34], as: row, when: false"])
@pytest.mark.parametrize("item", ["variant: row", "until: row", "spec: row, variant: resnet18"])
def test_a_model_item_left_out_may_name_its_spec_variant_and_until_by_its_row(write_spec, off, item):
    """A for_each over an empty list (a variant that sets 'nets: []'), or switched off, whose model
    item took its variant or until from the row ('as: row', 'variant: row') was refused as
    "unknown variant 'row'", though each copy reads the row's value: a row, as a parameter, names
    them where the copies are made. The model is then the convolution alone."""
    spec = "resnet" if "spec:" not in item else "row"
    path = write_spec(f"""
        name: heads
        input: [3, 64, 64]
        params: {{nets: []}}
        layers:
          - c: {{kind: conv2d, out: 3, kernel: 1}}
          - b: {{kind: model, spec: {spec}, {item.replace("spec: row, ", "")}, {off}}}
    """)
    assert [layer.name for layer in archcalc.analyze(path).layers] == ["c"]


def test_an_item_left_out_is_not_evaluated(write_spec):
    """Its fields may divide by what is 0 where it is left out."""
    path = write_spec("""
        name: switched
        input: [3, 16, 16]
        params: {groups: 0}
        layers:
          - conv: {kind: conv2d, out: 8, kernel: 3}
          - grouped: {kind: conv2d, out: 8 // groups, kernel: 3, groups: groups, when: groups > 0}
    """)
    assert [node.name for node in load_graph(path).nodes] == ["conv"]


def test_first_without_a_repeat_is_refused(cli, write_spec):
    """It was ignored, its fields never read: `first: {stride: 2}` on a single item changed nothing."""
    result = cli("table", write_spec("name: f\ninput: [3, 8, 8]\nlayers:\n"
                                     "  - c: {kind: conv2d, out: 4, kernel: 3, first: {stride: 2}}\n"))
    assert result.exit_code == 2 and "'first' sets fields of the first of a 'repeat' or 'for_each'" in result.stderr


@pytest.mark.parametrize("included, missing", [("input: [3, 8, 8]\nlayers:\n  - c: {kind: relu}\n", "name"),
                                               ("name: n\ninput: [3, 8, 8]\n", "layers")])
def test_an_included_spec_without_its_name_or_layers_is_one_error(cli, tmp_path, included, missing):
    """It was a KeyError (exit 1)."""
    (tmp_path / "inner.yaml").write_text(included)
    (tmp_path / "outer.yaml").write_text("name: o\ninput: [3, 8, 8]\nlayers:\n  - m: {kind: model, spec: inner.yaml}\n")
    result = cli("table", tmp_path / "outer.yaml")
    assert result.exit_code == 2 and f"the spec 'inner.yaml' included here has no '{missing}'" in result.stderr


@pytest.mark.parametrize("written, read, fix", [("0224", "as octal, as 148", "without leading zeros"),
                                                ("064", "as octal, as 52", "without leading zeros"),
                                                ("1:30", "in base 60, as 90", "without colons")])
def test_a_number_yaml_reads_otherwise_than_written_is_refused(cli, write_spec, written, read, fix):
    """YAML 1.1 reads a leading zero as octal and colons as base 60: `input: [3, 0224, 0224]` was
    a 148×148 input, `kernel: 1:30` a kernel of 90, silently. The hint of 1:30 said to write it
    without leading zeros, which it has none of."""
    result = cli("table", write_spec(f"name: o\ninput: [3, 32, 32]\nlayers:\n  - c: {{kind: conv2d, out: 8, kernel: {written}}}\n"))
    assert result.exit_code == 2 and f"YAML reads {written} {read}, not as written" in result.stderr
    assert f"hint: write the number {fix} (or quote it if it is text)" in result.stderr
    quoted = cli("table", write_spec(f"name: o\ninput: [3, 32, 32]\nlayers:\n  - c: {{kind: conv2d, out: 8, kernel: '{written}'}}\n"))
    assert quoted.exit_code == 2 and "not as written" not in quoted.stderr  # text: an expression, read as such


def test_a_setting_yaml_reads_as_octal_is_refused():
    from archcalc.settings import parse_setting

    with pytest.raises(SpecError, match="YAML reads 010 as octal, as 8, not as written"):
        parse_setting("k=010")


@pytest.mark.parametrize("setting, read", [("depths=[4,010]", "010 as octal, as 8"), ("depths=[4,1:30]", "1:30 in base 60, as 90"),
                                           ("depths=[[2],[-017]]", "-017 as octal, as -15"),
                                           ('width=!!int "010"', "010 as octal, as 8")])
def test_a_number_yaml_reads_otherwise_inside_a_settings_list_is_refused(setting, read):
    """docs/spec.md refuses such numbers in a --set value; inside a list they were read as YAML
    reads them, silently: depths=[4,010] swept [4, 8], [4,1:30] [4, 90], width=!!int "010" 8. A
    quoted one is text, and so is one tagged !!str."""
    from archcalc.settings import parse_setting

    with pytest.raises(SpecError, match=f"YAML reads {read}, not as written"):
        parse_setting(setting)
    assert parse_setting("depths=[4,'010'],[4,0x8]").values == ([4, "010"], [4, 8])
    assert parse_setting("depths=[4,!!str 010]").values == ([4, "010"],)


@pytest.mark.parametrize("blocks, kind", [("blocks:\n  unit:\n    layers:\n      - c: {kind: conv2d, out: 7, kernel: 1}\n",
                                           "the block 'unit'"), ("", "the layer kind 'unit'")])
@pytest.mark.parametrize("off", ["", ", when: false", ", repeat: 0"])
def test_a_kind_naming_both_a_parameter_and_a_block_or_kind_is_refused(cli, write_spec, blocks, kind, off):
    """`params: {unit: relu}` and a block `unit`: `kind: unit` silently took the parameter (a relu);
    and an item left out so written passed, exit 0, where its kind is checked in every variant."""
    name = "unit" if blocks else "conv2d"
    spec = (f"name: b\ninput: [3, 8, 8]\nparams: {{{name}: relu}}\n{blocks}layers:\n  - r: relu\n"
            f"  - b: {{kind: {name}{', out: 4, kernel: 1' if not blocks else ''}{off}}}\n")
    result = cli("table", write_spec(spec))
    expected = kind.replace("unit", name)
    assert result.exit_code == 2 and f"'kind: {name}' names both the parameter '{name}' (= 'relu') and {expected}" in result.stderr


@pytest.mark.parametrize("layer, says", [
    ("{kind: upsample2d, scale: 2, mode: bicubic}", "'bicubic' is none of the names 'mode' takes (nearest, bilinear)"),
    ("{kind: conv2d, out: 4, kernel: 3, padding: SAME}", "'SAME' is none of the names 'padding' takes (same, valid)")])
def test_a_word_a_choice_field_does_not_take_lists_the_words_it_does(cli, write_spec, layer, says):
    """It said "'bicubic' is neither a number nor a known name", with a hint about declaring parameters."""
    result = cli("table", write_spec(f"name: c\ninput: [3, 8, 8]\nlayers:\n  - u: {layer}\n"))
    assert result.exit_code == 2 and says in result.stderr and "hint: write one of " in result.stderr


@pytest.mark.parametrize("params, layer, field, value", [
    ("{last: channels}", "{kind: layer_scale, over: last}", "over", "'channels'"),
    ("{same: 1}", "{kind: conv2d, out: 4, kernel: 3, padding: same}", "padding", "1"),
    ("{w: 1}", "{kind: stochastic_depth, p: 0.1, mode: row, for_each: [1, 2], as: row}", "mode", "1"),
])
def test_a_word_of_a_choice_field_that_is_also_a_name_known_there_is_ambiguous(cli, write_spec, params, layer,
                                                                               field, value):
    """`over: last` beside a parameter 'last' took the word and left the parameter unread, exit 0,
    as `kind:` naming both a parameter and a kind is refused."""
    path = write_spec(f"name: m\ninput: [3, 8, 8]\nparams: {params}\nlayers:\n  - c: {layer}\n")
    result = cli("table", path)
    assert result.exit_code == 2 and result.stdout == "", result.output
    word = layer.split(f"{field}: ")[1].split(",")[0].rstrip("}")
    column = path.read_text().splitlines()[4].index(f"{field}: {word}") + len(field) + 3
    assert result.stderr.splitlines()[0] == (f"error: {path}:5:{column}: layer '{'c.0' if 'as:' in layer else 'c'}': "
                                             f"'{field}: {word}' is both the word '{word}' and a name known here "
                                             f"('{word}' = {value})")


def test_a_parameter_yaml_read_as_text_says_how_to_write_the_number(cli, write_spec):
    """`eps: 1e-6` under params is text to YAML 1.1 (written in a field, archcalc reads it as an
    expression): the error says how to write the number."""
    result = cli("table", write_spec("name: e\ninput: [3, 8, 8]\nparams: {eps: 1e-6}\nlayers:\n"
                                     "  - c: {kind: conv2d, out: 4, kernel: 1}\n  - bn: {kind: batchnorm2d, eps: eps}\n"))
    assert result.exit_code == 2 and "field 'eps' must be a number, got '1e-6'" in result.stderr
    assert "hint: YAML reads 1e-6 as text" in result.stderr and "write 1.0e-6 or 0.000001" in result.stderr


def test_a_required_block_parameter_given_as_null_is_missing_at_the_item(cli, write_spec):
    """`out: ~` for a parameter without a default was reported inside the block ('field out must be a
    whole number, got None'), as if the block were wrong."""
    result = cli("table", write_spec("name: b\ninput: [3, 8, 8]\nblocks:\n  blk:\n    params: {out: ~}\n    layers:\n"
                                     "      - c: {kind: conv2d, out: out, kernel: 1}\nlayers:\n  - b: {kind: blk, out: ~}\n"))
    assert result.exit_code == 2 and "block 'blk' needs the parameter 'out', and '~' (null) gives it no value" in result.stderr
    assert ":9:" in result.stderr.splitlines()[0]  # the item's line


def test_default_in_a_spec_without_variants_is_refused(cli, write_spec):
    """It was ignored silently: the spec's one model was taken, whatever 'default' named."""
    result = cli("table", write_spec("name: d\ninput: [3, 8, 8]\ndefault: big\nlayers:\n  - r: relu\n"))
    assert result.exit_code == 2 and "'default' names the variant a family file expands by default" in result.stderr


def test_a_default_of_empty_text_is_an_unknown_variant(cli, write_spec):
    """`default: ''` names no variant (a variant's name is never blank), and the first was taken
    silently, where any other name that is none is refused."""
    result = cli("table", write_spec("name: d\ninput: [3, 8, 8]\nparams: {w: 4}\nvariants:\n  a: {}\n  b: {w: 8}\n"
                                     "default: ''\nlayers:\n  - c: {kind: conv2d, out: w, kernel: 1}\n"))
    assert result.exit_code == 2 and result.stderr.startswith("error: "), result.output
    assert "model.yaml:7:10: unknown variant ''" in result.stderr.splitlines()[0], result.stderr


@pytest.mark.parametrize("default, message", [("nope", "unknown variant 'nope'"),
                                              ("3", "'default' must be the name of a variant")])
def test_a_default_that_names_no_variant_is_refused_when_another_is_asked_for(cli, write_spec, default, message):
    """`default: nope` was refused without --variant and taken silently with one (exit 0)."""
    path = write_spec(f"name: d\ninput: [3, 8, 8]\nparams: {{w: 4}}\nvariants:\n  a: {{}}\n  b: {{w: 8}}\n"
                      f"default: {default}\nlayers:\n  - c: {{kind: conv2d, out: w, kernel: 1}}\n")
    result = cli("table", path, "--variant", "b")
    assert result.exit_code == 2 and result.stdout == "", result.output
    assert result.stderr.splitlines()[0] == f"error: {path}:7:10: {message}"


def test_a_block_default_reading_a_later_parameter_says_so(cli, write_spec):
    """Its hint said "this spec declares none: add them under 'params'", though the block declares it."""
    result = cli("table", write_spec("name: p\ninput: [3, 16, 16]\nblocks:\n  blk:\n    params: {x: \"y * 2\", y: 3}\n"
                                     "    layers:\n      - c: {kind: conv2d, out: x, kernel: 1}\nlayers:\n  - b: {kind: blk}\n"))
    assert result.exit_code == 2 and "the default of 'x' reads 'y', a parameter of block 'blk' declared after it" in result.stderr
    assert "hint: declare 'y' before 'x'" in result.stderr


def test_an_instance_reading_a_layer_by_its_full_dotted_name_is_not_copied_onto_another(write_spec):
    """A fuzzer found `from: [relu, a.conv]` in block u, with `a: {kind: u}` then `b: {kind: u}`:
    expanded, b reads a.conv (the lookup reaches the top level); copied from a, b read b.conv.
    A name found in a list outside the instance, even one naming a layer inside it, is a read
    from outside: such an instance is not copied."""
    path = write_spec("""
        name: selfref
        input: [4, 8, 8]
        blocks:
          u:
            layers:
              - conv: {kind: conv2d, out: 4, kernel: 1}
              - relu: relu
              - add: {kind: add, from: [relu, a.conv]}
        layers:
          - a: {kind: u}
          - b: {kind: u}
    """)
    copied = _expanded(path)
    assert copied == _expanded(path, copying=False)
    assert {node.name: node.inputs for node in copied[0]}["b.add"] == ("b.relu", "a.conv")


def test_an_instance_whose_parameter_names_a_layer_is_not_copied_where_the_name_means_another(write_spec):
    """A fuzzer found `a: {kind: u, skip: "'conv'"}` (no top-level conv yet: the block's own),
    then a top-level conv, then `b: {kind: u, skip: "'conv'"}` copied from a, reading b.conv,
    where expanding b refuses it as ambiguous (docs/spec.md, References). What such a name reads
    depends on where it is given: the instance is not copied."""
    path = write_spec("""
        name: late
        input: [4, 8, 8]
        blocks:
          u:
            params: {skip: ~}
            layers:
              - conv: {kind: conv2d, out: 4, kernel: 1}
              - add: {kind: add, from: [conv, skip]}
        layers:
          - a: {kind: u, skip: "'conv'"}
          - conv: {kind: conv2d, out: 4, kernel: 1}
          - b: {kind: u, skip: "'conv'"}
    """)
    (copied, _, _), (expanded, _, _) = _refusals_copying_and_not(path)
    assert copied == expanded and "the parameter 'skip' names 'conv', which is both the layer 'conv'" in copied


def test_an_included_specs_block_of_the_same_name_is_another_block(write_spec):
    """A fuzzer found this spec's block `unit` holding a model of another spec whose own block is
    also `unit` refused as "block 'unit' includes itself (unit → unit)": the two are different
    blocks of different files."""
    write_spec("""
        name: sub
        input: [4, 8, 8]
        blocks:
          unit:
            layers:
              - conv: {kind: conv2d, out: 4, kernel: 1}
        layers:
          - u: {kind: unit}
    """, "sub.yaml")
    path = write_spec("""
        name: main
        input: [4, 8, 8]
        blocks:
          unit:
            layers:
              - back: {kind: model, spec: sub.yaml}
        layers:
          - a: {kind: unit}
    """)
    nodes, _, _ = _expanded(path)
    assert [(node.name, node.kind.key) for node in nodes] == [("a.back.u.conv", "conv2d")]
    assert (nodes, *_expanded(path)[1:]) == _expanded(path, copying=False)


NULL_SPEC = ("name: n\ninput: [3, 8, 8]\nparams: {w: ~, ks: [~, 3]}\nlayers:\n"
             "  - c: {kind: conv2d, out: 4, kernel: 1}\n  - d: {kind: conv2d, kernel: 1, FIELDS}\n")


@pytest.mark.parametrize("fields, written", [
    ('out: 4, when: "w == 3"', "'w' is null (~) in 'w == 3'"),  # left 'd' out, exit 0
    ('out: "4 if w else 8"', "'w' is null (~) in '4 if w else 8'"),  # gave 8, exit 0
    ('out: "4 if not w else 8"', "'w' is null (~) in '4 if not w else 8'"),
    ('out: 4, when: "w != 3 and true"', "'w' is null (~) in 'w != 3 and true'"),
    ('out: "w + 1"', "'w' is null (~) in 'w + 1'"),
    ('out: "max(w, 4)"', "'w' is null (~) in 'max(w, 4)'"),
    ('out: "ks[0] * 2"', "'ks[0]' is null (~) in 'ks[0] * 2'"),
    ('out: "[4, 8][w]"', "'w' is null (~) in '[4, 8][w]'"),
])
def test_a_null_parameter_compared_tested_or_computed_with_is_refused(cli, write_spec, fields, written):
    """`params: {w: ~}` read in `when: "w == 3"` left the layer out, and in `"4 if w else 8"` gave
    8, exit 0: null is no value to compare or test. One error at the expression, naming it."""
    result = cli("table", write_spec(NULL_SPEC.replace("FIELDS", fields)))
    assert result.exit_code == 2, result.output
    first = result.stderr.splitlines()[0]
    assert first.endswith(f"layer 'd': {written}: it has no value to compare, test or compute with"), first
    assert ":6:" in first


def test_a_null_parameter_in_a_list_given_to_min_is_called_null(cli, write_spec):
    """`min([w, 4])` with w null was refused as "min takes numbers, got None", Python's word for
    it; YAML's, as every other message of a null value, is null."""
    result = cli("table", write_spec(NULL_SPEC.replace("FIELDS", 'out: "min([w, 4])"')))
    assert result.exit_code == 2, result.output
    first = result.stderr.splitlines()[0]
    assert first.endswith("layer 'd': cannot evaluate 'min([w, 4])': min takes numbers, got null (no value)"), first
    assert "None" not in result.stderr


def test_a_list_holding_null_given_to_a_function_is_written_as_the_spec_writes_it(cli, write_spec):
    """`pow(2, ks)` with ks [~, 3] said "got [None, 3]", Python's words; the spec writes [null, 3]."""
    result = cli("table", write_spec(NULL_SPEC.replace("FIELDS", 'out: "pow(2, ks)"')))
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines()[0].endswith("cannot evaluate 'pow(2, ks)': pow takes numbers, got [null, 3]")


def test_a_null_parameter_as_a_whole_field_is_not_given(cli, write_spec):
    """Null keeps its use as 'not given': max pooling's `stride: s` with s null is its kernel, 2,
    so 8×8 pools to 4×4 (torch.nn.MaxPool2d(2) of an 8×8 input: 4×4)."""
    result = cli("table", write_spec("name: p\ninput: [3, 8, 8]\nparams: {s: ~, big: false}\nlayers:\n"
                                     "  - p: {kind: maxpool2d, kernel: 2, stride: s}\n"
                                     "  - q: {kind: maxpool2d, kernel: 2, stride: \"3 if big else s\"}\n"), "--format", "json")
    assert result.exit_code == 0, result.output
    assert [row["shape"] for row in json.loads(result.stdout)["rows"]] == [[1, 3, 4, 4], [1, 3, 2, 2]]


@pytest.mark.parametrize("field, said", [("when", "'when' must be true or false"),
                                         ("repeat", "'repeat' must be a whole number")])
def test_a_null_when_or_repeat_says_null(cli, write_spec, field, said):
    """`when: w` with w null said "got None", Python's word, where a field says YAML's."""
    result = cli("table", write_spec("name: n\ninput: [3, 8, 8]\nparams: {w: ~}\nlayers:\n"
                                     f"  - c: {{kind: conv2d, out: 4, kernel: 1, {field}: w}}\n"))
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines()[0].endswith(f"layer 'c': {said}, got null (no value)")
