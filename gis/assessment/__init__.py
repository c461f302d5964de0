"""Annual assessment of lower grids: indicators, evaluations, Excel export."""
