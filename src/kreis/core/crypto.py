"""Secrets at rest: passwords Kreis must send on to another server (an IMAP mailbox's password)
are stored encrypted, never in plain text, and never shown back.

The cipher is Fernet from the ``cryptography`` package (AES-128 in CBC mode with an
HMAC-SHA256 over the whole token: a changed or truncated token is refused, never decrypted to
garbage). The key comes from, in this order:

1. ``KREIS_CREDENTIALS_KEY`` (or ``KREIS_CREDENTIALS_KEY_FILE``, the path of a file holding
   it — the ``*_FILE`` convention of every Kreis secret, ``kreis.config.env``). The value is
   one Fernet key (``Fernet.generate_key()``: 32 random bytes, URL-safe base64) or several,
   separated by commas or white space: the first encrypts, every one decrypts, so a new key
   can be put in front of the old one and the stored secrets re-encrypted (``rotate``) before
   the old key is dropped.
2. Otherwise ``credentials.key`` in the data folder, generated on first use with mode 0600.
   Several app servers (README, "Scaling out") need the same key: set the variable there.

A database restored or copied without its key cannot decrypt what it stores: ``decrypt`` then
raises ``SecretUnreadable`` saying so (enter the password again), never a bare ``InvalidToken``.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

KEY_FILE_NAME = "credentials.key"


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted: the key changed or the value was damaged."""


def key_file_path() -> Path:
    return Path(settings.DATA_DIR) / KEY_FILE_NAME


def _parse_keys(raw: str, source: str) -> MultiFernet:
    keys = [part for part in re.split(r"[\s,]+", raw.strip()) if part]
    if not keys:
        raise ImproperlyConfigured(f"{source}: no key in it")
    fernets = []
    for number, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.encode("ascii")))
        except (ValueError, UnicodeEncodeError):
            raise ImproperlyConfigured(
                f"{source}: key {number} is not a Fernet key (32 bytes in URL-safe base64, "
                "e.g. from: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')"
            ) from None
    return MultiFernet(fernets)


def _write_new_key(path: Path) -> None:
    """Write a fresh key to ``path`` (mode 0600) unless a key is there already. Written to a
    temporary file first and linked into place: a second process starting at the same moment
    reads either no file or the whole key, never half of it, and never overwrites it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".credentials-", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key() + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made it first: theirs is the key
    finally:
        os.unlink(temporary)


@functools.lru_cache(maxsize=8)
def _keys(configured: str, path: str, create: bool) -> MultiFernet:
    if configured.strip():
        source = (
            "KREIS_CREDENTIALS_KEY_FILE"
            if os.environ.get("KREIS_CREDENTIALS_KEY_FILE")
            else "KREIS_CREDENTIALS_KEY"
        )
        return _parse_keys(configured, source)
    file = Path(path)
    if not file.exists():
        if not create:
            raise SecretUnreadable(
                _(
                    "The key to decrypt stored passwords is missing (%(path)s; or set "
                    "KREIS_CREDENTIALS_KEY_FILE). Enter the password again."
                )
                % {"path": path}
            )
        _write_new_key(file)
    try:
        raw = file.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImproperlyConfigured(f"cannot read the credentials key {path}: {exc}") from None
    return _parse_keys(raw, path)


def _current(create: bool) -> MultiFernet:
    configured = getattr(settings, "KREIS_CREDENTIALS_KEY", "") or ""
    return _keys(configured, str(key_file_path()), create)


def encrypt(plaintext: str) -> str:
    """The secret as a Fernet token (ASCII text, safe for any text column)."""
    return _current(create=True).encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """The secret back; ``SecretUnreadable`` when the key changed or the token was damaged."""
    if not token:
        return ""
    try:
        return _current(create=False).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise SecretUnreadable(
            _(
                "The stored password cannot be decrypted: the credentials key "
                "(KREIS_CREDENTIALS_KEY or credentials.key in the data folder) is not the one "
                "it was saved with. Enter the password again."
            )
        ) from None


def rotate(token: str) -> str:
    """The token re-encrypted with the first (newest) key; for moving to a new key."""
    try:
        return _current(create=False).rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise SecretUnreadable(_("The stored password cannot be decrypted.")) from None
