"""What the speech step heard, judged: a recording that does not carry the script is bad
input (silence, music, another language, another lesson's recording), and stretches of
speech no script word covers are classed (a filler is not an ad-lib)."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.captions.qa import Finding
from pipeline.errors import MediaError
from pipeline.models import Caption, Lesson

if TYPE_CHECKING:
    from pipeline.speech.forced import Timing

MIN_HEARD = 0.15  # share of the script's words heard below which the recording is not it
MIN_SPEECH = 1_000  # ms of speech in all the recordings below which they hold none
MIN_FIT = 0.4  # share of the recognised words that fit the script in order, below which a
# recording of which under half the script was heard is not the script either (the
# recogniser only knows the script's words, so it hears them in anything; in the script's
# own narration nearly all fit: 229 of 235 in the real-speech benchmark's lesson)


def check_recordings(lesson: Lesson, words_heard: int, words: int, recognised: int,
                     media: Sequence[Path], speech: Sequence[Sequence[tuple[int, int]]]) -> None:
    """Raise MediaError (exit 2) when the recordings cannot be the script's narration:
    no speech at all, or too few of the script's words heard in what they say."""
    if not words:
        return
    where: str | Path = media[0] if len(media) == 1 else lesson.path
    said = sum(b - a for take in speech for a, b in take)
    if said < MIN_SPEECH:
        raise MediaError(f"the recording holds no speech ({said / 1000:.1f} s of sound that"
                         " could be speech): silence only?", where)
    share = words_heard / words
    fit = words_heard / recognised if recognised else 0.0
    if share < MIN_HEARD or (share < 0.5 and fit < MIN_FIT):
        raise MediaError(f"the recording does not match the script: {share:.0%} of words"
                         f" heard ({words_heard} of {words}; {fit:.0%} of what was recognised fits it; music, another language or"
                         " another lesson's recording?)", where)


FILLER_MS = 600  # an unscripted stretch this short, of at most two short sounds, is a
# filler ("um", "uh", a breath, a cut-off word), not an ad-lib to caption by hand


def span_kind(start: int, end: int, heard: str) -> str:
    """``"filler"`` or ``"speech"`` for a stretch of speech no script word covers (``heard``:
    what the recogniser, which only knows the script's words, made of it)."""
    sounds = heard.split()
    if end - start <= FILLER_MS and len(sounds) <= 2 and all(len(s) <= 4 for s in sounds):
        return "filler"
    return "speech"


NOT_HEARD = 0.75  # a caption's mean word confidence below this: its words were not heard
# (a word recognised among recognised neighbours scores 1.0, one only forced among
# unrecognised ones 0.5, one recognised where the forcing found no path 0.5 at most, one
# spread between recognised words there 0.25)


def _word_confidences(captions: Sequence[Caption], timing: Timing) -> list[list[float]]:
    """The confidences of the heard words in each caption (the words whose middle is in it:
    a bisection of the middles, not a pass over every word for every caption)."""
    from pipeline.speech.captions import caption_time

    said = sorted((sum(caption_time(timing, w)) // 2, w.confidence)
                  for w in timing.words if w.heard)
    middles = [m for m, _ in said]
    return [[x for _, x in said[bisect.bisect_left(middles, c.start):
                                bisect.bisect_right(middles, c.end)]] for c in captions]


def caption_confidence(captions: Sequence[Caption], timing: Timing) -> list[float | None]:
    """Each caption's mean word confidence (None: no heard word in it)."""
    return [round(sum(conf) / len(conf), 3) if conf else None
            for conf in _word_confidences(captions, timing)]


def not_heard_findings(captions: Sequence[Caption], timing: Timing) -> tuple[Finding, ...]:
    """A QA finding (``not_heard``) for each caption whose words were mostly not heard:
    timed by forcing alone or by interpolation, so its times are a guess to check."""
    out: list[Finding] = []
    for c, conf in zip(captions, _word_confidences(captions, timing), strict=True):
        mean = sum(conf) / len(conf) if conf else 1.0
        if mean < NOT_HEARD:
            guessed = sum(x <= 0.5 for x in conf)
            how = f"{guessed} of {len(conf)} words not both recognised and forced"
            out.append(Finding(c.index, "not_heard", "warning",
                               f"words not really heard ({how}; confidence {mean:.2f}):"
                               " check where they are said", False))
    return tuple(out)
