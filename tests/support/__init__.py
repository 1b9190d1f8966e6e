"""What tests import (conftest files hold fixtures only):

    servers.py          real gateway and fake-provider processes on loopback ports
    config.py           the session gateway's config and master key
    databases.py        new SQLite / throwaway PostgreSQL databases (behind the ``database_url`` fixture)
    throwaway.py        throwaway PostgreSQL databases, Redis prefixes, a redis-server of a test's own
    pgcluster.py        a private PostgreSQL cluster a test may stop
    contracts.py        validation against OpenAI's OpenAPI spec
    keyed.py            configs and an admin client for keys and limits; keys.py, limits.py their pairs of gateways
    prompts.py          prompt documents and the prompt tests' kit
    evals.py            the eval tests' kit and stub judge; eval_assertions.py, assertion specs for unit tests
    badinput.py         the bad-input suite's config and judge
    resilience.py       the resilience suite's config and request-log reads
    asgi.py, capture.py, traffic.py: in-process ASGI calls, a capturing HTTP server, client traffic for scenarios
"""
