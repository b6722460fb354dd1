"""German is complete: every text of the interface has a German translation."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.conftest import require_command

pytestmark = pytest.mark.database_independent

SRC = Path(__file__).resolve().parents[2] / "src" / "kreis"
PO = SRC / "locale" / "de" / "LC_MESSAGES" / "django.po"


def msgids(path: Path) -> dict:
    with path.open("rb") as handle:
        return {m.id: m for m in read_po(handle) if m.id}


def test_every_german_entry_is_translated_and_not_fuzzy():
    untranslated = [
        mid
        for mid, m in msgids(PO).items()
        if "fuzzy" in m.flags or not (all(m.string) if isinstance(m.string, tuple) else m.string)
    ]
    assert untranslated == []


def test_catalogue_covers_every_text_in_the_source(tmp_path):
    require_command("xgettext", "GNU gettext: apt-get install gettext")
    copy = tmp_path / "kreis"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("static", "*.mo", "__pycache__"))
    subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-m",
            "django",
            "makemessages",
            "-l",
            "de",
            "--no-obsolete",
            "--settings=kreis.settings",
        ],
        cwd=copy,
        check=True,
        capture_output=True,
    )
    missing = set(msgids(copy / "locale/de/LC_MESSAGES/django.po")) - set(msgids(PO))
    assert missing == set(), "run `make makemessages` and translate"
