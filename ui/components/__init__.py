"""Streamlit custom components of RiverGrid (plain HTML/JS frontends, served offline)."""
