"""The demo subdistrict's data and its loader (loaded only when asked for)."""
