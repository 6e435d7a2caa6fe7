"""Render a lesson: draw the cards, run ffmpeg, write OUT.webm + OUT.srt + OUT.vtt atomically."""

from __future__ import annotations

import contextlib
import json
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline import ffmpeg
from pipeline.atomic import atomic_path
from pipeline.captions.io import to_srt, to_vtt
from pipeline.errors import PipelineError, RenderError
from pipeline.models import Caption
from pipeline.render import patch
from pipeline.render import smart as smart_render
from pipeline.render.ass import to_ass
from pipeline.render.cards import FONTS, Card, draw_card, fade_frames
from pipeline.render.ffmpeg_args import full_render_args, image2_pattern
from pipeline.render.plan import (
    PRESETS,
    CardInput,
    Frame,
    Overlay,
    PlacedOverlay,
    RenderResult,
    Segment,
    Source,
    captions_outside,
    clip_captions,
    plan_timing,
    resolve_sources,
)
from pipeline.render.theme import DEFAULT_THEME, Theme

log = logging.getLogger(__name__)


def render_video(
    segments: Sequence[Segment],
    overlays: Sequence[Overlay],
    captions: Sequence[Caption],
    out: Path,
    *,
    theme: Theme | None = None,
    preset: str = "fast",
    burn_in: bool = False,
    smart: bool = True,
    panels_dir: Path | None = None,
    progress: ffmpeg.Progress | None = None,
    previous: Path | None = None,
) -> RenderResult:
    """Render ``segments`` joined, with ``overlays`` and ``captions`` (output timeline), to
    ``out`` (VP9 + Opus webm) plus ``out.srt`` and ``out.vtt``. Nothing is left on failure.

    ``smart`` re-encodes only the keyframe intervals an overlay or the trim touches when
    that is possible (one source segment in VP9, soft captions); otherwise one full encode.
    ``previous``: this lesson's last output; when its manifest says it was rendered from the
    same recordings and settings, only the keyframe intervals whose cards changed are
    rendered again (pipeline.render.patch), the rest is copied from it.
    """
    out = Path(out)
    theme = theme or DEFAULT_THEME
    if not segments:
        raise RenderError("nothing to render: no recording given", out)
    if preset not in PRESETS:
        raise RenderError(f"unknown preset {preset!r} (use {' or '.join(PRESETS)})", out)
    infos = [ffmpeg.probe(segment.path, measure=True) for segment in segments]
    for info in infos:
        if info.video is None or not info.width or info.duration is None:
            raise RenderError("recording has no video stream with a known size and duration",
                              info.path)
    first = infos[0]
    frame = Frame(first.width, first.height, first.fps or 30.0)
    sources = resolve_sources(segments, [i.duration or 0 for i in infos],
                              [i.audio is not None for i in infos])
    duration = sum(s.duration for s in sources)
    if duration <= 0:
        raise RenderError("the segments to render are empty (check trim times)", out)
    kept = clip_captions(captions, duration)
    outside = captions_outside(captions, duration)

    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pipeline-render-")))
        cards, placed, skipped = _draw_cards(overlays, frame, duration, theme, panels_dir,
                                             work)
        vtt_text = to_vtt(kept)
        captions_vtt = work / "captions.vtt"
        captions_vtt.write_text(vtt_text, encoding="utf-8")
        webm = stack.enter_context(atomic_path(out))
        srt = stack.enter_context(atomic_path(out.with_suffix(".srt")))
        vtt = stack.enter_context(atomic_path(out.with_suffix(".vtt")))
        srt.write_text(to_srt(kept), encoding="utf-8")
        vtt.write_text(vtt_text, encoding="utf-8")
        use_smart = smart and not burn_in and smart_render.possible(sources, infos)
        record = None
        if smart and not burn_in:
            record = patch.Record(
                patch.render_key(sources, frame, preset, theme, panels_dir),
                tuple(patch.card_id(o.kind, o.text, c) for o, c in zip(placed, cards, strict=True)))
        patched = record is not None and _patched(previous, record, sources, frame, cards, webm,
                                                  work, preset, captions_vtt if kept else None,
                                                  progress)
        if use_smart and not patched and len(sources) > 1:  # a cut take: pieces of one recording
            smart_render.render_cut(sources, frame, cards, webm, work, preset=preset,
                                    captions_vtt=captions_vtt if kept else None,
                                    progress=progress, info=first)
        elif use_smart and not patched:
            smart_render.render(sources[0], frame, cards, webm, work, preset=preset,
                                captions_vtt=captions_vtt if kept else None,
                                progress=progress, info=first)
        elif not patched:
            burn = None
            if burn_in and kept:
                burn = work / "captions.ass"
                burn.write_text(to_ass(kept, frame.width, frame.height, theme), encoding="utf-8")
            args = full_render_args(
                sources, frame, cards, webm, preset=preset,
                captions_vtt=captions_vtt if kept and not burn_in else None,
                burn_in=burn, fonts_dir=FONTS, duration=duration,
                full_lengths=[i.duration for i in infos],
            )
            log.info("ffmpeg %s", " ".join(args))
            ffmpeg.run(args, duration=duration, progress=progress, what=out)
        written = ffmpeg.probe(webm)
    return RenderResult(out, written.duration or duration, placed, len(kept),
                        use_smart or patched, skipped, tuple(outside),
                        record.to_json() if record is not None else None, patched)


def _patched(previous: Path | None, record: patch.Record, sources: Sequence[Source],
             frame: Frame, cards: Sequence[CardInput], webm: Path, work: Path, preset: str,
             captions_vtt: Path | None, progress: ffmpeg.Progress | None) -> bool:
    """Patch ``previous`` into ``webm`` when its manifest allows it; False: render anew."""
    if previous is None or not previous.is_file():
        return False
    before = patch.Record.of_manifest(previous.with_suffix(".json"))
    if before is None or before.key != record.key:
        return False
    try:
        pieces = patch.render(previous, sources, frame, cards, before.changed(record), webm,
                              work, preset=preset, captions_vtt=captions_vtt,
                              progress=progress)
    except PipelineError as exc:  # the previous output is unusable: render it all again
        log.warning("cannot patch %s, rendering it anew: %s", previous, exc)
        return False
    log.info("patched %s: %d of %d pieces rendered again", previous.name,
             sum(p.encode for p in pieces), len(pieces))
    return True


def _draw_cards(overlays: Sequence[Overlay], frame: Frame, duration: int, theme: Theme,
                panels_dir: Path | None, work: Path
                ) -> tuple[list[CardInput], tuple[PlacedOverlay, ...], tuple[Overlay, ...]]:
    """The cards as ffmpeg inputs, where each is drawn, and the overlays not drawn."""
    cards: list[CardInput] = []
    placed: list[PlacedOverlay] = []
    skipped: list[Overlay] = []
    for overlay in sorted(overlays, key=lambda o: (o.start, o.end)):
        timing = plan_timing(overlay, duration, theme.fade, frame.fps)
        if timing is None:
            skipped.append(overlay)
            continue
        card = draw_card(overlay.kind, overlay.text, overlay.items, theme, frame.width,
                         frame.height, panels_dir)
        stem = f"card{len(cards):03d}"
        _write_frames(card, timing.steps, work, stem)
        cards.append(CardInput(Path(image2_pattern(work, stem)), timing, card.x, card.y))
        placed.append(PlacedOverlay(overlay.kind, overlay.text, timing.start, timing.end,
                                    card.x, card.y, card.w, card.h))
    return cards, tuple(placed), tuple(skipped)


def _write_frames(card: Card, steps: int, work: Path, stem: str) -> None:
    rising = fade_frames(card.image, steps)
    frames = [*rising, card.image, *reversed(rising)]
    for n, image in enumerate(frames):
        image.save(work / f"{stem}_{n:02d}.png", compress_level=1)


def write_manifest(out_json: Path, doc: dict[str, Any]) -> None:
    """Write the render manifest (INTERFACE.md's OUT.json) atomically."""
    with atomic_path(out_json) as tmp:
        tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

