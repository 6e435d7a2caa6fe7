"""Lesson discovery and media resolution: real files and symlinks in a temporary course."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.course.discover import LessonJob, discover, normalize


def script(root: Path, name: str, *refs: str, captions: bool = False) -> Path:
    lines = ["---", "title: A lesson", "---", "", "# Lesson", ""]
    lines += [f"`{ref}`" for ref in refs]
    lines += ["", "Some narration for the lesson.", ""]
    if captions:
        lines += ["CLAP", "", "1", "00:00:01,000 --> 00:00:02,000", "Some narration.", ""]
    path = root / "scripts" / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def media(root: Path, rel: str, data: bytes = b"\x1aE\xdf\xa3 webm") -> Path:
    path = root / "media" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def job(root: Path, name: str) -> LessonJob:
    (found,) = [j for j in discover(root) if j.name == name]
    return found


def test_exact_name_wins_over_forgiving_and_demo(tmp_path: Path) -> None:
    script(tmp_path, "a", "Intro Take 1.webm")
    exact = media(tmp_path, "Intro Take 1.webm")
    media(tmp_path, "intro take 1.webm")  # would be ambiguous with the exact one
    media(tmp_path, "demo/Intro Take 1.webm")
    assert job(tmp_path, "a") == LessonJob("a", tmp_path / "scripts" / "a.md", (exact,))


@pytest.mark.parametrize("on_disk", [
    "intro take 1.webm", "INTRO TAKE 1.WEBM", "Intro  Take 1.webm", "Intro_Take_1.webm",
    " Intro Take 1.webm",
])
def test_forgiving_match_on_case_and_spacing(tmp_path: Path, on_disk: str) -> None:
    script(tmp_path, "a", "Intro Take 1.webm")
    path = media(tmp_path, on_disk)
    found = job(tmp_path, "a")
    assert found.problem is None
    assert found.media == (path,)


def test_unicode_normalization_nfd_on_disk_nfc_in_script(tmp_path: Path) -> None:
    script(tmp_path, "a", "Café Übung.webm")  # NFC in the script
    path = media(tmp_path, "Cafe\u0301 U\u0308bung.webm")  # NFD on disk (macOS copies)
    assert job(tmp_path, "a").media == (path,)
    assert normalize("Ｃａｆé") == normalize("cafe\u0301")


def test_demo_fallback_after_media(tmp_path: Path) -> None:
    script(tmp_path, "a", "take.webm")
    demo = media(tmp_path, "demo/take.webm")
    assert job(tmp_path, "a").media == (demo,)
    real = media(tmp_path, "TAKE.webm")  # a real recording (forgiving match) beats the demo
    assert job(tmp_path, "a").media == (real,)


def test_several_recordings_in_script_order(tmp_path: Path) -> None:
    script(tmp_path, "a", "part 2.webm", "part 1.webm")
    two, one = media(tmp_path, "part 2.webm"), media(tmp_path, "demo/part 1.webm")
    assert job(tmp_path, "a").media == (two, one)


def test_ambiguous_is_skipped_with_both_names(tmp_path: Path) -> None:
    script(tmp_path, "a", "Take.webm")
    media(tmp_path, "take.webm")
    media(tmp_path, "TAKE.webm")
    found = job(tmp_path, "a")
    assert found.media == ()
    assert found.problem is not None and "ambiguous" in found.problem
    assert "'take.webm'" in found.problem and "'TAKE.webm'" in found.problem


def test_missing_recording_is_skipped_not_fatal(tmp_path: Path) -> None:
    script(tmp_path, "a", "nowhere.webm")
    script(tmp_path, "b", "here.webm")
    here = media(tmp_path, "here.webm")
    jobs = {j.name: j for j in discover(tmp_path)}
    assert jobs["a"].problem == "recording 'nowhere.webm': not found"
    assert jobs["b"].media == (here,) and jobs["b"].problem is None


def test_no_reference_looks_for_lesson_name(tmp_path: Path) -> None:
    script(tmp_path, "010-captions only", captions=True)
    script(tmp_path, "011-nothing")
    own = media(tmp_path, "demo/010-captions only.webm")
    jobs = {j.name: j for j in discover(tmp_path)}
    assert jobs["010-captions only"].media == (own,)
    assert jobs["011-nothing"].problem is not None
    assert "names no recording" in jobs["011-nothing"].problem


@pytest.mark.parametrize("ext", [".webm", ".mp4", ".mov", ".mkv", ".MP4"])
def test_no_reference_finds_the_lesson_in_any_container(tmp_path: Path, ext: str) -> None:
    script(tmp_path, "012-phone", captions=True)
    own = media(tmp_path, f"012-phone{ext}")
    media(tmp_path, "demo/012-phone.webm")  # a real recording beats a demo one
    assert job(tmp_path, "012-phone").media == (own,)


def test_no_reference_with_two_containers_is_ambiguous(tmp_path: Path) -> None:
    script(tmp_path, "013-two", captions=True)
    media(tmp_path, "013-two.webm")
    media(tmp_path, "013-two.mkv")
    problem = job(tmp_path, "013-two").problem
    assert problem is not None and "ambiguous" in problem
    assert "'013-two.webm'" in problem and "'013-two.mkv'" in problem


@pytest.mark.parametrize("ref", [
    "../secret.webm", "../../etc/passwd.webm", "sub/../../x.webm", "/etc/x.webm",
    "C:\\media\\x.webm", "~/x.webm",
])
def test_reference_leaving_media_is_refused(tmp_path: Path, ref: str) -> None:
    (tmp_path / "secret.webm").write_bytes(b"not yours")
    (tmp_path / "media" / "sub").mkdir(parents=True)
    script(tmp_path, "a", ref)
    found = job(tmp_path, "a")
    assert found.media == ()
    assert found.problem is not None and "refused" in found.problem


def test_symlink_out_of_media_is_refused_but_inside_is_fine(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.webm"
    outside.write_bytes(b"x")
    media(tmp_path, "real.webm")
    os.symlink(outside, tmp_path / "media" / "out.webm")
    os.symlink(tmp_path / "media" / "real.webm", tmp_path / "media" / "demo-link.webm")
    (tmp_path / "media" / "demo").mkdir()
    os.symlink(tmp_path, tmp_path / "media" / "demo" / "up")  # a folder link out of media/
    script(tmp_path, "a", "out.webm")
    script(tmp_path, "b", "demo-link.webm")
    script(tmp_path, "c", "up/elsewhere.webm")
    script(tmp_path, "d", "OUT.webm")  # the forgiving match must not dodge the check
    jobs = {j.name: j for j in discover(tmp_path)}
    for name in "acd":
        assert jobs[name].problem is not None and "outside media/" in jobs[name].problem, name
    assert jobs["b"].media == (tmp_path / "media" / "demo-link.webm",)


@pytest.mark.parametrize("name", [
    "it's \"quoted\" take.webm", "-i.webm", "--help.webm", "übung ünicode 日本.webm",
    "100% final {v2} #1.webm", "emoji 🎬.webm",
])
def test_hostile_but_legal_recording_names(tmp_path: Path, name: str) -> None:
    script(tmp_path, "a", name)
    path = media(tmp_path, name)
    assert job(tmp_path, "a").media == (path,)


@pytest.mark.parametrize("stem", ["it's a \"lesson\"", "-rf", "ünïcode 課", "a b  c"])
def test_hostile_but_legal_script_names(tmp_path: Path, stem: str) -> None:
    script(tmp_path, stem, "take.webm")
    take = media(tmp_path, "take.webm")
    assert job(tmp_path, stem).media == (take,)


def test_script_name_with_newline_is_skipped_and_hidden_scripts_ignored(tmp_path: Path) -> None:
    script(tmp_path, "bad\nname", "take.webm")
    script(tmp_path, ".#draft", "take.webm")
    media(tmp_path, "take.webm")
    jobs = discover(tmp_path)
    assert [j.name for j in jobs] == ["bad\nname"]
    assert jobs[0].problem is not None and "control characters" in jobs[0].problem


def test_broken_script_is_kept_for_the_build_to_report(tmp_path: Path) -> None:
    path = tmp_path / "scripts" / "broken.md"
    path.parent.mkdir(parents=True)
    path.write_text("---\ntitle: [unclosed\n---\nbody\n", encoding="utf-8")
    assert discover(tmp_path) == [LessonJob("broken", path, (), None)]


def test_only_and_a_directory_named_like_a_recording(tmp_path: Path) -> None:
    script(tmp_path, "a", "take.webm")
    script(tmp_path, "b", "take.webm")
    (tmp_path / "media" / "take.webm").mkdir(parents=True)  # a folder is not a recording
    jobs = discover(tmp_path, only=["a"])
    assert [j.name for j in jobs] == ["a"]
    assert jobs[0].problem == "recording 'take.webm': not found"
