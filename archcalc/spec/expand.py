"""Spec document → layer graph: variants, blocks, repeats, conditions and references."""

from __future__ import annotations

import keyword
import os
from collections.abc import Iterator, Mapping
from functools import cache, partial
from itertools import islice
from pathlib import Path
from typing import Any

import yaml

from archcalc.errors import Location, SpecError, did_you_mean, hidden, on_one_line
from archcalc.graph import INPUT, Graph, Node, Scope
from archcalc.layers import LAYER_KINDS, Attrs, LayerKind
from archcalc.layers.base import quoted_value
from archcalc.limits import MAX_EXPANDED, MAX_INCLUDED, MAX_NESTING, MAX_VARIANTS
from archcalc.sizes import parse_input
from archcalc.spec.expr import LITERALS, REPEAT_NAMES, evaluate, names_in
from archcalc.spec.held import held_from
from archcalc.spec.instances import (
    MAX_COPIED,
    Added,
    Body,
    Expanded,
    body_key,
    body_of,
    free_names,
    instance_key,
    last,
    told_apart,
)
from archcalc.spec.source import YList, YMap, _shortened, node_location

PADDING_NAMES = ("same", "valid")
"""The names a padding field takes besides numbers."""
TOP_KEYS = {"name", "source", "description", "input", "params", "variants", "default", "blocks", "layers",
            "outputs", "expect", "published"}
VARIANT_KEYS = {"input", "outputs", "description", "expect", "published"}
PUBLISHED_KEYS = {"params": int, "gflops": (int, float), "source": str, "note": str}
BLOCK_KEYS = {"params", "layers", "description"}
ITEM_KEYS = {"kind", "layers", "from", "repeat", "for_each", "as", "first", "when"}
_STR, _MAP = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map"
NAME_RULE = "use letters, digits and _, starting with a letter; 'input' is reserved"
PARAMETER_RULE = ("use letters, digits and _, starting with a letter, and no word an expression reads as its own "
                  "(true, false, None, if, else, and, or, not, in, …)")


def variant_names(doc: YMap) -> list[str]:
    variants = doc.get("variants")
    return list(_counted(variants)) if isinstance(variants, YMap) else []


def _counted(variants: YMap) -> YMap:
    """The variants, refused when there are more than MAX_VARIANTS (each is a model to analyse)."""
    if len(variants) > MAX_VARIANTS:
        raise _too_many_variants(len(variants), variants.location)
    return variants


def refuse_many_variants(root: yaml.Node, file: str) -> None:
    """Refuse a spec of more than MAX_VARIANTS variants from its composed YAML nodes, before the
    time goes into converting them (to be passed as `inspect` to `load_yaml`)."""
    if type(root) is not yaml.MappingNode:
        return
    for key, value in root.value:
        if key.tag == _STR and key.value == "variants":
            if type(value) is yaml.MappingNode and value.tag == _MAP and len(value.value) > MAX_VARIANTS:
                raise _too_many_variants(len(value.value), node_location(file, value))
            return


def _too_many_variants(count: int, location: Location) -> SpecError:
    return SpecError(f"the spec defines {count:,} variants, more than {MAX_VARIANTS:,}", location=location,
                     hint="split the family into several files, or use 'archcalc sweep' for many input sizes")


def _has_variants(doc: YMap) -> bool:
    variants = doc.get("variants")
    return isinstance(variants, YMap) and bool(variants)


def expand(doc: YMap, file: str, variant: str | None = None, origin: Path | None = None,
           settings: Mapping[str, Any] | None = None) -> Graph:
    """Expand one variant (or the default) of a loaded spec into a Graph. `origin`: the spec's
    file, against which a model item's relative `spec:` path is read; `settings`: values of the
    spec's parameters set over the variant's (`archcalc sweep --set`)."""
    family, params, blocks = check_document(doc)
    model, overrides = _select_variant(doc, variant, family)
    env = dict(params)
    env.update([(key, value) for key, value in overrides.items() if key not in VARIANT_KEYS])
    for key, value in (settings or {}).items():
        if key not in params:
            raise SpecError(f"'{key}' is not a parameter of {family}{did_you_mean(key, params)}",
                            hint=f"its parameters: {', '.join(params) or 'none'}")
        env[key] = value
    input_holder = overrides if "input" in overrides else doc
    input_shape = parse_input(input_holder["input"], location=input_holder.where("input"))
    builder = _Builder(blocks, origin)
    builder.including.append((file, _identity(origin)))
    builder.sequence(doc["layers"], "", INPUT, env, depth=0)
    if not builder.nodes:
        raise SpecError(f"model '{model}' has no layer once its repeats and conditions are applied",
                        location=doc.where("layers"), hint="a 'repeat' of 0, a 'when' that is false, an empty "
                        "'for_each' or group leave nothing: keep at least one layer")
    source = doc.get("source")
    expect = _per_model(doc, overrides, "expect", "a mapping of figures, budgets and tolerances")
    if expect is not None:
        held_from(expect, "expect")  # wrong here for every command, not only for check
    published = _per_model(doc, overrides, "published", "a mapping of params, gflops and source")
    if published is not None:
        _check_published(published)
    location = doc["variants"].key_where(model) if _has_variants(doc) else doc.key_where("name")
    outputs = _outputs(overrides if "outputs" in overrides else doc, builder)
    return Graph(model=model, family=family, file=file, source=str(source) if source else None,
                 input_shape=input_shape, nodes=builder.nodes, scopes=builder.scopes,
                 location=location, expect=expect, published=published, outputs=outputs)


def check_document(doc: YMap) -> tuple[str, YMap, dict[str, YMap]]:
    """What is wrong in a spec whichever of its models is expanded (its keys, name, parameters,
    input, default and every variant: `_check_variants`, its blocks and its list of layers), so
    that it is said of the file, not of one variant; its family name, parameters and blocks."""
    _check_keys(doc, TOP_KEYS, "top-level key")
    for key in ("name", "input", "layers"):
        if key not in doc:
            raise SpecError(f"the spec has no '{key}'", location=doc.location,
                            hint=f"add a top-level '{key}:' (see docs/spec.md)")
    family = _text(doc, "name")
    check_one_line(family, doc.where("name"), "the model name")
    params = _parameters(doc)
    parse_input(doc["input"], location=doc.where("input"))  # wrong also where every variant sets its own
    _check_variants(doc, params)  # and an `expect:` beside variants (`_per_model`)
    blocks = _blocks(doc)
    layers = doc["layers"]
    if not isinstance(layers, YList) or not layers:
        raise SpecError("'layers' must be a non-empty list", location=doc.where("layers"))
    return family, params, blocks


def parameters_of(doc: YMap, variant: str | None = None) -> dict[str, Any]:
    """The values of the spec's parameters in `variant` (its default where None): the variant's
    own over the spec's defaults."""
    params = _parameters(doc)
    _, overrides = _select_variant(doc, variant, _text(doc, "name"))
    return {key: overrides.get(key, value) for key, value in params.items()}


def _outputs(holder: YMap, builder: _Builder) -> tuple[str, ...]:
    """The layers the model returns: those `outputs` names (an item left out, by `when` or a
    repeat of 0, or a block or group left empty, is dropped: it holds no layer of its own), or the
    last layer; every layer must lead to one of them."""
    if "outputs" not in holder:
        outputs = (builder.nodes[-1].name,)
    else:
        names = _output_names(holder)
        found: dict[str, str] = {}  # each layer returned, by the name that named it
        for index, name in enumerate(names):
            if name not in builder.outputs:
                raise SpecError(f"'outputs' names '{name}', which is not a layer{did_you_mean(name, builder.outputs)}",
                                location=names.where(index), hint="name a layer or block of the model by its dotted name")
            node = builder.outputs[name]
            inside = name + "."
            if node == name or node.startswith(inside) or any(n.name.startswith(inside) for n in builder.nodes):
                if node in found:
                    same = "twice" if found[node] == name else f"after '{found[node]}', whose output it is" \
                        if node == name else f"after '{found[node]}', the same output ('{node}')"
                    raise SpecError(f"'outputs' names '{name}' {same}", location=names.where(index),
                                    hint="name each output once")
                found[node] = name
        outputs = tuple(found) or (builder.nodes[-1].name,)
    _check_reaches_outputs(builder.nodes, outputs)
    return outputs


def _output_names(holder: YMap) -> YList:
    """The names `outputs` lists, refused where it is no list of text."""
    names = holder["outputs"]
    if not isinstance(names, YList) or not names or not all(isinstance(name, str) for name in names):
        raise SpecError("'outputs' must be a list of layer names", location=holder.where("outputs"),
                        hint="for example 'outputs: [out, aux]'")
    return names


def _check_reaches_outputs(nodes: list[Node], outputs: tuple[str, ...]) -> None:
    """Refuse a layer whose result no output depends on: torch's tracers drop such a branch, so
    it would be counted here and not by them. Every layer does when every layer but the outputs
    is read by a later one (each reader reaching an output in turn): a check in set operations;
    where it fails, the first layer in model order that reaches none is found by walking back."""
    read = set(outputs).union(*[node.inputs for node in nodes])
    if read.issuperset([node.name for node in nodes]):
        return
    needed = set(outputs)
    for node in reversed(nodes):
        if node.name in needed:
            needed.update(node.inputs)
    for node in nodes:
        if node.name not in needed:
            raise SpecError("its result reaches no output of the model", location=node.location,
                            layer=node.name, hint="list it (or a layer that reads it) in 'outputs:' "
                            "(the last layer is the only output unless 'outputs' says otherwise), or leave it out with 'when:'")


def _named(value: Any, env: dict) -> Any:
    """The value of the parameter `value` names where it names one with a text value (as `kind:`
    may); else `value` as written."""
    return env[value] if isinstance(value, str) and isinstance(env.get(value), str) else value


def _later_read(block: YMap, declared: YMap) -> dict[str, list[str]]:
    """For each parameter of `block`, the parameters declared after it that its default reads
    (worked out once a block)."""
    found = getattr(block, "later_read", None)
    if found is None:
        order = list(declared)
        found = block.later_read = {
            name: [other for other in order[index + 1:] if isinstance(default, str) and other in names_in(default)]
            for index, (name, default) in enumerate(declared.items())}
    return found


def _ambiguous(body: YMap, key: str, env: dict, what: str) -> None:
    """Refuse a model item's `key` that names both a parameter and `what` (a spec, a variant, a layer)."""
    written = body[key]
    raise SpecError(f"'{key}: {written}' names both the parameter '{written}' (= '{env[written]}') and {what}",
                    location=body.where(key), hint=f"rename the parameter '{written}'")


def _top_level_names(layers: Any) -> list[str | None]:
    """The names of a spec's top-level items (None for one that is not a one-key mapping)."""
    if not isinstance(layers, YList):
        return []
    return [next(iter(item)) if isinstance(item, YMap) and len(item) == 1 else None for item in layers]


def _until(layers: Any, last: Any, where: Location) -> Any:
    """The items of a spec's `layers` up to and including the one named `last` (all without one)."""
    if last is None or not isinstance(layers, YList):
        return layers
    names = _top_level_names(layers)
    if last not in names:
        if not isinstance(last, str):  # a layer named 1 is the text "1", as `from:` reads it
            raise SpecError(f"'until' names the {type(last).__name__} {last!r}: a layer's name is text", location=where,
                            hint="quote the layer's name as it is written in that spec (YAML reads a bare 1, yes or "
                                 "null as no text)")
        raise SpecError(f"'until' names '{last}', which is not a top-level layer of that spec"
                        f"{did_you_mean(str(last), [name for name in names if name])}", location=where)
    kept = YList(layers[:names.index(last) + 1])
    kept.location, kept.item_locations = layers.location, layers.item_locations[:len(kept)]
    return kept


def _variant_of(body: YMap, doc: YMap, spec: str, variant: Any, location: Location) -> tuple[str, YMap]:
    """The variant a model item takes of the spec `spec` (the document `doc`): its name and
    parameter values; an error at the item's `variant:` where that spec has none so named."""
    if variant is not None:
        check_one_line(str(variant), body.where("variant"), "the variant name")
    try:
        return _select_variant(doc, None if variant is None else str(variant), _text(doc, "name"))
    except SpecError as error:  # a variant that spec does not have: wrong here
        raise SpecError(f"{error.message} in {_shortened(spec)}", location=body.where("variant") if "variant" in body
                        else location, hint=error.hint) from None


def _per_model(doc: YMap, overrides: YMap, key: str, what: str) -> YMap | None:
    """A mapping that belongs to one model: the variant's, or the top level's in a file without variants."""
    if key in doc and _has_variants(doc):
        raise SpecError(f"'{key}' holds one model's figures: in a file with variants, give each variant its own",
                        location=doc.key_where(key), hint="move it under the variant it is for")
    holder = overrides if key in overrides else doc
    value = holder.get(key)
    if value is not None and not isinstance(value, YMap):
        raise SpecError(f"'{key}' must be {what}", location=holder.where(key))
    return value


def _check_published(published: YMap) -> None:
    _check_keys(published, set(PUBLISHED_KEYS), "key of 'published'")
    for key, value in published.items():
        wanted = PUBLISHED_KEYS[key]
        if isinstance(value, bool) or not isinstance(value, wanted):
            what = "text" if wanted is str else "a whole number" if wanted is int else "a number"
            raise SpecError(f"published '{key}' must be {what}, got {value!r}",
                            location=published.where(key))


def _check_name(name: str, location: Location, what: str) -> None:
    """Refuse a layer or block name that is not letters, digits and _ starting with a letter (an
    ASCII identifier not starting with _: tested so in a third of a regular expression's time),
    or is 'input' (docs/spec.md, "Layer items"); `what`: 'a layer', 'a block'. A layer may also
    be named by digits alone (`"0"`), as nn.Sequential names its children."""
    if not (name.isascii() and name.isidentifier()) or name[0] == "_" or name == INPUT:
        if what == "a layer" and name.isascii() and name.isdigit():
            return
        raise SpecError(f"{name!r} cannot name {what}", location=location, hint=NAME_RULE)


def _parameters(doc: YMap) -> YMap:
    """The spec's `params:`, each name one that an expression can read and a variant can set: not
    a key a variant has of its own (VARIANT_KEYS), which the variant's value would go to instead
    (checked once per document)."""
    params = _mapping(doc, "params")
    if params and not getattr(params, "names_checked", False):
        for name in params:
            _check_parameter_name(name, params.key_where(name))
            if name in VARIANT_KEYS:  # 'description: 8' in a variant was its description, the parameter unset
                raise SpecError(f"{name!r} cannot name a parameter: a variant's '{name}:' is its own {name}",
                                location=params.key_where(name), hint="rename the parameter")
        params.names_checked = True
    return params


def _check_parameter_name(name: str, location: Location) -> None:
    """Refuse a parameter (of the spec or of a block) that no expression can read as itself:
    'w-1' is read as w - 1 (a variant's 'w-1: 2' then changed nothing, silently), '1w' and 'if'
    cannot be read, and 'true', 'None' are read as their own values (docs/spec.md, "Top-level keys")."""
    if not _readable(name):
        raise SpecError(f"{name!r} cannot name a parameter", location=location, hint=PARAMETER_RULE)


def _readable(name: str) -> bool:
    """Whether an expression reads `name` as a name (a parameter's, a row's): letters, digits and _
    starting with a letter, and no word of the language (PARAMETER_RULE)."""
    return name.isascii() and name.isidentifier() and name[0] != "_" and not keyword.iskeyword(name) \
        and name not in LITERALS


def check_one_line(name: str, location: Location, what: str) -> None:
    """Refuse a model or variant name that is blank (a baseline would record it as ''), or with a
    line break, tab or other control character, or an invisible format character (a bidirectional
    override, a zero-width space: a name shown otherwise than it reads)."""
    if not name.strip():
        raise SpecError(f"{what} {name!r} is blank", location=location, hint="give the model a name you can read")
    if any(map(hidden, name)):
        raise SpecError(f"{what} {name!r} is not one line of text", location=location,
                        hint="a name holds no line breaks, tabs, other control characters or invisible format "
                             "characters (such as U+202E, which reverses the text after it)")


def _select_variant(doc: YMap, variant: str | None, family: str) -> tuple[str, YMap]:
    variants = _counted(_mapping(doc, "variants"))
    if not getattr(variants, "names_checked", False):  # once per file, not once per variant expanded
        for name in variants:
            check_one_line(name, variants.key_where(name), "the variant name")
        variants.names_checked = True
    if not variants:
        if "default" in doc:
            raise SpecError("'default' names the variant a family file expands by default, and this spec has none",
                            location=doc.key_where("default"), hint="leave out 'default', or add 'variants:'")
        if variant not in (None, family):
            raise SpecError(f"unknown variant '{variant}': this spec defines only '{family}'",
                            location=doc.key_where("name"), hint="leave out the variant asked for (--variant, or a model "
                                                         "item's variant:)")
        return family, _empty_map(doc.location)
    if variant is None:
        variant = _default(doc, variants)
    if variant not in variants:
        # at 'variants:', which lists what there is (it was at the first variant, a line with nothing wrong)
        raise SpecError(f"unknown variant '{variant}'{did_you_mean(str(variant), variants)}",
                        location=doc.key_where("variants"), hint=f"this spec defines: {', '.join(variants)}")
    chosen = variants[variant]
    if chosen is None:
        return variant, _empty_map(variants.key_where(variant))
    if not isinstance(chosen, YMap):
        raise SpecError(f"variant '{variant}' must be a mapping of parameter values",
                        location=variants.where(variant))
    return variant, chosen


def _default(doc: YMap, variants: YMap) -> str:
    """The variant `default:` names (without one, the first), refused where it names none."""
    if "default" not in doc:
        return next(iter(variants))
    name = doc["default"]
    if not isinstance(name, str):
        raise SpecError("'default' must be the name of a variant", location=doc.where("default"),
                        hint=f"this spec defines: {', '.join(map(str, variants))}")
    if name not in variants:  # default: '' names none
        raise SpecError(f"unknown variant '{name}'{did_you_mean(name, variants)}", location=doc.where("default"),
                        hint=f"this spec defines: {', '.join(variants)}")
    return name


def _check_variants(doc: YMap, params: YMap) -> None:
    """What can be known of every variant without expanding it, whichever one is analysed (a typo
    in one was silent while another was): that `default` names one, that each is a mapping whose
    keys are parameters or VARIANT_KEYS, and its input, outputs (a list of names), expect and
    published as they must be.
    Once per document."""
    variants = doc.get("variants")
    if not isinstance(variants, YMap) or getattr(variants, "variants_checked", False):
        return
    if variants:
        _default(doc, variants)  # wrong whichever variant is asked for
    for name, overrides in variants.items():
        if overrides is None:
            continue
        if not isinstance(overrides, YMap):
            raise SpecError(f"variant '{name}' must be a mapping of parameter values", location=variants.where(name))
        for key in overrides:
            if key not in VARIANT_KEYS and key not in params:
                raise SpecError(f"variant '{name}' sets '{key}', which is not a parameter"
                                f"{did_you_mean(key, params)}", location=overrides.key_where(key),
                                hint="declare it under the top-level 'params:' with its default")
        if "input" in overrides:
            parse_input(overrides["input"], location=overrides.where("input"))
        if "outputs" in overrides:
            _output_names(overrides)  # the layers it names are known where it is expanded
        expect = _per_model(doc, overrides, "expect", "a mapping of figures, budgets and tolerances")
        if expect is not None:
            held_from(expect, "expect")
        published = _per_model(doc, overrides, "published", "a mapping of params, gflops and source")
        if published is not None:
            _check_published(published)
    variants.variants_checked = True


def _blocks(doc: YMap) -> dict[str, YMap]:
    blocks = _mapping(doc, "blocks")
    for name, block in blocks.items():
        where = blocks.key_where(name)
        _check_name(name, where, "a block")
        if name in LAYER_KINDS:
            raise SpecError(f"block '{name}' has the name of a layer kind", location=where,
                            hint="rename the block")
        if not isinstance(block, YMap) or "layers" not in block:
            raise SpecError(f"block '{name}' needs 'layers:' (and optionally 'params:')", location=where)
        _check_keys(block, BLOCK_KEYS, f"key of block '{name}'")
        if block.get("params") is not None and not isinstance(block["params"], YMap):
            raise SpecError(f"the params of block '{name}' must be a mapping of name: default",
                            location=block.where("params"), hint="write ~ for a parameter with no default")
        for param in block.get("params") or ():
            _check_parameter_name(param, block["params"].key_where(param))
            if param in ITEM_KEYS:  # an item of the block would give the value to both: 'repeat: 3' ran 3×3 copies
                raise SpecError(f"block '{name}' has a parameter named '{param}', a key every item has",
                                location=block["params"].key_where(param),
                                hint=f"rename the parameter: an item's '{param}:' is its own, not the block's")
    return blocks


PER_INSTANCE = type("PerInstance", (str,), {})()
"""The value of a block's parameter where the items of a block left out are checked: text, known
per instance (a kind or spec that the parameter names is found where the block is expanded)."""

PER_COPY = object()
"""The value of a `for_each` row where an item left out is checked: known per copy (a spec,
variant or until the row names is found where the copies are made; a row names no kind)."""

_RESOLVED: dict[tuple, Attrs] = {}
"""Resolved fields by kind and field values, shared by every expansion of a process: equal layers
share one mapping (so the rules run once for them, see archcalc.stats.run_rules)."""
MAX_REMEMBERED = 20_000
"""How many resolved mappings _RESOLVED (and block instances _INSTANCES) keeps at most before it starts again."""
_INSTANCES: dict[tuple, Added | Expanded] = {}
"""Block instances as first expanded, by archcalc.spec.instances.instance_key, shared by every
expansion of a process: an instance met again is copied."""


class _Builder:
    """Walks the layer lists, appending nodes and scopes; keeps every dotted name's output."""

    def __init__(self, blocks: dict[str, YMap], origin: Path | None = None) -> None:
        self.blocks = blocks
        self.origin = origin
        self.including: list[tuple[str, Path | None]] = []
        """The spec expanded, then those whose models are being expanded inside it (a `kind: model`
        item): each one's name in messages and its file (after links; None where not known)."""
        self.nodes: list[Node] = []
        self.scopes: dict[str, Scope] = {}
        self.outputs: dict[str, str] = {}
        self.expanding: list[tuple[str, YMap]] = []
        """The blocks being expanded, outermost first: each one's name and its mapping (a block of
        an included spec may have the name of one of this spec's)."""
        self.items = 0
        """Items expanded so far (layers, instances, repeats, switched-off items): see MAX_EXPANDED."""
        if len(_RESOLVED) > MAX_REMEMBERED:
            _RESOLVED.clear()
        if len(_INSTANCES) > MAX_REMEMBERED:
            _INSTANCES.clear()
        self.reached: list[str] = []
        """The list (its dotted name; '' the top level) every name a `from` reads was found in, in
        order, and the list around where a parameter naming a layer was given: an instance that
        reads outside itself, or by where it was given, is not copied."""
        self.deepest = 0
        """The deepest list met so far (see MAX_NESTING)."""
        self.redirects = 0
        """Model items, and kinds named by a parameter's value, met so far: an instance with one
        is not copied (what it reads depends on that value)."""
        self.resolved = _RESOLVED
        self.last_given: tuple = (None, None, None, None, None)
        """The body, names, surroundings, parameters and key of the last block instance met (see _given)."""
        self.last: tuple = (None, None, None)
        """The body, names and fields of the last layer resolved (held, so that they stay theirs)."""
        self.checked_left_out: set[int] = set()
        """The blocks whose items were checked as those of an item left out (their ids)."""
        self.loop_free: set[tuple] = set()
        """The specs of models left out found to include none being expanded (_check_no_loop): each
        one's file, and the files being expanded."""
        self.repeating: set[str] = set()
        """The repeats being expanded: their copies are no list the spec wrote, where a name is looked up."""

    def sequence(self, items: Any, prefix: str, block_input: str, env: dict, depth: int) -> str:
        if depth > MAX_NESTING:
            raise SpecError(f"blocks are nested more than {MAX_NESTING} deep",
                            hint="does a block use itself, directly or through another block?")
        if not isinstance(items, YList):
            raise SpecError("'layers' must be a list of '- name: …' items")
        self.deepest = max(self.deepest, depth)
        previous = block_input
        for name, body, location in _item_parts(items, kept=depth > 0):
            full = prefix + name
            if full in self.outputs:
                raise SpecError(f"the name '{name}' is used twice in this list", location=location,
                                layer=full, hint="give each layer a distinct name")
            try:
                previous = self.item(full, body, location, previous, block_input, env, depth)
            except SpecError as error:
                raise error.at(location, full) from None
            self.outputs[full] = previous
        return previous

    def item(self, full: str, body: YMap, location: Location, previous: str, block_input: str,
             env: dict, depth: int) -> str:
        if "kind" not in body and "layers" not in body:
            raise SpecError("the layer has no 'kind'", location=location,
                            hint="add 'kind: conv2d' (or another kind or block), or 'layers:' for a group")
        inputs = self._inputs(body, full, block_input, env) if "from" in body else (previous,)
        _check_repeat_keys(body)  # in every variant, the item switched off too
        if "when" in body and not self._value(body, "when", env, bool):
            self._count_item()  # an item switched off counts once
            self._check_left_out(body, env, full)
            return inputs[0]  # a merge switched off passes its first input: an absent residual add
        if "repeat" not in body and "for_each" not in body:
            return self.single(full, body, location, inputs, env, depth)  # which counts it
        self._count_item()  # the repeat itself; each copy counts in `single`
        key = "repeat" if "repeat" in body else "for_each"
        rows, row_name = self._rows(body, env)
        count = len(rows)
        if not count:
            self._check_left_out(body, env, full)
        self._check_room(count, body.where(key))
        first = body.get("first")  # a mapping, or none (_check_repeat_keys)
        used = self._copy_names_used(body, env, row_name)
        output = inputs[0] if len(inputs) == 1 else None
        self.repeating.add(full)
        for index, row in enumerate(rows):
            instance = _merged(body, first) if index == 0 and first else body
            names = None
            if used:  # this copy's own index, count and row: the copies' fields differ
                names = _CopyNames({**env, "index": index, "count": count, row_name: row})
                names.base = getattr(env, "base", env)
            before = self.items
            try:
                output = self.single(f"{full}.{index}", instance, location, inputs, env, depth, names)
            except SpecError as error:  # copies that differ: the one whose index, count or row fails
                self.repeating.discard(full)
                raise error.at(location, f"{full}.{index}" if used else full) from None
            self.outputs[f"{full}.{index}"] = output
            inputs = (output,)
            if index == 1 and not used:  # every later repetition expands exactly like this one
                self._check_room((count - 2) * (self.items - before), body.where(key))
        self.repeating.discard(full)
        if output is None:
            raise SpecError(f"{key} 0 of a layer that reads several inputs leaves nothing to pass on",
                            location=body.where(key))
        self.scopes[full] = Scope(full, f"{self._kind_label(body, env)} ×{count}", location, output)
        return output

    def _check_left_out(self, body: YMap, env: dict, full: str) -> None:
        """What can be known of an item `full` that `when` or a repeat of 0 leaves out, without
        evaluating its fields (they may hold only where it is in): its kind, and that its keys, and
        those of its `first`, are that kind's, and so for the items of its group or block. A
        misspelt field is then an error in every variant, not only in those that keep the item.
        Its `for_each` row is known per copy, as a block's parameter is per instance (PER_COPY)."""
        row = body.get("as") if "for_each" in body else None
        if isinstance(row, str):
            env = {**env, row: PER_COPY}
        first = body.get("first")
        copies = (body, _merged(body, first)) if isinstance(first, YMap) else (body,)  # the first copy's too
        for copy in copies:
            self._check_kind_keys(copy, env, full)

    def _check_items_left_out(self, items: Any, env: dict, prefix: str) -> None:
        """`_check_left_out` for each item of a group or block left out (its items named `prefix`NAME)."""
        if not isinstance(items, YList):  # refused where it is in (`sequence`): so here too
            raise SpecError("'layers' must be a list of '- name: …' items")
        for index, entry in enumerate(items):
            name, body, where = _parts(entry, items, index)
            try:
                _check_repeat_keys(body)
                self._check_left_out(body, env, prefix + name)
            except SpecError as error:
                raise error.at(where, prefix + name) from None

    def _check_kind_keys(self, body: YMap, env: dict, full: str) -> None:
        """That `body`'s keys are those of an item of its kind (a block or a layer kind), and so
        for the items of its group or block (each block once an expansion: a block inside itself
        is refused where it is expanded)."""
        kind = body.get("kind")
        if kind == "model" and "layers" not in body:
            self._check_model_item(body, env)
        elif "layers" in body:
            _check_kind_or_layers(body)
            self._check_item_keys(body, ITEM_KEYS, "an inline group")
            self._check_items_left_out(body["layers"], env, full + ".")
        elif not isinstance(kind, str):
            return
        elif isinstance(env.get(kind), str):  # a kind named by a parameter: found as it is expanded
            self._refuse_ambiguous_kind(body, kind, env)
        elif kind in self.blocks:
            self._check_block_item(body, kind, env, full)
        elif kind in LAYER_KINDS:
            self._check_item_keys(body, _keys_of(LAYER_KINDS[kind]), f"a field of {kind}")
        else:
            raise SpecError(f"unknown layer kind '{kind}'{did_you_mean(kind, [*LAYER_KINDS, *self.blocks])}",
                            location=body.where("kind"),
                            hint="see 'docs/spec.md' for the layer kinds, or define it under 'blocks:'")

    def _check_model_item(self, body: YMap, env: dict) -> None:
        """A model item's spec, its keys (that spec's parameters), that it does not include itself,
        and its variant and `until`, where they are written as names (a parameter may name them
        only where the item is in)."""
        written = body.get("spec")
        if written is None:
            raise SpecError("a model item names its spec: 'spec: resnet' (a bundled spec) or a path",
                            location=body.location)
        if not isinstance(written, str) or written in env:
            return
        doc, path, _ = self._included(body, written, env)
        self._check_model_keys(body, doc, written)
        self._check_no_loop(doc, path, body)
        variant, until = body.get("variant"), body.get("until")
        if not (isinstance(variant, str) and variant in env):  # its name as written: a variant of that spec
            _variant_of(body, doc, written, variant, body.location)
        if "until" in body and not (isinstance(until, str) and until in env):
            _until(doc["layers"], until, body.where("until"))

    def _check_block_item(self, body: YMap, kind: str, env: dict, full: str) -> None:
        """An item of block `kind`: its keys are item keys and the block's parameters; the block's
        items are checked once an expansion."""
        block = self.blocks[kind]
        declared = block.get("params")
        self._check_item_keys(body, ITEM_KEYS | set(declared or ()), f"a parameter of block '{kind}'")
        if id(block) not in self.checked_left_out:
            self.checked_left_out.add(id(block))
            inside = {**env, **dict.fromkeys(declared or (), PER_INSTANCE)}  # a kind or spec one names
            self._check_items_left_out(block["layers"], inside, full + ".")

    def _rows(self, body: YMap, env: dict) -> tuple[range | list, str | None]:
        """What a repeated item makes a copy for: `range(repeat)`, or the list of `for_each` with
        the name each row takes (`as`)."""
        if "for_each" not in body:
            count = self._value(body, "repeat", env, int)
            if count < 0:
                raise SpecError(f"repeat must be 0 or more, got {count:,}", location=body.where("repeat"))
            self._check_room(count, body.where("repeat"))  # before a range too long for len()
            return range(count), None
        rows = self._field_value(body, "for_each", env)
        if not isinstance(rows, list):
            raise SpecError(f"'for_each' must be a list, got {rows!r}", location=body.where("for_each"),
                            hint="for example 'for_each: rows, as: row' with the parameter 'rows: [[16, 3], [24, 5]]'")
        name = body["as"]  # a name (_check_repeat_keys)
        if name in getattr(env, "base", env):  # a parameter; an outer copy's row it may hide
            raise SpecError(f"'as: {name}' hides the parameter '{name}'", location=body.where("as"),
                            hint="give the row another name")
        return rows, name

    @staticmethod
    def _copy_names_used(body: YMap, env: dict, row_name: str | None) -> set[str]:
        """Which of the names that differ from copy to copy (index, count, the row) the item's
        fields read; refused where one is also a parameter visible here."""
        used = _names_read(body) & {*REPEAT_NAMES, row_name}
        for name in used & getattr(env, "base", env).keys():  # a parameter; an outer copy's own it hides
            meaning = "the number of each copy" if name == "index" else "how many copies there are"
            raise SpecError(f"'{name}' in a repeated item is {meaning}, and a parameter '{name}' is visible "
                            "here too", location=body.location, hint=f"rename the parameter '{name}'")
        return used

    def single(self, full: str, body: YMap, location: Location, inputs: tuple[str, ...], env: dict,
               depth: int, names: dict | None = None) -> str:
        """One layer, block, group or model; `names`: what its fields see, where more than `env`
        (a copy's index, count and row; they do not reach inside a block)."""
        if names is None:
            names = env
        self.items += 1  # _count_item, written out: this runs for every layer
        if self.items > MAX_EXPANDED:
            self._check_room(0)
        if "layers" in body:
            _check_kind_or_layers(body)
            self._check_item_keys(body, ITEM_KEYS, "an inline group")
            output = self.sequence(body["layers"], full + ".", self._one(inputs, "a group"), names, depth + 1)
            self.scopes[full] = Scope(full, "group", location, output)
            return output
        kind = body["kind"]
        if not isinstance(kind, str):
            raise SpecError(f"'kind' must be a name, got {kind!r}", location=body.where("kind"))
        if isinstance(env.get(kind), str):
            self._refuse_ambiguous_kind(body, kind, env)
            kind = env[kind]
            self.redirects += 1
        if kind == "model":
            return self.model(full, body, location, self._one(inputs, "a model"), names, depth)
        if kind in self.blocks:
            return self.block(full, kind, body, location, inputs, env, depth, names)
        layer = LAYER_KINDS.get(kind)
        if layer is None:
            known = [*LAYER_KINDS, *self.blocks]
            raise SpecError(f"unknown layer kind '{kind}'{did_you_mean(kind, known)}",
                            location=body.where("kind"),
                            hint="see 'docs/spec.md' for the layer kinds, or define it under 'blocks:'")
        if not body.keys() <= _keys_of(layer):
            self._check_item_keys(body, _keys_of(layer), f"a field of {kind}")
        if len(inputs) < layer.min_inputs or (layer.max_inputs and len(inputs) > layer.max_inputs):
            expected = f"at least {layer.min_inputs}" if layer.max_inputs is None else str(layer.max_inputs) \
                if layer.min_inputs == layer.max_inputs else f"{layer.min_inputs} or {layer.max_inputs}"
            raise SpecError(f"{kind} reads {expected} input(s), got {len(inputs)}",
                            location=body.where("from") if "from" in body else location,
                            hint="give one name in 'from:'" if layer.max_inputs == 1
                            else "list them with 'from: [a, b]'")
        self.nodes.append(_node((full, layer, self._attrs(layer, body, names, location), inputs, location,
                                 body.value_locations)))
        return full

    def _attrs(self, layer: LayerKind, body: YMap, env: dict, location: Location) -> Attrs:
        """The layer's resolved fields. Layers of a kind with the same field values (the copies of
        a repeat, a written-out stack of relus) share one resolved mapping, made once; the copies
        of a repeat, which share their body and names, do not even evaluate them again."""
        last_body, last_env, last_attrs = self.last
        if body is last_body and env is last_env:
            return last_attrs
        values = {}
        for name, value in body.items():
            if name in layer.fields:  # numbers, true/false and a field's named choices need no evaluating
                field = layer.fields[name]
                choices = field.choices or (PADDING_NAMES if field.type == "padding" else ())
                literal = not isinstance(value, (str, list)) or value in field.choices
                if choices and isinstance(value, str) and (value in choices) == (value in env):
                    self._choice_or_parameter(body, name, value, choices, env)
                values[name] = value if literal else self._field_value(body, name, env)
        key = (layer.key, *values, *told_apart([*values.values()])) if values else layer.key
        attrs = self.resolved.get(key)
        if attrs is None:
            try:
                attrs = self.resolved[key] = layer.resolve(values)
            except SpecError as error:
                field_given = error.field in body.value_locations
                raise error.at(body.where(error.field) if field_given else location) from None
        self.last = (body, env, attrs)
        return attrs

    def _refuse_ambiguous_kind(self, body: YMap, kind: str, env: dict) -> None:
        """Refuse a `kind:` that names a parameter holding text and also a block or layer kind."""
        if env[kind] is not PER_INSTANCE and (kind in self.blocks or kind in LAYER_KINDS or kind == "model"):
            what = f"the block '{kind}'" if kind in self.blocks else f"the layer kind '{kind}'"
            raise SpecError(f"'kind: {kind}' names both the parameter '{kind}' (= '{env[kind]}') and {what}",
                            location=body.where("kind"), hint=f"rename the parameter '{kind}'")

    @staticmethod
    def _choice_or_parameter(body: YMap, name: str, value: str, choices: tuple, env: dict) -> None:
        """Refuse a word written in a field that takes named choices where it is neither one of them
        nor a parameter (a name), or both: `over: last` beside a parameter 'last' took the word,
        the parameter silently unread (a `kind:` that names both is refused so too)."""
        if value in choices:
            raise SpecError(f"'{name}: {value}' is both the word '{value}' and a name known here ('{value}' = "
                            f"{env[value]!r})", location=body.where(name),
                            hint=f"rename the parameter (or the for_each row) '{value}'")
        if value.isidentifier():
            raise SpecError(f"'{value}' is none of the names '{name}' takes ({', '.join(choices)}), nor a "
                            f"parameter{did_you_mean(value, choices)}", location=body.where(name),
                            hint=f"write one of {', '.join(choices)}")

    def model(self, full: str, body: YMap, location: Location, source: str, env: dict, depth: int) -> str:
        """A model of another spec, by name or path (`spec`, `variant`), up to and including its
        top-level layer `until`, expanded here as a group that reads `source`; the item's other
        keys set that spec's parameters."""
        self.redirects += 1
        spec, until = (_named(body.get(key), env) for key in ("spec", "until"))
        if not isinstance(spec, str):
            raise SpecError("a model item names its spec: 'spec: resnet' (a bundled spec) or a path",
                            location=body.where("spec") if "spec" in body else location)
        doc, path, shown = self._included(body, spec, env)
        variant = _named(body.get("variant"), env)
        if variant != body.get("variant") and isinstance(body.get("variant"), str) \
                and body["variant"] in (_mapping(doc, "variants") or {}):
            _ambiguous(body, "variant", env, f"a variant of {_shortened(spec)}")
        chosen, overrides = _variant_of(body, doc, spec, variant, location)
        params = _parameters(doc)
        self._check_model_keys(body, doc, spec)
        scope = {**params, **{k: v for k, v in overrides.items() if k not in VARIANT_KEYS},
                 **{name: self._field_value(body, name, env) for name in params if name in body}}
        layers = _until(doc["layers"], until, body.where("until") if "until" in body else location)
        outer, self.blocks, self.origin = (self.blocks, self.origin), _blocks(doc), path
        self.including.append((_shown_from_here(path), _identity(path)))
        first = len(self.nodes)
        try:
            output = self.sequence(layers, full + ".", source, scope, depth + 1)
        except SpecError as error:  # named at this item, where the spec the user gave goes wrong
            raise SpecError(f"{error.message} ({on_one_line(str(error.location or shown))}, in the model taken from "
                            f"{_shortened(spec)})",
                            location=location, layer=error.layer, hint=error.hint) from None
        finally:
            (self.blocks, self.origin), _ = outer, self.including.pop()
        # its layers' rules run on what this spec feeds them: an error is shown at this item
        self.nodes[first:] = [node._replace(location=location, field_locations={}) for node in self.nodes[first:]]
        self.scopes[full] = Scope(full, f"{chosen} ({shown})", location, output)
        return output

    def _included(self, body: YMap, spec: str, env: dict) -> tuple[YMap, Path, str]:
        """The spec a model item names (`spec`, its parameter resolved), read: its document, path
        and name in messages; refused where it is no spec, or one being included already (a spec
        that includes itself), or past the depth of includes."""
        from archcalc.spec.catalog import include, names_a_spec

        written = body.get("spec")
        if spec != written and names_a_spec(written, self.origin):
            _ambiguous(body, "spec", env, f"the spec '{written}'")
        doc, path, shown = include(spec, self.origin, body.where("spec"))
        _check_keys(doc, TOP_KEYS, "top-level key")
        for key in ("name", "layers"):
            if key not in doc:
                raise SpecError(f"the spec {_shortened(spec)} included here has no '{key}'",
                                location=body.where("spec"), hint=f"add a top-level '{key}:' to it (see docs/spec.md)")
        files = [file for _, file in self.including]
        if _identity(path) in files:
            names = [name for name, _ in self.including[files.index(_identity(path)):]]
            raise SpecError(f"the model of {_shortened(spec)} includes itself ({' → '.join([*names, names[0]])})",
                            location=body.where("spec"), hint="a spec cannot include itself, directly or through another")
        if len(self.including) > MAX_INCLUDED:
            raise SpecError(f"specs are included more than {MAX_INCLUDED} deep", location=body.where("spec"))
        return doc, path, shown

    def _check_no_loop(self, doc: YMap, path: Path, body: YMap) -> None:
        """Refuse a model left out (by `when`, a repeat of 0) whose spec includes, directly or through
        others, itself or a spec being expanded: a spec that includes itself is refused even where a
        `when` ends the loop (docs/spec.md), and a.yaml → b.yaml → a.yaml, a's item left out, was
        taken, though b.yaml's own item, left out, was refused. Found from the `spec:` of every model
        item of those specs, left out or not, without expanding them."""
        files = tuple(file for _, file in self.including)
        key = (_identity(path), files)
        if key in self.loop_free:
            return
        route = _include_loop(doc, path, self.including)
        if route is not None:
            raise SpecError(f"the model of {_shortened(body['spec'])} leads to a loop of specs that include each other "
                            f"({' → '.join(route)})", location=body.where("spec"),
                            hint="a spec cannot include itself, directly or through another, even where a 'when' "
                                 "leaves the item out")
        self.loop_free.add(key)

    def _check_model_keys(self, body: YMap, doc: YMap, spec: str) -> None:
        """That a model item's keys are an item's, `spec`, `variant`, `until` or a parameter of its
        spec, and not both: `repeat: 2` beside that spec's parameter 'repeat' made 2 copies and set
        the parameter to 2 (a block's parameter may not be so named, `_blocks`)."""
        params = _mapping(doc, "params")
        own = ITEM_KEYS | {"spec", "variant", "until"}
        for key in body:
            if key in own and key in params:
                raise SpecError(f"'{key}' is both this item's own key and a parameter of the spec {_shortened(spec)}: "
                                "its value would go to both", location=body.key_where(key),
                                hint=f"rename the parameter '{key}' of that spec")
        self._check_item_keys(body, own | set(params), f"a parameter of the spec {_shortened(spec)}")

    def block(self, full: str, kind: str, body: YMap, location: Location, inputs: tuple[str, ...],
              env: dict, depth: int, names: dict) -> str:
        block = self.blocks[kind]
        inside = [index for index, (_, expanding) in enumerate(self.expanding) if expanding is block]
        if inside:  # this very block (an included spec's block of the same name is another)
            cycle = " → ".join([*(name for name, _ in self.expanding[inside[0]:]), kind])
            raise SpecError(f"block '{kind}' includes itself ({cycle})", location=location,
                            hint="a block cannot contain itself, directly or through other blocks")
        declared = block.get("params") or _empty_map(block.location)
        outer = getattr(env, "base", env)  # a copy's index, count and row reach no block's layers
        given, key = self._given(block, kind, declared, body, outer, names)
        known = _INSTANCES.get(key) if key is not None else None
        if known is not None and known.block is block and self._may_copy(known, depth):
            # its parameters' defaults were worked out from these values before: only its input is left to check
            source = self._one(inputs, f"block '{kind}'")
            if type(known) is Added:
                known = _INSTANCES[key] = known.moved()
            return self._scoped(full, kind, location, self._copy(known, full, source, depth))
        scope = _BlockNames(outer)
        scope.update(given)
        scope.sites = {**getattr(outer, "sites", {}), **_sites(body, given, outer, full)}
        for name in declared:
            if name not in given:  # a default, written inside the block: seen from there
                scope.sites.pop(name, None)
        for name, default in declared.items():
            if name in body:
                continue
            if default is None:
                raise SpecError(f"block '{kind}' needs the parameter '{name}'", location=location,
                                hint=f"add '{name}: …' to this layer")
            later = [other for other in _later_read(block, declared)[name] if other not in given]
            if later:  # refused even where a parameter outside has that name, which it would read instead
                raise SpecError(f"the default of '{name}' reads '{later[0]}', a parameter of block '{kind}' "
                                "declared after it: a default reads the parameters before it",
                                location=declared.where(name), hint=f"declare '{later[0]}' before '{name}'")
            try:
                scope[name] = _resolve_value(default, scope)
            except SpecError as error:
                raise error.at(declared.where(name)) from None
        source = self._one(inputs, f"block '{kind}'")
        inside = None if key is None else body_of(block, self.blocks)
        after = None if inside is None else body_key(block, inside, scope)
        known = _INSTANCES.get(after) if after is not None else None
        if known is not None and known.block is block and self._may_copy(known, depth):
            # another instance expanded from the same values: its layers, with fields only this one's resolved again
            if type(known) is Added:
                known = _INSTANCES[after] = known.moved()
            if not inside.refreshed:
                _INSTANCES[key] = known  # met again with these parameters: copied before its defaults
                return self._scoped(full, kind, location, self._copy(known, full, source, depth))
            mark = self._mark()
            self.deepest = depth
            output = self._copy(known, full, source, depth)
            self._refresh(mark[0], full + ".", inside, scope)
            self._remember((key,), block, full, source, output, depth, mark)  # its own fields: kept as itself
            self.deepest = max(self.deepest, mark[5])
            return self._scoped(full, kind, location, output)
        mark = self._mark()
        self.deepest = depth
        self.expanding.append((kind, block))
        output = self.sequence(block["layers"], full + ".", source, scope, depth + 1)
        self.expanding.pop()
        if key is not None:
            self._remember((key, after), block, full, source, output, depth, mark)
        self.deepest = max(self.deepest, mark[5])
        return self._scoped(full, kind, location, output)

    def _scoped(self, full: str, kind: str, location: Location, output: str) -> str:
        """`output`, the instance `full` of block `kind` just added, its scope added after it."""
        self.scopes[full] = Scope(full, kind, location, output)
        return output

    def _given(self, block: YMap, kind: str, declared: YMap, body: YMap, env: dict,
               names: dict) -> tuple[dict, tuple | None]:
        """The parameters `body` gives an instance of `block` (its fields seen with `names`), and
        its instance key (None: never copied); the answer before again for the same body in the
        same surroundings (the next copy of a repeat)."""
        last = self.last_given
        if last[0] is body and last[1] is names and last[2] is env:
            return last[3], last[4]
        allowed = getattr(block, "allowed_keys", None)
        if allowed is None:
            allowed = block.allowed_keys = ITEM_KEYS | set(declared)
        self._check_item_keys(body, allowed, f"a parameter of block '{kind}'")
        given = {name: self._field_value(body, name, names) for name in declared if name in body}
        missing = next((name for name, value in given.items() if value is None and declared[name] is None), None) \
            if None in given.values() else None  # '~' given where the block has no default: as if left out
        if missing is not None:
            raise SpecError(f"block '{kind}' needs the parameter '{missing}', and '~' (null) gives it no value",
                            location=body.where(missing), hint=f"give '{missing}' a value")
        free = free_names(block, self.blocks)
        key = None if free is None else instance_key(block, free, given, env)
        self.last_given = (body, names, env, given, key)  # held: their ids stay theirs
        return given, key

    def _mark(self) -> tuple:
        """What the builder holds, before an instance is added: see _remember."""
        return (len(self.nodes), len(self.outputs), len(self.scopes), self.items, len(self.reached), self.deepest,
                self.redirects)

    def _remember(self, keys: tuple, block: YMap, full: str, source: str, output: str, depth: int, mark: tuple) -> None:
        """Keep an instance just expanded (`mark`: what the builder held before it) for copying, by
        its instance key and its body key (None: none), unless it reads a layer outside itself,
        includes a model or is large."""
        nodes, outputs, scopes, items, reached, _, redirects = mark
        prefix = full + "."
        if self.redirects != redirects or self.items - items > MAX_COPIED or \
                not all(where == full or where.startswith(prefix) for where in islice(self.reached, reached, None)):
            return
        added = Added(block, prefix, source, output, self.nodes[nodes:],
                      last(self.outputs, len(self.outputs) - outputs), last(self.scopes, len(self.scopes) - scopes),
                      self.items - items, self.deepest - depth)
        for key in keys:
            if key is not None:
                _INSTANCES[key] = added

    def _refresh(self, first: int, prefix: str, body: Body, scope: dict) -> None:
        """The fields of a copy's own layers that read names its body key leaves out (nodes from
        `first`, the copy at `prefix`), resolved in its scope as expanding it would."""
        if not body.refreshed:
            return
        items = {prefix + name: (item, location) for name, item, location in body.refreshed}
        nodes = self.nodes
        for index in range(first, len(nodes)):
            node = nodes[index]
            if node.name in items:
                item, location = items[node.name]
                try:
                    nodes[index] = node._replace(attrs=self._attrs(node.kind, item, scope, location))
                except SpecError as error:
                    raise error.at(location, node.name) from None

    def _may_copy(self, known: Added | Expanded, depth: int) -> bool:
        """Copying passes no bound (else the instance is expanded, to be refused at the same place).
        A block met inside itself is refused on the first expansion: such a block is never copied
        (archcalc.spec.instances.free_names)."""
        return self.items + known.items <= MAX_EXPANDED and depth + known.depth <= MAX_NESTING

    def _copy(self, known: Expanded, full: str, source: str, depth: int) -> str:
        """The instance `known` again, as `full` reading `source` (its own scope added by the caller)."""
        prefix = full + "."
        self.items += known.items
        self.deepest = max(self.deepest, depth + known.depth)
        node = _node
        self.nodes += [node((prefix + name, layer, attrs, (prefix + inputs,) if type(inputs) is str else
                             (source,) if inputs is None else
                             tuple([source if name is None else prefix + name for name in inputs]), where, fields))
                       for name, layer, attrs, inputs, where, fields in known.nodes]
        self.outputs.update([(prefix + name, source if value is None else prefix + value)
                             for name, value in known.outputs])
        self.scopes.update([(prefix + name, Scope(prefix + name, label, where, source if out is None else prefix + out))
                            for name, label, where, out in known.scopes])
        return source if known.output is None else prefix + known.output

    def _count_item(self) -> None:
        self.items += 1
        if self.items > MAX_EXPANDED:
            self._check_room(0)

    def _check_room(self, more: int, location: Location | None = None) -> None:
        """Refuse the spec when `more` items would take it past MAX_EXPANDED, before expanding them."""
        if self.items + more > MAX_EXPANDED:
            raise SpecError(f"the model expands to more than {MAX_EXPANDED:,} layers, blocks and repeats",
                            location=location,
                            hint="check the repeat counts (repeats inside repeats multiply)")

    def _inputs(self, body: YMap, full: str, block_input: str, env: dict) -> tuple[str, ...]:
        """The nodes that the layer's 'from' names."""
        refs = body["from"]
        names = refs if isinstance(refs, list) else [refs]
        if not names or not all(isinstance(r, str) for r in names):
            raise SpecError("'from' must be a layer name or a list of layer names",
                            location=body.where("from"))
        places = [refs.where(index) for index in range(len(refs))] if isinstance(refs, YList) \
            else [body.where("from")]  # each name of a list at its own place
        return tuple(self._resolve(ref, full, block_input, place, env) for ref, place in zip(names, places))

    def _resolve(self, ref: str, full: str, block_input: str, location: Location, env: dict) -> str:
        """A name seen from `full` (`_lookup`); where no layer has it, a parameter whose value is
        a layer's name (`from: skip` in a block with the parameter `skip: down4`), seen both from
        where that value was given (`_BlockNames.sites`) and from `full`: where the two find
        different layers (the caller's `conv` and the block's own), refused as ambiguous."""
        if ref == INPUT:
            return block_input
        found = self._lookup(ref, full)
        named = env.get(ref) if found is None else None
        if isinstance(named, str) and named != ref:
            site = getattr(getattr(env, "base", env), "sites", {}).get(ref)
            given = None if site is None else self._lookup(named, site)
            found = self._lookup(named, full)
            if given is not None and found is not None and self.outputs[given] != self.outputs[found]:
                raise SpecError(f"the parameter '{ref}' names '{named}', which is both the layer '{given}' where "
                                f"'{ref}' is given and '{found}' in the block", location=location,
                                hint="rename one of the two layers")
            if site is not None:  # what it reads depends on what is there: never copied elsewhere
                self.reached.append(site.rpartition(".")[0])
            found, ref = given or found, named
            if found is None:
                return self._resolve(named, full, block_input, location, {})
        if found is not None:
            self.reached.append(found[:len(found) - len(ref) - 1] if found != ref else "")
            return self.outputs[found]
        visible = [name.rsplit(".", 1)[-1] for name in self.outputs]
        raise SpecError(f"'from' names '{ref}', which is not a layer defined before this one"
                        f"{did_you_mean(ref, visible)}", location=location,
                        hint="name an earlier layer of this list or an enclosing one, or 'input'")

    def _lookup(self, ref: str, full: str) -> str | None:
        """The dotted name `ref` seen from `full` is found at: its own list first, then each
        enclosing list outwards (a repeat's copies are none: every copy reads what the first
        does); None where none has it."""
        parts = full.split(".")[:-1]
        for depth in range(len(parts), -1, -1):
            if depth and ".".join(parts[:depth]) in self.repeating:
                continue
            candidate = ".".join([*parts[:depth], ref])
            if candidate in self.outputs:
                return candidate
        return None

    def _field_value(self, body: YMap, key: str, env: dict) -> Any:
        try:
            return _resolve_value(body[key], env)
        except SpecError as error:
            raise error.at(body.where(key)) from None

    def _value(self, body: YMap, key: str, env: dict, expected: type) -> Any:
        value = self._field_value(body, key, env)
        if expected is int and isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            what = "a whole number" if expected is int else "true or false"
            raise SpecError(f"'{key}' must be {what}, got {quoted_value(value)}", location=body.where(key))
        return value

    def _check_item_keys(self, body: YMap, allowed: set[str] | frozenset[str], what: str) -> None:
        if body.keys() <= allowed:
            return
        for key in body:
            if key not in allowed:
                fields = sorted(allowed - ITEM_KEYS)
                raise SpecError(f"unknown key '{key}'{did_you_mean(key, allowed)}",
                                location=body.key_where(key),
                                hint=f"expected {what}: {', '.join(fields) or '(none)'}; "
                                     f"or one of {', '.join(sorted(ITEM_KEYS))}")

    @staticmethod
    def _one(inputs: tuple[str, ...], what: str) -> str:
        if len(inputs) != 1:
            raise SpecError(f"{what} reads one input, got {len(inputs)}",
                            hint="merge several inputs with an 'add' or 'concat' layer first")
        return inputs[0]

    def _kind_label(self, body: YMap, env: dict) -> str:
        kind = body.get("kind", "group")
        if isinstance(env.get(kind), str):
            self.redirects += 1
            return env[kind]
        return str(kind)


def _item_parts(items: YList, kept: bool) -> list[tuple[str, YMap, Location]] | Iterator[tuple[str, YMap, Location]]:
    """The name, body and location of each item of a layer list, made as the items are expanded
    (so that an earlier item's error comes first); `kept` on a list met again (a block's, once
    per instance; the top level is met once per expansion)."""
    if not kept:
        return (_parts(entry, items, index) for index, entry in enumerate(items))
    known = getattr(items, "item_parts", None)
    return known if known is not None else _new_item_parts(items)


def _new_item_parts(items: YList) -> Iterator[tuple[str, YMap, Location]]:
    made = []
    for index, entry in enumerate(items):
        made.append(_parts(entry, items, index))
        yield made[-1]
    items.item_parts = made


def _parts(entry: Any, items: YList, index: int) -> tuple[str, YMap, Location]:
    """The name, body and location of the layer item `entry`, which is `items[index]`."""
    if not isinstance(entry, YMap) or len(entry) != 1:
        raise SpecError("each layer is written '- name: kind' or '- name: {kind: …, …}'",
                        location=items.where(index),
                        hint="for example '- conv1: {kind: conv2d, out: 64, kernel: 3}'")
    [(name, body)] = entry.items()
    where = entry.key_locations[name]
    _check_name(name, where, "a layer")
    if isinstance(body, str):
        body = _single_map("kind", body, entry.value_locations[name])
    elif not isinstance(body, YMap):
        raise SpecError(f"layer '{name}' must be a kind name or a mapping with 'kind:'",
                        location=entry.where(name))
    return name, body, where


_node = partial(tuple.__new__, Node)
"""Node(…) without the Python function that is a named tuple's __new__ (a third of a layer's expanding)."""


@cache
def _keys_of(layer: LayerKind) -> frozenset[str]:
    """The keys a layer of this kind may have: its fields and the keys of every item."""
    return frozenset(ITEM_KEYS | set(layer.fields))


def _resolve_value(value: Any, env: dict) -> Any:
    """Strings are expressions (but 'same'/'valid'); lists are resolved item by item."""
    if isinstance(value, str):
        return value if value in ("same", "valid") else evaluate(value, env)
    if isinstance(value, list):
        return [_resolve_value(v, env) for v in value]
    return value


def _names_read(body: YMap) -> frozenset[str]:
    """The names that the expressions of an item's fields and `first` read, and inside an inline
    group those of its items (`repeat`, `for_each` and `when` are read outside the copies; `kind`
    and `from` name things). Found once per item of the document."""
    found = getattr(body, "names_read", None)
    if found is None:
        found = set()
        pending = [value for key, value in body.items() if key not in _OUTSIDE_COPIES]
        while pending:
            value = pending.pop()
            if isinstance(value, str):
                found |= names_in(value)
            elif isinstance(value, dict):  # `first`, an item of a group, its body
                pending.extend(item for key, item in value.items() if key not in ("kind", "from"))
            elif isinstance(value, list):
                pending.extend(value)
        found = body.names_read = frozenset(found)
    return found


def _identity(path: Path | None) -> Path | None:
    """A spec file as inclusion tells it from another: its path after links (None where unknown)."""
    try:
        return None if path is None else path.resolve()
    except (OSError, RuntimeError):  # a loop of links: reading it says so
        return path


def _include_loop(doc: YMap, path: Path, including: list[tuple[str, Path | None]]) -> list[str] | None:
    """The specs from one being expanded (or from `doc`, at `path`) through `doc` back to itself,
    as a model item of each names the next (`_specs_included`), by their names in messages; None
    where `doc` leads to no loop."""
    files = [file for _, file in including]
    trail = [(iter(_specs_included(doc, path)), _identity(path), _shown_from_here(path))]
    done: set[Path | None] = set()
    while trail:
        included = next(trail[-1][0], None)
        if included is None:
            done.add(trail.pop()[1])
            continue
        identity = _identity(included[1])
        names = [name for _, _, name in trail]
        if identity in files:
            start = files.index(identity)
            return [*(name for name, _ in including[start:]), *names, including[start][0]]
        on_trail = [file for _, file, _ in trail]
        if identity in on_trail:
            start = on_trail.index(identity)
            return [*names[start:], names[start]]
        if identity not in done:
            trail.append((iter(_specs_included(*included)), identity, _shown_from_here(included[1])))
    return None


def _specs_included(doc: YMap, origin: Path) -> Iterator[tuple[YMap, Path]]:
    """The document and path of each spec a model item of `doc` names (in its layers and in the
    blocks an item names as its kind, left out or not; by a parameter of `doc`, its default), where
    it names one that can be read."""
    from archcalc.spec.catalog import include, names_a_spec

    params, blocks = doc.get("params"), doc.get("blocks")
    params, blocks = (params if isinstance(params, YMap) else {}), (blocks if isinstance(blocks, YMap) else {})
    pending, met = [doc.get("layers")], set()
    while pending:
        value = pending.pop()
        if isinstance(value, YList):
            pending.extend(reversed(value))
        elif isinstance(value, YMap):
            kind, spec = value.get("kind"), value.get("spec")
            kinds = [kind, *(value.values() if len(value) == 1 else ())]  # `- name: kind` too
            for named in [*kinds, *(params.get(kind) for kind in kinds if isinstance(kind, str))]:
                if isinstance(named, str) and isinstance(blocks.get(named), YMap) and named not in met:
                    met.add(named)
                    pending.append(blocks[named].get("layers"))
            if kind == "model" and isinstance(spec, str):
                for named in (spec, params.get(spec)):
                    if names_a_spec(named, origin):
                        try:
                            found, path, _ = include(named, origin, value.where("spec"))
                        except SpecError:  # not this spec's to report: its own expansion does
                            continue
                        yield found, path
            pending.extend(reversed(value.values()))


def _shown_from_here(path: Path) -> str:
    """An included spec's name in a cycle's message: from the current folder where it lies below
    it, else as given (a bundled spec's specs/NAME.yaml)."""
    from archcalc.spec.catalog import display_name

    shown = display_name(path)
    if os.path.isabs(shown):
        relative = os.path.relpath(shown)
        return relative if not relative.startswith("..") else shown
    return shown


def _check_kind_or_layers(body: YMap) -> None:
    """Refuse an item with both `kind` and `layers` (kept or left out)."""
    if "kind" in body and "layers" in body:
        raise SpecError("a layer has either 'kind' or 'layers' (an inline group), not both",
                        location=body.key_where("layers"))


def _check_repeat_keys(body: YMap) -> None:
    """That an item's `as` and `first` go with a `for_each` or a `repeat`, and that it has not both;
    that `first` is a mapping, and a `for_each` names its row (`as`) as a parameter is named:
    known without evaluating anything, so in every variant, the item left out too."""
    if "repeat" in body and "for_each" in body:
        raise SpecError("an item has either 'repeat' or 'for_each', not both", location=body.key_where("for_each"))
    if "as" in body and "for_each" not in body:
        raise SpecError("'as' names the row of 'for_each', and this item has none",
                        location=body.key_where("as"), hint="add 'for_each: LIST', or leave 'as' out")
    if "first" in body and "repeat" not in body and "for_each" not in body:
        raise SpecError("'first' sets fields of the first of a 'repeat' or 'for_each', and this item has neither",
                        location=body.key_where("first"), hint="write those fields on the item itself, or add 'repeat'")
    first = body.get("first")
    if first is not None and not isinstance(first, YMap):
        raise SpecError("'first' must be a mapping of fields that differ in the first repetition",
                        location=body.where("first"))
    if "for_each" not in body:
        return
    if "as" not in body:
        raise SpecError("'for_each' needs 'as: NAME', the name that each row takes in the item's fields",
                        location=body.key_where("for_each"), hint="for example 'for_each: rows, as: row'")
    name = body["as"]
    if not (isinstance(name, str) and _readable(name)) or name in REPEAT_NAMES:
        raise SpecError(f"'as' must be a name other than {', '.join(REPEAT_NAMES)}, true and false, got {name!r}",
                        location=body.where("as"), hint=f"for example 'as: row': {PARAMETER_RULE}")


class _CopyNames(dict):
    """The names the fields of one copy of a repeat see: the parameters, and the copy's own
    (index, count and its row, and those of the copies around it), which reach the items
    of an inline group but not the layers of a block (docs/spec.md)."""

    base: dict
    """The names without any copy's: what a block's layers and its instance key see."""


class _BlockNames(dict):
    """The names a block instance's layers see: those around it, its parameters over them."""

    sites: dict[str, str]
    """Where each parameter given a value was given: the instance (its layer names are looked up
    from the list it is in), or for a value that passes on a parameter of its own (`skip: skip`),
    where that one was given. A name a parameter's value holds is looked up from there, not from
    inside the block, whose own layers' names are its own (the caller's 'conv' is not the block's)."""


def _sites(body: YMap, given: dict, outer: dict, full: str) -> dict[str, str]:
    """`_BlockNames.sites` of the parameters an instance `full` is given in `body`: where the
    expression given reads one parameter of the instance around alone (`skip: skip`, `skip:
    "(skip)"`), where that one was given."""
    around = getattr(outer, "sites", {})
    sites = {}
    for name in given:
        written = body.get(name)
        read = names_in(written) if isinstance(written, str) else frozenset()
        sites[name] = around.get(next(iter(read)), full) if len(read) == 1 else full
    return sites


_OUTSIDE_COPIES = ("kind", "from", "repeat", "for_each", "as", "when")


def _merged(body: YMap, first: YMap) -> YMap:
    merged = YMap(body)
    merged.location = body.location
    merged.key_locations = {**body.key_locations, **first.key_locations}
    merged.value_locations = {**body.value_locations, **first.value_locations}
    for key, value in first.items():
        if key in ("repeat", "for_each", "as", "first", "from", "when"):
            raise SpecError(f"'{key}' cannot be changed in 'first'", location=first.key_where(key),
                            hint="'first' sets fields or parameters of the repeated item: write another first "
                                 "item before the repeat instead")
        merged[key] = value
    return merged


def _check_keys(mapping: YMap, allowed: set[str], what: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise SpecError(f"unknown {what} '{key}'{did_you_mean(key, allowed)}",
                            location=mapping.key_where(key),
                            hint=f"allowed: {', '.join(sorted(allowed))}")


def _text(doc: YMap, key: str) -> str:
    value = doc[key]
    if not isinstance(value, str) or not value:
        scalar = value is None or isinstance(value, (bool, int, float))
        raise SpecError(f"'{key}' must be text" + (f", got {value!r}" if scalar else ""), location=doc.where(key),
                        hint="quote it: YAML reads yes, no, on, off, true, null and numbers as such" if scalar else None)
    return value


def _mapping(doc: YMap, key: str) -> YMap:
    value = doc.get(key)
    if value is None:
        return _empty_map(doc.location)
    if not isinstance(value, YMap):
        raise SpecError(f"'{key}' must be a mapping", location=doc.where(key))
    return value


def _empty_map(location: Location) -> YMap:
    return _single_map(None, None, location)


def _single_map(key: str | None, value: Any, location: Location) -> YMap:
    result = YMap()
    if key is not None:
        result[key] = value
    result.location = location
    result.key_locations = result.value_locations = {} if key is None else {key: location}  # read only
    return result
