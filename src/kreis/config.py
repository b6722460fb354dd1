"""Reading Kreis's configuration from the environment.

Every setting comes from an environment variable with a safe default for the embedded mode.
A bad value raises :class:`ConfigError` naming the variable; ``kreis`` prints it as one line
and stops before anything is written.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url


class ConfigError(Exception):
    """A setting is missing, malformed or points at something unusable."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting
        self.problem = problem


TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


def env(name: str, default: str = "") -> str:
    """The variable's value; ``NAME_FILE`` (a path) wins, for secrets kept in files."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE", f"cannot read {file_path}: {exc.strerror}") from None
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    raw = env(name, "1" if default else "0").strip().lower()
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    raise ConfigError(name, f"expected 1/0, true/false, yes/no or on/off, got {raw!r}")


def envint(name: str, default: int) -> int:
    raw = env(name, str(default)).strip()
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(name, f"expected a whole number, got {raw!r}") from None


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def data_folder(raw: str) -> Path:
    """The data folder, created if missing; it must be a writable directory."""
    path = Path(raw).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise ConfigError("KREIS_DATA", f"{path} is not a directory")
    if not path.exists():
        parent = next((p for p in path.parents if p.exists()), None)
        if parent is None or not os.access(parent, os.W_OK | os.X_OK):
            raise ConfigError("KREIS_DATA", f"cannot create {path}: parent is not writable")
        return path
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError("KREIS_DATA", f"{path} is not writable")
    return path


def ensure_folder(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError("KREIS_DATA", f"cannot create {path}: {exc.strerror}") from None


def database(url: str, folder: Path) -> dict:
    """Django's DATABASES['default'] from ``DATABASE_URL`` (SQLite in the data folder if empty)."""
    if not url:
        return sqlite_database(folder / "kreis.sqlite3")
    scheme = urlsplit(url).scheme
    if scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
        raise ConfigError(
            "DATABASE_URL",
            f"unsupported scheme {scheme or '(none)'!r}; use postgres:// or sqlite://",
        )
    try:
        parsed = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except (ValueError, KeyError) as exc:
        raise ConfigError("DATABASE_URL", f"malformed URL ({exc})") from None
    if parsed["ENGINE"].endswith("sqlite3"):
        return sqlite_database(Path(parsed["NAME"]))
    if not parsed.get("NAME"):
        raise ConfigError("DATABASE_URL", "no database name in the URL")
    return parsed


def sqlite_database(path: Path) -> dict:
    # WAL lets readers work while one writer writes; IMMEDIATE takes the write lock at the
    # start of a transaction, so two writers wait for each other instead of failing midway.
    # Each server thread keeps its connection (as PostgreSQL's do): opening one, with its
    # pragmas and Django's SQL functions, costs ~2 ms of CPU, which every request paid.
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "CONN_MAX_AGE": 600,
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            ),
        },
    }


def redis_url(url: str) -> str:
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss", "unix"}:
        raise ConfigError("REDIS_URL", f"unsupported scheme {parts.scheme or '(none)'!r}")
    if parts.scheme != "unix" and not parts.hostname:
        raise ConfigError("REDIS_URL", "no host in the URL")
    try:
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError as exc:
        raise ConfigError("REDIS_URL", f"malformed URL ({exc})") from None
    return url


def email_settings(url: str) -> dict[str, object]:
    """Django e-mail settings from ``EMAIL_URL`` (smtp://, smtp+tls://, smtp+ssl://, console://)."""
    if not url:
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    parts = urlsplit(url)
    if parts.scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if parts.scheme not in {"smtp", "smtp+tls", "smtp+ssl"}:
        raise ConfigError("EMAIL_URL", f"unsupported scheme {parts.scheme or '(none)'!r}")
    if not parts.hostname:
        raise ConfigError("EMAIL_URL", "no host in the URL")
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfigError("EMAIL_URL", f"malformed URL ({exc})") from None
    from urllib.parse import unquote

    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port or (465 if parts.scheme == "smtp+ssl" else 587),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": parts.scheme == "smtp+tls",
        "EMAIL_USE_SSL": parts.scheme == "smtp+ssl",
    }


def secret_key(folder: Path) -> str:
    """``SECRET_KEY`` from the environment, else one generated on first start and kept."""
    key = env("SECRET_KEY")
    if key:
        if len(key) < 32:
            raise ConfigError("SECRET_KEY", "must be at least 32 characters long")
        return key
    path = folder / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    key = secrets.token_urlsafe(50)
    # Create with owner-only permissions, refusing to clobber a key written meanwhile.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError("KREIS_DATA", f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key
