"""Content-addressed step cache under ``.cache/``.

``key = sha256(step, pipeline version, settings, input digests)``; the step's JSON result is
stored atomically under that key. A step's key names only the inputs it reads, so a typo
fixed in the narration (script bytes) does not invalidate the audio analysis (recording
identity only).

A recording's identity is its size plus a hash of its first and last MiB: cheap for hours of
video and unchanged by a copy or ``touch``. The hash is remembered per (path, size, mtime_ns,
inode), so an unchanged recording costs one ``stat``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pipeline import __version__
from pipeline.atomic import is_partial, write_text

log = logging.getLogger(__name__)

MIB = 1 << 20
T = TypeVar("T")


def sha256_hex(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogateescape") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little"))  # no ambiguity between part boundaries
        digest.update(data)
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    """sha256 of a whole (small) file, e.g. a script."""
    return sha256_hex(path.read_bytes())


def head_tail_digest(path: Path) -> str:
    """sha256 over the size, the first MiB and the last MiB of a (large) file."""
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(MIB)
        tail = b""
        if size > 2 * MIB:
            f.seek(size - MIB)
            tail = f.read(MIB)
        elif size > MIB:
            tail = f.read()
    return sha256_hex(str(size), head, tail)


@functools.cache
def code_digest(module: str = "pipeline") -> str:
    """sha256 over a module's or package's source files (``.py`` and templates).

    The lesson key includes the whole package's, so an edited stage rebuilds every lesson;
    a step passes only its own (``code_digest("pipeline.audio")``) among its inputs, so an
    edit elsewhere finds its cached result.
    """
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return sha256_hex(module)
    origin = Path(spec.origin)
    files = [origin]
    if origin.name == "__init__.py":
        files = sorted(p for p in origin.parent.rglob("*")
                       if p.suffix in (".py", ".j2") and "__pycache__" not in p.parts)
    digest = hashlib.sha256()
    for path in files:
        digest.update(sha256_hex(path.relative_to(origin.parent).as_posix(),
                                 path.read_bytes()).encode())
    return digest.hexdigest()


def settings_digest(settings: Mapping[str, Any]) -> str:
    return sha256_hex(json.dumps(settings, sort_keys=True, default=str))


class StepCache:
    """JSON results by content key, plus the memo of recording identities."""

    def __init__(self, folder: Path, version: str = __version__):
        self.folder = folder
        self.version = version
        self._memo_path = folder / "identity.json"
        self._memo: dict[str, list[Any]] | None = None
        self._memo_dirty = False

    # --- keys --------------------------------------------------------------------------

    def key(self, step: str, inputs: Sequence[str], settings: Mapping[str, Any] | None = None) -> str:
        return sha256_hex(step, self.version, settings_digest(settings or {}), *inputs)

    def media_identity(self, path: Path) -> str:
        """Content identity of a recording; a stat when it was seen unchanged before."""
        st = path.stat()
        stamp = [st.st_size, st.st_mtime_ns, st.st_ino]
        memo = self._load_memo()
        slot = str(path.absolute())
        seen = memo.get(slot)
        if seen is not None and seen[:3] == stamp:
            return str(seen[3])
        digest = head_tail_digest(path)
        memo[slot] = [*stamp, digest]
        self._memo_dirty = True
        return digest

    def _load_memo(self) -> dict[str, list[Any]]:
        if self._memo is None:
            try:
                loaded = json.loads(self._memo_path.read_text(encoding="utf-8"))
                self._memo = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError):
                self._memo = {}
        return self._memo

    def save(self) -> None:
        """Persist the identity memo (lost updates from a racing process only cost a hash)."""
        if self._memo_dirty and self._memo is not None:
            write_text(self._memo_path, json.dumps(self._memo))
            self._memo_dirty = False

    # --- results -----------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        return self.folder / "steps" / key[:2] / f"{key}.json"

    def _load(self, key: str) -> tuple[bool, Any]:
        try:
            record = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False, None
        if not isinstance(record, dict) or "value" not in record:
            return False, None
        return True, record["value"]

    def get(self, key: str) -> Any | None:
        return self._load(key)[1]

    def put(self, key: str, step: str, value: Any) -> None:
        write_text(self._path(key), json.dumps({"step": step, "value": value}))

    def cached(
        self, step: str, inputs: Sequence[str], fn: Callable[[], T],
        settings: Mapping[str, Any] | None = None,
    ) -> T:
        """``fn()``'s JSON-serialisable result, computed once per content key."""
        key = self.key(step, inputs, settings)
        found, value = self._load(key)
        if found:
            log.debug("%s: cached (%s)", step, key[:12])
            return value  # type: ignore[no-any-return]
        value = fn()
        self.put(key, step, value)
        return value

    def sweep(self) -> int:
        """Remove ``.part`` files left by a killed run; returns how many."""
        removed = 0
        if self.folder.is_dir():
            for dirpath, _dirs, files in os.walk(self.folder):
                for name in files:
                    if is_partial(Path(name)):
                        with contextlib.suppress(OSError):
                            os.unlink(os.path.join(dirpath, name))
                            removed += 1
        return removed
