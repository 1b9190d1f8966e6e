"""Offline eval suites: load a suite (``suite``), send its cases through the gateway (``runner``), score the
outputs (``assertions``), store the run (``store``), compare runs (``compare``), write reports (``reports``).
The prompt release gate that reads the stored runs is ``gateway.prompts.gate``.

Nothing here is imported by the gateway's request path; the CLI (``gateway eval``) and the prompt release
command are the callers.
"""
