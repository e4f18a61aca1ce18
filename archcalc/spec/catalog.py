"""Finding a spec: a path, a bundled file by name, or a variant of a bundled family."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from archcalc.errors import Location, OptionError, SpecError, did_you_mean
from archcalc.graph import Graph
from archcalc.limits import MAX_PATH_CHARS
from archcalc.reading import file_there, nothing_at
from archcalc.spec.expand import expand, refuse_many_variants, variant_names
from archcalc.spec.source import YMap, _shortened, load_yaml


class Entry(NamedTuple):
    """One bundled model: its name, the file that defines it and the variant to pick."""

    name: str
    path: Path
    variant: str | None


@lru_cache(maxsize=None)
def specs_dir() -> Path:
    """The bundled specs (a resolved path): inside the installed package, or the repository's specs/."""
    here = Path(__file__).resolve()
    packaged = here.parents[1] / "specs"  # where the wheel puts them
    return packaged if packaged.is_dir() else here.parents[2] / "specs"


@lru_cache(maxsize=None)
def bundled() -> tuple[Entry, ...]:
    """Every bundled model, in file order and then variant order."""
    entries = []
    for path in sorted(specs_dir().glob("*.yaml")):
        doc = load_document(path)
        variants = variant_names(doc)
        if variants:
            entries.extend(Entry(v, path, v) for v in variants)
        else:
            entries.append(Entry(str(doc.get("name", path.stem)), path, None))
    return tuple(entries)


def load_graph(spec: str | Path, variant: str | None = None) -> Graph:
    """The graph of a spec file or bundled model name (with `variant` when given)."""
    path, chosen = locate_variant(spec, variant)
    return expand(load_document(path), display_name(path), chosen, path)


def locate_variant(spec: str | Path, variant: str | None) -> tuple[Path, str | None]:
    """`locate`, with the variant asked for: a bundled variant's name (resnet50) and another
    --variant (resnet18) name two models, which is refused rather than one silently taken."""
    path, chosen = locate(spec)
    if isinstance(variant, str) and not variant.strip():  # no spec names a variant so: at the option, not the spec's
        names = variant_names(load_document(path))
        raise OptionError(f"a variant's name is never blank, got {variant!r}", option="--variant",
                         hint=f"give one of {display_name(path)}'s: {', '.join(names)}" if names else
                         f"{display_name(path)} has no variants: leave out --variant")
    if variant not in (None, chosen) and chosen is not None and variant in variant_names(load_document(path)):
        raise OptionError(f"'{spec}' is the variant {chosen} of {display_name(path)}; --variant {variant} names another",
                         option="--variant", hint=f"name the model alone ('{variant}'), or the file with --variant")
    return path, variant if variant is not None else chosen


def load_document(path: Path) -> YMap:
    """A loaded spec file; the same text is parsed once per process."""
    return load_yaml(path, display_name(path), refuse_many_variants)


def bundled_name(spec: str) -> bool:
    """Whether a `spec:` (of a model item, of a baseline entry) names a bundled spec: no folder, no .yaml."""
    return "/" not in spec and not spec.endswith((".yaml", ".yml"))


def names_a_spec(spec: Any, origin: Path | None) -> bool:
    """Whether a model item's `spec:` names a spec there is, as `include` reads it: a bundled one
    by its name, or a file from the including spec's folder."""
    if not isinstance(spec, str):
        return False
    if bundled_name(spec):
        return (specs_dir() / f"{spec}.yaml").is_file()
    try:
        return ((origin.parent if origin is not None else Path()) / spec).is_file()
    except (OSError, ValueError):  # a name too long, a NUL
        return False


def include(spec: str, origin: Path | None, where: Location) -> tuple[YMap, Path, str]:
    """The document a model item's `spec:` names (a bundled spec by name, or a path, relative to
    the including file's folder, to a .yaml file in that folder or below it), its path and its
    name in messages; SpecError at `where` for anything else."""
    if bundled_name(spec):
        names = sorted(path.stem for path in specs_dir().glob("*.yaml"))
        if spec not in names:
            raise SpecError(f"{_shortened(spec)} is not a bundled spec{did_you_mean(spec, names)}", location=where,
                            hint="name a bundled spec file (resnet, mobilenet_v3, …) or give a path to a .yaml file")
        path = specs_dir() / f"{spec}.yaml"
        return load_document(path), path, display_name(path)
    if len(spec) > MAX_PATH_CHARS:
        raise SpecError(f"cannot include {_shortened(spec)}: the path has {len(spec):,} characters, more than "
                        f"{MAX_PATH_CHARS:,}", location=where, hint="name a bundled spec, or a .yaml file beside this one")
    try:
        folder = (origin.parent if origin is not None else Path()).resolve()
        path = (folder / spec).resolve()
        inside = path.suffix in (".yaml", ".yml") and path.is_relative_to(folder)
        found = inside and path.is_file()
    except (OSError, RuntimeError, ValueError):  # a name too long, a loop of links, a NUL
        raise SpecError(f"cannot include {_shortened(spec)}: the path cannot be resolved", location=where,
                        hint="name a bundled spec, or a .yaml file beside this one") from None
    if not inside:
        raise SpecError(f"cannot include {_shortened(spec)}: a spec includes a .yaml file in its own folder or below it",
                        location=where, hint="name a bundled spec, or a .yaml file beside this one")
    if not found:
        raise SpecError(f"cannot include {_shortened(spec)}: there is no file {path}", location=where,
                        hint="a relative path is read from the including spec's folder")
    return load_document(path), path, display_name(path)


def locate(spec: str | Path) -> tuple[Path, str | None]:
    """A path that exists, else a bundled file stem, else a bundled variant name."""
    if spec == "":  # Path('') is the current folder: refused as "this is a directory", at '.:1:1'
        raise SpecError("the spec's name is empty",
                        hint="give a path to a .yaml spec, or a bundled model (see 'archcalc list')")
    path = Path(spec)
    if not nothing_at(path) or path.suffix in (".yaml", ".yml") or "/" in str(spec):
        return path, None
    stem = specs_dir() / f"{spec}.yaml"
    if file_there(stem):
        return stem, None
    for candidate in _files_mentioning(str(spec)):
        if spec in variant_names(load_document(candidate)):
            return candidate, str(spec)
    names = [e.name for e in bundled()]
    raise SpecError(f"'{spec}' is neither a file nor a bundled model{did_you_mean(str(spec), names)}",
                    hint="run 'archcalc list' for the bundled models, or give a path to a .yaml spec")


def _files_mentioning(name: str) -> list[Path]:
    """Bundled files whose text has `name:` as a key: the few worth parsing (a cold-start saving)."""
    key = re.compile(rf"^\s+{re.escape(name)}\s*:", re.MULTILINE)
    return [path for path in sorted(specs_dir().glob("*.yaml"))
            if key.search(path.read_text(encoding="utf-8", errors="replace"))]


BUNDLED_SHOWN = "specs/"
"""How the name of a bundled spec starts in messages."""


def display_name(path: Path) -> str:
    """How a spec file is named in messages, and which text an error's source line is taken from
    (`archcalc.errors.SOURCES`): bundled specs as specs/NAME.yaml wherever they are installed,
    other files as given, but ./specs/NAME.yaml for a user's own specs/NAME.yaml where a bundled
    spec has that name."""
    try:
        return f"{BUNDLED_SHOWN}{path.resolve().relative_to(specs_dir())}"
    except (ValueError, OSError, RuntimeError):  # not bundled; or a loop of links, which reading reports
        shown = str(path)
        return f"./{shown}" if shown_as_bundled(shown) else shown


def shown_as_bundled(shown: str) -> bool:
    """Whether a spec's name in messages (`display_name`) is a bundled spec's: specs/NAME.yaml
    where a bundled spec has that name."""
    return shown.startswith(BUNDLED_SHOWN) and file_there(specs_dir() / shown.removeprefix(BUNDLED_SHOWN))
