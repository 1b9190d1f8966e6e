"""Routing: deployments, load-balancing strategies, and the router (retries, fallbacks, cooldown)."""
