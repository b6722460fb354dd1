"""Start-up checks: can Kreis reach what its settings point at?

``preflight()`` runs before ``kreis serve``, ``worker``, ``migrate`` and ``demo`` and raises
:class:`~kreis.config.ConfigError` naming the setting; ``kreis check`` reports the same through
Django's system-check framework.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.db import connection
from django.db.utils import OperationalError

from kreis.config import ConfigError


def _database() -> None:
    try:
        connection.ensure_connection()
    except OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        name = "DATABASE_URL" if connection.vendor != "sqlite" else "KREIS_DATA"
        raise ConfigError(name, f"cannot connect to the database: {first_line}") from None


def _redis() -> None:
    if not settings.REDIS_URL:
        return
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3).ping()
    except (redis.RedisError, OSError) as exc:
        raise ConfigError("REDIS_URL", f"cannot reach Redis: {exc}") from None


def _data_folder() -> None:
    from kreis.core.health import check_data_folder

    try:
        check_data_folder()
    except OSError as exc:
        raise ConfigError("KREIS_DATA", str(exc)) from None


def preflight() -> None:
    """Raise ConfigError for the first thing Kreis cannot use."""
    _data_folder()
    _redis()
    _database()  # last: connecting to SQLite creates its file


@register("kreis", Tags.database)
def kreis_services(app_configs=None, **kwargs) -> list[Error]:
    errors = []
    for step in (_data_folder, _redis, _database):
        try:
            step()
        except ConfigError as exc:
            errors.append(
                Error(str(exc), hint=f"Check the {exc.setting} setting.", id="kreis.E001")
            )
    return errors
