"""The HTTP layer: the ASGI app, its route table, and thin handlers that call the pipeline."""
