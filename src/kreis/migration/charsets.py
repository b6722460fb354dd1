"""Windows-1250 (Central European) or Windows-1252 (Western) for a file that is not UTF-8.

Both are single-byte encodings that decode almost any byte, and general detectors tell them
apart badly on the short texts of a CRM export: charset-normalizer takes German, French,
Italian and Portuguese samples for Windows-1250. German text alone cannot decide, and need
not: ä ö ü ß é € „ “ – have the same bytes in both. Where they differ (``ł`` is ``³``, ``ą``
is ``¹``, ``ř`` is ``ø``, ``č`` is ``è``, ``ś`` is ``œ``), two things give Windows-1250 away:

1. Symbols glued to words in the Western reading: ``W³odzimierz``, ``Micha³``, ``£ódŸ``,
   ``¯ó³w`` (word-initial ``¿``/``¡`` are Spanish; ``m³`` after a unit is a unit).
2. An alphabet no Western language has: the non-ASCII letters of the Western reading are not
   those of German plus one other Western language (``Dvoøák`` mixes Norwegian ``ø`` with
   ``á``; ``Mìsto`` Italian ``ì``; ``Gyõr`` and ``Szûcs`` Portuguese ``õ`` with French
   ``û``), while the Central European reading is German plus one of Polish, Czech, Slovak,
   Hungarian, Slovene, Croatian or Romanian.

Windows-1250 is chosen when its reading fits such an alphabet and the Western one shows (1)
or fails (2); otherwise the file stays Western, the default of a German CRM.
"""

from __future__ import annotations

import re

GERMAN = "äöüßé"
WESTERN = (
    "àâæçéèêëîïôœùûüÿ",  # French
    "áéíóúñü",  # Spanish
    "áâãàçéêíóôõú",  # Portuguese
    "àèéìíîòóù",  # Italian
    "áéèëïóöü",  # Dutch
    "åæøäöé",  # Danish, Norwegian, Swedish, Finnish
    "áðéíóúýþæö",  # Icelandic
)
CENTRAL = (
    "ąćęłńóśźż",  # Polish
    "áčďéěíňóřšťúůýž",  # Czech
    "áäčďéíĺľňóôŕšťúýž",  # Slovak
    "áéíóöőúüű",  # Hungarian
    "čćđšž",  # Slovene, Croatian
    "ăâîşţ",  # Romanian
)
NOT_LETTERS = "ªº"  # ordinal indicators: letters to Unicode, "Nº" to a reader
LETTERS = re.compile(r"[^\W\d_]+")  # a word: letters only


def _letters(text: str) -> set[str]:
    return {c for c in text.casefold() if ord(c) > 127 and c.isalpha() and c not in NOT_LETTERS}


def _fits(letters: set[str], alphabets: tuple[str, ...]) -> bool:
    return any(letters <= set(GERMAN + alphabet) for alphabet in alphabets)


def _is_letter(c: str) -> bool:
    return c.isalpha() and c not in NOT_LETTERS


def _glued_symbols(western: str, central: str) -> int:
    """Characters that are letters in the Central European reading but symbols stuck to a
    word in the Western one: inside a word, starting one, or ending one of four letters or
    more (``Micha³``, not ``m³``)."""
    count = 0
    for word in LETTERS.finditer(central):
        length = word.end() - word.start()
        for i in range(length):
            w = western[word.start() + i]
            if _is_letter(w):
                continue
            inside = 0 < i < length - 1
            start = i == 0 and length > 1 and w not in "¿¡"
            end = i == length - 1 and i >= 3
            count += inside or start or end
    return count


def looks_central_european(sample: bytes) -> bool:
    """True when the sample (bytes that are not UTF-8) reads as Windows-1250 rather than
    Windows-1252 by the two signs in the module's docstring."""
    western = sample.decode("cp1252", errors="replace")
    central = sample.decode("cp1250", errors="replace")
    if western == central or not _fits(_letters(central), CENTRAL):
        return False
    return _glued_symbols(western, central) > 0 or not _fits(_letters(western), WESTERN)
