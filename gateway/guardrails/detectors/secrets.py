"""Credentials: provider API keys, cloud keys, tokens, private keys, JWTs, connection strings with a password.

The patterns are detect-secrets' plugins (Yelp's, kept up to date with the providers' formats), without its
entropy and keyword plugins (they flag ordinary words and hashes), plus the formats it lacks: today's OpenAI and
Anthropic keys, Google API keys, Hugging Face, GitHub fine-grained tokens, AWS secret keys by name, and database
URLs with a password. Each pattern is a regular expression run over the text; the span reported is the secret
itself (a pattern's first group when that is long enough to be the value, so ``aws_secret_access_key = "..."``
redacts only the value; a private key from its header to its footer).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector

from gateway.guardrails.detectors.base import Match, SyncDetector

#: detect-secrets plugins used, by the entity name findings carry.
PLUGINS: dict[str, type[RegexBasedDetector]] = {
    "aws_access_key": AWSKeyDetector,
    "azure_storage_key": AzureStorageKeyDetector,
    "discord_token": DiscordBotTokenDetector,
    "github_token": GitHubTokenDetector,
    "gitlab_token": GitLabTokenDetector,
    "jwt": JwtTokenDetector,
    "mailchimp_key": MailchimpDetector,
    "npm_token": NpmDetector,
    "openai_key": OpenAIDetector,
    "private_key": PrivateKeyDetector,
    "pypi_token": PypiTokenDetector,
    "sendgrid_key": SendGridDetector,
    "slack_token": SlackDetector,
    "square_secret": SquareOAuthDetector,
    "stripe_key": StripeDetector,
    "telegram_token": TelegramBotTokenDetector,
    "twilio_key": TwilioKeyDetector,
}

#: The formats detect-secrets lacks (entity -> pattern).
EXTRA: dict[str, str] = {
    "openai_key": r"\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}",
    "anthropic_key": r"\bsk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{60,}",
    "google_api_key": r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])",
    "huggingface_token": r"\bhf_[A-Za-z0-9]{34,}\b",
    "github_token": r"\bgithub_pat_[A-Za-z0-9_]{60,}",
    "aws_secret_key": r"aws_?secret_?(?:access_?)?key[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])",
    "groq_key": r"\bgsk_[A-Za-z0-9]{48,}\b",
    "databricks_token": r"\bdapi[0-9a-f]{32}\b",
    "connection_string": (
        r"\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver)://"
        r"[^\s:/@]+:[^\s:/@]+@[^\s/?#]+"
    ),
}

ENTITIES = tuple(sorted({*PLUGINS, *EXTRA}))

#: Patterns that find only the start of a secret: what follows it is part of the span, so a redaction removes it.
_TAIL: dict[str, re.Pattern[str]] = {
    "jwt": re.compile(r"[A-Za-z0-9_\-.+/=]*"),
    "private_key": re.compile(r"[A-Z -]*-----[\s\S]{0,8192}?-----END[A-Z ]*PRIVATE KEY[A-Z ]*-----"),
}


class SecretsDetector(SyncDetector):
    """``entities``: which of ``ENTITIES`` to look for (all by default)."""

    max_length: int | None = 200  # a detectable prefix: a private key's header, a JWT's first two parts

    def __init__(self, entities: Sequence[str] | None = None, extra: bool = True) -> None:
        wanted = set(entities or ENTITIES)
        unknown = wanted - set(ENTITIES)
        if unknown:
            raise ValueError(f"unknown secret types {sorted(unknown)}; known: {list(ENTITIES)}")
        patterns: list[tuple[str, re.Pattern[str]]] = []
        for entity, plugin in PLUGINS.items():
            if entity in wanted:
                # AWS's plugin also finds secret keys by name (its pattern with a group): say which it found.
                patterns += [
                    ("aws_secret_key" if entity == "aws_access_key" and pattern.groups else entity, pattern)
                    for pattern in plugin().denylist
                ]
        if extra:  # False: detect-secrets' own formats only (the benchmark's baseline)
            patterns += [(entity, re.compile(pattern)) for entity, pattern in EXTRA.items() if entity in wanted]
        self._patterns = patterns

    def find(self, text: str) -> list[Match]:
        found: list[Match] = []
        for entity, pattern in self._patterns:
            for hit in pattern.finditer(text):
                # A long first group is the secret (``aws_secret_access_key = "<it>"``); a short one is a prefix.
                value = hit.group(1) if pattern.groups else None
                start, end = hit.span(1) if value and len(value) >= 16 else hit.span()
                if text.startswith("-----", max(0, start - 5)) and entity == "private_key":
                    start -= 5
                tail = _TAIL.get(entity)
                if tail is not None and (rest := tail.match(text, end)) is not None:
                    end = rest.end()
                if not any(start < other.end and other.start < end for other in found):
                    found.append(Match(entity, start, end))
        return sorted(found, key=lambda m: m.start)
