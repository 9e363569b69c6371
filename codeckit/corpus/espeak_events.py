"""espeak-ng's phoneme events through libespeak-ng (ctypes), run as its own process for each utterance.

`python -m codeckit.corpus.espeak_events VOICE TEXT_FILE` prints JSON: the sample rate, each phoneme with the
sample where it starts, and the samples made. The library keeps state from one synthesis to the next (the
output drifts by a few samples), so a fresh process per utterance gives exactly what `espeak-ng -f` writes.
"""

from __future__ import annotations

import ctypes
import json
import sys


class _Event(ctypes.Structure):
    """espeak_EVENT of speak_lib.h (the id union as its 8-byte string member)."""

    _fields_ = [
        ("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
        ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8),
    ]  # fmt: skip


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))
_PHONEME, _SYNCHRONOUS, _PHONEME_EVENTS = 7, 2, 1
_FLAGS = 0x100 | 0x1000  # espeakPHONEMES | espeakENDPAUSE, as espeak-ng's command line synthesizes


def phoneme_events(voice: str, text: str) -> dict:
    """{'rate', 'phonemes': [[name, start sample], ...], 'samples'} of `text` spoken by `voice`; RuntimeError if
    the library is missing or refuses the voice."""
    try:
        lib = ctypes.CDLL("libespeak-ng.so.1")
    except OSError:
        raise RuntimeError("libespeak-ng.so.1 not found: install the Debian package 'libespeak-ng1'") from None
    rate = lib.espeak_Initialize(_SYNCHRONOUS, 0, None, _PHONEME_EVENTS)
    if rate <= 0:
        raise RuntimeError("libespeak-ng could not be initialised")
    phonemes: list[list] = []
    total = [0]

    def collect(_wav, n: int, events) -> int:
        total[0] += n
        i = 0
        while events[i].type != 0:
            if events[i].type == _PHONEME:
                phonemes.append([events[i].id.decode("ascii", "replace").rstrip("\0"), events[i].sample])
            i += 1
        return 0

    callback = _CALLBACK(collect)
    lib.espeak_SetSynthCallback(callback)
    if lib.espeak_SetVoiceByName(voice.encode()) != 0:
        raise RuntimeError(f"libespeak-ng has no voice '{voice}'")
    data = text.encode("utf-8")
    if lib.espeak_Synth(data, len(data) + 1, 0, 1, 0, _FLAGS, None, None) != 0:
        raise RuntimeError(f"libespeak-ng could not speak with voice '{voice}'")
    lib.espeak_Synchronize()
    return {"rate": rate, "phonemes": phonemes, "samples": total[0]}


def main(argv: list[str]) -> int:
    """Print the phoneme events of the text in file argv[1] spoken by voice argv[0] as JSON."""
    if len(argv) != 2:
        print("usage: python -m codeckit.corpus.espeak_events VOICE TEXT_FILE", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        text = f.read()
    try:
        print(json.dumps(phoneme_events(argv[0], text)))
    except RuntimeError as e:
        print(str(e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
