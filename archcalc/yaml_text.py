"""YAML text composed into nodes within archcalc's bounds (MAX_YAML_NODES, MAX_YAML_DEPTH), its
mistakes as one SpecError at their place: what the spec reader and the device-profile reader
share. It sits at the bottom beside `errors` and `limits`."""

from __future__ import annotations

from functools import cache

import yaml

from archcalc.errors import YAML_LINE_BREAK, Location, SpecError
from archcalc.limits import MAX_YAML_DEPTH, MAX_YAML_NODES

try:  # libyaml's composer is several times faster; the pure one gives the same nodes
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _SafeLoader


class _Loader(_SafeLoader):
    """The safe loader, resolving each distinct scalar once (a spec repeats its values: kinds,
    sizes, true/false). Safe loading has no path resolvers, so the composer's calls to descend
    and ascend them are skipped."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.resolve = cache(_RESOLVER.resolve)  # looked up in C: no Python call for a known scalar
        self.nodes = 0

    def descend_resolver(self, current_node, current_index) -> None:
        """Called before each node is composed (not for an alias): counts the nodes written, and
        stops composing past MAX_YAML_NODES, inside the collection being filled."""
        self.nodes += 1
        if self.nodes > MAX_YAML_NODES:
            raise _TooManyNodes(current_node)

    def ascend_resolver(self) -> None:
        pass


_RESOLVER = yaml.resolver.Resolver()
"""The safe loader's resolver, apart from any loader (so that a loader's cache of it does not
refer back to the loader)."""


class _TooManyNodes(Exception):
    """Raised by the composer past MAX_YAML_NODES; `node` is the collection it was filling."""

    def __init__(self, node: yaml.Node | None) -> None:
        super().__init__()
        self.node = node


_PARSER_BOUNDS_NESTING = _SafeLoader is getattr(yaml, "CSafeLoader", None) and yaml._yaml.get_version() >= (0, 2, 6)
"""libyaml 0.2.6 refuses more than 1,000 nested levels while parsing, so its recursive composer
is safe on any text, and the converter refuses what is deeper than ours; with an older libyaml or
the pure-Python composer, a pass over the events refuses deep text first."""

_FAR_FEWER = {"spec": "a spec needs far fewer: write repeated layers with 'repeat' or blocks"}
_FEW_LEVELS = {"spec": "a spec needs a few levels; use blocks to structure a model"}


def compose_yaml(text: str, name: str, what: str = "spec") -> yaml.Node | None:
    """The YAML nodes of the text of a `what` (a spec, a device profile), within MAX_YAML_NODES
    and MAX_YAML_DEPTH; a SpecError at the mistake, saying what it is and how to fix it, for text
    that is not YAML (an unclosed '[' at where it opens, a tab, a character YAML refuses)."""
    try:
        if not _PARSER_BOUNDS_NESTING:
            _check_depth(text, name, what)
        return yaml.compose(text, Loader=_Loader)
    except _TooManyNodes as exc:
        raise SpecError(f"the document has more than {MAX_YAML_NODES:,} YAML nodes",
                        location=node_location(name, exc.node) if exc.node is not None else Location(name, 1, 1),
                        hint=_FAR_FEWER.get(what, f"a {what} needs far fewer")) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        location = Location(name, mark.line + 1, mark.column + 1) if mark else Location(name, 1, 1)
        if exc.problem == "exceeded maximum nesting depth":  # libyaml's own bound, past ours
            raise too_deep(location, what) from None
        if mark and text[mark.index:mark.index + 1] == "\t":
            raise SpecError("a tab character: YAML indents with spaces", location=location,
                            hint="replace the tab with spaces") from None
        if exc.problem == "but found another document":
            raise SpecError("the file holds more than one YAML document ('---')", location=location,
                            hint=f"keep one {what} per file") from None
        unclosed = _unclosed(exc, name)
        if unclosed is not None:
            raise unclosed from None
        raise SpecError(f"YAML syntax error: {exc.problem or exc}", location=location,
                        hint="check indentation, colons and quotes near this position") from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, at its place
        location = _reader_location(text, exc.position, name)
        raise SpecError(f"the character #x{exc.character:04x} is not allowed in YAML text" if isinstance(
                            exc.character, int) else f"YAML error: {exc.reason}", location=location,
                        hint=f"remove it: a {what} holds printable text, tabs and line breaks") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"YAML error: {exc}", location=Location(name, 1, 1)) from None


def _reader_location(text: str, position: int, name: str) -> Location:
    """Where the reader refused a character: libyaml gives its offset in the text's UTF-8 bytes (a
    character before it in another script was read as two or three, and the place fell lines
    later), the pure reader in its characters; lines end as YAML ends them (YAML_LINE_BREAK: a
    lone carriage return or a U+2028 too, where a count of line feeds put the place on line 1)."""
    if _SafeLoader is getattr(yaml, "CSafeLoader", None):
        position = len(text.encode("utf-8")[:position].decode("utf-8", "ignore"))
    breaks = list(YAML_LINE_BREAK.finditer(text, 0, position))
    return Location(name, len(breaks) + 1, position - (breaks[-1].end() if breaks else 0) + 1)


_OPENED = {"while parsing a flow sequence": ("[", "]"), "while parsing a flow mapping": ("{", "}"),
           "while scanning a quoted scalar": ("quote", "quote")}


def _unclosed(exc: yaml.MarkedYAMLError, name: str) -> SpecError | None:
    """An unclosed '[', '{' or quote, at where it opens: the parser gives up on a later line."""
    opened = _OPENED.get(exc.context or "")
    mark, found = exc.context_mark, exc.problem_mark
    if opened is None or mark is None or found is None or found.line == mark.line:
        return None  # on the line it opens: a mistake there (a missing ','), at the parser's place
    what, close = ("this quote", "the same quote") if opened[0] == "quote" else (f"this '{opened[0]}'", f"'{opened[1]}'")
    return SpecError(f"{what} is not closed (the YAML parser gave up at line {found.line + 1}, column {found.column + 1})",
                     location=Location(name, mark.line + 1, mark.column + 1), hint=f"close it with {close}")


def _check_depth(text: str, name: str, what: str = "spec") -> None:
    """Refuse deep nesting from the event stream, before the (recursive, C) composer sees it."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise too_deep(Location(name, event.start_mark.line + 1, event.start_mark.column + 1), what)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def too_deep(location: Location, what: str = "spec") -> SpecError:
    return SpecError(f"lists and mappings are nested more than {MAX_YAML_DEPTH} deep",
                     location=location, hint=_FEW_LEVELS.get(what, f"a {what} needs a few levels"))


def node_location(name: str, node: yaml.Node) -> Location:
    mark = node.start_mark
    return tuple.__new__(Location, (name, mark.line + 1, mark.column + 1))  # Location(…) without its Python __new__



def items_as_written(text: str, node: yaml.Node) -> list[yaml.Mark] | None:
    """Where each item of the list or mapping `node` is written in `text` (a key and its value are
    two items): an alias at its own place, where the composed node stands at its anchor. None
    where `node` is not found. Parses the text again: for error messages only."""
    start, depth, marks = (node.start_mark.line, node.start_mark.column), None, []
    for event in yaml.parse(text, Loader=_Loader):
        if depth is None:
            if isinstance(event, yaml.CollectionStartEvent) and (event.start_mark.line, event.start_mark.column) == start:
                depth = 0
            continue
        if depth == 0 and isinstance(event, yaml.NodeEvent):
            marks.append(event.start_mark)
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
        elif isinstance(event, yaml.CollectionEndEvent):
            if depth == 0:
                return marks
            depth -= 1
    return None


def anchor_of(text: str, node: yaml.Node) -> tuple[str, yaml.Mark | None] | None:
    """The anchor that marks `node` in `text`, and where its first alias is written (None where
    there is none); None where `node` has no anchor. Parses the text again: for error messages."""
    start, anchor = (node.start_mark.line, node.start_mark.column), None
    for event in yaml.parse(text, Loader=_Loader):
        if anchor is None:
            if isinstance(event, yaml.NodeEvent) and event.anchor and (event.start_mark.line, event.start_mark.column) == start:
                anchor = event.anchor
        elif isinstance(event, yaml.AliasEvent) and event.anchor == anchor:
            return anchor, event.start_mark
        elif isinstance(event, yaml.NodeEvent) and event.anchor == anchor:  # defined again: the aliases after are its
            break
    return (anchor, None) if anchor else None
