"""Personal data found by pattern and then validated, so that a number that merely looks right is not reported.

Each entity has a candidate pattern and a check: a card number passes Luhn and has a known issuer prefix, an IBAN
passes its mod-97 checksum, an SSN is not in a range the SSA never issues, an IP address parses, a phone number is
valid for its region by Google's ``phonenumbers`` metadata (not a hand-written pattern). Names and postal
addresses need a language model (Presidio's spaCy path downloads one); they are not claimed here.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence

import phonenumbers

from gateway.guardrails.detectors.base import Match, SyncDetector

ENTITIES = ("email", "phone", "credit_card", "iban", "us_ssn", "ip_address")

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}\b")
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){11,18}\d(?![\d-])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b")
_SSN = re.compile(r"(?<![\d-])(\d{3})([- ]?)(\d{2})\2(\d{4})(?![\d-])")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_SSN_CONTEXT = re.compile(r"ssn|social security", re.IGNORECASE)
_CARD_PREFIX = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|3[068]|6(?:011|5|4[4-9]|22)|35|1800|2131|50|5[6-8]|6)")
_DIGITS = re.compile(r"\d")


def luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    compact = candidate.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _emails(text: str) -> Iterable[Match]:
    if "@" not in text:
        return
    for found in _EMAIL.finditer(text):
        yield Match("email", found.start(), found.end())


def _cards(text: str) -> Iterable[Match]:
    for found in _CARD.finditer(text):
        digits = re.sub(r"\D", "", found.group())
        if 12 <= len(digits) <= 19 and _CARD_PREFIX.match(digits) and luhn(digits):
            yield Match("credit_card", found.start(), found.end())


def _ibans(text: str) -> Iterable[Match]:
    for found in _IBAN.finditer(text):
        if iban_valid(found.group()):
            yield Match("iban", found.start(), found.end())


def _ssns(text: str) -> Iterable[Match]:
    for found in _SSN.finditer(text):
        area, separator, group, serial = found.group(1), found.group(2), found.group(3), found.group(4)
        if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
            continue
        if not separator and not _SSN_CONTEXT.search(text, max(0, found.start() - 40), found.start()):
            continue  # nine bare digits are an SSN only when the text says so just before
        yield Match("us_ssn", found.start(), found.end())


def _ips(text: str) -> Iterable[Match]:
    for pattern in (_IPV4, _IPV6) if ":" in text else (_IPV4,):
        for found in pattern.finditer(text):
            try:
                ipaddress.ip_address(found.group())
            except ValueError:
                continue
            yield Match("ip_address", found.start(), found.end())


LENIENCY = {"valid": phonenumbers.Leniency.VALID, "possible": phonenumbers.Leniency.POSSIBLE}


def _phones(regions: Sequence[str], leniency: str) -> Callable[[str], Iterable[Match]]:
    level = LENIENCY[leniency]

    def find(text: str) -> Iterable[Match]:
        for region in regions:
            for found in phonenumbers.PhoneNumberMatcher(text, region, leniency=level):
                yield Match("phone", found.start, found.end)

    return find


class PIIDetector(SyncDetector):
    """``entities``: which of ``ENTITIES`` to look for (all by default); ``regions``: phone regions tried for
    numbers written without a country code (``+44 ...`` is found whatever the region); ``phone_leniency``:
    ``valid`` (the number exists in the region's numbering plan) or ``possible`` (it has a possible length)."""

    max_length: int | None = 320  # the longest email address
    memo = True  # findings depend on the text alone

    def __init__(
        self, entities: Sequence[str] | None = None, regions: Sequence[str] = ("US",), phone_leniency: str = "valid"
    ) -> None:
        if phone_leniency not in LENIENCY:
            raise ValueError(f"phone_leniency is one of {sorted(LENIENCY)}, not {phone_leniency!r}")
        wanted = set(entities or ENTITIES)
        unknown = wanted - set(ENTITIES)
        if unknown:
            raise ValueError(f"unknown PII entities {sorted(unknown)}; known: {list(ENTITIES)}")
        finders: dict[str, tuple[int, Callable[[str], Iterable[Match]]]] = {
            "email": (0, _emails),
            "iban": (2, _ibans),  # before cards: an IBAN's digits can pass Luhn
            "credit_card": (12, _cards),
            "us_ssn": (9, _ssns),
            "ip_address": (0, _ips),
            "phone": (7, _phones(tuple(regions), phone_leniency)),  # the matcher costs; fewer cannot be a number
        }
        # Order matters for overlaps: the more specific checks come first and win (a card is not also a phone).
        # Each comes with the fewest digits (``\d``, as its pattern counts them) a text needs to hold one.
        self._finders = [finders[name] for name in finders if name in wanted]
        self._digits_needed = max(least for least, _ in self._finders)

    def find(self, text: str) -> list[Match]:
        digits = len(_DIGITS.findall(text)) if self._digits_needed else 0
        found: list[Match] = []
        for least, finder in self._finders:
            if digits < least:
                continue  # too few digits for this entity: its pattern cannot match
            for match in finder(text):
                if not any(match.start < other.end and other.start < match.end for other in found):
                    found.append(match)
        return sorted(found, key=lambda m: m.start)
