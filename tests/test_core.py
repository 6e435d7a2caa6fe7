"""Timecode arithmetic, atomic writes and ffmpeg probing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import ffmpeg
from pipeline.atomic import atomic_path, is_partial
from pipeline.errors import MediaError, PipelineError
from pipeline.timecode import format_srt, format_vtt, parse_timestamp, seconds, to_ms


@given(st.integers(min_value=0, max_value=100 * 3_600_000 - 1))
def test_timestamps_round_trip_exactly(ms: int) -> None:
    assert parse_timestamp(format_srt(ms)) == ms
    assert parse_timestamp(format_vtt(ms)) == ms
    assert to_ms(seconds(ms)) == ms


@pytest.mark.parametrize("text, ms", [
    ("00:00:04,829", 4829), ("1:02.5", 62500), ("00:01:39", 99000), ("00:02:04,08", 124080),
    ("0:55:40,920", 3340920), ("00:00:5,000", 5000),
])
def test_sloppy_timestamps(text: str, ms: int) -> None:
    assert parse_timestamp(text) == ms


@pytest.mark.parametrize("text", ["", "00:61:00,000", "not-a-timestamp", "-0:00:04,567", "1:2:3:4"])
def test_not_timestamps(text: str) -> None:
    assert parse_timestamp(text) is None


def test_error_names_path_and_line() -> None:
    assert str(PipelineError("bad thing", "a/b.md", 7)) == "a/b.md:7: bad thing"
    assert str(PipelineError("bad thing", "a/b.md")) == "a/b.md: bad thing"


def test_atomic_path_leaves_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        assert tmp.suffix == ".txt" and is_partial(tmp)
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert oct(target.stat().st_mode & 0o777) != oct(0o600)


def test_probe_refuses_what_is_not_media(tmp_path: Path) -> None:
    empty = tmp_path / "empty.webm"
    empty.write_bytes(b"")
    text = tmp_path / "-i.webm"
    text.write_text("not a video at all")
    with pytest.raises(MediaError, match="empty"):
        ffmpeg.probe(empty)
    with pytest.raises(MediaError, match="not a readable media file") as caught:
        ffmpeg.probe(text)
    assert caught.value.path == str(text)
    with pytest.raises(MediaError, match="not found"):
        ffmpeg.probe(tmp_path / "missing.webm")


def test_ffmpeg_failure_reports_ffmpeg_words(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="ffmpeg failed") as caught:
        ffmpeg.run(["-f", "lavfi", "-i", "sine=d=0.1", "-c:a", "no_such_codec",
                    str(tmp_path / "x.webm")], what="x.webm")
    assert "no_such_codec" in str(caught.value)
