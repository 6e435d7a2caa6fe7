"""The content-addressed step cache and recording identities."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pipeline.course import cache as cache_mod
from pipeline.course.cache import MIB, StepCache, file_digest, head_tail_digest


def test_key_changes_with_every_component(tmp_path: Path) -> None:
    c = StepCache(tmp_path, version="1")
    base = c.key("audio", ["abc"], {"rate": 16000})
    assert base == StepCache(tmp_path / "other", version="1").key("audio", ["abc"], {"rate": 16000})
    assert base != c.key("clap", ["abc"], {"rate": 16000})
    assert base != c.key("audio", ["abd"], {"rate": 16000})
    assert base != c.key("audio", ["abc"], {"rate": 8000})
    assert base != StepCache(tmp_path, version="2").key("audio", ["abc"], {"rate": 16000})
    assert c.key("s", ["ab", "c"]) != c.key("s", ["a", "bc"])  # part boundaries count
    assert c.key("s", [], {"a": 1, "b": 2}) == c.key("s", [], {"b": 2, "a": 1})


def test_cached_runs_once_per_content_and_survives_a_new_process_view(tmp_path: Path) -> None:
    calls: list[str] = []

    def analyse() -> dict[str, float]:
        calls.append("x")
        return {"clap": 1.25}

    c = StepCache(tmp_path)
    assert c.cached("clap", ["rec1"], analyse) == {"clap": 1.25}
    assert StepCache(tmp_path).cached("clap", ["rec1"], analyse) == {"clap": 1.25}
    assert len(calls) == 1
    StepCache(tmp_path).cached("clap", ["rec2"], analyse)
    assert len(calls) == 2
    stored = list((tmp_path / "steps").rglob("*.json"))
    assert len(stored) == 2 and all(json.loads(p.read_text())["step"] == "clap" for p in stored)


def test_corrupt_entry_is_recomputed(tmp_path: Path) -> None:
    c = StepCache(tmp_path)
    c.cached("s", ["i"], lambda: [1, 2])
    (entry,) = (tmp_path / "steps").rglob("*.json")
    entry.write_text("{truncated")
    assert c.cached("s", ["i"], lambda: [3]) == [3]


def test_narration_typo_does_not_invalidate_audio_step(tmp_path: Path) -> None:
    """The audio step's inputs are the recording's identity only, not the script."""
    rec = tmp_path / "take.webm"
    rec.write_bytes(os.urandom(1000))
    script = tmp_path / "lesson.md"
    script.write_text("Helo world")
    c = StepCache(tmp_path / "cache")
    runs: list[int] = []

    def audio() -> dict[str, float]:
        runs.append(1)
        return {"offset": 0.5}

    c.cached("audio", [c.media_identity(rec)], audio)
    lesson_before = c.key("lesson", [file_digest(script), c.media_identity(rec)])
    script.write_text("Hello world")
    c.cached("audio", [c.media_identity(rec)], audio)
    assert runs == [1]
    assert c.key("lesson", [file_digest(script), c.media_identity(rec)]) != lesson_before


def _big(path: Path, size: int) -> bytearray:
    data = bytearray(os.urandom(size))
    path.write_bytes(data)
    return data


def test_identity_sees_size_head_and_tail_not_mtime(tmp_path: Path) -> None:
    rec = tmp_path / "take.webm"
    data = _big(rec, 3 * MIB + 17)
    first = head_tail_digest(rec)
    os.utime(rec, ns=(1, 1))
    assert head_tail_digest(rec) == first  # touch/copy: same content, same identity
    for where in (10, len(data) - 10):
        changed = bytearray(data)
        changed[where] ^= 0xFF
        rec.write_bytes(changed)
        assert head_tail_digest(rec) != first
    rec.write_bytes(data + b"\0")
    assert head_tail_digest(rec) != first


def test_identity_is_a_stat_when_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = tmp_path / "take.webm"
    _big(rec, MIB + 5)
    c = StepCache(tmp_path / "cache")
    ident = c.media_identity(rec)
    c.save()

    def no_reading(path: Path) -> str:
        raise AssertionError("hashed an unchanged recording")

    monkeypatch.setattr(cache_mod, "head_tail_digest", no_reading)
    assert StepCache(tmp_path / "cache").media_identity(rec) == ident
    rec.write_bytes(rec.read_bytes()[:-1] + b"!")  # changed: must hash again
    with pytest.raises(AssertionError, match="hashed"):
        StepCache(tmp_path / "cache").media_identity(rec)


def test_sweep_removes_partial_files_only(tmp_path: Path) -> None:
    c = StepCache(tmp_path)
    c.put(c.key("s", []), "s", 1)
    (tmp_path / "steps" / ".abc.part.json").write_text("half")
    assert c.sweep() == 1
    assert c.get(c.key("s", [])) == 1


def test_code_digest_follows_the_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "fakestage"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "rules.py").write_text("LIMIT = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    first = cache_mod.code_digest("fakestage")
    assert cache_mod.code_digest("fakestage.sub.rules") != first
    (pkg / "sub" / "rules.py").write_text("LIMIT = 43\n")
    cache_mod.code_digest.cache_clear()
    assert cache_mod.code_digest("fakestage") != first
    assert len(cache_mod.code_digest()) == 64  # the pipeline package itself


def test_a_null_result_is_cached_too(tmp_path: Path) -> None:
    calls: list[int] = []
    c = StepCache(tmp_path)
    for _ in range(2):
        assert c.cached("clap", ["silent take"], lambda: calls.append(1)) is None
    assert calls == [1]
