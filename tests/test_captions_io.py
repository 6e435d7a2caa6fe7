"""Caption I/O: every real malformed file, upstream expectations, round trips."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.captions.io import (
    decode_caption_bytes,
    parse_caption_text,
    parse_srt_text,
    plain_text,
    read_captions,
    to_srt,
    to_vtt,
    write_captions,
)
from pipeline.errors import CaptionError
from pipeline.models import Caption

REALDATA = Path(__file__).resolve().parent.parent.parent / "shared" / "realdata"

SUBS = REALDATA / "subs"
SUB_FILES = sorted(SUBS.iterdir()) if SUBS.is_dir() else []


def _manifest() -> dict[str, str]:
    path = REALDATA / "MANIFEST.tsv"
    if not path.is_file():
        return {}
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()[1:]]
    return {Path(r[0]).name: r[4] for r in rows if len(r) >= 5 and r[0].startswith("subs/")}


MANIFEST = _manifest()


# --- every real file: read with issues, or refused with path:line -------------------------


@pytest.mark.parametrize("path", SUB_FILES, ids=[p.name for p in SUB_FILES])
def test_realdata_file_is_read_or_refused(path: Path) -> None:
    try:
        captions, issues = read_captions(path)
    except CaptionError as exc:
        assert path.name in str(exc)
        assert re.search(r":\d+: ", str(exc)), str(exc)
        return
    for issue in issues:
        assert issue.line >= 1 and issue.message
    for caption in captions:
        assert caption.line >= 1
        assert "\x00" not in caption.text
        assert not re.search(r"</?(b|i|u|c|v|font)\b[^>]*>", caption.text), caption.text


def test_realdata_corpus_is_complete(realdata: Path) -> None:
    assert len(SUB_FILES) == 147


def test_refusals_are_the_unreadable_files(realdata: Path) -> None:
    refused = set()
    for path in SUB_FILES:
        try:
            read_captions(path)
        except CaptionError:
            refused.add(path.name)
    # Every refused file is empty or has no timing line at all; nothing with a cue is refused.
    for name in refused:
        data = (SUBS / name).read_bytes()
        assert b"-->" not in data and b"-\x00-\x00>" not in data
    assert "exo_subrip_empty.srt" in refused and "webvttpy_invalid_format1.srt" in refused


# --- upstream expectations from MANIFEST.tsv --------------------------------------------

WPT = {
    name: int(m[1])
    for name, what in MANIFEST.items()
    if name.startswith("w3cvtt_") and (m := re.search(r"WPT expects (\d+) (?:valid )?cues?", what))
}


@pytest.mark.parametrize("name", sorted(WPT))
def test_wpt_cue_counts(name: str) -> None:
    captions, _ = read_captions(SUBS / name)
    assert len(captions) == WPT[name]


def test_wpt_expectations_were_found(realdata: Path) -> None:
    assert len(WPT) >= 15


def test_wpt_nulls_become_replacement_characters(realdata: Path) -> None:
    captions, _issues = read_captions(SUBS / "w3cvtt_nulls.vtt")
    assert "\ufffdtext\ufffd2" in [c.text.split("\n")[-1] for c in captions]


JUVO = sorted(name for name in MANIFEST if name.startswith("juvo_"))


@pytest.mark.parametrize("name", JUVO)
def test_juvo_decodes_nine_cues(name: str) -> None:
    captions, _issues = read_captions(SUBS / name)
    assert len(captions) == 9
    assert all("\ufffd" not in c.text for c in captions)
    what = MANIFEST[name]
    if m := re.search(r"expected cue (\d+) decodes to '([^']+)'", what):
        assert captions[int(m[1]) - 1].text == m[2]
    elif m := re.search(r"expected text '([^']+)'", what):
        assert m[1] in [c.text for c in captions]


@pytest.mark.parametrize(
    "name,script",
    [
        ("juvo_media_player_subs_big5.srt", "CJK"),
        ("juvo_media_player_subs_gb2312.srt", "CJK"),
        ("juvo_media_player_subs_cp-949.srt", "HANGUL"),
        ("juvo_media_player_subs_windows-1253.srt", "GREEK"),
        ("juvo_media_player_subs_windows-1256.srt", "ARABIC"),
        ("cdownsrt_gb2312.srt", "CJK"),
    ],
)
def test_legacy_encodings_give_the_right_script(name: str, script: str) -> None:
    captions, _ = read_captions(SUBS / name)
    letters = [ch for c in captions for ch in c.text if ord(ch) > 127 and ch.isalpha()]
    assert letters
    share = sum(unicodedata.name(ch).startswith(script) for ch in letters) / len(letters)
    assert share > 0.9


def test_encoding_override(realdata: Path) -> None:
    captions, _ = read_captions(SUBS / "gosubs_sample.latin1.srt", encoding="latin-1")
    assert captions[0].text == "Jag vill ha tillbaka den här sen."
    with pytest.raises(CaptionError, match="unknown text encoding"):
        read_captions(SUBS / "gosubs_sample.latin1.srt", encoding="no-such-codec")


@pytest.mark.parametrize(
    "name",
    [
        "exo_subrip_typical_utf16le.srt",
        "exo_subrip_typical_utf16be.srt",
        "exo_subrip_typical_with_byte_order_mark.srt",
        "astisub_example-in-carriage-return.srt",
    ],
)
def test_boms_and_line_endings(name: str) -> None:
    captions, _ = read_captions(SUBS / name)
    assert len(captions) == 3
    assert not captions[0].text.startswith("\ufeff") and "\r" not in captions[0].text


def test_tags_and_entities_become_plain_text(realdata: Path) -> None:
    captions, issues = read_captions(SUBS / "exo_subrip_typical_with_tags.srt")
    assert captions[0].text == "This is the first subtitle."
    assert captions[3].text.startswith("This { \\an2} is not a valid tag")
    assert any("plain text" in i.message for i in issues)
    captions, _ = read_captions(SUBS / "exo_webvtt_with_tags.vtt")
    assert any("<" in c.text and ">" in c.text and "&" in c.text for c in captions)
    assert plain_text("<v Bob>Hi &amp; <i>bye</i></v> &lt;3") == "Hi & bye <3"


def test_srt_sloppy_timestamps(realdata: Path) -> None:
    captions, _ = read_captions(SUBS / "astisub_example-in.srt")
    assert [(c.start, c.end) for c in captions[:3]] == [
        (99_000, 101_040),
        (124_080, 127_120),
        (132_160, 135_200),
    ]


def test_issue_lines_point_at_the_problem() -> None:
    text = "1\n00:00:01,000 --> 00:00:02,000\nHello\n2\n00:00:0x,000 --> 00:00:04,000\nBad\n"
    captions, issues = parse_srt_text(text, first_line=10)
    assert [c.line for c in captions] == [11]
    assert (13, "missing blank line between captions") in [(i.line, i.message) for i in issues]
    assert any(i.line == 14 and "bad timestamp" in i.message for i in issues)


def test_vtt_without_signature_is_read_with_an_issue() -> None:
    captions, issues = parse_caption_text("00:01.000 --> 00:02.000\nhi\n", "vtt")
    assert [c.text for c in captions] == ["hi"]
    assert issues[0].line == 1 and "WEBVTT" in issues[0].message


def test_missing_file_is_a_caption_error(tmp_path: Path) -> None:
    with pytest.raises(CaptionError, match="cannot read"):
        read_captions(tmp_path / "nope.srt")


def test_decode_utf16_without_bom() -> None:
    assert decode_caption_bytes("1\nhé\n".encode("utf-16-le")) == "1\nhé\n"


# --- writing and round trips ------------------------------------------------------------


def test_write_captions_picks_format_and_is_atomic(tmp_path: Path) -> None:
    caps = [Caption(1, 0, 1500, "a < b & c"), Caption(2, 2000, 3000, "two\nlines")]
    write_captions(tmp_path / "x.vtt", caps)
    write_captions(tmp_path / "x.srt", caps)
    assert (
        (tmp_path / "x.vtt")
        .read_text()
        .startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.500\na &lt; b")
    )
    assert (tmp_path / "x.srt").read_text().startswith("1\n00:00:00,000 --> 00:00:01,500\n")
    assert [c.text for c in read_captions(tmp_path / "x.vtt")[0]] == ["a < b & c", "two\nlines"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.srt", "x.vtt"]
    with pytest.raises(CaptionError):
        write_captions(tmp_path / "x.txt", caps)


def _caption_lists(alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[list[Caption]]:
    line = (
        st.text(alphabet, min_size=1, max_size=30)
        .map(str.strip)
        .filter(lambda s: bool(s) and "-->" not in s)
    )
    text = st.lists(line, min_size=1, max_size=3).map("\n".join)
    cue = st.tuples(st.integers(0, 10 * 3_600_000), st.integers(0, 600_000), text)
    return st.lists(cue, min_size=1, max_size=8).map(
        lambda cues: [Caption(i, s, s + d, t) for i, (s, d, t) in enumerate(cues, start=1)]
    )


_WORDS = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\ufeff")
_SRT_SAFE = st.characters(
    blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\ufeff<>&{}\xa0"
)


def _same(read: list[Caption], written: list[Caption]) -> None:
    assert [(c.index, c.start, c.end, c.text) for c in read] == [
        (c.index, c.start, c.end, c.text) for c in written
    ]


@settings(max_examples=150, deadline=None)
@given(_caption_lists(_WORDS.filter(lambda ch: ch != "\xa0")))
def test_vtt_round_trip(captions: list[Caption]) -> None:
    read, issues = parse_caption_text(to_vtt(captions))
    _same(read, captions)
    assert not [i for i in issues if "plain text" not in i.message]


@settings(max_examples=150, deadline=None)
@given(_caption_lists(_SRT_SAFE))
def test_srt_round_trip(captions: list[Caption]) -> None:
    read, issues = parse_caption_text(to_srt(captions))
    _same(read, captions)
    assert issues == []
