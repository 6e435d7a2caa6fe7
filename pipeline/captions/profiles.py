"""Caption style profiles: every QA and line-breaking threshold lives here, by name."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.errors import CaptionError


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    max_chars_per_line: int
    max_lines: int
    max_cps: float | None  # characters per second (spaces and punctuation count)
    min_wpm: float | None  # words per minute band (BBC style); None: not checked
    max_wpm: float | None
    min_duration: int  # ms
    max_duration: int  # ms
    min_gap: int  # ms between consecutive captions
    balance_ratio: float  # shorter line / longer line below this is "unbalanced"
    weak_line_ends: frozenset[str]  # line-break rule: a line should not end on these words
    description: str = ""


# Both guides: do not separate an article, preposition, conjunction or possessive from
# the word it belongs to (Netflix "line treatment"; BBC "break at natural points").
# fmt: off
_ARTICLES_PREPOSITIONS = frozenset([
    "a", "an", "the", "to", "of", "and", "or", "but", "in", "on", "at", "for", "with", "from",
    "by", "as", "your", "my", "our", "their", "his", "her", "its", "that", "this", "these",
    "those", "into", "than", "if", "so",
])
# BBC adds: keep auxiliaries with their verbs and pronouns with what follows them.
_BBC_WEAK = _ARTICLES_PREPOSITIONS | frozenset([
    "is", "are", "was", "were", "be", "been", "has", "have", "had", "will", "would", "can",
    "could", "should", "might", "must", "do", "does", "did", "not", "who", "which", "very",
])
# fmt: on

PROFILES: dict[str, Profile] = {
    # Netflix Timed Text Style Guide (English): 42 chars x 2 lines, 20 cps for adult
    # programmes, 5/6 s minimum, 7 s maximum, 2 frames minimum gap (2 frames at 25 fps).
    "netflix": Profile(
        name="netflix",
        max_chars_per_line=42,
        max_lines=2,
        max_cps=20.0,
        min_wpm=None,
        max_wpm=None,
        min_duration=833,
        max_duration=7000,
        min_gap=83,
        balance_ratio=0.5,
        weak_line_ends=_ARTICLES_PREPOSITIONS,
        description="Netflix English: 42 chars/line, 2 lines, 20 cps",
    ),
    # BBC Subtitle Guidelines: about 37 characters per line (68% of a 16:9 frame), two
    # lines, 160-180 words per minute; break lines at natural linguistic points.
    "bbc": Profile(
        name="bbc",
        max_chars_per_line=37,
        max_lines=2,
        max_cps=None,
        min_wpm=160.0,
        max_wpm=180.0,
        min_duration=833,
        max_duration=7000,
        min_gap=83,
        balance_ratio=0.5,
        weak_line_ends=_BBC_WEAK,
        description="BBC: 37 chars/line, 2 lines, 160-180 wpm",
    ),
}

DEFAULT_PROFILE = "netflix"


def get_profile(name: str | None = None) -> Profile:
    """The named profile (default: netflix). CaptionError names the known ones otherwise."""
    key = (name or DEFAULT_PROFILE).strip().lower()
    try:
        return PROFILES[key]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise CaptionError(f"unknown caption profile {name!r} (known: {known})") from None
