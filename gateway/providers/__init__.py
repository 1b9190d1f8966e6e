"""Providers: the fast OpenAI-compatible path (``openai_compat``) and litellm for everything else."""
