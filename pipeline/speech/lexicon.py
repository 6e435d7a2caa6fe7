"""Pronunciations of script words in the acoustic model's phones (CMU ARPAbet).

The CMU dictionary that ships inside the pocketsphinx wheel comes first. A word it lacks
gets one from letter-to-sound rules: espeak-ng's own (the wheel of espeakng-loader), its
IPA mapped onto ARPAbet by a table; an acronym ("CRM", "KPIs")
is spelled as letters where espeak-ng finds it unreadable. Numbers are read as words ("10,000" -> ten thousand). Every word
gets a pronunciation and says where it came from, so nothing is dropped silently.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

DICTIONARY = "dictionary"
LETTERS = "letters"
RULES = "rules"


@dataclass(frozen=True, slots=True)
class Pronunciation:
    phones: tuple[str, ...]
    source: str  # DICTIONARY | LETTERS | RULES


def dictionary_path() -> Path:
    from pocketsphinx import get_model_path

    return Path(get_model_path()) / "en-us" / "cmudict-en-us.dict"


@functools.cache
def _dictionary() -> bytes:
    """The CMU dictionary's lines (3 MB), sorted by word, a word's variants ("word(2)")
    after it."""
    return dictionary_path().read_bytes()


def _cmudict(key: str) -> tuple[str, ...] | None:
    """The first pronunciation of ``key``, by bisection of the dictionary's lines (reading
    its 135,000 lines to find a lesson's words cost 0.1 s each lesson)."""
    data, word = _dictionary(), key.encode()

    def word_at(start: int) -> bytes:
        field = data[start:data.find(b" ", start)]
        return field[:field.index(b"(")] if field.endswith(b")") else field

    lo, hi = 0, len(data)  # lo, hi: line starts; the lines before lo hold smaller words
    while lo < hi:
        start = data.rfind(b"\n", 0, (lo + hi) // 2) + 1  # the line holding the middle
        if word_at(start) < word:
            end = data.find(b"\n", start)
            lo = len(data) if end < 0 else end + 1
        else:
            hi = start
    if lo == len(data) or not data.startswith(word + b" ", lo):
        return None
    end = data.find(b"\n", lo)
    return tuple(data[lo + len(word) + 1:None if end < 0 else end].decode().split())


_LETTERS = {
    "a": "EY", "b": "B IY", "c": "S IY", "d": "D IY", "e": "IY", "f": "EH F", "g": "JH IY",
    "h": "EY CH", "i": "AY", "j": "JH EY", "k": "K EY", "l": "EH L", "m": "EH M", "n": "EH N",
    "o": "OW", "p": "P IY", "q": "K Y UW", "r": "AA R", "s": "EH S", "t": "T IY", "u": "Y UW",
    "v": "V IY", "w": "D AH B AH L Y UW", "x": "EH K S", "y": "W AY", "z": "Z IY",
}

# espeak-ng's IPA (en-us) -> ARPAbet; longest match first, stress and length marks dropped
_IPA = {
    "aɪ": "AY", "aʊ": "AW", "eɪ": "EY", "oʊ": "OW", "əʊ": "OW", "ɔɪ": "OY", "tʃ": "CH",
    "dʒ": "JH", "ɑː": "AA", "ɑ": "AA", "æ": "AE", "ʌ": "AH", "ə": "AH", "ɐ": "AH", "ɚ": "ER",
    "ɜː": "ER", "ɜ": "ER", "ɝ": "ER", "ɔː": "AO", "ɔ": "AO", "ɒ": "AA", "ɛ": "EH", "e": "EH",
    "ɪ": "IH", "ᵻ": "IH", "iː": "IY", "i": "IY", "oː": "OW", "o": "OW", "ʊ": "UH", "uː": "UW",
    "u": "UW", "a": "AE", "b": "B", "d": "D", "ð": "DH", "f": "F", "ɡ": "G", "g": "G",
    "h": "HH", "k": "K", "l": "L", "ɫ": "L", "m": "M", "n": "N", "ŋ": "NG", "p": "P", "ɹ": "R",
    "r": "R", "s": "S", "ʃ": "SH", "t": "T", "θ": "TH", "v": "V", "w": "W", "j": "Y", "z": "Z",
    "ʒ": "ZH", "ɾ": "D", "x": "K", "ç": "HH", "ʔ": "",
}
_IPA_KEYS = sorted(_IPA, key=len, reverse=True)


def _espeak_ipa(word: str) -> str:
    from pipeline.speech.voice import ipa

    return ipa(word)


def ipa_to_arpabet(ipa: str) -> tuple[str, ...]:
    phones: list[str] = []
    i = 0
    while i < len(ipa):
        for key in _IPA_KEYS:
            if ipa.startswith(key, i):
                if _IPA[key]:
                    phones.append(_IPA[key])
                i += len(key)
                break
        else:
            i += 1  # stress, length, syllable marks and spaces
    return tuple(phones)


@functools.lru_cache(maxsize=8192)
def pronounce(word: str) -> Pronunciation:
    """One written word (as it appears in the script) -> its phones."""
    key = word.lower().replace("’", "'")
    found = _cmudict(key)
    if found:
        return Pronunciation(found, DICTIONARY)
    if key.isdigit():
        return Pronunciation(tuple(p for w in number_words(int(key)) for p in _cmudict(w) or ()),
                             DICTIONARY)
    stem = _cmudict(key[:-2]) if key.endswith("'s") else None
    if stem:
        return Pronunciation(stem + ("Z",), DICTIONARY)
    # espeak-ng's rules, given the word as written: it spells what cannot be read as a
    # word ("CRM", "KPIs") and reads the rest ("ARPU" -> AA R P UW)
    phones = ipa_to_arpabet(_espeak_ipa(word.replace("’", "'").replace("'", "")))
    if not phones:  # nothing espeak could read: spell it
        phones = tuple(" ".join(_LETTERS.get(c, "") for c in key if c.isalpha()).split())
        return Pronunciation(phones, LETTERS)
    return Pronunciation(phones, RULES)


_SMALL = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
          "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
          "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def number_words(n: int) -> list[str]:
    """An integer as English words: 10000 -> ten thousand."""
    if n < 20:
        return [_SMALL[n]]
    if n < 100:
        return [_TENS[n // 10]] + (number_words(n % 10) if n % 10 else [])
    if n < 1000:
        return number_words(n // 100) + ["hundred"] + (number_words(n % 100) if n % 100 else [])
    for size, name in ((10**9, "billion"), (10**6, "million"), (1000, "thousand")):
        if n >= size:
            rest = number_words(n % size) if n % size else []
            return number_words(n // size) + [name] + rest
    return [str(n)]
