"""Audio-reactive schedules (deforum_core/audio): a click track at 120 bpm peaks on its beat
frames, loudness maps onto low..high, attack and decay shape each pulse, the frame count
follows the sound, files of any common codec decode alike, bad files are refused by name, and
the text is an ordinary schedule that evaluates back to the values (also from the CLI)."""

from __future__ import annotations

import math
import wave
from pathlib import Path

import numpy as np
import pytest
import torch
from clips import write_clip
from sounds import click_track, write_clicks, write_sound

from deforum_app.cli import main
from deforum_core.audio import (
    AudioError,
    AudioScheduleSettings,
    Sound,
    audio_schedule,
    sound_from_audio,
)
from deforum_core.audio import decode as decode_module
from deforum_core.audio.features import FrameGrid, amplitude
from deforum_core.audio.mapping import to_range
from deforum_core.audio.smoothing import follow
from deforum_core.errors import DeforumError
from deforum_core.keyframes import parse_schedule

RATE = 44100
FPS = 24.0  # at 120 bpm a beat every 12 frames: 0, 12, 24, ...


def settings(**given) -> AudioScheduleSettings:
    return AudioScheduleSettings(**{"fps": FPS, **given})


def values_of(source, **given) -> np.ndarray:
    return np.array(audio_schedule(source, settings(**given)).values)


def loud_then_quiet(seconds: float = 2.0, rate: int = RATE) -> np.ndarray:
    """A 440 Hz tone, 10 times quieter in its second half, as 16-bit sample values."""
    time = np.arange(int(rate * seconds)) / rate
    level = np.where(time < seconds / 2, 20000, 2000)
    return (np.sin(2 * np.pi * 440 * time) * level).astype(np.int16)


@pytest.fixture(scope="module")
def clicks(tmp_path_factory) -> Path:
    return write_clicks(tmp_path_factory.mktemp("sounds") / "clicks.wav", bpm=120, seconds=4.0)


@pytest.mark.parametrize("feature", ["onsets", "beats", "amplitude"])
def test_a_120_bpm_click_track_peaks_on_the_beat_frames(clicks, feature):
    values = values_of(clicks, feature=feature, decay=0.0, low=0.5, high=2.0)
    assert len(values) == 96  # 4 s at 24 fps
    beats = list(range(0, 96, 12))
    for frame in beats:  # every beat frame is a local maximum
        assert frame == 0 or values[frame] > values[frame - 1]
        assert values[frame] > values[frame + 1]
    assert sorted(np.argsort(-values)[: len(beats)].tolist()) == beats
    assert values.max() == pytest.approx(2.0)
    off_beat = np.delete(values, beats)
    assert off_beat.max() < 0.5 + 0.02 * 1.5  # near low


def test_a_decay_makes_each_beat_a_pulse_that_still_peaks_on_the_beat(clicks):
    values = values_of(clicks, feature="beats", decay=0.1)  # 1/e after 2.4 frames
    for frame in range(0, 96, 12):
        pulse = values[frame : frame + 12]
        assert pulse[0] == pytest.approx(1.0)
        assert np.all(np.diff(pulse) < 0)  # falls until the next beat
        assert pulse[-1] < 0.02  # e ** (-11 / 2.4)
    assert values[12 + 2] == pytest.approx(math.exp(-2 / 2.4), abs=1e-4)


def test_frame_0_is_where_start_seconds_is(clicks):
    shifted = values_of(clicks, feature="beats", decay=0.0, start_seconds=0.25)
    assert np.flatnonzero(shifted).tolist() == [6, 18, 30, 42, 54, 66, 78]


def test_a_sound_already_playing_at_start_seconds_is_no_onset_on_frame_0():
    time = np.arange(2 * RATE) / RATE
    tone = np.sin(2 * np.pi * 440 * time) * 0.3
    tone[int(1.5 * RATE) : int(1.5 * RATE) + 441] += click_track(seconds=0.01) / 32768
    onsets = values_of(Sound(tone.astype(np.float32), RATE), feature="onsets", decay=0.0,
                       start_seconds=0.5)  # fmt: skip
    assert onsets[24] == 1.0 and onsets[0] < 0.2  # the click at 1.5 s; the tone goes on


def test_a_loud_and_a_quiet_half_map_to_high_and_near_low(tmp_path):
    tone = write_sound(tmp_path / "tone.wav", loud_then_quiet(), RATE)
    values = values_of(tone, feature="amplitude", fps=10.0, decay=0.0, low=-1.0, high=3.0)
    assert len(values) == 20
    np.testing.assert_allclose(values[:10], 3.0, atol=0.02)
    np.testing.assert_allclose(values[10:], -1.0 + 0.1 * 4.0, atol=0.02)  # a tenth as loud
    shaped = values_of(tone, feature="amplitude", fps=10.0, decay=0.0, curve=2.0)
    np.testing.assert_allclose(shaped[10:], 0.01, atol=0.002)  # (1/10) ** 2


def test_low_and_high_are_exact_also_reversed_and_narrow(clicks):
    for low, high in [(0.0, 1.0), (1.0, 1.0025), (3.5, -2.0)]:
        made = audio_schedule(clicks, settings(feature="beats", decay=0.0, low=low, high=high))
        assert set(made.values) == {low, high}
    narrow = audio_schedule(clicks, settings(feature="amplitude", low=1.0, high=1.01)).values
    assert max(narrow) == 1.01
    assert any(round(value, 4) != value for value in narrow)  # finer than 4 decimals: 1e-6


def test_attack_and_decay_shape_a_single_click():
    fps, spike = 20.0, np.zeros(60)
    spike[20] = 1.0
    falling = follow(spike, fps, attack=0.0, decay=0.5)  # 1/e after 10 frames
    assert falling[:20].max() == 0 and falling[20] == 1.0
    assert falling[30] == pytest.approx(math.exp(-1), abs=1e-12)
    assert np.all(np.diff(falling[20:]) < 0)
    step = np.r_[np.zeros(10), np.ones(30)]
    rising = follow(step, fps, attack=0.25, decay=0.0)  # 5 frames, the step's own the first
    assert rising[10] == pytest.approx(1 - math.exp(-1 / 5))
    assert rising[14] == pytest.approx(1 - math.exp(-1))
    assert np.all(np.diff(rising[10:]) > 0) and rising[-1] > 0.99
    pulse = follow(spike, fps, attack=0.1, decay=0.5)  # rises over 2 frames, then dies away
    top = int(np.argmax(pulse))
    assert 20 < top <= 24 and pulse[20] < pulse[21] < pulse[top]
    assert np.all(np.diff(pulse[top:]) < 0) and pulse[top + 20] < 0.2 * pulse[top]


def test_decay_of_a_click_from_the_file(tmp_path):
    samples = np.zeros(3 * RATE, np.int16)
    samples[RATE : RATE + 400] = click_track(seconds=0.01)[:400]  # one click at 1.0 s
    values = values_of(write_sound(tmp_path / "click.wav", samples), feature="beats", fps=20.0,
                       decay=0.5)  # fmt: skip
    assert values[20] == 1.0 and values[:20].max() == 0
    assert values[30] == pytest.approx(math.exp(-1), abs=1e-4)  # 4 decimals


def test_the_frame_count_follows_the_sound(clicks):
    assert audio_schedule(clicks, settings()).frames == 96
    assert audio_schedule(clicks, settings(fps=15.0, start_seconds=1.0)).frames == 45
    partial = Sound(np.ones(int(RATE * 2.01), np.float32), RATE)
    assert audio_schedule(partial, settings()).frames == 49  # a last partial frame counts
    longer = values_of(clicks, feature="beats", decay=0.0, max_frames=150)
    assert len(longer) == 150 and longer[96:].max() == 0.0  # silence after the end
    with pytest.raises(AudioError, match=r"^start_seconds: the sound ends before start_seconds 9"):
        audio_schedule(clicks, settings(start_seconds=9.0))


@pytest.mark.parametrize(
    ("suffix", "codec", "lossless"),
    [("flac", "flac", True), ("mp3", "libmp3lame", False), ("ogg", "libopus", False)],
)
def test_compressed_files_decode_like_the_wav(tmp_path, suffix, codec, lossless):
    rate = 48000 if codec == "libopus" else RATE  # Opus runs at 48 kHz
    wav = write_sound(tmp_path / "tone.wav", loud_then_quiet(rate=rate), rate)
    other = write_sound(tmp_path / f"tone.{suffix}", loud_then_quiet(rate=rate), rate, codec)
    given = {"feature": "amplitude", "fps": 10.0, "decay": 0.0}
    expected = audio_schedule(wav, settings(**given))
    decoded = audio_schedule(other, settings(**given))
    assert decoded.frames == expected.frames == 20
    if lossless:
        assert decoded.text == expected.text
    else:
        np.testing.assert_allclose(decoded.values[1:9], expected.values[1:9], atol=0.03)
        np.testing.assert_allclose(decoded.values[11:19], expected.values[11:19], atol=0.03)


def test_a_file_without_sound_is_refused_by_its_name_only(tmp_path):
    video = write_clip(tmp_path / "silent.mp4", codec="mpeg4")
    with pytest.raises(AudioError, match=r"^audio_file: silent.mp4 has no audio stream") as error:
        audio_schedule(video, settings())
    assert str(tmp_path) not in str(error.value)
    (tmp_path / "notes.wav").write_text("not a sound", encoding="utf-8")
    with pytest.raises(AudioError, match=r"notes.wav is not a sound file FFmpeg can read"):
        audio_schedule(tmp_path / "notes.wav", settings())
    with pytest.raises(AudioError, match=r"sound file gone.wav is not there"):
        audio_schedule(tmp_path / "gone.wav", settings())
    empty = tmp_path / "empty.wav"
    with wave.open(str(empty), "wb") as header_only:
        header_only.setparams((1, 2, RATE, 0, "NONE", "not compressed"))
    with pytest.raises(AudioError, match=r"empty.wav holds no sound"):
        audio_schedule(empty, settings())


def test_memory_is_bounded_by_the_part_decoded(clicks, monkeypatch):
    monkeypatch.setattr(decode_module, "MAX_SAMPLES", RATE)  # one second
    with pytest.raises(AudioError, match=r"^audio_file: clicks.wav is longer than the") as error:
        audio_schedule(clicks, settings())
    assert "set max_frames (and start_seconds)" in error.value.hint
    assert audio_schedule(clicks, settings(start_seconds=2.0, max_frames=20)).frames == 20


def test_the_text_is_an_ordinary_schedule_that_evaluates_back(clicks):
    made = audio_schedule(clicks, settings(feature="amplitude", decay=0.3, low=0.2, high=0.9))
    assert parse_schedule(made.text, name="zoom").evaluate(made.frames) == made.values
    samples = decode_module.read_sound(clicks).samples
    measured = amplitude(Sound(samples, RATE), FrameGrid(RATE, FPS, made.frames))
    expected = to_range(follow(measured, FPS, 0.0, 0.3), 0.2, 0.9)  # measured again here
    np.testing.assert_allclose(made.values, expected, atol=0.5e-4 + 1e-12)  # 4 decimals
    silent_runs = audio_schedule(clicks, settings(feature="beats", decay=0.0)).text
    assert silent_runs.startswith("0:(1), 1:(0), 11:(0), 12:(1), 13:(0), 23:(0), 24:(1)")


def test_a_schedule_too_long_for_the_parser_names_the_way_out():
    noise = np.random.default_rng(0).standard_normal(8000 * 400).astype(np.float32)
    with pytest.raises(AudioError, match=r"a schedule may be at most 65,536") as error:
        audio_schedule(Sound(noise, 8000), settings(fps=30.0, decay=0.0))
    assert error.value.parameter == "max_frames" and "lower fps" in error.value.hint


def test_an_audio_dict_is_its_channels_averaged():
    mono = np.linspace(-1, 1, 1000, dtype=np.float32)
    stereo = torch.from_numpy(np.stack([mono, mono]))[None]
    sound = sound_from_audio({"waveform": stereo, "sample_rate": 8000})
    assert sound.rate == 8000 and np.array_equal(sound.samples, mono)
    with pytest.raises(AudioError, match=r"^audio: expected ComfyUI's AUDIO"):
        sound_from_audio({"waveform": torch.zeros(10), "sample_rate": 8000})


def test_bad_settings_are_named():
    with pytest.raises(DeforumError, match=r"^feature: unknown feature 'drums'"):
        settings(feature="drums")
    with pytest.raises(DeforumError, match=r"^decay: -1.0 is outside 0..60"):
        settings(decay=-1.0)


def test_the_command_line_prints_the_schedule_and_plots_it(clicks, tmp_path, capsys):
    plot = tmp_path / "beats.png"
    code = main(["audio", str(clicks), "--fps", "24", "--feature", "beats", "--decay", "0",
                 "--low", "1", "--high", "1.04", "--plot", str(plot)])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    values = parse_schedule(out.strip()).evaluate(96)
    assert [f for f, v in enumerate(values) if v == 1.04] == list(range(0, 96, 12))
    assert "96 frames at 24 fps" in err and plot.read_bytes()[:4] == b"\x89PNG"
    assert main(["audio", str(tmp_path / "gone.wav")]) == 2
    assert capsys.readouterr().err.startswith("error: audio_file: sound file gone.wav is not")
