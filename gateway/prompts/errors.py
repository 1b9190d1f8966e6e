"""What can go wrong with prompts, as plain exceptions with messages meant for people.

The registry, the loader and the renderer raise these; each front end maps them: the serving stage to a 400,
the admin API to 400/404/409, the CLI to a message and exit code.
"""

from __future__ import annotations


class PromptError(Exception):
    """Base class. ``str(exc)`` is the message to show."""


class PromptFileError(PromptError):
    """One or more prompt files are invalid; the message names each file, line and field."""


class PromptNotFound(PromptError):
    pass


class VersionNotFound(PromptError):
    pass


class LabelNotFound(PromptError):
    pass


class ReleaseRefused(PromptError):
    """The move is not allowed (the eval gate failed, nothing to roll back to, ...)."""


class RenderError(PromptError):
    """The request's variables do not fit the template. ``param`` names the variable when there is one."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param
