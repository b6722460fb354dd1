"""Personal links (a survey invitation, a case's rating link): a random token in the URL, only
its SHA-256 in the database.

The token carries 256 random bits (``secrets.token_urlsafe(32)``), so a plain, unsalted
SHA-256 leaves nothing to guess from: whoever reads the database cannot rebuild a link, and a
link is found again by hashing what the URL brings.
"""

from __future__ import annotations

import hashlib
import secrets

# A token_urlsafe(32) is 43 characters; anything much longer is not one of ours.
MAX_TOKEN_LENGTH = 100


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A new raw token (for the link) and its hash (for the database)."""
    raw = secrets.token_urlsafe(32)
    return raw, hash_token(raw)


def plausible_token(raw: str) -> bool:
    """Whether ``raw`` is worth a database look-up at all."""
    return bool(raw) and len(raw) <= MAX_TOKEN_LENGTH
