"""One error base class carrying the path and line it is about.

Every failure the user can cause ends in a PipelineError, which the CLI prints as
``path:line: message`` and turns into exit code 2. Anything else is a bug.
"""

from __future__ import annotations

from pathlib import Path


class PipelineError(Exception):
    """A problem with the user's input or environment, pointing at where it is."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line

    def __str__(self) -> str:
        where = self.path or ""
        if where and self.line:
            where = f"{where}:{self.line}"
        return f"{where}: {self.message}" if where else self.message


class ScriptError(PipelineError):
    """A lesson script cannot be read or parsed."""


class CaptionError(PipelineError):
    """A caption file cannot be read at all."""


class MediaError(PipelineError):
    """A recording cannot be decoded, or ffmpeg failed on it."""


class RenderError(PipelineError):
    """Rendering a lesson failed."""


class BuildError(PipelineError):
    """The course build was asked something impossible (bad layout, bad options)."""
