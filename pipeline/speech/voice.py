"""A speaking voice for demos and tests: espeak-ng from the espeakng-loader wheel, via ctypes.

Nothing is downloaded and nothing is installed on the system: the wheel carries
libespeak-ng and its voice data. ``speak(text)`` returns 16-bit mono samples at
:data:`RATE`. The library keeps global state, so each call loads it afresh (a few ms) under a lock.
"""

from __future__ import annotations

import _ctypes
import contextlib
import ctypes
import threading
from collections.abc import Iterator

import numpy as np

from pipeline.errors import PipelineError

RATE = 22_050  # Hz: what espeak-ng produces in synchronous mode
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_CHARS_UTF8 = 1
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.c_void_p)

_lock = threading.Lock()
_chunks: list[np.ndarray] = []


def _collect(wav: ctypes._Pointer, count: int, _events: object) -> int:  # type: ignore[type-arg]
    if count > 0 and wav:
        _chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
    return 0


_callback = _CALLBACK(_collect)  # alive as long as the module


@contextlib.contextmanager
def _library() -> Iterator[ctypes.CDLL]:
    """A freshly loaded libespeak-ng, unloaded afterwards: its static state (the previous
    utterance's pitch and timing) would otherwise change what the next text sounds like,
    so the same text gave different samples depending on what was said before."""
    import espeakng_loader

    lib = ctypes.CDLL(str(espeakng_loader.get_library_path()))
    try:
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0,
                                     str(espeakng_loader.get_data_path()).encode(), 0)
        if rate != RATE:
            raise PipelineError(f"espeak-ng did not start (returned {rate})")
        lib.espeak_SetSynthCallback(_callback)
        yield lib
    finally:
        lib.espeak_Terminate()
        _ctypes.dlclose(lib._handle)


def speak(text: str, *, voice: str = "en-us", rate: int = 165) -> np.ndarray:
    """``text`` spoken by espeak-ng: int16 mono samples at :data:`RATE` Hz.
    ``rate``: words per minute. The same text always gives the same samples."""
    with _lock, _library() as lib:
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise PipelineError(f"espeak-ng has no voice {voice!r}")
        lib.espeak_SetParameter(1, rate, 0)  # espeakRATE, absolute
        _chunks.clear()
        data = text.encode("utf-8")
        lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, _CHARS_UTF8, None, None)
        lib.espeak_Synchronize()
        out = np.concatenate(_chunks) if _chunks else np.zeros(0, dtype=np.int16)
        _chunks.clear()
    return out.astype(np.int16)


def ipa(word: str, *, voice: str = "en-us") -> str:
    """``word`` as espeak-ng's letter-to-sound rules pronounce it, in IPA."""
    with _lock, _library() as lib:
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise PipelineError(f"espeak-ng has no voice {voice!r}")
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int,
                                              ctypes.c_int]
        buf = ctypes.create_string_buffer(word.encode("utf-8"))
        pointer = ctypes.c_void_p(ctypes.addressof(buf))
        out = lib.espeak_TextToPhonemes(ctypes.byref(pointer), 1, 2)  # UTF-8 in, IPA out
    return (out or b"").decode("utf-8", "replace")
