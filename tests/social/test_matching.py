"""Keyword matching (whole words, any case, umlauts), post HTML to text, handles."""

import pytest

from kreis.social.matching import handle_key, html_to_text, matches


@pytest.mark.parametrize(
    ("text", "term", "found"),
    [
        ("Ich liebe Kreis!", "Kreis", True),
        ("#kreis ist toll", "Kreis", True),
        ("KREIS, ganz groß", "kreis", True),
        ("Der Kreisel dreht sich", "Kreis", False),
        ("Landkreis Harburg", "Kreis", False),
        ("Müller Pumpen liefert", "müller pumpen", True),
        ("MÜLLER  PUMPEN liefert", "Müller Pumpen", True),
        ("Mueller Pumpen liefert", "Müller Pumpen", True),
        ("Müllers Pumpen", "Müller", False),
        ("Die Straße ist gesperrt", "STRASSE", True),
        ("Übersee-Handel GmbH", "übersee", True),
        ("Überseehandel", "Übersee", False),
        ("Ärger mit der Ärztekammer", "Ärger", True),
    ],
)
def test_keywords_match_whole_words_in_any_case_with_umlauts(text, term, found):
    assert matches(text, term) is found


def test_post_html_becomes_plain_text_without_scripts():
    html = (
        '<p>Hallo &amp; <b>willkommen</b><br>zweite Zeile</p><script>alert("x")</script><p>Ende</p>'
    )
    assert html_to_text(html) == "Hallo & willkommen\nzweite Zeile\nEnde"


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("@Anna@Social.Example", "anna@social.example"),
        ("anna@social.example", "anna@social.example"),
        ("https://social.example/@anna", "anna@social.example"),
        ("https://social.example/@anna@other.example", "anna@other.example"),
        ("https://www.linkedin.com/in/anna-adler", "anna-adler@www.linkedin.com"),
        ("@anna", "anna"),
        ("", ""),
    ],
)
def test_social_handles_are_normalised_to_one_spelling(raw, key):
    assert handle_key(raw) == key
