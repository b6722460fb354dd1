"""Sentiment of short social-media texts in German and English, offline.

English: VADER (Hutto & Gilbert 2014, "VADER: A Parsimonious Rule-based Model for Sentiment
Analysis of Social Media Text", ICWSM), the lexicon and rules of the ``vaderSentiment``
package; its compound score in [-1, 1] with the authors' thresholds (≥ 0.05 positive,
≤ -0.05 negative).

German: the polarity lexicon of Klenner, Clematide, Wiegand and Peters (2010, "German Polarity
Lexicon", University of Zurich; 7,965 words with polarity -1 … +1), as the PyPI package
``textblob-de`` ships it in ``textblob_de/data/de-sentiment.xml`` (Apache 2.0). The package's
own analyser no longer runs with current TextBlob, so only its data file is read (without
importing the package) and scored here, VADER-style:

- tokens are words, emoticons and emoji; a word not in the lexicon is tried without common
  inflection endings (``-en``, ``-er``, ``-es``, ``-e``, ``-s``, ``-t`` …) and as an infinitive
  (stem + ``en``), so "enttäuschende", "empfehle" and "Katastrophen" are found;
- a negator (``nicht``, ``kein…``, ``nie``, ``nichts``, ``niemals``, ``ohne``) flips the
  sentiment words up to three tokens after it — and, German being verb-second, up to three
  before it within the same clause ("das gefällt mir nicht");
- an intensifier (``sehr``, ``extrem``, ``total`` …; the lexicon's adverbs with an intensity)
  scales the next sentiment word; "kaum" weakens it;
- after a contrast word (``aber``, ``jedoch``, ``doch``) words count 1.5×, before it 0.5×
  (VADER's rule for "but");
- the sum ``s`` becomes the compound ``s / sqrt(s² + α)`` with α = 2 (VADER uses 15 for its
  0–4 scale; the lexicon's ±1 scale needs a smaller α), in [-1, 1]; ≥ 0.1 is positive,
  ≤ -0.1 negative.

A small supplement (``GERMAN_SUPPLEMENT``) adds words of social-media German the 2010 lexicon
lacks (``mega``, ``geil``, ``top``, ``funktioniert``) and emoticons. Its effect is measured by
``kreis social sentiment-accuracy`` on the labelled sentences in ``data/sentiment_labelled.csv``.

Language: the source's, else the post's own, else ``detect_language`` (stop-word counts).
"""

from __future__ import annotations

import functools
import importlib.util
import math
import re
from dataclasses import dataclass
from pathlib import Path

from defusedxml import ElementTree

POSITIVE_FLOOR = {"de": 0.1, "en": 0.05}
ALPHA = 2.0
NEGATION_SCALE = -0.8
NEGATORS = frozenset(
    "nicht kein keine keinen keinem keiner keines nie niemals nichts ohne weder".split()
)
CONTRASTS = frozenset({"aber", "jedoch", "doch", "allerdings", "leider"})
INTENSIFIERS = {
    "sehr": 1.5,
    "extrem": 1.8,
    "total": 1.6,
    "echt": 1.4,
    "wirklich": 1.4,
    "absolut": 1.7,
    "richtig": 1.4,
    "besonders": 1.4,
    "äußerst": 1.8,
    "ziemlich": 1.2,
    "so": 1.3,
    "super": 1.5,
    "mega": 1.6,
    "voll": 1.4,
    "völlig": 1.6,
    "komplett": 1.6,
    "kaum": 0.4,
    "etwas": 0.8,
}
ENDINGS = ("esten", "sten", "ster", "stes", "ste", "ern", "end", "em", "en", "er", "es", "e")
ENDINGS += ("s", "n", "t", "st", "et")
# Social-media German the 2010 lexicon lacks (polarity on its scale), and emoticons/emoji.
GERMAN_SUPPLEMENT = {
    "mega": 0.7,
    "geil": 1.0,
    "top": 1.0,
    "spitze": 1.0,
    "klasse": 1.0,
    "flop": -1.0,
    "mist": -1.0,
    "funktioniert": 0.5,
    "klappt": 0.5,
    "danke": 0.7,
    "dank": 0.7,
    "lob": 1.0,
    "schnell": 0.5,
    "freundlich": 1.0,
    "kompetent": 1.0,
    "zuverlässig": 1.0,
    "abgestürzt": -1.0,
    "absturz": -1.0,
    "stürzt": -1.0,
    "kaputt": -1.0,
    "defekt": -1.0,
    "warte": -0.5,
    "wartezeit": -0.5,
    "ewig": -0.5,
    "nervt": -1.0,
    "nervig": -1.0,
    "frechheit": -1.0,
    "abzocke": -1.0,
    "reklamation": -0.5,
    "storniert": -0.5,
    "kündige": -0.7,
    "kündigen": -0.7,
    "wütend": -1.0,
    "sauer": -0.7,
    "verspätet": -0.7,
    "verspätung": -0.7,
    "unbrauchbar": -1.0,
    "fehler": -0.7,
    "bug": -0.7,
    "katastrophe": -1.0,
    "überteuert": -1.0,
    "beschädigt": -1.0,
    "unerreichbar": -1.0,
}
# Entries of the lexicon whose sense is not the one customers mean: "bitte" is politeness
# (the lexicon scores "bitten"), "blau" the colour (the lexicon's sense is "drunk"), "ziehen"
# moving house or pulling.
GERMAN_NEUTRAL = frozenset({"bitte", "blau", "ziehen", "zieht"})
# Fixed phrases that carry sentiment their words do not.
GERMAN_PHRASES = {("nie", "wieder"): -0.8, ("nicht", "mehr"): -0.3}
DE_UMLAUT = str.maketrans({"ä": "a", "ö": "o", "ü": "u"})
EMOTICONS = {
    ":)": 0.8,
    ":-)": 0.8,
    ":D": 1.0,
    ";)": 0.5,
    ":(": -0.8,
    ":-(": -0.8,
    "🙂": 0.8,
    "😀": 1.0,
    "😊": 1.0,
    "😍": 1.0,
    "👍": 0.8,
    "❤": 1.0,
    "🎉": 0.8,
    "🙁": -0.8,
    "😞": -0.8,
    "😡": -1.0,
    "😠": -1.0,
    "👎": -0.8,
    "🤬": -1.0,
}
TOKENS = re.compile(r":-?[()D]|;\)|[\w'-]+|[!?,.;:]|[\U0001F300-\U0001FAFF❤]", re.UNICODE)
CLAUSE_END = frozenset(",.;:!?")

STOP_WORDS = {
    "de": frozenset(
        "der die das und ist nicht ich ein eine es mit auf für den dem von zu im sich auch "
        "aber wie mir mein meine wir sie er noch schon nur sehr kein keine so bei was war "
        "hat habe haben wird ihr euer uns dass oder wenn seit heute leider gut".split()
    ),
    "en": frozenset(
        "the and is not i a an it with on for to of in my me we you they he she was were "
        "has have had will your our this that but or if so very no just really at be are "
        "been too from do does did can't don't".split()
    ),
}


@dataclass(frozen=True)
class Score:
    label: str  # positive, neutral, negative
    compound: float
    language: str


def detect_language(text: str) -> str:
    """de or en, whichever language's common words the text uses more; umlauts and ß decide a
    tie for German; an empty or undecidable text is English (VADER's emoji rules still work)."""
    words = re.findall(r"[\w']+", text.lower())
    counts = {lang: sum(w in stop for w in words) for lang, stop in STOP_WORDS.items()}
    if counts["de"] > counts["en"]:
        return "de"
    if counts["en"] > counts["de"]:
        return "en"
    return "de" if re.search(r"[äöüß]", text.lower()) else "en"


def _lexicon_path() -> Path:
    spec = importlib.util.find_spec("textblob_de")  # finds the folder; nothing is imported
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The textblob-de package (its German lexicon) is not installed.")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "de-sentiment.xml"


@functools.cache
def german_lexicon() -> tuple[dict[str, float], dict[str, float]]:
    """(polarity by lower-case word, intensity by adverb) from the Klenner et al. lexicon."""
    polarity: dict[str, float] = {}
    intensity: dict[str, float] = {}
    for word in ElementTree.parse(_lexicon_path()).getroot().iter("word"):
        form = (word.get("form") or "").lower()
        value = float(word.get("polarity") or 0)
        strength = float(word.get("intensity") or 1)
        if not form:
            continue
        if value == 0 and strength != 1:
            intensity.setdefault(form, strength)
        elif value != 0 and form not in polarity:
            polarity[form] = value
    for form, value in GERMAN_SUPPLEMENT.items():
        polarity.setdefault(form, value)
    return polarity, intensity


def _german_polarity(word: str, lexicon: dict[str, float]) -> float:
    if word in GERMAN_NEUTRAL:
        return 0.0
    if word in lexicon:
        return lexicon[word]
    # Strong verbs change their vowel: "gefällt" is "gefallen", "hält" "halten".
    for form in dict.fromkeys((word, word.translate(DE_UMLAUT))):
        for ending in ENDINGS:
            if len(form) - len(ending) >= 3 and form.endswith(ending):
                stem = form[: -len(ending)]
                for candidate in (stem, stem + "en", stem + "e", stem + "n"):
                    if candidate in lexicon and candidate not in GERMAN_NEUTRAL:
                        return lexicon[candidate]
    return 0.0


def score_german(text: str) -> float:
    """The compound score in [-1, 1] (see the module docstring for the rules)."""
    lexicon, lexicon_intensity = german_lexicon()
    tokens = TOKENS.findall(text)
    lowered = [t if t in EMOTICONS else t.lower() for t in tokens]
    values = [0.0] * len(tokens)
    for i, token in enumerate(lowered):
        if token in EMOTICONS:
            values[i] = EMOTICONS[token]
        elif token not in NEGATORS and token not in INTENSIFIERS:
            values[i] = _german_polarity(token, lexicon)
    flipped: set[int] = set()  # words a negator already turned (or a phrase fixed)
    for i in range(len(lowered) - 1):
        phrase = GERMAN_PHRASES.get((lowered[i], lowered[i + 1]))
        if phrase:
            values[i + 1] = phrase
            flipped.add(i + 1)
    # Intensifiers scale the next word that carries sentiment (within two tokens).
    for i, token in enumerate(lowered):
        factor = INTENSIFIERS.get(token) or lexicon_intensity.get(token)
        if factor:
            for j in range(i + 1, min(i + 3, len(tokens))):
                if values[j]:
                    values[j] *= factor
                    break
    # Negators flip the sentiment words near them, within the clause; each word once.
    for i, token in enumerate(lowered):
        if token not in NEGATORS:
            continue
        window = []
        for j in range(i + 1, min(i + 4, len(tokens))):
            if lowered[j] in CLAUSE_END:
                break
            window.append(j)
        after = [j for j in window if values[j]]
        if not after:
            for j in range(i - 1, max(i - 4, -1), -1):
                if lowered[j] in CLAUSE_END:
                    break
                window.append(j)
        for j in window:
            if values[j] and j not in flipped:
                values[j] *= NEGATION_SCALE
                flipped.add(j)
    # Contrast: what follows "aber" counts more than what came before.
    for i, token in enumerate(lowered):
        if token in CONTRASTS:
            values = [v * 0.5 for v in values[:i]] + [v * 1.5 for v in values[i:]]
            break
    total = sum(values)
    if total:
        total += math.copysign(min(lowered.count("!"), 3) * 0.1, total)
    return total / math.sqrt(total * total + ALPHA) if total else 0.0


@functools.cache
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def score_english(text: str) -> float:
    return float(_vader().polarity_scores(text)["compound"])


def label_for(compound: float, language: str) -> str:
    floor = POSITIVE_FLOOR.get(language, 0.05)
    if compound >= floor:
        return "positive"
    if compound <= -floor:
        return "negative"
    return "neutral"


def analyse(text: str, language: str = "") -> Score:
    """The sentiment of a text; ``language`` (de/en) if known, else detected."""
    language = language if language in ("de", "en") else detect_language(text)
    compound = score_german(text) if language == "de" else score_english(text)
    compound = round(max(-1.0, min(1.0, compound)), 4)
    return Score(label=label_for(compound, language), compound=compound, language=language)
