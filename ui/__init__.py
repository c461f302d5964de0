"""Streamlit helpers shared by the pages: the cached store, the signed-in user, role gates.

Only pages and ``app.py`` import this package; ``gis/`` and ``layers/`` never do.
"""
