"""Secrets at rest (kreis.core.crypto): encrypted with the configured key or the data folder's
key file, and a clear error when the key is not the one they were saved with."""

from __future__ import annotations

import stat

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from kreis import config
from kreis.core import crypto


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.KREIS_CREDENTIALS_KEY = ""
    return tmp_path


def test_a_secret_is_stored_encrypted_and_read_back(data_dir):
    token = crypto.encrypt("s3cret-pässword")

    assert "s3cret" not in token
    assert token != crypto.encrypt("s3cret-pässword")  # a fresh IV each time
    assert crypto.decrypt(token) == "s3cret-pässword"
    assert crypto.decrypt("") == ""


def test_the_key_file_is_made_on_first_use_readable_by_the_owner_only(data_dir):
    key_file = data_dir / "credentials.key"
    assert not key_file.exists()

    token = crypto.encrypt("x")

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert Fernet(key.encode()).decrypt(token.encode()) == b"x"
    crypto.encrypt("y")
    assert key_file.read_text().strip() == key  # made once, kept
    assert [p.name for p in data_dir.iterdir()] == ["credentials.key"]  # no temporary left


def test_a_configured_key_wins_and_no_file_is_made(data_dir, settings):
    key = Fernet.generate_key().decode()
    settings.KREIS_CREDENTIALS_KEY = key

    token = crypto.encrypt("x")

    assert Fernet(key.encode()).decrypt(token.encode()) == b"x"
    assert not (data_dir / "credentials.key").exists()


def test_the_key_can_come_from_a_file(monkeypatch, tmp_path):
    key = Fernet.generate_key().decode()
    (tmp_path / "key").write_text(key + "\n")
    monkeypatch.setenv("KREIS_CREDENTIALS_KEY_FILE", str(tmp_path / "key"))

    assert config.env("KREIS_CREDENTIALS_KEY") == key


def test_another_key_gives_a_clear_error(data_dir, settings):
    token = crypto.encrypt("x")
    settings.KREIS_CREDENTIALS_KEY = Fernet.generate_key().decode()

    with pytest.raises(crypto.SecretUnreadable, match="Enter the password again"):
        crypto.decrypt(token)
    with pytest.raises(crypto.SecretUnreadable):
        crypto.decrypt("not a token")


def test_a_missing_key_file_gives_a_clear_error(data_dir):
    token = crypto.encrypt("x")
    (data_dir / "credentials.key").unlink()

    with pytest.raises(crypto.SecretUnreadable, match="key to decrypt stored passwords"):
        crypto.decrypt(token)


def test_a_new_key_in_front_of_the_old_one_still_reads_and_rotates(data_dir, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.KREIS_CREDENTIALS_KEY = old
    token = crypto.encrypt("x")
    settings.KREIS_CREDENTIALS_KEY = f"{new}, {old}"

    assert crypto.decrypt(token) == "x"
    rotated = crypto.rotate(token)
    settings.KREIS_CREDENTIALS_KEY = new
    assert crypto.decrypt(rotated) == "x"


def test_a_malformed_key_is_refused_by_name(data_dir, settings):
    settings.KREIS_CREDENTIALS_KEY = "too-short"

    with pytest.raises(ImproperlyConfigured, match="KREIS_CREDENTIALS_KEY: key 1 is not a Fernet"):
        crypto.encrypt("x")
