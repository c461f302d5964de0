"""RiverGrid (河长网格): spatial and domain logic of River Chief System grid management.

This package never imports Streamlit; pages and layers build on it.
"""

__version__ = "0.1.0"
