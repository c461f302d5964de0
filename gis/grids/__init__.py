"""Grids: boundaries and their versions, posts, the responsibility chain, jurisdiction."""
