"""VOICE_DATA: streamed speech, one chunk of 16 kHz mono 16-bit PCM per message (20 ms by default).

The audio is synthesised once per generator (a voiced tone with harmonics, a syllable-rate envelope
and breath noise) and sliced per message, so each chunk costs a slice and a base64 encoding.
"""

from __future__ import annotations

import array
import base64
import math
import random
import sys
from typing import Any

import orjson

from .base import PayloadGenerator

SAMPLE_RATE_HZ = 16_000
BYTES_PER_SAMPLE = 2
FRAME_MS = 20
FRAME_BYTES = SAMPLE_RATE_HZ * BYTES_PER_SAMPLE * FRAME_MS // 1000  # 640
CLIP_SECONDS = 2


def synthesise_speech(rng: random.Random, seconds: int = CLIP_SECONDS) -> bytes:
    """Little-endian PCM that looks like speech to a level meter: pitch, syllables, pauses, noise."""
    f0 = rng.uniform(95.0, 230.0)
    syllable_hz = rng.uniform(3.0, 5.5)
    samples = array.array("h")
    for i in range(SAMPLE_RATE_HZ * seconds):
        t = i / SAMPLE_RATE_HZ
        envelope = max(0.0, math.sin(2 * math.pi * syllable_hz * t)) ** 1.5
        voiced = (math.sin(2 * math.pi * f0 * t) + 0.5 * math.sin(4 * math.pi * f0 * t)
                  + 0.25 * math.sin(6 * math.pi * f0 * t))
        value = 7000.0 * envelope * voiced + rng.gauss(0.0, 180.0)
        samples.append(int(max(-32768.0, min(32767.0, value))))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


class VoiceGenerator(PayloadGenerator):
    kind = "voice_data"

    def __init__(self, rng: random.Random, size_bytes: int | None = None, *, timestamps: bool = True) -> None:
        super().__init__(rng, size_bytes, timestamps=timestamps)
        clip = synthesise_speech(rng)
        self._clip = clip + clip  # slices that wrap around stay one slice
        self._frame_bytes = FRAME_BYTES

    def chunk(self, seq: int, nbytes: int) -> bytes:
        """``nbytes`` of audio continuing where chunk ``seq - 1`` ended, looping over the clip."""
        clip_len = len(self._clip) // 2
        if nbytes > clip_len:
            return (self._clip * (nbytes // len(self._clip) + 1))[:nbytes]
        start = (seq * nbytes) % clip_len
        start -= start % BYTES_PER_SAMPLE
        return self._clip[start:start + nbytes]

    def body(self, vu: int, seq: int) -> dict[str, Any]:
        identity = self.identities.of(vu)
        rng = self.rng
        return {
            "event_type": "voice_chunk",
            "user_id": identity.user_id,
            "device_id": identity.device_id,
            "session_id": identity.session_id,
            "sequence": seq,
            "audio": {"codec": "pcm_s16le", "sample_rate_hz": SAMPLE_RATE_HZ, "channels": 1,
                      "bits_per_sample": BYTES_PER_SAMPLE * 8},
            "duration_ms": FRAME_MS,
            "language": identity.locale,
            "quality_score": round(rng.uniform(0.55, 0.99), 3),
            "confidence_score": round(rng.betavariate(8.0, 2.0), 3),
            "voice_sample": base64.b64encode(self.chunk(seq, self._frame_bytes)).decode("ascii"),
        }

    def fit(self, message: dict[str, Any], size_bytes: int) -> None:
        """Reach the size with more (or less) audio, so a large message is a long chunk, not padding."""
        message["voice_sample"] = ""
        room = size_bytes - len(orjson.dumps(message)) - 8  # slack for duration_ms's longer spelling
        raw = max(0, room // 8 * 6)  # whole 3-byte base64 groups of whole 2-byte samples
        seq = int(message.get("sequence", 0))
        message["duration_ms"] = round(raw / (SAMPLE_RATE_HZ * BYTES_PER_SAMPLE) * 1000, 3)
        message["voice_sample"] = base64.b64encode(self.chunk(seq, raw)).decode("ascii")
        super().fit(message, size_bytes)
