"""Shared geometry helpers: coordinate systems, linear referencing, shapes, segment index."""
