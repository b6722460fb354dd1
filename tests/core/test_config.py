"""Bad settings stop Kreis with one clear line naming the setting, and write nothing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kreis import config
from kreis.config import ConfigError

KREIS = [sys.executable, "-m", "kreis.cli"]


def run_kreis(*args, data: Path, **env):
    dropped = {"DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    environment = {k: v for k, v in os.environ.items() if k not in dropped}
    environment |= {"KREIS_DATA": str(data), **env}
    return subprocess.run(  # noqa: S603
        [*KREIS, *args], capture_output=True, text=True, env=environment, timeout=120, check=False
    )


@pytest.mark.parametrize(
    ("url", "setting"),
    [
        ("mysql//nope", "DATABASE_URL"),
        ("postgres://postgres@127.0.0.1:notaport/test", "DATABASE_URL"),
        ("oracle://x@y/z", "DATABASE_URL"),
    ],
)
def test_malformed_database_url_stops_with_one_line(tmp_path, url, setting):
    data = tmp_path / "data"
    result = run_kreis("migrate", data=data, DATABASE_URL=url)
    assert result.returncode == 2
    assert result.stderr.startswith(f"kreis: {setting}:")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert not data.exists()  # nothing written, not even the data folder or the secret key


def test_unreachable_postgres_names_database_url(tmp_path):
    result = run_kreis(
        "migrate", data=tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:1/test"
    )
    assert result.returncode == 2
    assert result.stderr.startswith("kreis: DATABASE_URL: cannot connect to the database")
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreachable_redis_names_redis_url(tmp_path):
    result = run_kreis("migrate", data=tmp_path, REDIS_URL="redis://127.0.0.1:1/0")
    assert result.returncode == 2
    assert result.stderr.startswith("kreis: REDIS_URL: cannot reach Redis")
    assert not (tmp_path / "kreis.sqlite3").exists()


def test_data_folder_that_is_a_file_is_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_kreis("serve", data=blocker)
    assert result.returncode == 2
    assert result.stderr.startswith("kreis: KREIS_DATA:")
    assert blocker.read_text() == "x"


def test_data_folder_that_cannot_be_created_is_refused(tmp_path):
    result = run_kreis("migrate", data=Path("/proc/kreis-data"))
    assert result.returncode == 2
    assert result.stderr.startswith("kreis: KREIS_DATA:")


def test_bad_boolean_is_named(tmp_path):
    result = run_kreis("check", data=tmp_path, DEBUG="maybe")
    assert result.returncode == 2
    assert "kreis: DEBUG:" in result.stderr


def test_secret_key_is_generated_once_and_kept(tmp_path):
    first = config.secret_key(tmp_path)
    assert len(first) >= 50
    assert config.secret_key(tmp_path) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_short_secret_key_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "short")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        config.secret_key(tmp_path)


def test_sqlite_default_uses_wal_and_immediate_transactions(tmp_path):
    db = config.database("", tmp_path)
    assert db["NAME"] == str(tmp_path / "kreis.sqlite3")
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]


def test_email_url_configures_smtp():
    mail = config.email_settings("smtp+tls://crm%40example.com:secret@mail.example.com:2525")
    assert mail["EMAIL_HOST"] == "mail.example.com"
    assert mail["EMAIL_PORT"] == 2525
    assert mail["EMAIL_HOST_USER"] == "crm@example.com"
    assert mail["EMAIL_USE_TLS"] is True


def test_deploy_check_is_clean_under_production_settings(tmp_path):
    production = {
        "DEBUG": "0",
        "KREIS_HTTPS": "1",
        "SECRET_KEY": "x" * 20 + "-production-secret-key-for-the-check-" + "y" * 20,
        "ALLOWED_HOSTS": "crm.example.com",
        "KREIS_TESTING": "0",
    }
    result = run_kreis("check", "--deploy", "--fail-level", "WARNING", data=tmp_path, **production)
    assert result.returncode == 0, result.stdout + result.stderr
    # Without HTTPS the same check warns: the test can fail.
    plain = run_kreis(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        data=tmp_path,
        **production | {"KREIS_HTTPS": "0"},
    )
    assert plain.returncode != 0


def test_redis_url_moves_cache_and_job_queue_to_redis(tmp_path, redis_url):
    code = (
        "from django.conf import settings; from kreis.core.health import check_jobs;"
        "print(settings.HUEY['huey_class'], settings.CACHES['default']['BACKEND'], check_jobs())"
    )
    result = run_kreis(
        "shell",
        "-c",
        code,
        data=tmp_path,
        REDIS_URL=redis_url,
        KREIS_TESTING="0",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-3:] == [
        "huey.RedisHuey",
        "django.core.cache.backends.redis.RedisCache",
        "RedisHuey",
    ]
