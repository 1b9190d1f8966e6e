"""Request handlers: short functions that parse, call the pipeline, and shape the response."""
