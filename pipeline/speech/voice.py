"""A speaking voice for demos and tests: espeak-ng from the espeakng-loader wheel, via ctypes.

Nothing is downloaded and nothing is installed on the system: the wheel carries
libespeak-ng and its voice data. ``speak(text)`` returns 16-bit mono samples at
:data:`RATE`. The library keeps global state, so it is initialised once per process and
guarded by a lock.
"""

from __future__ import annotations

import ctypes
import threading

import numpy as np

from pipeline.errors import PipelineError

RATE = 22_050  # Hz: what espeak-ng produces in synchronous mode
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_CHARS_UTF8 = 1
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.c_void_p)

_lock = threading.Lock()
_state: dict[str, object] = {}
_chunks: list[np.ndarray] = []


def _collect(wav: ctypes._Pointer, count: int, _events: object) -> int:  # type: ignore[type-arg]
    if count > 0 and wav:
        _chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
    return 0


def _library() -> ctypes.CDLL:
    if "lib" not in _state:
        import espeakng_loader

        lib = ctypes.CDLL(str(espeakng_loader.get_library_path()))
        data = str(espeakng_loader.get_data_path()).encode()
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, 0)
        if rate != RATE:
            raise PipelineError(f"espeak-ng did not start (returned {rate})")
        callback = _CALLBACK(_collect)
        lib.espeak_SetSynthCallback(callback)
        _state["callback"] = callback  # keep it alive as long as the library
        if lib.espeak_SetVoiceByName(b"en-us") != 0:  # phonemes need a voice too
            raise PipelineError("espeak-ng has no voice 'en-us'")
        _state["lib"] = lib
        _state["voice"] = ("en-us", 175)
    found = _state["lib"]
    assert isinstance(found, ctypes.CDLL)
    return found


def speak(text: str, *, voice: str = "en-us", rate: int = 165) -> np.ndarray:
    """``text`` spoken by espeak-ng: int16 mono samples at :data:`RATE` Hz.
    ``rate``: words per minute."""
    with _lock:
        lib = _library()
        if _state["voice"] != (voice, rate):
            if lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise PipelineError(f"espeak-ng has no voice {voice!r}")
            lib.espeak_SetParameter(1, rate, 0)  # espeakRATE, absolute
            _state["voice"] = (voice, rate)
        _chunks.clear()
        data = text.encode("utf-8")
        lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, _CHARS_UTF8, None, None)
        lib.espeak_Synchronize()
        out = np.concatenate(_chunks) if _chunks else np.zeros(0, dtype=np.int16)
        _chunks.clear()
    return out.astype(np.int16)
