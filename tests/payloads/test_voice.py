from __future__ import annotations

import array
import base64
import random

from streamtestbench.payloads import make_generator
from streamtestbench.payloads.voice import FRAME_BYTES, SAMPLE_RATE_HZ, VoiceGenerator, synthesise_speech


def test_a_chunk_is_20_ms_of_16_khz_16_bit_pcm() -> None:
    message = make_generator("VOICE_DATA", random.Random(1)).next(0, 0)
    audio = base64.b64decode(message["voice_sample"])
    assert len(audio) == FRAME_BYTES == 640
    assert message["audio"] == {"codec": "pcm_s16le", "sample_rate_hz": 16000, "channels": 1, "bits_per_sample": 16}
    assert message["duration_ms"] == 20


def test_consecutive_chunks_continue_the_clip_and_wrap_around_it() -> None:
    gen = VoiceGenerator(random.Random(1))
    first = base64.b64decode(gen.next(0, 0)["voice_sample"])
    second = base64.b64decode(gen.next(0, 1)["voice_sample"])
    assert first + second == gen.chunk(0, 2 * FRAME_BYTES)
    frames_per_clip = SAMPLE_RATE_HZ * 2 * 2 // FRAME_BYTES  # a two-second clip
    assert gen.chunk(frames_per_clip, FRAME_BYTES) == first


def test_synthesised_audio_has_loud_syllables_and_quiet_pauses() -> None:
    samples = array.array("h", synthesise_speech(random.Random(4), seconds=1))
    windows = [samples[i:i + 320] for i in range(0, len(samples), 320)]  # 20 ms windows
    levels = [max(abs(s) for s in window) for window in windows]
    assert max(levels) > 5000
    assert min(levels) < 1500


def test_a_larger_size_carries_a_longer_chunk() -> None:
    message = make_generator("VOICE_DATA", random.Random(1), size_bytes=8000).next(0, 0)
    audio = base64.b64decode(message["voice_sample"])
    assert len(audio) > 5000 and len(audio) % 2 == 0
    assert message["duration_ms"] == round(len(audio) / (SAMPLE_RATE_HZ * 2) * 1000, 3)
    assert "padding" not in message or len(message["padding"]) < 16
