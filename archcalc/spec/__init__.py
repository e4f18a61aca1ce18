"""From YAML text to a layer graph."""

from archcalc.spec.catalog import bundled, load_graph, locate
from archcalc.spec.expand import expand

__all__ = ["bundled", "expand", "load_graph", "locate"]
