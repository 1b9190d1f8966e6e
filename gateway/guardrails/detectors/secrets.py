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
from collections.abc import Iterable, Sequence

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

#: Prefilter: for each pattern (by its text), literals of which every match contains at least one, so a text
#: with none of them cannot match and the pattern is not run. A pattern missing here (a new detect-secrets
#: release) is always run, and so are the two without a telling literal (Discord's and Telegram's tokens, which
#: start with a character class). Case-insensitive patterns are filtered only on ASCII text (lowercased), where
#: their literals cannot match anything else; ``test_detectors`` checks which patterns have no entry.
LITERALS: dict[str, tuple[str, ...]] = {
    "(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[0-9A-Z]{16}": ("A3T", "ABIA", "ACCA", "AKIA", "ASIA"),
    "aws.{0,20}?(?:key|pwd|pw|password|pass|token).{0,20}?[\\'\\\"]([0-9a-zA-Z/+]{40})[\\'\\\"]": ("aws",),
    "AccountKey=[a-zA-Z0-9+\\/=]{88}": ("AccountKey=",),
    "(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9_]{36}": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    "(glpat|gldt|glft|glsoat|glrt)-[A-Za-z0-9_\\-]{20,50}(?!\\w)": ("glpat-", "gldt-", "glft-", "glsoat-", "glrt-"),
    "GR1348941[A-Za-z0-9_\\-]{20,50}(?!\\w)": ("GR1348941",),
    "glcbt-([0-9a-fA-F]{2}_)?[A-Za-z0-9_\\-]{20,50}(?!\\w)": ("glcbt-",),
    "glimt-[A-Za-z0-9_\\-]{25}(?!\\w)": ("glimt-",),
    "glptt-[A-Za-z0-9_\\-]{40}(?!\\w)": ("glptt-",),
    "glagent-[A-Za-z0-9_\\-]{50,1024}(?!\\w)": ("glagent-",),
    "gloas-[A-Za-z0-9_\\-]{64}(?!\\w)": ("gloas-",),
    "eyJ[A-Za-z0-9-_=]+\\.[A-Za-z0-9-_=]+\\.?[A-Za-z0-9-_.+/=]*?": ("eyJ",),
    "[0-9a-z]{32}-us[0-9]{1,2}": ("-us",),
    "\\/\\/.+\\/:_authToken=\\s*((npm_.+)|([A-Fa-f0-9-]{36})).*": ("/:_authToken=",),
    "sk-[A-Za-z0-9-_]*[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}": ("T3BlbkFJ",),
    "BEGIN DSA PRIVATE KEY": ("BEGIN DSA PRIVATE KEY",),
    "BEGIN EC PRIVATE KEY": ("BEGIN EC PRIVATE KEY",),
    "BEGIN OPENSSH PRIVATE KEY": ("BEGIN OPENSSH PRIVATE KEY",),
    "BEGIN PGP PRIVATE KEY BLOCK": ("BEGIN PGP PRIVATE KEY BLOCK",),
    "BEGIN PRIVATE KEY": ("BEGIN PRIVATE KEY",),
    "BEGIN RSA PRIVATE KEY": ("BEGIN RSA PRIVATE KEY",),
    "BEGIN SSH2 ENCRYPTED PRIVATE KEY": ("BEGIN SSH2 ENCRYPTED PRIVATE KEY",),
    "PuTTY-User-Key-File-2": ("PuTTY-User-Key-File-2",),
    "pypi-AgEIcHlwaS5vcmc[A-Za-z0-9-_]{70,}": ("pypi-AgEIcHlwaS5vcmc",),
    "pypi-AgENdGVzdC5weXBpLm9yZw[A-Za-z0-9-_]{70,}": ("pypi-AgENdGVzdC5weXBpLm9yZw",),
    "SG\\.[a-zA-Z0-9_-]{22}\\.[a-zA-Z0-9_-]{43}": ("SG.",),
    "xox(?:a|b|p|o|s|r)-(?:\\d+-)+[a-z0-9]+": ("xox",),
    "https://hooks\\.slack\\.com/services/T[a-zA-Z0-9_]+/B[a-zA-Z0-9_]+/[a-zA-Z0-9_]+": ("hooks.slack.com",),
    "sq0csp-[0-9A-Za-z\\\\\\-_]{43}": ("sq0csp-",),
    "(?:r|s)k_live_[0-9a-zA-Z]{24}": ("k_live_",),
    "AC[a-z0-9]{32}": ("AC",),
    "SK[a-z0-9]{32}": ("SK",),
    **{
        pattern: (literal,)
        for pattern, literal in (
            (EXTRA["openai_key"], "sk-"),
            (EXTRA["anthropic_key"], "sk-ant-"),
            (EXTRA["google_api_key"], "AIza"),
            (EXTRA["huggingface_token"], "hf_"),
            (EXTRA["github_token"], "github_pat_"),
            (EXTRA["aws_secret_key"], "aws"),
            (EXTRA["groq_key"], "gsk_"),
            (EXTRA["databricks_token"], "dapi"),
            (EXTRA["connection_string"], "://"),
        )
    },
}

#: Patterns that find only the start of a secret: what follows it is part of the span, so a redaction removes it.
_TAIL: dict[str, re.Pattern[str]] = {
    "jwt": re.compile(r"[A-Za-z0-9_\-.+/=]*"),
    "private_key": re.compile(r"[A-Z -]*-----[\s\S]{0,8192}?-----END[A-Z ]*PRIVATE KEY[A-Z ]*-----"),
}


class SecretsDetector(SyncDetector):
    """``entities``: which of ``ENTITIES`` to look for (all by default)."""

    max_length: int | None = 200  # a detectable prefix: a private key's header, a JWT's first two parts
    memo = True  # findings depend on the text alone

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
        self._patterns = [_Pattern(entity, pattern) for entity, pattern in patterns]
        self._always = [p for p in self._patterns if p.literals is None]
        self._gate = _any_of(p for p in self._patterns if not p.folded)
        self._folded_gate = _any_of(p for p in self._patterns if p.folded)

    def _candidates(self, text: str) -> list[_Pattern]:
        """The patterns that can match in ``text``: in most texts, none of the literals is found (one search
        for all of them), and only the patterns without literals run."""
        lowered = text.lower() if text.isascii() else None  # for case-insensitive literals; None: not filtered
        if (self._gate is None or self._gate.search(text) is None) and (
            lowered is not None and (self._folded_gate is None or self._folded_gate.search(lowered) is None)
        ):
            return self._always
        return [p for p in self._patterns if not p.excludes(text, lowered)]

    def find(self, text: str) -> list[Match]:
        found: list[Match] = []
        for candidate in self._candidates(text):
            entity, pattern = candidate.entity, candidate.pattern
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


class _Pattern:
    """One pattern and its prefilter (``LITERALS``)."""

    __slots__ = ("entity", "folded", "literals", "pattern")

    def __init__(self, entity: str, pattern: re.Pattern[str]) -> None:
        self.entity = entity
        self.pattern = pattern
        self.folded = bool(pattern.flags & re.IGNORECASE)
        literals = LITERALS.get(pattern.pattern)
        self.literals = tuple(x.lower() for x in literals) if literals and self.folded else literals

    def excludes(self, text: str, lowered: str | None) -> bool:
        """True when no match can be in ``text``: it has none of the literals every match contains."""
        if self.literals is None:
            return False
        if self.folded:
            if lowered is None:  # outside ASCII, other characters match a literal's letters case-insensitively
                return False
            text = lowered
        return not any(literal in text for literal in self.literals)


def _any_of(patterns: Iterable[_Pattern]) -> re.Pattern[str] | None:
    """One search for every literal of these patterns (lowercased for case-insensitive ones)."""
    literals = {literal for p in patterns for literal in p.literals or ()}
    if not literals:
        return None
    return re.compile("|".join(re.escape(x) for x in sorted(literals, key=len, reverse=True)))
