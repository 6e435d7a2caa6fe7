"""Synthetic, clearly labelled demo recordings for the bundled scripts.

For each script that names a recording or carries captions, make a small VP9 + Opus webm
under media/demo/: a test pattern stamped "DEMO RECORDING", audio with a synthesized hand
clap at a known time, then a speech-like signal whose loudness follows the captions shifted
by a known offset. A JSON file beside each recording states the truth (clap, offset), so the
sync and alignment stages can be checked on a fresh clone. Deterministic: the same script
gives the same audio, timings and truth.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pipeline import ffmpeg
from pipeline.atomic import atomic_path, write_text
from pipeline.errors import PipelineError
from pipeline.models import Caption, Lesson
from pipeline.script.parse import parse_script
from pipeline.timecode import seconds
from pipeline.timeline import estimated_captions

RATE = 48_000
SIZE = (480, 270)
FPS = 24
SPEECH_AFTER_CLAP = 1500  # ms between the clap and the first word
GENERATOR_VERSION = 3
SENTENCE_PAUSE = 350  # ms between narrated sentences (espeak-ng)
# a narrated demo of 6 sentences or more stumbles as presenters do (issue 21: cuts): its
# third sentence is said twice (the first saying is a retake) and a long pause follows
# its fifth
RETAKE_SENTENCE, LONG_PAUSE_AFTER, LONG_PAUSE = 2, 4, 3500


@dataclass(frozen=True, slots=True)
class DemoRecording:
    path: Path
    lesson: str
    duration: int  # ms
    clap: int  # ms into the recording
    offset: int  # ms: caption time + offset = recording time
    captions: str  # "script" (the script's own captions) or "estimated" (from the narration)
    cached: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "path": str(self.path), "lesson": self.lesson, "duration": seconds(self.duration),
            "clap": seconds(self.clap), "offset": seconds(self.offset),
            "captions": self.captions, "cached": self.cached,
        }


def _seed(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\x00".join(parts).encode()).digest()[:8], "little")


def clap_sound(rng: np.random.Generator) -> np.ndarray:
    """A hand clap: a sub-millisecond broadband attack with a ~15 ms exponential decay."""
    n = int(0.12 * RATE)
    t = np.arange(n) / RATE
    envelope = np.exp(-t / 0.015) * np.minimum(1.0, t / 0.0004)
    noise = rng.standard_normal(n)
    noise -= np.convolve(noise, np.ones(8) / 8, mode="same")  # tilt towards the highs
    return 0.9 * envelope * noise / np.max(np.abs(noise))


def speech_like(rng: np.random.Generator, length: int) -> np.ndarray:
    """Voiced syllables at ~4/s: harmonics of a wandering pitch under a syllable envelope."""
    n = int(length / 1000 * RATE)
    t = np.arange(n) / RATE
    pitch = 120 + 25 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6))
    phase = 2 * np.pi * np.cumsum(pitch) / RATE
    voice = sum(np.sin(k * phase) / k for k in range(1, 8))
    syllables = np.clip(np.sin(2 * np.pi * 4.2 * t + rng.uniform(0, 6)), 0, None) ** 0.6
    ramp = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.03) if n else t
    return 0.22 * voice / 3.0 * syllables * ramp


def synthesize_audio(
    captions: Sequence[Caption], clap: int, offset: int, duration: int, seed: int
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    audio = 0.002 * rng.standard_normal(int(duration / 1000 * RATE))  # room tone, about -54 dBFS
    start = int(clap / 1000 * RATE)
    sound = clap_sound(rng)
    audio[start:start + len(sound)] += sound[: len(audio) - start]
    for caption in captions:
        at = int((caption.start + offset) / 1000 * RATE)
        voice = speech_like(rng, caption.end - caption.start)
        audio[at:at + len(voice)] += voice[: max(0, len(audio) - at)]
    return np.clip(audio, -1.0, 1.0).astype(np.float32)


def narrate(captions: Sequence[Caption], start: int, *, retake: int | None = None,
            pause_after: int | None = None) -> tuple[np.ndarray, list[dict[str, object]]]:
    """The captions' text spoken by espeak-ng one sentence after another from ``start`` ms,
    at RATE; returns the audio and each sentence's truth (recording seconds). ``retake``:
    that caption is said twice (its first saying's truth has ``"retake": true``);
    ``pause_after``: a LONG_PAUSE follows that caption."""
    from scipy.signal import resample_poly

    from pipeline.speech.voice import RATE as VOICE_RATE
    from pipeline.speech.voice import speak

    pieces: list[np.ndarray] = []
    truth: list[dict[str, object]] = []
    at = start
    for k, caption in enumerate(captions):
        voice = speak(caption.text.replace("\n", " ")).astype(np.float32) / 32768
        loud = np.flatnonzero(np.abs(voice) > 0.01)
        if not len(loud):
            continue
        voice = resample_poly(voice[loud[0]:loud[-1] + 1], RATE // 150, VOICE_RATE // 150)
        length = len(voice) * 1000 // RATE
        for again in ([True, False] if k == retake else [False]):
            truth.append({"line": caption.line, "text": caption.text, "start": seconds(at),
                          "end": seconds(at + length)} | ({"retake": True} if again else {}))
            pause = SENTENCE_PAUSE + (LONG_PAUSE if k == pause_after and not again else 0)
            pieces.append(voice[: length * RATE // 1000])
            pieces.append(np.zeros(pause * RATE // 1000, dtype=np.float32))
            at += length + pause
    return (np.concatenate(pieces) if pieces else np.zeros(0, np.float32)), truth


def _write_wav(path: Path, audio: np.ndarray) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((audio * 32767).astype("<i2").tobytes())


def _label(path: Path, lesson: Lesson, name: str) -> None:
    image = Image.new("RGBA", SIZE, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    big, small = ImageFont.load_default(size=30), ImageFont.load_default(size=14)
    draw.rectangle((0, SIZE[1] - 78, SIZE[0], SIZE[1]), fill=(0, 0, 0, 190))
    draw.text((12, SIZE[1] - 74), "DEMO RECORDING", font=big, fill=(255, 220, 0, 255))
    draw.text((12, SIZE[1] - 38), lesson.title[:60], font=small, fill=(255, 255, 255, 255))
    draw.text((12, SIZE[1] - 20), f"synthetic stand-in for: {name}"[:70], font=small,
              fill=(200, 200, 200, 255))
    image.save(path)


def encode(audio: np.ndarray, label_png: Path, out: Path, duration: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "audio.wav"
        _write_wav(wav, audio)
        with atomic_path(out) as part:
            ffmpeg.run([
                "-f", "lavfi", "-i", f"testsrc=size={SIZE[0]}x{SIZE[1]}:rate={FPS}",
                "-i", ffmpeg.media_arg(label_png), "-i", ffmpeg.media_arg(wav),
                "-filter_complex", "[0:v][1:v]overlay=0:0,format=yuv420p[v]",
                "-map", "[v]", "-map", "2:a", "-t", f"{duration / 1000:.3f}",
                "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1",
                "-b:v", "250k", "-g", str(FPS * 5), "-c:a", "libopus", "-b:a", "64k",
                "-f", "webm", ffmpeg.media_arg(part),
            ], what=out)


def plan(lesson: Lesson) -> list[tuple[str, list[Caption], str]]:
    """(recording name, captions it holds, caption source) for each demo recording."""
    captions = list(lesson.captions) or estimated_captions(lesson)
    source = "script" if lesson.captions else "estimated"
    names = [m.name for m in lesson.media] or [f"{lesson.name}.webm"]
    if not captions:
        return []
    size = -(-len(captions) // len(names))  # contiguous groups, one per recording
    return [(name, captions[i * size:(i + 1) * size], source) for i, name in enumerate(names)]


def make_demos(
    scripts: Path, media: Path, *, force: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> list[DemoRecording]:
    demo_dir = media / "demo"
    made: list[DemoRecording] = []
    for script in sorted(scripts.glob("*.md")):
        lesson = parse_script(script)
        if not (lesson.media or lesson.captions):
            continue
        for name, captions, source in plan(lesson):
            if not captions:
                continue
            if Path(name).name != name or name.startswith("."):
                raise PipelineError(f"recording name {name!r} is not a plain file name",
                                    script, next(m.line for m in lesson.media if m.name == name))
            made.append(_make_one(lesson, name, captions, source, demo_dir, force, on_step))
    return made


def _make_one(
    lesson: Lesson, name: str, captions: list[Caption], source: str, demo_dir: Path,
    force: bool, on_step: Callable[[str], None] | None,
) -> DemoRecording:
    seed = _seed(lesson.name, name)
    clap = 800 + seed % 900  # 0.8 .. 1.7 s
    offset = clap + SPEECH_AFTER_CLAP - captions[0].start
    duration = captions[-1].end + offset + 1500
    narration: tuple[np.ndarray, list[dict[str, object]]] | None = None
    if source == "estimated":  # no captions to follow: the narration spoken by espeak-ng
        stumbles = len(captions) >= 6
        narration = narrate(captions, clap + SPEECH_AFTER_CLAP,
                            retake=RETAKE_SENTENCE if stumbles else None,
                            pause_after=LONG_PAUSE_AFTER if stumbles else None)
        duration = clap + SPEECH_AFTER_CLAP + len(narration[0]) * 1000 // RATE + 1500
    out = demo_dir / name
    truth_path = demo_dir / f"{name}.truth.json"
    fingerprint = hashlib.sha256(json.dumps(
        [GENERATOR_VERSION, [(c.start, c.end, c.text) for c in captions], clap, offset]
    ).encode()).hexdigest()[:16]
    result = DemoRecording(out, lesson.name, duration, clap, offset, source)
    if not force and out.is_file() and truth_path.is_file():
        try:
            if json.loads(truth_path.read_text())["fingerprint"] == fingerprint:
                return DemoRecording(out, lesson.name, duration, clap, offset, source, cached=True)
        except (ValueError, KeyError):
            pass
    if on_step:
        on_step(f"making {out} ({duration / 1000:.0f} s)")
    audio = synthesize_audio([] if narration else captions, clap, offset, duration, seed)
    if narration is not None:
        at = (clap + SPEECH_AFTER_CLAP) * RATE // 1000
        voice = narration[0][: len(audio) - at]
        audio[at:at + len(voice)] = np.clip(audio[at:at + len(voice)] + 0.7 * voice, -1, 1)
    with tempfile.TemporaryDirectory() as tmp:
        label = Path(tmp) / "label.png"
        _label(label, lesson, name)
        encode(audio, label, out, duration)
    truth = result.to_json() | {
        "synthetic": True, "script": str(lesson.path), "fingerprint": fingerprint,
        "first_caption": captions[0].index, "last_caption": captions[-1].index,
        "note": "clap and offset are exact by construction (seconds); "
                "caption time + offset = recording time",
    } | ({"narrated": "espeak-ng",
          "sentences": [s for s in narration[1] if not s.get("retake")],
          "retakes": [s for s in narration[1] if s.get("retake")],
          "pauses": [{"after": s["end"], "length": seconds(LONG_PAUSE)}
                     for k, s in enumerate(t for t in narration[1] if not t.get("retake"))
                     if len(narration[1]) > 6 and k == LONG_PAUSE_AFTER],
          "note": "clap exact; sentences: where each narrated sentence (the kept saying) "
                  "starts and ends in the recording (seconds); retakes: earlier sayings "
                  "a build cuts; pauses: long pauses it shortens"} if narration else {})
    write_text(truth_path, json.dumps(truth, indent=2) + "\n")
    return result
