"""Safe YAML loading that keeps the file:line:col of every key and value."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import yaml

from archcalc.errors import NOT_AS_WRITTEN, Location, SpecError, not_as_written
from archcalc.limits import MAX_INT_BITS, MAX_YAML_DEPTH, MAX_YAML_NODES
from archcalc.reading import read_text_file
from archcalc.yaml_text import anchor_of, compose_yaml, items_as_written, node_location, too_deep

_PLAIN_TAGS = {f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "str", "seq", "map")}
_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_DECIMAL = re.compile(r"[1-9][0-9]{0,17}")
"""A plain decimal integer, read with int() (YAML 1.1 reads 010 as octal and 1_0 as 10: those, and
longer numbers, go through PyYAML's constructor)."""
_TEXT_TAGS = {"tag:yaml.org,2002:timestamp"}
"""Dates are kept as the text they were written as: a spec has no use for a date object."""


class YMap(dict):
    """A mapping that remembers where it, each key and each value stand."""

    __slots__ = ("allowed_keys", "body", "free_names", "key_locations", "later_read", "location", "names_checked",
                 "names_read", "value_locations", "variants_checked")

    location: Location
    key_locations: dict[str, Location]
    value_locations: dict[str, Location]

    def where(self, key: str) -> Location:
        return self.value_locations.get(key, self.location)

    def key_where(self, key: str) -> Location:
        return self.key_locations.get(key, self.location)


class YList(list):
    """A sequence that remembers where it and each item stand."""

    __slots__ = ("item_locations", "item_parts", "location")

    location: Location
    item_locations: list[Location]

    def where(self, index: int) -> Location:
        return self.item_locations[index] if index < len(self.item_locations) else self.location


_COLLECTIONS = (YMap, YList)


Inspect = Callable[[yaml.Node, str], None]
"""Sees the composed YAML nodes (and the file's name) before they are converted, to refuse a
document whose size is plain from them."""


def load_yaml(path: Path, display_name: str | None = None, inspect: Inspect | None = None) -> YMap:
    """Read a spec file into YMap/YList/scalars, or raise a SpecError saying why not."""
    name = display_name or str(path)
    return parse_yaml(read_text_file(path, name), name, inspect)


@lru_cache(maxsize=64)
def parse_yaml(text: str, name: str, inspect: Inspect | None = None, what: str = "spec") -> YMap:
    """Spec text (or the text of another `what`: a baseline) → YMap (cached by content: callers
    must not change what it returns)."""
    if not text.strip():
        raise SpecError("the file is empty", location=Location(name, 1, 1),
                        hint="a spec needs at least 'name', 'input' and 'layers'")
    node = compose_yaml(text, name, what)
    if node is None:
        raise SpecError("the file holds no YAML document", location=Location(name, 1, 1))
    if inspect is not None:
        inspect(node, name)
    document = _Converter(name, anchored="&" in text, what=what, text=text).convert(node, 0)
    if not isinstance(document, YMap):
        raise SpecError(f"the document is a {_yaml_type(node)}, not a mapping",
                        location=node_location(name, node),
                        hint=_MAPPING_HINT.get(what, f"a {what} is a mapping"))
    return document


_MAPPING_HINT = {"spec": "a spec is a mapping with keys such as 'name', 'input' and 'layers'",
                 "baseline": "a baseline is a mapping with one key, 'models:'"}
_MERGE_HINT = {"spec": "use a block with parameters to share layers"}


def _shortened(text: str, limit: int = 40) -> str:
    """'text' for a message, shortened in the middle when long."""
    return repr(text if len(text) <= limit else f"{text[:limit // 2]}…{text[-limit // 2:]}")


def _yaml_type(node: yaml.Node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return "list"
    if isinstance(node, yaml.MappingNode):
        return "mapping"
    return "single value"


class _Converter:
    """Turns composed YAML nodes into YMap/YList/scalars, refusing duplicate keys.

    `anchored`: the text may define anchors, so a node may be met again through an alias: then
    every node is counted against MAX_YAML_NODES as it is met, and `alias` tells where the
    outermost node being repeated was defined. Without anchors the composer has counted every
    node already, and plain text (keys, kinds) is taken as it stands, without a call per node."""

    def __init__(self, name: str, anchored: bool = True, what: str = "spec", text: str = "") -> None:
        self.name = name
        self.text = text
        self.anchored = anchored
        self.what = what
        self.count = 0
        self.seen: set[int] = set()
        self.open: set[int] = set()
        """The lists and mappings being converted (with anchors): one met again inside itself is
        an alias inside its own anchor, which would repeat it without end."""
        self.construct = yaml.SafeLoader("").construct_object

    def convert(self, node: yaml.Node, depth: int, alias: Location | None = None):
        if self.anchored:
            alias = self._met(node, alias)
        tag = node.tag
        if tag == _STR or tag in _TEXT_TAGS:
            return node.value
        if tag == _INT and _DECIMAL.fullmatch(node.value):
            return int(node.value)
        if tag not in _PLAIN_TAGS:
            tag = tag.replace("tag:yaml.org,2002:", "!!")
            raise SpecError(f"the YAML tag '{tag}' is not supported", location=node_location(self.name, node),
                            hint=f"a {self.what} holds numbers, true/false, text, lists and mappings only")
        if type(node) is yaml.ScalarNode:
            if tag != _STR and NOT_AS_WRITTEN.fullmatch(node.value):
                raise not_as_written(node.value, self.scalar(node), node_location(self.name, node))
            return self.scalar(node)
        if depth >= MAX_YAML_DEPTH:  # the root is at depth 0
            raise too_deep(node_location(self.name, node), self.what)
        if not self.anchored:
            return (self._mapping if type(node) is yaml.MappingNode else self._sequence)(node, depth + 1, alias)
        if id(node) in self.open:  # was refused as nested 256 deep, at a place inside the repeats
            raise self._alias_inside_itself(node)
        self.open.add(id(node))
        result = (self._mapping if type(node) is yaml.MappingNode else self._sequence)(node, depth + 1, alias)
        self.open.discard(id(node))
        return result

    def _alias_inside_itself(self, node: yaml.Node) -> SpecError:
        """The error for a list or mapping that holds an alias to its own anchor, naming both."""
        anchor, alias = anchor_of(self.text, node) or ("name", None)
        at = f" at line {alias.line + 1}" if alias else ""
        return SpecError(f"this {_yaml_type(node)} holds an alias to itself ('*{anchor}'{at} inside '&{anchor}'): it "
                         "would repeat without end", location=node_location(self.name, node),
                         hint="an alias repeats a list or mapping written before it, outside that one")

    def _duplicate_key(self, node: yaml.MappingNode, key: str, result: YMap) -> SpecError:
        """The error for `key` written twice in `node` (its second time is the next one, the
        len(result)-th): each at the place it is written, an alias at its own place, not its anchor's."""
        first, second = result.key_locations[key], node_location(self.name, node.value[len(result)][0])
        marks = items_as_written(self.text, node) if self.anchored else None
        if marks and len(marks) > 2 * len(result):
            written = [Location(self.name, mark.line + 1, mark.column + 1) for mark in marks[::2]]
            first, second = written[list(result).index(key)], written[len(result)]
        return SpecError(f"duplicate key '{key}' (first at line {first.line})", location=second,
                         hint="remove or rename one of them; YAML would silently keep the last")

    def _met(self, node: yaml.Node, alias: Location | None) -> Location | None:
        """Count `node`, refusing past MAX_YAML_NODES; where a repeat through an alias began."""
        if alias is None and id(node) in self.seen:
            alias = node_location(self.name, node)
        self.seen.add(id(node))
        self.count += 1
        if self.count > MAX_YAML_NODES:
            raise SpecError(f"the document expands to more than {MAX_YAML_NODES:,} YAML nodes",
                            location=alias or node_location(self.name, node),
                            hint="is an alias ('*name') repeated inside itself many times?")
        return alias

    def scalar(self, node: yaml.ScalarNode):
        """A number, true/false or null, as YAML reads it; a SpecError where its text is not one
        (`!!int abc`, `!!bool maybe`, a whole number of more digits than Python reads)."""
        try:
            value = self.construct(node)
        except (ValueError, KeyError, TypeError, OverflowError, yaml.YAMLError) as exc:
            if "Exceeds the limit" in str(exc):
                raise SpecError(f"a whole number of {sum(c.isdigit() for c in node.value):,} digits, more "
                                f"than can be read ({sys.get_int_max_str_digits():,} at most)",
                                location=node_location(self.name, node), hint="no size or count needs that many") from None
            kind = node.tag.replace("tag:yaml.org,2002:", "")
            raise SpecError(f"{_shortened(node.value)} is not a valid {kind}", location=node_location(self.name, node),
                            hint="write a plain number, true or false, or quote text") from None
        if type(value) is int and value.bit_length() > MAX_INT_BITS:  # 0x or 0b digits: read, but never printable
            raise SpecError(f"a whole number of {value.bit_length():,} bits, more than can be written in decimal "
                            f"({sys.get_int_max_str_digits():,} digits at most)",
                            location=node_location(self.name, node), hint="no size or count needs that many")
        return value

    def _sequence(self, node: yaml.SequenceNode, depth: int, alias: Location | None) -> YList:
        name, convert, plain = self.name, self.convert, not self.anchored
        result = YList()
        result.location = node_location(name, node)
        result.item_locations = locations = []
        for item in node.value:
            if plain and item.tag == _STR:
                result.append(item.value)
                locations.append(node_location(name, item))
            else:
                value = convert(item, depth, alias)
                result.append(value)
                locations.append(value.location if isinstance(value, _COLLECTIONS) else node_location(name, item))
        return result

    def _mapping(self, node: yaml.MappingNode, depth: int, alias: Location | None) -> YMap:
        name, convert, plain = self.name, self.convert, not self.anchored
        result = YMap()
        result.location = node_location(name, node)
        result.key_locations = key_locations = {}
        result.value_locations = value_locations = {}
        for key_node, value_node in node.value:
            if plain and key_node.tag == _STR:
                key = key_node.value
            else:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise SpecError("YAML merge keys ('<<') are not supported", location=node_location(name, key_node),
                                    hint=_MERGE_HINT.get(self.what, "write the keys out where they are needed"))
                key = convert(key_node, depth, alias)
            if not isinstance(key, str):
                raise SpecError(f"keys must be text, not {key!r}", location=node_location(name, key_node),
                                hint="quote the key: YAML reads yes, no, on, off, true, null and numbers as such")
            if key in result:
                raise self._duplicate_key(node, key, result)
            key_locations[key] = node_location(name, key_node)
            if plain and value_node.tag == _STR:
                result[key] = value_node.value
                value_locations[key] = node_location(name, value_node)
            else:
                result[key] = value = convert(value_node, depth, alias)
                value_locations[key] = value.location if isinstance(value, _COLLECTIONS) else node_location(name, value_node)
        return result
