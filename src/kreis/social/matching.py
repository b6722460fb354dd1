"""Text handling for listening: HTML posts to plain text, keywords matched as whole words,
and social handles normalised so an author can be found among the parties.

Keywords match case-insensitively as whole words, in German too: text and term are folded the
same way (``str.casefold``, then ä→ae, ö→oe, ü→ue, so "Müller", "MÜLLER" and "Mueller" are
one word, and ß→ss by casefold) and the term must stand between non-word characters
(``\\w`` is Unicode-aware: "Kreisel" does not match "Kreis", "#Kreis" and "Kreis," do).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

import nh3

UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})
BREAKS = re.compile(r"<\s*(br|/p|/div|/li|/h\d)\s*/?\s*>", re.IGNORECASE)
SPACES = re.compile(r"[ \t\r\f\v]+")
BLANK_LINES = re.compile(r"\n\s*\n+")


def fold(text: str) -> str:
    return text.casefold().translate(UMLAUTS)


def html_to_text(markup: str) -> str:
    """Plain text of a post's or article's HTML: tags dropped (scripts and styles with their
    content), entities decoded, line breaks kept at paragraph and ``<br>`` boundaries."""
    if not markup:
        return ""
    markup = BREAKS.sub("\n", markup)
    text = html.unescape(nh3.clean(markup, tags=set(), clean_content_tags={"script", "style"}))
    text = SPACES.sub(" ", text)
    lines = [line.strip() for line in text.split("\n")]
    return BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def term_pattern(term: str) -> re.Pattern[str]:
    words = [re.escape(word) for word in fold(term).split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)")


def matches(text: str, term: str) -> bool:
    """Whether ``term`` occurs in ``text`` as a whole word (see the module docstring)."""
    if not term.strip():
        return False
    return term_pattern(term).search(fold(text)) is not None


class KeywordMatcher:
    """The active keywords compiled once, for a whole poll."""

    def __init__(self, keywords: Iterable) -> None:
        self.patterns = [(k, term_pattern(k.term)) for k in keywords if k.term.strip()]

    def __call__(self, text: str) -> list:
        folded = fold(text)
        return [k for k, pattern in self.patterns if pattern.search(folded)]


def handle_key(raw: str, *, server: str = "") -> str:
    """One spelling of a social handle, lower case: ``@anna@social.example``,
    ``anna@social.example`` and ``https://social.example/@anna`` are ``anna@social.example``;
    a profile URL without ``@`` (``https://x.example/anna``) is ``anna@x.example``; a bare
    ``@anna`` is ``anna`` (or ``anna@server`` when the network's server is known)."""
    value = (raw or "").strip()
    if not value:
        return ""
    if "://" in value:
        parts = urlsplit(value)
        host = (parts.hostname or "").lower()
        path = [p for p in parts.path.split("/") if p]
        if not host or not path:
            return ""
        name = path[-1] if path[0] in ("users", "u", "in") and len(path) > 1 else path[0]
        name = name.lstrip("@")
        if "@" in name:  # https://server/@anna@other.example
            return name.lower()
        return f"{name}@{host}".lower() if name else ""
    value = value.lstrip("@")
    if "@" in value:
        name, _at, host = value.partition("@")
        return f"{name}@{host}".lower() if name and host else ""
    return (f"{value}@{server}" if server else value).lower()
