"""Cue alignment on a synthetic one-hour lesson, against a plain difflib word alignment.

About 9,000 narration words, 900 captions and 200 cues; the "recording" mishears, drops
and adds words and leaves out a paragraph. Prints both times and the ratio; the target for
``align_cues`` is under 0.5 s.
"""

from __future__ import annotations

import difflib
import random
import time
from pathlib import Path

from pipeline.align import words as words_mod
from pipeline.align.cues import align_cues
from pipeline.align.words import tokenize
from pipeline.models import Caption, Cue, Lesson, NarrationLine

MS_PER_WORD = 400  # 150 words a minute


def _vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    syllables = ["ka", "lo", "mi", "ren", "sta", "vo", "pel", "dar", "ti", "gu", "bren", "shol",
                 "an", "ex", "qui", "mor", "fa", "zen", "ru", "pli"]
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(1, 3))))
    return sorted(words)


def synthetic_lesson(words: int = 9000, captions: int = 900, cues: int = 200,
                     seed: int = 7) -> tuple[Lesson, list[Caption], list[int]]:
    """A lesson with ``words`` narration words in paragraphs, a cue after some of them, and
    a damaged take of it as ``captions`` captions; plus each cue's true time (ms)."""
    rng = random.Random(seed)
    vocab = _vocabulary(rng)
    weights = [1 / (rank + 1) for rank in range(len(vocab))]  # Zipf: a few words are common
    paragraphs: list[list[str]] = []
    total = 0
    while total < words:
        size = rng.randint(25, 65)
        paragraphs.append(rng.choices(vocab, weights, k=size))
        total += size
    narration: list[NarrationLine] = []
    cue_list: list[Cue] = []
    line = 10
    cue_after = set(rng.sample(range(len(paragraphs)), min(cues, len(paragraphs))))
    for k, para in enumerate(paragraphs):
        narration.append(NarrationLine(line, " ".join(para) + "."))
        line += 2
        if k in cue_after:
            kind = "visual_text" if k % 3 else "main_panel"
            cue_list.append(Cue(kind, f"cue {k}", (f"cue {k}",), line))
            line += 2
    dropped = rng.randrange(len(paragraphs))
    spoken: list[str] = []
    para_end: list[int] = []  # spoken words so far when paragraph k ends
    for k, para in enumerate(paragraphs):
        para_end.append(len(spoken))
        if k == dropped:
            continue
        for word in para:
            roll = rng.random()
            if roll < 0.05:
                spoken.append(rng.choice(vocab))  # misheard
            elif roll < 0.07:
                continue  # swallowed
            else:
                spoken.append(word)
            if rng.random() < 0.02:
                spoken.append(rng.choice(["um", "so", "you", "know", "right"]))  # ad-lib
        para_end[-1] = len(spoken)
    per = max(1, -(-len(spoken) // captions))
    caps: list[Caption] = []
    t = 0
    for n, i in enumerate(range(0, len(spoken), per), start=1):
        chunk = spoken[i:i + per]
        caps.append(Caption(n, t, t + len(chunk) * MS_PER_WORD, " ".join(chunk)))
        t += len(chunk) * MS_PER_WORD + 200
    lesson = Lesson(path=Path("synthetic-hour.md"), title="Synthetic hour", tags=(), media=(),
                    claps=(), cues=tuple(cue_list), captions=tuple(caps), notes=(), warnings=(),
                    narration=tuple(narration))
    truth = []
    for k in sorted(cue_after):
        last = max(0, para_end[k] - 1)  # the last word spoken before the cue
        cap = caps[last // per]
        truth.append(cap.start + (last % per + 1) * MS_PER_WORD)
    return lesson, caps, truth


def difflib_baseline(lesson: Lesson, captions: list[Caption]) -> list[int]:
    """Plain global word alignment with difflib; a cue takes its preceding matched word."""
    script = [t.norm for n in lesson.narration for t in tokenize(n.text)]
    lines = [n.line for n in lesson.narration for _ in tokenize(n.text)]
    spoken = [t.norm for c in captions for t in tokenize(c.text)]
    owner = [c.start + (k + 1) * MS_PER_WORD for c in captions
             for k, _ in enumerate(tokenize(c.text))]
    mapping: dict[int, int] = {}
    matcher = difflib.SequenceMatcher(None, script, spoken, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            mapping[block.a + k] = block.b + k
    starts = []
    for cue in lesson.cues:
        pos = sum(1 for ln in lines if ln < cue.line) - 1
        while pos > 0 and pos not in mapping:
            pos -= 1
        starts.append(owner[mapping.get(pos, 0)])
    return starts


def main() -> None:
    lesson, captions, truth = synthetic_lesson()
    words = sum(len(tokenize(n.text)) for n in lesson.narration)
    print(f"synthetic lesson: {words} narration words, {len(captions)} captions,"
          f" {len(lesson.cues)} cues")
    align_cues(lesson, captions, overrides=())  # warm up imports and caches
    runs = []
    for _ in range(3):
        for cached in (words_mod._expand, words_mod.stem, words_mod.sound_key):
            cached.cache_clear()  # time a cold start: no word normalized yet
        t0 = time.perf_counter()
        result = align_cues(lesson, captions, overrides=())
        runs.append(time.perf_counter() - t0)
    ours = min(runs)
    t0 = time.perf_counter()
    base_starts = difflib_baseline(lesson, captions)
    base = time.perf_counter() - t0

    def within(starts: list[int]) -> str:
        good = sum(1 for s, t in zip(starts, truth) if abs(s - t) <= 1000)
        return f"{good}/{len(truth)} cues within 1 s of the truth"

    print(f"align_cues:          {ours:.3f} s  (best of 3; target < 0.5 s)"
          f"  {within([c.start for c in result.cues])}, coverage {result.coverage:.1%}")
    print(f"difflib baseline:    {base:.3f} s  {within(base_starts)}")
    print(f"ratio (baseline / align_cues): {base / ours:.1f}x faster")


if __name__ == "__main__":
    main()
