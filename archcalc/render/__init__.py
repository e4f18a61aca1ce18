"""Renderers: they format the figures they are given and compute nothing."""
