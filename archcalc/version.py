"""archcalc's version: one place, read by the package, its build and its reports."""

__version__ = "0.1.0"
