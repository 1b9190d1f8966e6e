"""The built-in detectors, one module each, and the table that names them for policies (``registry``)."""
