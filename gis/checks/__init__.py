"""Spatial checks: river coverage, topology, vertical (hierarchy) checks and their findings."""
