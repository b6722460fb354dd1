"""``kreis serve`` with DEBUG=0 collects the static files itself when their manifest is
missing or stale, instead of answering 500 on every page."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from kreis.core.staticfiles import ensure_static_files
from tests.conftest import client_for

# Production's storage is WhiteNoise's CompressedManifestStaticFilesStorage: the manifest is
# its ManifestFilesMixin's, what these tests are about. Compressing every file (gzip and
# Brotli) took most of a minute per collect here and is WhiteNoise's to test.
MANIFEST_STORAGE = {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}


@pytest.fixture
def production_static(settings, tmp_path):
    settings.DEBUG = False
    settings.WHITENOISE_USE_FINDERS = False
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()  # as settings.py makes it
    settings.STORAGES = {**settings.STORAGES, "staticfiles": MANIFEST_STORAGE}
    return settings.STATIC_ROOT


def test_without_collected_files_pages_fail_and_serve_collects_them(alice, production_static):
    with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
        client_for(alice).get("/")

    assert ensure_static_files() > 0
    response = client_for(alice).get("/")
    assert response.status_code == 200
    assert (production_static / "staticfiles.json").exists()
    assert ensure_static_files() == 0  # up to date: nothing to do at the next start


def test_a_manifest_missing_a_file_is_collected_again(alice, production_static):
    ensure_static_files()
    manifest = production_static / "staticfiles.json"
    data = json.loads(manifest.read_text())
    data["paths"].pop(next(iter(data["paths"])))  # a file added since the last collectstatic
    manifest.write_text(json.dumps(data))
    assert ensure_static_files() > 0
    assert len(json.loads(manifest.read_text())["paths"]) > len(data["paths"])


def test_serve_refuses_to_start_with_one_line_when_it_cannot_collect(db, production_static):
    production_static.rmdir()
    production_static.write_text("a file where the static folder should be")
    with pytest.raises(CommandError, match="static files could not be collected") as error:
        call_command("serve", "--port", "1")
    assert "\n" not in str(error.value)
