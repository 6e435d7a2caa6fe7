"""Cue alignment on a synthetic one-hour lesson, against a plain difflib word alignment.

About 9,000 narration words, 900 captions and 200 cues; the "recording" mishears, drops
and adds words and leaves out a paragraph. Prints both times and the ratio; the target for
``align_cues`` is under 0.5 s. Then a repetitive hour (one lesson written and said nine
times over: no trigram is found once) against difflib in the same run, target under 1 s
with every cue within 0.5 s; then the worst cases, inputs that leave no anchor at all.
"""

from __future__ import annotations

import difflib
import json
import random
import time
from dataclasses import dataclass
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


def synthetic_lesson(words: int = 9000, captions: int = 900, cues: int = 200, seed: int = 7,
                     misheard: float = 0.05, moved: bool = False,
                     ) -> tuple[Lesson, list[Caption], list[int]]:
    """A lesson with ``words`` narration words in paragraphs, a cue after some of them, and
    a take of it as ``captions`` captions: ``misheard`` of the words wrong, a few swallowed,
    ad-libs, one paragraph never said and, with ``moved``, five paragraphs recorded later
    than the script has them. Returns also each cue's true time (ms): the end of the last
    word spoken before it."""
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
    order = list(range(len(paragraphs)))
    if moved:
        block_at, later = len(order) // 5, 3 * len(order) // 5
        order = order[:block_at] + order[block_at + 5:later] + order[block_at:block_at + 5] \
            + order[later:]
    dropped = rng.randrange(1, len(paragraphs))
    spoken: list[str] = []
    last_word: dict[int, int] = {}  # paragraph -> index of its last spoken word
    for k in order:
        if k == dropped:
            continue
        for word in paragraphs[k]:
            roll = rng.random()
            if roll < misheard:
                spoken.append(rng.choice(vocab))
            elif roll < misheard + 0.02:
                continue  # swallowed
            else:
                spoken.append(word)
            if rng.random() < 0.02:
                spoken.append(rng.choice(["um", "so", "you", "know", "right"]))  # ad-lib
        last_word[k] = len(spoken) - 1
    last_word[dropped] = last_word.get(dropped - 1, 0)
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
        last = last_word[k]
        truth.append(caps[last // per].start + (last % per + 1) * MS_PER_WORD)
    return lesson, caps, truth


MS_PER_CHAR = 60  # a caption lasts this long per character: the character split is exact


@dataclass(frozen=True, slots=True)
class Repeated:
    """A lesson said ``copies`` times over in one take, with the truth to judge it by."""

    lesson: Lesson
    captions: list[Caption]
    truth: list[int]  # per cue: ms when the narration passes it (the end of the last word
    #   said for the paragraph before it: misheard words count, ad-libs do not)
    spoken: list[bool]  # per narration word: said (as written or misheard), not swallowed


def repeated_lesson(copies: int = 9, words: int = 1000, cues: int = 20, seed: int = 11,
                    misheard: float = 0.05, words_per_caption: int = 10,
                    same_take: bool = False) -> Repeated:
    """One lesson of ``words`` narration words and ``cues`` cues, written out ``copies``
    times in one script (about an hour with the defaults) and said ``copies`` times in one
    take, every copy with its own mishearings, swallowed words and ad-libs (``same_take``:
    every copy said the same way, the take pasted over and over). No trigram of the script
    is found once: every anchor is a repeat."""
    rng = random.Random(seed)
    vocab = _vocabulary(rng)
    weights = [1 / (rank + 1) for rank in range(len(vocab))]
    paragraphs: list[list[str]] = []
    while sum(map(len, paragraphs)) < words:
        paragraphs.append(rng.choices(vocab, weights, k=rng.randint(25, 65)))
    cue_after = set(rng.sample(range(len(paragraphs)), min(cues, len(paragraphs))))
    narration: list[NarrationLine] = []
    cue_list: list[Cue] = []
    said: list[tuple[str, int]] = []  # (word, paragraph number in the script or -1: ad-lib)
    spoken: list[bool] = []
    line = 10
    for copy in range(copies):
        if same_take:
            rng = random.Random(seed + 1)
        for k, para in enumerate(paragraphs):
            number = copy * len(paragraphs) + k
            narration.append(NarrationLine(line, " ".join(para) + "."))
            line += 2
            if k in cue_after:
                cue_list.append(Cue("visual_text", f"cue {copy}.{k}", (f"cue {copy}.{k}",), line))
                line += 2
            for word in para:
                roll = rng.random()
                spoken.append(roll >= misheard + 0.02 or roll < misheard)
                if roll < misheard:
                    said.append((rng.choice(vocab), number))
                elif roll >= misheard + 0.02:
                    said.append((word, number))
                if rng.random() < 0.02:
                    said.append((rng.choice(["um", "so", "you", "know", "right"]), -1))
    caps: list[Caption] = []
    ends: dict[int, int] = {}  # paragraph number -> ms its last said word ends
    t = 0
    for n, i in enumerate(range(0, len(said), words_per_caption), start=1):
        chunk = said[i:i + words_per_caption]
        text = " ".join(w for w, _ in chunk)
        char = 0
        for w, number in chunk:
            char += len(w)
            if number >= 0:
                ends[number] = t + char * MS_PER_CHAR
            char += 1
        caps.append(Caption(n, t, t + len(text) * MS_PER_CHAR, text))
        t += len(text) * MS_PER_CHAR + 200
    truth = [ends[copy * len(paragraphs) + k] for copy in range(copies)
             for k in sorted(cue_after)]
    lesson = Lesson(path=Path("repeated-hour.md"), title="Repeated hour", tags=(), media=(),
                    claps=(), cues=tuple(cue_list), captions=tuple(caps), notes=(), warnings=(),
                    narration=tuple(narration))
    return Repeated(lesson, caps, truth, spoken)


def difflib_baseline(lesson: Lesson, captions: list[Caption], per_char: bool = False,
                     ) -> list[int]:
    """Plain global word alignment with difflib; a cue takes its preceding matched word
    (its end: ``MS_PER_WORD`` a word, or with ``per_char`` ``MS_PER_CHAR`` a character)."""
    script = [t.norm for n in lesson.narration for t in tokenize(n.text)]
    lines = [n.line for n in lesson.narration for _ in tokenize(n.text)]
    spoken = [t.norm for c in captions for t in tokenize(c.text)]
    owner = [c.start + (t.end * MS_PER_CHAR if per_char else (k + 1) * MS_PER_WORD)
             for c in captions for k, t in enumerate(tokenize(c.text))]
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


def _run(label: str, lesson: Lesson, captions: list[Caption], truth: list[int],
         tolerance: int = 1000, target: str = "< 0.5 s", per_char: bool = False) -> None:
    align_cues(lesson, captions, overrides=())  # warm up imports
    runs = []
    for _ in range(3):
        for cached in (words_mod._expand, words_mod.stem, words_mod.sound_key):
            cached.cache_clear()  # time a cold start: no word normalized yet
        t0 = time.perf_counter()
        result = align_cues(lesson, captions, overrides=())
        runs.append(time.perf_counter() - t0)
    ours = min(runs)
    t0 = time.perf_counter()
    base_starts = difflib_baseline(lesson, captions, per_char)
    base = time.perf_counter() - t0

    def within(starts: list[int]) -> str:
        good = sum(1 for s, t in zip(starts, truth, strict=True) if abs(s - t) <= tolerance)
        return f"{good}/{len(truth)} cues within {tolerance / 1000:g} s of the truth"

    print(f"{label}")
    print(f"  align_cues:        {ours:.3f} s  (best of 3; target {target})"
          f"  {within([c.start for c in result.cues])}, coverage {result.coverage:.1%}")
    print(f"  difflib baseline:  {base:.3f} s  {within(base_starts)}")
    print(f"  ratio (baseline / align_cues): {base / ours:.1f}x faster")


def main() -> None:
    lesson, captions, truth = synthetic_lesson()
    words = sum(len(tokenize(n.text)) for n in lesson.narration)
    print(f"synthetic lesson: {words} narration words, {len(captions)} captions,"
          f" {len(lesson.cues)} cues")
    _run("take with 5% misheard, swallowed words, ad-libs, a dropped paragraph:",
         lesson, captions, truth)
    lesson, captions, truth = synthetic_lesson(misheard=0.15, moved=True)
    _run("harder take: 15% misheard, and five paragraphs recorded later than scripted:",
         lesson, captions, truth)
    for misheard, same in ((0.05, True), (0.05, False), (0.15, False)):
        rep = repeated_lesson(misheard=misheard, same_take=same)
        words = sum(len(tokenize(n.text)) for n in rep.lesson.narration)
        how = "the same take pasted 9 times" if same else "each copy said its own way"
        _run(f"repetitive hour: one lesson written 9 times over ({words} words,"
             f" {len(rep.lesson.cues)} cues), {how}, {misheard:.0%} misheard:", rep.lesson,
             rep.captions, rep.truth, tolerance=500, target="< 1 s", per_char=True)
    _cli()
    _worst_cases()


def write_repeated(folder: Path) -> tuple[Path, Path]:
    """The repetitive hour as files a user would hand the CLI: a script (its narration and
    VISUAL TEXT cues in line order) and its take's captions as SRT."""
    from pipeline.captions.io import write_captions

    rep = repeated_lesson()
    items = sorted([(n.line, n.text) for n in rep.lesson.narration]
                   + [(c.line, f"`[VISUAL TEXT: {c.text}]`") for c in rep.lesson.cues])
    script, srt = folder / "repeated-hour.md", folder / "repeated-hour.srt"
    script.write_text("\n\n".join(["---\ntitle: Repeated hour\n---", "**CLAP**",
                                    *(text for _, text in items)]) + "\n", encoding="utf-8")
    write_captions(srt, rep.captions)
    return script, srt


def _cli(runs: int = 3) -> None:
    """The whole ``align`` command (a fresh interpreter: imports, parse, align, JSON) on the
    repetitive hour, against ``parse`` of the same script; target: under 1 s beyond parse."""
    import os
    import statistics
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        script, srt = write_repeated(Path(tmp))
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        commands = {"parse": ["parse", str(script), "--json"],
                    "align": ["align", str(script), "--captions", str(srt), "--json"]}
        times: dict[str, list[float]] = {name: [] for name in commands}
        cues = 0
        for _ in range(runs):
            for name, argv in commands.items():  # interleaved: load changes hit both alike
                t0 = time.perf_counter()
                done = subprocess.run([sys.executable, "-m", "pipeline", *argv], env=env,
                                      capture_output=True, text=True, check=True)
                times[name].append(time.perf_counter() - t0)
                if name == "align":
                    cues = len(json.loads(done.stdout)["cues"])
    parse, align = (statistics.median(times[n]) for n in commands)
    print(f"align CLI on the repetitive hour ({cues} cues; median of {runs} fresh processes):")
    print(f"  python -m pipeline parse --json:           {parse:.3f} s")
    print(f"  python -m pipeline align --captions --json: {align:.3f} s")
    print(f"  align beyond parse: {align - parse:.3f} s (target < 1 s);"
          f" ratio align / parse: {align / parse:.1f}x")


def _worst_cases() -> None:
    """Inputs that defeat every anchor: time and peak memory of the linear-memory pass."""
    import tracemalloc

    from pipeline.align.words import align_words

    rep = repeated_lesson()
    script = [t.norm for n in rep.lesson.narration for t in tokenize(n.text)]
    spoken = [t.norm for c in rep.captions for t in tokenize(c.text)]
    copy = len(spoken) // 9
    lesson, captions, _ = synthetic_lesson(words=4500, captions=450, cues=50)
    once = [t.norm for n in lesson.narration for t in tokenize(n.text)]
    take = [t.norm for c in captions for t in tokenize(c.text)]
    cases = [
        ("repetitive hour, its 5th copy never said (counts differ everywhere)",
         script, spoken[:4 * copy] + spoken[5 * copy:]),
        ("a 4,500-word lesson said twice over in one take (matched in the second)",
         once, take + take),
    ]
    print("worst cases (no anchor found: divided by linear-memory passes):")
    for label, a, b in cases:
        t0 = time.perf_counter()
        al = align_words(a, b)
        spent = time.perf_counter() - t0
        tracemalloc.start()
        align_words(a, b)
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        print(f"  {label}: {len(a)} x {len(b)} words, {spent:.2f} s, peak {peak:.0f} MB"
              f" allocated, coverage {al.coverage:.1%}")


if __name__ == "__main__":
    main()
