"""Parameter types of the stand-in; each module is imported on its own (numpy/pandas only when used)."""
