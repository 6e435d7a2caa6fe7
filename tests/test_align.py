"""Cue-to-caption alignment: seeds with stated neighbouring words, and the hard cases."""

from __future__ import annotations

import itertools
import json
import random
import re
import time
from dataclasses import replace
from pathlib import Path

import pytest
from align_fixtures import MS_PER_WORD, Track, captions_from, make_lesson
from conftest import SCRIPTS
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.align.cues import READ_MAX_MS, READ_MIN_MS, align_cues
from pipeline.align.overrides import cue_id, override_line, sidecar_path
from pipeline.align.words import align_words, tokenize
from pipeline.cli import main
from pipeline.errors import ScriptError
from pipeline.script.parse import parse_script

TOLERANCE = 60  # ms: rounding of the character split

P = [
    "Welcome back to the course on building a sustainable venture from the ground up.",
    "Today we look closely at how pricing experiments reveal what buyers truly value.",
    "Start with a single offer and watch which features people ask about first.",
    "Then raise the price for a small cohort and measure how many still convert.",
    "Keep a written log of every experiment so your whole team learns from it.",
    "Finally compare the cohorts side by side before changing anything for everyone.",
    "Remember that a cheap product with weak demand rarely fixes itself over time.",
    "In the next lesson we will turn these findings into a simple pricing page.",
]


def cue(kind: str, text: str) -> str:
    return f"`[{'VISUAL TEXT' if kind == 'vt' else 'MAIN PANEL'}: {text}]`"


def assert_between(aligned, track: Track, before: str, after: str | None) -> None:
    lo, hi = track.window(before, after)
    assert lo - TOLERANCE <= aligned.start <= hi + TOLERANCE, (
        f"{aligned.cue.text!r} at {aligned.start} ms, expected after {before!r} ({lo} ms)"
        f" and before {after!r} ({hi} ms)")


# --- words -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, words", [
    ("Let's start with your Customer Model.", "let us start with your customer model"),
    ("They'll bite your arm off if you tell 'em.", "they will bite your arm off if you tell them"),
    ("Maybe there are only 10,000 of these", "maybe there are only 10000 of these"),
    ("about one million people", "about 1000000 people"),
    ("about 1 million people", "about 1000000 people"),
    ("sleep-deprived, product-market fit", "sleep deprived product market fit"),
    ("you don't; we can't; it won't", "you do not we can not it will not"),
    ("Rethink your customer typesIf your model", "rethink your customer types if your model"),
    ("the customer's job, it's gonna work", "the customer job it is going to work"),
    ("twenty-five OK", "25 okay"),
])
def test_tokenize_normalizes(text: str, words: str) -> None:
    assert " ".join(t.norm for t in tokenize(text)) == words


def test_tokens_keep_their_source_span() -> None:
    text = "Hello, they'll   see 10,000 things."
    spans = [(text[t.start:t.end], t.norm) for t in tokenize(text)]
    assert spans == [("Hello", "hello"), ("they'll", "they"), ("they'll", "will"),
                     ("see", "see"), ("10,000", "10000"), ("things", "things")]


def test_align_words_fuzzy_and_gaps() -> None:
    a = ["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "and", "runs", "into", "the", "dark", "forest"]
    b = ["uh", "the", "quick", "brown", "fox", "jumped", "over", "a", "lazy", "dog", "and", "ran", "into", "the", "forest"]
    al = align_words(a, b)
    pairs = {a[i]: b[j] for i, j in enumerate(al.target) if j >= 0}
    assert pairs["jumps"] == "jumped" and pairs["fox"] == "fox" and pairs["forest"] == "forest"
    assert al.target[a.index("dark")] == -1
    assert list(al.target[al.target >= 0]) == sorted(al.target[al.target >= 0])


def test_align_words_empty_sides() -> None:
    assert align_words([], ["a"]).coverage == 0.0
    assert list(align_words(["a", "b"], []).target) == [-1, -1]


def test_hour_long_lesson_aligns_fast() -> None:
    from benchmarks.bench_align import difflib_baseline, synthetic_lesson

    lesson, captions, truth = synthetic_lesson()
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        result = align_cues(lesson, captions, overrides=())
        times.append(time.perf_counter() - t0)
    assert sum(abs(c.start - t) <= 1000 for c, t in zip(result.cues, truth)) == len(truth)
    if min(times) > 0.5:  # two shared cores may be busy: then at least beat difflib twice over
        t0 = time.perf_counter()
        difflib_baseline(lesson, captions)
        assert min(times) < 0.5 * (time.perf_counter() - t0)


# --- seeds -----------------------------------------------------------------------------

SEED_002 = [  # (cue line, last words spoken before it, first words spoken after it)
    (21, "Let's start with your customer model.", "Before we dive in"),
    (35, "Are your early adopters signaling a bigger market?", "If you're hesitating"),
    (43, "Let's refresh the key concepts.", "Customer types are the"),
    (56, "the focus segment that you can win first.", "Your beachhead customer segment needs"),
    (74, "and how to solve it,", "These"),
    (78, "same core need just in an amplified way.", "The technology adoption"),
    (95, "That's product, market fit.", None),
]
SEED_001 = [
    # "narrow focus | absolute buyers | big enough to win" sums up the paragraph's first
    # sentence, but the author put it after the paragraph: it appears there (the earlier
    # moment is only a suggestion, see test_seed_001_summing_card_stays_where_written).
    (22, "once you're already succeeding.", "If your early adopters"),
    (45, "Sell an amazing thing to a well-defined market that's product market fit.",
     "Rethink your customer types"),
    (69, "with an urgent new must have need.", "You could try workflow repositioning"),
]


@pytest.mark.parametrize("script, expected", [
    ("002-intro-customer-segments.md", SEED_002),
    ("001-improvement-levers.md", SEED_001),
])
def test_seed_cues_land_where_a_person_would_put_them(script: str, expected) -> None:
    lesson = parse_script(SCRIPTS / script)
    result = align_cues(lesson, overrides=())
    track = Track(lesson.captions)
    assert [c.cue.line for c in result.cues] == [line for line, _, _ in expected]
    for aligned, (_, before, after) in zip(result.cues, expected):
        assert_between(aligned, track, before, after)
        assert aligned.method == "text"
        assert aligned.confidence >= 0.8
    assert result.coverage > 0.9


def test_seed_002_first_main_panel_right_after_its_sentence() -> None:
    lesson = parse_script(SCRIPTS / "002-intro-customer-segments.md")
    first = align_cues(lesson, overrides=()).cues[0]
    assert first.start == 1666 and first.caption_index == 1  # end of "...customer model."
    assert first.end == align_cues(lesson, overrides=()).cues[2].start  # until the next panel


def test_seed_within_caption_anchor_split_by_characters() -> None:
    lesson = parse_script(SCRIPTS / "002-intro-customer-segments.md")
    vt = next(c for c in align_cues(lesson, overrides=()).cues if c.cue.line == 74)
    caption = next(c for c in lesson.captions if c.index == vt.caption_index)
    assert vt.caption_index == 55 and caption.start < vt.start < caption.end
    assert caption.text.replace("\n", " ")[:vt.anchor_char].endswith("solve it,")


def test_align_json_matches_the_interface(capsys) -> None:
    code = main(["align", str(SCRIPTS / "002-intro-customer-segments.md"), "--json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"cues", "coverage"}
    for c in doc["cues"]:
        assert set(c) == {"kind", "text", "line", "start", "end", "caption_index", "confidence",
                          "method"}
        assert isinstance(c["start"], float) and 0 <= c["confidence"] <= 1
    assert doc["cues"][0]["start"] == 1.666


def test_script_without_captions_is_estimated_from_speaking_rate() -> None:
    lesson = parse_script(SCRIPTS / "000-improvement-process.md")
    result = align_cues(lesson, overrides=())
    assert [c.method for c in result.cues] == ["estimated"] * len(lesson.cues)
    assert all(c.confidence < 0.5 for c in result.cues)
    starts = [c.start for c in result.cues]
    assert starts == sorted(starts) and starts[0] > 30_000  # ~150 words in, at 150 wpm
    assert result.coverage == 0.0


# --- hard cases ------------------------------------------------------------------------

def test_reordered_passage(tmp_path: Path) -> None:
    body = [P[0], P[1], P[2], cue("vt", "moved"), P[3], P[4], cue("vt", "after"), P[5], P[6]]
    take = [P[0], P[1], P[4], P[2], P[3], P[5], P[6]]  # P2-P3 recorded after P4
    lesson = make_lesson(tmp_path, body, take)
    result = align_cues(lesson, overrides=())
    track = Track(lesson.captions)
    moved, after = result.cues
    assert_between(moved, track, "people ask about first.", "Then raise the price")
    assert moved.start > track.end_of("learns from it.")  # where the passage really was
    assert moved.confidence > 0.7
    assert_between(after, track, "learns from it.", "Start with a single")
    assert after.confidence < 0.5 and "another order" in after.reason  # a seam: editor decides


def test_cue_at_the_seam_of_a_long_insertion_is_flagged(tmp_path: Path) -> None:
    body = [P[0], P[1], cue("mp", "seam"), P[2], P[3]]
    take = [P[0], P[1], P[6] + " " + P[7], P[2], P[3]]  # a passage not in this script
    lesson = make_lesson(tmp_path, body, take)
    (seam,) = align_cues(lesson, overrides=()).cues
    track = Track(lesson.captions)
    assert_between(seam, track, "truly value.", "Start with a single")
    assert seam.confidence < 0.5 and "not in the script" in seam.reason


def test_dropped_paragraph(tmp_path: Path) -> None:
    body = [P[0], cue("mp", "one"), P[1], P[2], P[3], cue("vt", "two"), P[4], P[5]]
    take = [P[0], P[1], P[3], P[4], P[5]]  # P2 never said
    lesson = make_lesson(tmp_path, body, take)
    one, two = align_cues(lesson, overrides=()).cues
    track = Track(lesson.captions)
    assert_between(one, track, "from the ground up.", "Today we look")
    assert_between(two, track, "still convert.", "Keep a written log")
    assert one.confidence > 0.8 and two.confidence > 0.8


def test_ad_lib_before_a_cue(tmp_path: Path) -> None:
    body = [P[0], P[1], cue("vt", "pricing"), P[2], P[3]]
    adlib = "Okay so you know I really love this part honestly."
    take = [P[0], P[1], adlib, P[2], P[3]]
    lesson = make_lesson(tmp_path, body, take)
    (vt,) = align_cues(lesson, overrides=()).cues
    track = Track(lesson.captions)
    assert_between(vt, track, "what buyers truly value.", "Start with a single offer")
    assert vt.start <= track.window("truly value.", "Okay so")[1] + TOLERANCE
    assert vt.confidence > 0.6


def _damage(text: str, rng: random.Random) -> str:
    """Lowercase, no punctuation, every fourth word misheard."""
    words = re.sub(r"[^\w\s']", "", text.lower()).split()
    out = []
    for k, word in enumerate(words):
        if k % 4 == 1:
            word = rng.choice([word[:-1] + "e", word + "s", "uh", word[1:] or word, "the"])
        out.append(word)
    return " ".join(out)


def test_heavy_asr_damage(tmp_path: Path) -> None:
    rng = random.Random(3)
    body = [P[0], cue("mp", "a"), P[1], P[2], cue("vt", "b"), P[3], P[4], cue("vt", "c"),
            P[5], P[6], P[7]]
    clean = captions_from(P)
    damaged = [c.__class__(c.index, c.start, c.end, _damage(c.text, rng)) for c in clean]
    lesson = make_lesson(tmp_path, body, captions=damaged)
    result = align_cues(lesson, overrides=())
    track = Track(clean)  # same timing as the damaged take, readable phrases
    for aligned, (before, after) in zip(result.cues, [
            ("from the ground up.", "Today we look"),
            ("people ask about first.", "Then raise the price"),
            ("team learns from it.", "Finally compare")]):
        assert_between(aligned, track, before, after)
        assert aligned.confidence > 0.5


def test_lesson_that_repeats_its_own_sentences(tmp_path: Path) -> None:
    refrain = "Remember that the customer is always where the story starts."
    body = [P[0], refrain, cue("vt", "first"), P[1], P[2], P[3], refrain, cue("vt", "second"),
            P[4], refrain, P[5]]
    take = [P[0], refrain, P[1], P[2], P[3], refrain, P[4], refrain, P[5]]
    lesson = make_lesson(tmp_path, body, take)
    first, second = align_cues(lesson, overrides=()).cues
    track = Track(lesson.captions)
    assert_between(first, track, "ground up. " + refrain, "Today we look")
    assert_between(second, track, "still convert. " + refrain, "Keep a written log")


def test_cue_whose_narration_was_never_recorded(tmp_path: Path) -> None:
    lost = ("This whole paragraph about warehouse logistics and shipping containers was cut"
            " from the take because the presenter ran out of time that afternoon.")
    body = [P[0], cue("mp", "a"), P[1], P[2], lost, cue("vt", "lost"), lost.replace(
        "This whole", "Another"), P[3], cue("vt", "b"), P[4], P[5]]
    take = [P[0], P[1], P[2], P[3], P[4], P[5]]
    lesson = make_lesson(tmp_path, body, take)
    result = align_cues(lesson, overrides=())
    by = {c.cue.text: c for c in result.cues}
    assert by["lost"].confidence < 0.5
    assert all(by["lost"].confidence < c.confidence for t, c in by.items() if t != "lost")
    assert by["lost"].reason
    track = Track(lesson.captions)
    assert_between(by["lost"], track, "ask about first.", "Then raise the price")


def test_cue_at_the_very_start_and_the_very_end(tmp_path: Path) -> None:
    body = [cue("mp", "opening"), P[0], P[1], P[2], cue("mp", "closing")]
    take = ["Hi everyone.", P[0], P[1], P[2]]
    lesson = make_lesson(tmp_path, body, take)
    opening, closing = align_cues(lesson, overrides=()).cues
    track = Track(lesson.captions)
    assert_between(opening, track, "Hi everyone.", "Welcome back")
    assert closing.start == pytest.approx(lesson.captions[-1].end, abs=TOLERANCE)
    assert closing.end == lesson.captions[-1].end
    assert opening.end == closing.start  # a panel lasts until the next panel


def test_cue_between_two_captions(tmp_path: Path) -> None:
    body = [P[0], cue("vt", "gap"), P[1]]
    take = [P[0], "\n" + P[1]]  # a two-second pause between them
    lesson = make_lesson(tmp_path, body, take)
    (vt,) = align_cues(lesson, overrides=()).cues
    before = next(c for c in lesson.captions if c.text.endswith("ground up."))
    after = next(c for c in lesson.captions if c.text.startswith("Today"))
    assert after.start - before.end >= 2000
    assert before.end - TOLERANCE <= vt.start <= after.start
    assert vt.caption_index in (before.index, after.index)


def test_visual_text_end_rules(tmp_path: Path) -> None:
    body = [P[0], cue("vt", "a | b"), "Quick.", cue("vt", "second"), P[1], P[2],
            cue("vt", "a much longer list | of several items to read | slowly and carefully |"
                      " before it disappears | from the screen again | for good this time |"
                      " and then one more item | to be very sure"),
            P[3], P[4], P[5], P[6], P[7]]
    take = [P[0], "Quick.", P[1], P[2], P[3], P[4], P[5], P[6], P[7]]
    lesson = make_lesson(tmp_path, body, take)
    first, second, long = align_cues(lesson, overrides=()).cues
    assert first.end == second.start  # never past the next VISUAL TEXT
    assert long.end - long.start == READ_MAX_MS
    assert READ_MIN_MS <= second.end - second.start <= READ_MAX_MS


# --- overrides -------------------------------------------------------------------------

def test_override_in_frontmatter(tmp_path: Path) -> None:
    body = [P[0], cue("vt", "pinned | item"), P[1], cue("mp", "free"), P[2]]
    front = 'cue_times:\n  - cue: "Pinned  | ITEM"\n    at: "0:01.500"\n    until: 4\n'
    lesson = make_lesson(tmp_path, body, [P[0], P[1], P[2]], frontmatter=front)
    pinned, free = align_cues(lesson).cues
    assert (pinned.start, pinned.end, pinned.method) == (1500, 4000, "override")
    assert pinned.confidence == 1.0
    assert free.method == "text"


def test_sidecar_override_survives_an_unrelated_script_edit(tmp_path: Path) -> None:
    body = [P[0], cue("vt", "kept"), P[1], cue("vt", "other"), P[2]]
    lesson = make_lesson(tmp_path, body, [P[0], P[1], P[2]])
    kept = lesson.cues[0]
    sidecar_path(lesson.path).write_text(
        f"cue_times:\n  - id: {cue_id(kept)}\n    at: 12.25\n", encoding="utf-8")
    assert align_cues(lesson).cues[0].start == 12_250
    edited = make_lesson(tmp_path, ["A new opening paragraph was added later.", *body],
                         [P[0], P[1], P[2]])
    assert edited.cues[0].line != kept.line
    result = align_cues(edited)
    assert (result.cues[0].start, result.cues[0].method) == (12_250, "override")
    assert result.cues[1].method == "text" and not result.warnings


def test_override_for_an_edited_cue_is_reported_not_applied(tmp_path: Path) -> None:
    front = 'cue_times:\n  - {cue: "old wording", at: 3}\n'
    lesson = make_lesson(tmp_path, [P[0], cue("vt", "new wording"), P[1]], [P[0], P[1]],
                         frontmatter=front)
    result = align_cues(lesson)
    assert result.cues[0].method == "text"
    assert "names no cue" in result.warnings[0] and ":4:" in result.warnings[0]


@pytest.mark.parametrize("sidecar, line, message", [
    ("cue_times:\n  - cue: x\n    at: soon\n", 2, "bad cue time"),
    ("cue_times:\n  - cue: x\n  at: [\n", 3, "not valid YAML"),
    ("cue_times:\n  - at: 3\n", 2, "names its cue"),
    ("cue_times:\n  - cue: x\n    at: 3\n    colour: red\n", 2, "unknown key"),
    ("something: else\n", 1, "needs a 'cue_times:'"),
])
def test_malformed_sidecar_is_bad_input(tmp_path: Path, capsys, sidecar: str, line: int,
                                        message: str) -> None:
    lesson = make_lesson(tmp_path, [P[0], cue("vt", "x"), P[1]], [P[0], P[1]])
    side = sidecar_path(lesson.path)
    side.write_text(sidecar, encoding="utf-8")
    with pytest.raises(ScriptError) as err:
        align_cues(lesson)
    assert err.value.line == line and message in err.value.message
    assert main(["align", str(lesson.path), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith(f"{side}:{line}: ")


def test_cli_writes_markers(tmp_path: Path, capsys) -> None:
    import opentimelineio as otio

    script = SCRIPTS / "002-intro-customer-segments.md"
    otio_path, csv_path = tmp_path / "cues.otio", tmp_path / "cues.csv"
    assert main(["align", str(script), "--otio", str(otio_path), "--csv", str(csv_path),
                 "--fps", "25"]) == 0
    assert "7 cues" in capsys.readouterr().out
    timeline = otio.adapters.read_from_file(str(otio_path))
    markers = [m for clip in timeline.find_clips() for m in clip.markers]
    assert len(markers) == 7 and markers[0].name.startswith("MAIN PANEL: Social Lean Canvas")
    assert markers[0].marked_range.start_time.to_seconds() == pytest.approx(1.666, abs=0.04)
    rows = csv_path.read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("id,kind,text,line,start_tc,end_tc,start,end")
    assert ",00:00:01:16,00:00:53:18,1.666,53.722," in rows[1]


def test_captions_option_aligns_against_a_caption_file(tmp_path: Path, capsys) -> None:
    from pipeline.captions.io import to_srt

    lesson = make_lesson(tmp_path, [P[0], cue("vt", "x"), P[1]])
    srt = tmp_path / "take.srt"
    srt.write_text(to_srt(captions_from([P[0], P[1]], start_ms=10_000)), encoding="utf-8")
    assert main(["align", str(lesson.path), "--captions", str(srt), "--json"]) == 0
    (doc,) = json.loads(capsys.readouterr().out)["cues"]
    assert doc["method"] == "text" and doc["start"] > 10 + 14 * MS_PER_WORD / 1000 - 0.1


def test_align_command_loads_only_what_it_needs(tmp_path: Path) -> None:
    """align with captions imports no build, audio, template or UI library (they cost a
    second on an hour of material): checked in a fresh interpreter."""
    import os
    import subprocess
    import sys

    from pipeline.captions.io import to_srt

    lesson = make_lesson(tmp_path, [P[0], cue("vt", "x"), P[1]])
    srt = tmp_path / "take.srt"
    srt.write_text(to_srt(captions_from([P[0], P[1]], start_ms=10_000)), encoding="utf-8")
    heavy = ["scipy", "jinja2", "pocketsphinx", "starlette", "rich", "PIL", "pipeline.lesson"]
    probe = ("import sys; from pipeline.cli import main;"
             f" code = main(['align', {str(lesson.path)!r}, '--captions', {str(srt)!r}, '--json']);"
             f" print([m for m in {heavy!r} if m in sys.modules], code, file=sys.stderr)")
    root = str(Path(__file__).resolve().parent.parent)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": root}, check=True)
    assert done.stderr.strip().splitlines()[-1] == "[] 0"
    assert json.loads(done.stdout)["cues"][0]["method"] == "text"


def test_cue_written_inside_a_narration_line(tmp_path: Path) -> None:
    body = [P[0] + " " + P[1] + " `[VISUAL TEXT: inline]` " + P[2] + " [MAIN PANEL: second] "
            + P[3], P[4]]
    lesson = make_lesson(tmp_path, body, [P[0], P[1], P[2], P[3], P[4]])
    assert lesson.cues[0].line == lesson.cues[1].line == lesson.narration[0].line
    inline, second = align_cues(lesson, overrides=()).cues
    track = Track(lesson.captions)
    assert_between(inline, track, "truly value.", "Start with a single")
    assert_between(second, track, "ask about first.", "Then raise the price")


@pytest.mark.parametrize("script, expected", [
    ("002-intro-customer-segments.md", SEED_002),
    ("001-improvement-levers.md", SEED_001),
])
def test_seed_take_with_heavy_asr_damage(script: str, expected) -> None:
    """The real takes, lowercased, unpunctuated, a fifth of the words misheard or lost."""
    lesson = parse_script(SCRIPTS / script)
    rng = random.Random(11)

    def damage(text: str) -> str:
        out = []
        for word in re.sub(r"[^\w\s']", "", text.lower()).split():
            roll = rng.random()
            if roll < 0.2:
                out.append(rng.choice([word[:-1] + "e", word + "s", "uh", word[1:] or word]))
            elif roll > 0.96:
                continue
            else:
                out.append(word)
        return " ".join(out)

    damaged = [c.__class__(c.index, c.start, c.end, damage(c.text)) for c in lesson.captions]
    result = align_cues(lesson, damaged, overrides=())
    track = Track(lesson.captions)
    for aligned, (_, before, after) in zip(result.cues, expected, strict=True):
        lo, hi = track.window(before, after)
        assert lo - 600 <= aligned.start <= hi + 600, aligned.cue.text  # a word either side
    assert 0.6 < result.coverage < 0.9


def test_retake_of_the_sentence_before_a_cue(tmp_path: Path) -> None:
    body = [P[0], P[1], cue("vt", "after the retake"), P[2], P[3]]
    stumble = "Today we look closely at how pricing, sorry, let me start that again."
    take = [P[0], stumble, P[1], P[2], P[3]]
    lesson = make_lesson(tmp_path, body, take)
    (vt,) = align_cues(lesson, overrides=()).cues
    track = Track(lesson.captions)
    assert_between(vt, track, "start that again. " + P[1], "Start with a single")
    assert 0.5 <= vt.confidence <= 0.75 and "said 2 times" in vt.reason  # next to a retake


# --- properties of the word alignment ---------------------------------------------------

_words_list = st.lists(st.sampled_from(["a", "an", "the", "cat", "dog", "sat", "on", "mat", "ran", "far", "away", "home"]),
                       max_size=60)


@settings(max_examples=60, deadline=None)
@given(_words_list)
def test_identical_sequences_align_one_to_one(words: list[str]) -> None:
    al = align_words(words, words)
    assert list(al.target) == list(range(len(words)))
    assert al.coverage == (1.0 if words else 0.0)


@settings(max_examples=60, deadline=None)
@given(_words_list, _words_list)
def test_no_caption_word_is_used_twice(a: list[str], b: list[str]) -> None:
    al = align_words(a, b)
    used = [int(j) for j in al.target if j >= 0]
    assert len(used) == len(set(used)) and all(0 <= j < len(b) for j in used)


def test_big_gaps_are_split_on_inner_anchors(monkeypatch, tmp_path: Path) -> None:
    from pipeline.align import words

    body = [P[0], cue("mp", "one"), P[1], P[2], P[3], cue("vt", "two"), P[4], P[5]]
    lesson = make_lesson(tmp_path, body, [P[0], P[1], P[3], P[4], P[5]])
    expected = [c.start for c in align_cues(lesson, overrides=()).cues]
    monkeypatch.setattr(words, "_MAX_CELLS", 40)
    monkeypatch.setattr(words, "_ANCHOR_N", 50)  # no trigram anchors: one big gap
    assert [c.start for c in align_cues(lesson, overrides=()).cues] == expected


def test_anchor_word_names_the_caption_word_at_the_cue() -> None:
    lesson = parse_script(SCRIPTS / "002-intro-customer-segments.md")
    result = align_cues(lesson, overrides=())
    by_line = {c.cue.line: c for c in result.cues}
    words_55 = next(c for c in lesson.captions if c.index == 55).text.split()
    assert words_55[by_line[74].anchor_word] == "it,"
    assert by_line[21].anchor_word == 5  # "model." in "Let's start with your customer model."


def test_captions_from_another_lesson_match_nothing(tmp_path: Path) -> None:
    lesson = make_lesson(tmp_path, [P[0], cue("vt", "x"), P[1], cue("vt", "y"), P[2]],
                         [("Completely different words about gardening tomatoes in spring."
                           " Water them early and often when summer comes.")])
    result = align_cues(lesson, overrides=())
    assert all(c.confidence < 0.5 for c in result.cues)
    assert result.cues[0].start < result.cues[1].start
    assert result.coverage < 0.2


def test_repeated_cue_text_is_pinned_by_id(tmp_path: Path) -> None:
    from pipeline.align.report import render_report

    body = [P[0], cue("mp", "Canvas"), P[1], cue("mp", "canvas"), P[2]]
    lesson = make_lesson(tmp_path, body, [P[0], P[1], P[2]])
    first, second = align_cues(lesson, overrides=()).cues
    assert second.id == first.id + "-2"
    sidecar_path(lesson.path).write_text(f"- {{id: {second.id}, at: 7}}\n", encoding="utf-8")
    pinned = align_cues(lesson).cues
    assert [c.method for c in pinned] == ["text", "override"] and pinned[1].start == 7000
    html = render_report(lesson, align_cues(lesson, overrides=()))
    assert f"- {{id: {second.id}, at: " in html and f"- {{id: {first.id}, at: " in html


@pytest.mark.parametrize("written, ms", [
    ("93.4", 93_400), ("1:33.400", 93_400), ('"1:33.400"', 93_400), ("'0:01:33,400'", 93_400),
    ("1:33", 93_000), ("0", 0),
])
def test_override_time_forms(tmp_path: Path, written: str, ms: int) -> None:
    lesson = make_lesson(tmp_path, [P[0], cue("vt", "x"), P[1]], [P[0], P[1]])
    sidecar_path(lesson.path).write_text(f"cue_times:\n  - cue: x\n    at: {written}\n")
    assert align_cues(lesson).cues[0].start == ms


def test_reading_speed_comes_from_the_caption_profile(tmp_path: Path, capsys) -> None:
    from pipeline.align.cues import reading_cps
    from pipeline.captions.profiles import get_profile

    assert reading_cps(get_profile("netflix")) == 20.0
    assert reading_cps(get_profile("bbc")) == pytest.approx(18.0)
    items = "a fairly long first item | and a second one to read | and a third"
    lesson = make_lesson(tmp_path, [P[0], cue("vt", items), P[1]], [P[0], P[1]])
    spans = {}
    for args in (["--profile", "netflix"], ["--profile", "bbc"], ["--max-cps", "10"]):
        assert main(["align", str(lesson.path), "--json", *args]) == 0
        (doc,) = json.loads(capsys.readouterr().out)["cues"]
        spans[args[1]] = round(doc["end"] - doc["start"], 3)
    assert spans["netflix"] < spans["bbc"] < spans["10"]
    assert main(["align", str(lesson.path), "--profile", "nope"]) == 2


@settings(max_examples=150, deadline=None)
@given(st.text(min_size=1, max_size=40).filter(lambda t: t.strip()),
       st.integers(min_value=0, max_value=10 * 3_600_000))
def test_the_override_line_from_the_report_reads_back(text: str, ms: int) -> None:
    from pipeline.align.overrides import normalize_text, override_line, parse_overrides
    from pipeline.models import Cue

    cue = Cue("visual_text", text, (text,), 1)
    (pin,) = parse_overrides("cue_times:\n  " + override_line(cue, ms), "x.cues.yaml", 1, True)
    assert pin.start == ms and pin.text == normalize_text(text)


def test_visual_text_stays_where_written_and_the_sentence_it_sums_up_is_suggested(
        tmp_path: Path) -> None:
    paragraph = ("Raise the price for a small cohort and measure how many still convert."
                 " Meanwhile keep the support team in the loop about every change you make.")
    body = [P[0], paragraph, cue("vt", "raise price | small cohort | measure conversion"),
            P[2], paragraph.replace("Raise", "Lower"), cue("vt", "support team | every change"),
            P[3], P[4], cue("vt", "pricing page | next lesson"), P[7]]
    take = [P[0], paragraph, P[2], paragraph.replace("Raise", "Lower"), P[3], P[4], P[7]]
    lesson = make_lesson(tmp_path, body, take)
    summed, last, whole = align_cues(lesson, overrides=()).cues
    track = Track(lesson.captions)
    # Where the author put it: after the paragraph.
    assert_between(summed, track, "every change you make.", "Start with a single")
    assert summed.confidence > 0.8 and "sum" not in summed.reason
    assert summed.suggestion is not None
    lo, hi = track.window("Raise the price for a small cohort and measure how many still"
                          " convert.", "Meanwhile keep")
    assert lo - TOLERANCE <= summed.suggestion.start <= hi + TOLERANCE
    assert "move the cue up?" in summed.suggestion.text and "still convert." in summed.suggestion.text
    assert_between(last, track, "Lower the price for a small cohort and measure how many still"
                   " convert. Meanwhile keep the support team in the loop about every change"
                   " you make.", "Then raise the price")
    assert last.suggestion is None  # it sums up the last sentence: already in place
    assert_between(whole, track, "team learns from it.", "In the next lesson")
    assert not whole.reason and whole.suggestion is None


def test_seed_001_summing_card_stays_where_written_and_the_report_offers_the_earlier_moment(
        ) -> None:
    from pipeline.align.overrides import parse_overrides
    from pipeline.align.report import render_report

    lesson = parse_script(SCRIPTS / "001-improvement-levers.md")
    result = align_cues(lesson, overrides=())
    first = result.cues[0]
    track = Track(lesson.captions)
    assert first.cue.text == "narrow focus | absolute buyers | big enough to win"
    assert_between(first, track, "once you're already succeeding.", "If your early adopters")
    assert first.suggestion is not None
    assert_between(replace(first, start=first.suggestion.start), track,
                   "big enough to get you to success.", "You can expand out")
    assert "0:29.6" in first.suggestion.text
    html = render_report(lesson, result)
    line = override_line(first.cue, first.suggestion.start)
    assert html.count("move the cue up?") == 1 and line.replace('"', "&#34;") in html
    (pin,) = parse_overrides("cue_times:\n  " + line, "x.cues.yaml", 1, True)
    assert pin.start == first.suggestion.start


# --- repeats and retakes -----------------------------------------------------------------

RETAKES = {  # take of P[1] (the sentence before the cue): (takes said, what the track reads)
    "said twice, the first take cleaner": [P[1], P[1].replace("closely", "close")],
    "said three times": [P[1], P[1], P[1]],
    "false start": ["Today we look closely at how", P[1]],
    "two false starts": ["Today we look", "Today we look closely at how pricing,", P[1]],
    # The first take holds trigrams found once on each side ("pricing experiments reveal"),
    # the last one is worded a little differently: the last take still wins.
    "first take anchored, last take reworded": [P[1], P[1].replace("experiments", "tests")],
}


@pytest.mark.parametrize("takes", RETAKES.values(), ids=RETAKES.keys())
def test_cue_after_a_retaken_sentence_follows_its_last_take(tmp_path: Path,
                                                             takes: list[str]) -> None:
    body = [P[0], P[1], cue("vt", "after the retake"), P[2], P[3]]
    lesson = make_lesson(tmp_path, body, [P[0], *takes, P[2], P[3]])
    (vt,) = align_cues(lesson, overrides=()).cues
    track = Track(lesson.captions)
    last = takes[-1]
    assert_between(vt, track, " ".join(takes), "Start with a single")
    assert vt.start >= track.end_of(" ".join(takes)) - TOLERANCE
    assert last.split()[-1] in vt.before  # the context quoted is the script's
    assert 0.5 <= vt.confidence <= 0.75, vt
    assert f"said {len(takes)} times" in vt.reason and "after the last take" in vt.reason


def test_cue_before_a_false_start_goes_with_the_take_that_is_kept(tmp_path: Path) -> None:
    body = [P[0], P[1], cue("vt", "before the retake"), P[2], P[3]]
    false_start = "Start with a single, sorry,"
    lesson = make_lesson(tmp_path, body, [P[0], P[1], false_start, P[2], P[3]])
    (vt,) = align_cues(lesson, overrides=()).cues
    track = Track(lesson.captions)
    assert_between(vt, track, "sorry,", "Start with a single offer")
    assert 0.5 <= vt.confidence <= 0.75
    assert "said 2 times" in vt.reason and "before the last take" in vt.reason


def test_no_retake_no_retake_reason(tmp_path: Path) -> None:
    # the same words twice in the script and twice in the take are no retake
    body = [P[0], P[1], cue("vt", "one"), P[2], P[1], cue("vt", "two"), P[3]]
    lesson = make_lesson(tmp_path, body, [P[0], P[1], P[2], P[1], P[3]])
    one, two = align_cues(lesson, overrides=()).cues
    track = Track(lesson.captions)
    assert_between(one, track, "truly value.", "Start with a single")
    assert_between(two, track, "ask about first. " + P[1], "Then raise")
    assert "said" not in one.reason + two.reason and min(one.confidence, two.confidence) > 0.8


def test_recap_paragraph_repeating_sentences_verbatim(tmp_path: Path) -> None:
    recap = "To recap. " + P[1] + " " + P[3] + " " + P[5]
    body = [P[0], P[1], cue("vt", "a"), P[2], P[3], cue("vt", "b"), P[4], P[5],
            cue("mp", "c"), recap, cue("vt", "recap"), P[6], P[7]]
    take = [P[0], P[1], P[2], P[3], P[4], P[5], recap, P[6], P[7]]
    rng = random.Random(5)
    clean = captions_from(take)
    damaged = [c.__class__(c.index, c.start, c.end, _damage(c.text, rng)) for c in clean]
    for captions in (clean, damaged):
        lesson = make_lesson(tmp_path, body, captions=captions)
        result = align_cues(lesson, overrides=())
        track = Track(clean)
        a, b, c, r = result.cues
        assert_between(a, track, "truly value.", "Start with a single")
        assert_between(b, track, "many still convert.", "Keep a written log")
        assert_between(c, track, "for everyone.", "To recap")
        recap_at = track.find("To recap")
        lo = track.time_at(track.find("before changing anything for everyone.", recap_at)
                           + len("before changing anything for everyone."))
        assert lo - TOLERANCE <= r.start <= track.end_of("rarely fixes") , r
        assert result.coverage > (0.95 if captions is clean else 0.6)


@pytest.mark.parametrize("same_take", [False, True], ids=["own takes", "pasted take"])
def test_a_lesson_said_nine_times_over_to_an_hour(same_take: bool) -> None:
    # Every trigram of the script is found nine times: no unique anchor anywhere. Each copy
    # is said with its own mishearings, swallowed words and ad-libs, or the same take is
    # pasted nine times.
    import numpy as np

    from benchmarks.bench_align import repeated_lesson

    rep = repeated_lesson(same_take=same_take)
    assert rep.captions[-1].end > 55 * 60_000 and len(rep.lesson.cues) == 180
    result = align_cues(rep.lesson, rep.captions, overrides=())
    errors = [abs(c.start - t) for c, t in zip(result.cues, rep.truth, strict=True)]
    assert max(errors) <= 500, sorted(errors)[-5:]
    # No stretch of words said in the take is left unmatched.
    script = [t.norm for n in rep.lesson.narration for t in tokenize(n.text)]
    spoken = [t.norm for c in rep.captions for t in tokenize(c.text)]
    al = align_words(script, spoken)
    lost = np.array(rep.spoken) & (al.target < 0)
    longest = max((len(run) for run in "".join("x" if x else " " for x in lost).split()),
                  default=0)
    assert longest <= 2 and al.coverage > 0.9


def _alignment_score(a: list[str], b: list[str], target) -> int:
    """The table's score of an alignment: pair scores, gaps inside, one side's lead and
    tail free (as the aligner scores the whole sequences)."""
    from pipeline.align import words

    sa, sb, _ = words._encode(a, b)
    pairs = [(i, int(j)) for i, j in enumerate(target) if j >= 0]
    if not pairs:
        return 0
    total = sum(int(words._scores(sa, sb, slice(i, i + 1), slice(j, j + 1))[0, 0])
                for i, j in pairs)
    for (i0, j0), (i1, j1) in itertools.pairwise(pairs):
        total -= words._GAP * ((i1 - i0 - 1) + (j1 - j0 - 1))
    (fi, fj), (li, lj) = pairs[0], pairs[-1]
    total -= words._GAP * (min(fi, fj) + min(len(a) - 1 - li, len(b) - 1 - lj))
    return total


@settings(max_examples=60, deadline=None)
@given(_words_list, st.lists(st.integers(0, 9), max_size=60))
def test_the_linear_memory_split_finds_an_alignment_as_good_as_one_table(
        words_a: list[str], edits: list[int]) -> None:
    # A gap with no anchor at all is divided where its middle word crosses the other side;
    # the parts together score exactly as well as one table over the whole gap.
    from pipeline.align import words

    b = [w if e > 2 else ("dog" if e == 0 else "xyz") for w, e in zip(words_a, edits + [9] * 60)
         if e != 1]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(words, "_ANCHOR_N", 99)  # no anchor at the top
        mp.setattr(words, "_prefer_last_takes", lambda st: None)
        whole = align_words(words_a, b)
        mp.setattr(words, "_MAX_CELLS", 6)
        mp.setattr(words, "_inner_anchors", lambda *args: [])  # nor inside: split only
        split = align_words(words_a, b)
    assert _alignment_score(words_a, b, split.target) == _alignment_score(words_a, b, whole.target)
    used = [int(j) for j in split.target if j >= 0]
    assert used == sorted(set(used))
