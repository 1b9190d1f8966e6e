"""``python -m gateway.fake_provider [--port N ...]`` runs the fake provider; see ``server.main``."""

from gateway.fake_provider.server import main

main()
