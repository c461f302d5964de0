"""Public disclosure: the public pages' data, signboards, volunteers."""
