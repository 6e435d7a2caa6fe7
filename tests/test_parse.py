"""The script parser on the real course scripts and on malformed input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.cli import main
from pipeline.errors import ScriptError
from pipeline.script.parse import parse_script, parse_text
from tests.conftest import ROOT, SCRIPTS

SEEDS = ROOT.parent / "shared" / "seeds"
COURSE = {
    "000": "000-improvement-process.md",
    "001": "001-improvement-levers.md",
    "002": "002-intro-customer-segments.md",
    "003": "003-customer-model.md",
    "004": "004-steve-blank-customer-types.md",
}


def lesson(key: str):
    return parse_script(SCRIPTS / COURSE[key])


def kinds(lesson_) -> list[tuple[str, int]]:
    return [(c.kind, c.line) for c in lesson_.cues]


@pytest.mark.parametrize("key", sorted(COURSE))
def test_course_scripts_are_the_seeds_byte_for_byte(key: str) -> None:
    if not SEEDS.is_dir():
        pytest.skip("../shared/seeds is not beside this checkout")
    seed = next(SEEDS.glob(f"{key}_*.txt"))
    assert (SCRIPTS / COURSE[key]).read_bytes() == seed.read_bytes()


def test_seed_000() -> None:
    got = lesson("000")
    assert got.title == "Improvement Process"
    assert got.tags == ("customer-model", "video-content", "improving")
    assert [(m.name, m.line) for m in got.media] == [("core 4.2.4 improvement-process.webm", 8)]
    assert [c.line for c in got.claps] == [12]
    assert kinds(got) == [("main_panel", 26), ("visual_text", 46), ("main_panel", 54)]
    assert got.cues[1].text == "clear beachhead | TAM × ARPU works | confident flow"
    assert got.cues[1].items == ("clear beachhead", "TAM × ARPU works", "confident flow")
    assert got.captions == ()
    spoken = " ".join(n.text for n in got.narration)
    assert "Here's how to actually work through improving your customer model." in spoken
    assert "First, gather input." in spoken  # bold removed, words kept
    assert "Readiness Check" not in spoken  # headings are not narration
    assert "[MAIN PANEL" not in spoken and "CLAP" not in spoken


def test_seed_001() -> None:
    got = lesson("001")
    assert got.media == ()
    assert [c.line for c in got.claps] == [84]
    assert kinds(got) == [("visual_text", 22), ("visual_text", 45), ("visual_text", 69)]
    assert got.cues[2].items == ("nice-to-have → must-have", "new regulation = urgent need")
    assert len(got.captions) == 93
    first, last = got.captions[0], got.captions[-1]
    assert (first.index, first.start, first.end, first.line) == (1, 0, 4829, 86)
    assert first.text == "The strategic improvement levers\nare organized around what aspect of"
    assert (last.index, last.start, last.end) == (93, 312454, 314314)
    assert got.captions[17].text == "Okay,  broaden."  # embedded captions kept as written
    # narration stops before the CLAP; the SRT block is not narration
    assert max(n.line for n in got.narration) < 84
    assert not any("-->" in n.text for n in got.narration)


def test_seed_002() -> None:
    got = lesson("002")
    assert [(m.name, m.line) for m in got.media] == [
        ("core 4.2.1 improving-your-customer-model.webm.01-1.mp4.01.webm", 12),
        ("core 4.1 introduction.webm.02.mp4.webm", 17),
    ]
    assert [c.line for c in got.claps] == [16, 97]
    assert kinds(got) == [
        ("main_panel", 21), ("visual_text", 35), ("main_panel", 43), ("visual_text", 56),
        ("visual_text", 74), ("main_panel", 78), ("main_panel", 95),
    ]
    # the closing backtick slipped onto line 96: the cue is still whole, nothing leaks
    assert got.cues[-1].text == "Return to full Customer Model section"
    assert len(got.captions) == 78
    assert got.captions[0].text == "Let's start with your customer model."
    assert [n.line for n in got.notes] == [14]  # the tag line is a production note
    assert got.narration[0].text == "Let's start with your Customer Model."


@pytest.mark.parametrize("key", ["003", "004"])
def test_scripts_without_cues(key: str) -> None:
    got = lesson(key)
    assert got.cues == () and got.captions == () and got.claps == ()
    assert len(got.narration) > 10


def test_notes_section_and_section_ids_are_notes() -> None:
    got = lesson("003")
    note_lines = [n.line for n in got.notes]
    assert {10, 11, 13, 46, 258} <= set(note_lines)
    assert not any(n.text.startswith("CustomerModel.") for n in got.narration)
    assert not any("Create a diagram" in n.text for n in got.narration)


def test_pasted_transcript_without_frontmatter() -> None:
    got = lesson("004")
    assert got.title  # from the file name
    assert got.warnings[0].line == 1 and "no frontmatter" in got.warnings[0].message
    assert got.tags == ()


def test_title_from_first_heading(tmp_path: Path) -> None:
    got = parse_text(b"intro text\n\n# The Real Title\n\nSpoken words.\n", tmp_path / "x.md")
    assert got.title == "The Real Title"
    assert "first heading" in got.warnings[0].message


def test_bad_yaml_is_a_path_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "bad.md"
    script.write_text("---\ntitle: ok\ntags: [a, b\nother: 1\n---\nHello.\n")
    with pytest.raises(ScriptError) as caught:
        parse_script(script)
    assert caught.value.line is not None and 2 <= caught.value.line <= 5
    assert main(["parse", str(script), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{script}:{caught.value.line}: ") and "YAML" in err


def test_unclosed_frontmatter(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match="never closed") as caught:
        parse_text(b"---\ntitle: x\n\nHello\n", tmp_path / "open.md")
    assert caught.value.line == 1


def test_unterminated_cue_is_kept_with_a_warning(tmp_path: Path) -> None:
    text = b"---\ntitle: t\n---\nSay this.\n\n`[VISUAL TEXT: one | two\n\nMore words.\n"
    got = parse_text(text, tmp_path / "u.md")
    assert [(c.kind, c.items, c.line) for c in got.cues] == [("visual_text", ("one", "two"), 6)]
    assert any(w.line == 6 and "never closed" in w.message for w in got.warnings)
    assert [n.text for n in got.narration] == ["Say this.", "More words."]


def test_non_utf8_script_is_read_with_a_warning(tmp_path: Path) -> None:
    data = "---\ntitle: Café\n---\nLine one.\nna\u00efve caf\u00e9\n".encode("cp1252")
    got = parse_text(data, tmp_path / "w.md")
    assert got.title == "Café"
    assert got.narration[1].text == "naïve café"
    assert any(w.line == 2 and "not UTF-8" in w.message for w in got.warnings)


def test_empty_script(tmp_path: Path) -> None:
    script = tmp_path / "empty.md"
    script.write_bytes(b"")
    got = parse_script(script)
    assert got.narration == () and got.cues == ()
    assert any("empty" in w.message for w in got.warnings)


def test_missing_script_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(tmp_path / "nope.md")]) == 2
    assert "nope.md: cannot read script" in capsys.readouterr().err


def test_clap_variants_and_unknown_cue_kind(tmp_path: Path) -> None:
    text = (
        b"---\ntitle: t\n---\n**clap**\n<span style='color: red'>*Clap!*</span>\nWords.\n"
        b"[B-ROLL: city at night]\n<span style=\"color:red\">Remember to smile</span>\n"
        b"`intro take 2.mp4`\n"
    )
    got = parse_text(text, tmp_path / "c.md")
    assert [c.line for c in got.claps] == [4, 5]
    assert [(n.line, n.text) for n in got.notes] == [(7, "B-ROLL: city at night"),
                                                     (8, "Remember to smile")]
    assert any(w.line == 7 and "unknown cue kind" in w.message for w in got.warnings)
    assert [(m.name, m.line) for m in got.media] == [("intro take 2.mp4", 9)]
    assert [n.text for n in got.narration] == ["Words."]


def test_parse_json_has_exactly_the_interface_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(SCRIPTS / COURSE["002"]), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {"path", "title", "tags", "media", "claps", "cues", "captions", "notes",
            "warnings"} <= set(doc)
    assert set(doc["cues"][0]) == {"kind", "text", "items", "line"}
    assert set(doc["captions"][0]) == {"index", "start", "end", "text"}
    assert doc["captions"][1]["start"] == 2.265


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_parser_never_raises_anything_but_script_error_on_bytes(data: bytes) -> None:
    try:
        parse_text(data, Path("fuzz.md"))
    except ScriptError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("-:[]`*<>|#\n abcCLAP01VISUALTEXT>")), max_size=300))
def test_parser_never_raises_on_script_like_text(text: str) -> None:
    try:
        parse_text(text.encode(), Path("fuzz.md"))
    except ScriptError:
        pass
