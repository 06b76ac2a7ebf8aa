"""Hostile, broken and concurrent input to a render: run folders reserved atomically, names
checked whole, a damaged run resumed from its first bad frame, numbers out of range refused
naming the parameter, the frame and the value."""

from __future__ import annotations

import errno
import json
import multiprocessing
from pathlib import Path

import pytest
import torch
from digests import frames_digest
from recording_backend import RecordingBackend

from deforum_core.errors import DeforumError, ScheduleError
from deforum_core.files import FileWriteError
from deforum_core.prompts import parse_prompt_schedule
from deforum_core.render import (
    AnimationSettings,
    RenderCallbacks,
    RenderCancelled,
    RunDirectory,
    RunDirectoryError,
    Stages,
    render_animation,
    run_folders,
)
from deforum_core.render.run_folders import check_plain_name, reserve_run_folder
from deforum_core.stages import ColorCoherenceStage, Motion2DStage, Motion3DStage, NoiseStage

PROMPTS = parse_prompt_schedule("0: a cat")


def settings(**overrides) -> AnimationSettings:
    values = {"max_frames": 10, "width": 64, "height": 64, "base_seed": 5,
              "diffusion_cadence": 3, "init_strength": 0.0}  # fmt: skip
    return AnimationSettings(**{**values, **overrides})


def stages(**motion) -> Stages:
    camera = Motion2DStage(**{"zoom": "0:(1.01)", "angle": "0:(1)", **motion})
    color = ColorCoherenceStage("RGB", refresh_every=6)
    return Stages(PROMPTS, camera, color, noise=NoiseStage(noise="0:(0.02)"))


# -- run folders and names --------------------------------------------------------------------


def test_a_folder_taken_meanwhile_makes_the_next_number(tmp_path, monkeypatch):
    (tmp_path / "run_0001").mkdir()
    monkeypatch.setattr(run_folders, "_numbered", lambda root, name: [])  # a stale listing
    assert reserve_run_folder(tmp_path, "run").name == "run_0002"


def _reserve_five(root: str, name: str, queue) -> None:
    queue.put([reserve_run_folder(Path(root), name).name for _ in range(5)])


def test_writers_in_parallel_never_share_a_folder(tmp_path):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_reserve_five, args=(str(tmp_path), "race", queue))
               for _ in range(4)]  # fmt: skip
    for worker in workers:
        worker.start()
    names = [name for _ in workers for name in queue.get(timeout=60)]
    for worker in workers:
        worker.join(timeout=60)
    assert len(names) == 20 and len(set(names)) == 20
    assert sorted(names) == [f"race_{number:04d}" for number in range(1, 21)]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("x\n", r"contains the control character '\\n'"),
        ("a\x00b", r"contains the control character '\\x00'"),
        ("../escape", "must be a plain name"),
        ("a/b", "must be a plain name"),
        ("trailing.", "must be a plain name"),
        ("", "must be a plain name"),
        (5, "must be a text"),
    ],
)
def test_names_are_checked_whole(name, message):
    with pytest.raises(DeforumError, match=message) as caught:
        check_plain_name(name, parameter="filename", what="the video is saved in the run folder")
    assert str(caught.value).startswith("filename: ")


# -- resume from what is on disk --------------------------------------------------------------


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("whole") / "run"
    render_animation(settings(), stages(), RecordingBackend(), run)
    return run


def copy_run(source: Path, target: Path) -> Path:
    target.mkdir()
    for path in source.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    return target


@pytest.mark.parametrize(
    ("frame", "damage"),
    [(4, "delete"), (6, "truncate"), (0, "delete"), (9, "garbage"), (7, "resize")],
)
def test_resume_renders_again_from_the_first_bad_frame(whole_run, tmp_path, frame, damage):
    run = copy_run(whole_run, tmp_path / "run")
    path = RunDirectory(run).frame_path(frame)
    if damage == "delete":
        path.unlink()
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:-40])
    elif damage == "garbage":
        path.write_bytes(b"\x89PNG not really" + b"IEND\xaeB`\x82")
    else:
        RunDirectory(run).write_frame(frame, torch.zeros(1, 32, 32, 3))
    backend = RecordingBackend()
    render_animation(settings(), stages(), backend, run, resume=True)
    assert frames_digest(run) == frames_digest(whole_run)
    assert len(backend.requests) == len([key for key in (0, 3, 6, 9) if key >= frame])


def test_a_video_never_skips_a_missing_frame(whole_run, tmp_path):
    run = copy_run(whole_run, tmp_path / "run")
    RunDirectory(run).frame_path(5).unlink()
    with pytest.raises(RunDirectoryError, match=r"run lacks frame_00005.png of its 10 frames"):
        RunDirectory(run).frame_sequence(10)


@pytest.mark.parametrize("name", ["state.json", "settings.json"])
def test_a_damaged_record_is_named_with_the_fix(whole_run, tmp_path, name):
    run = copy_run(whole_run, tmp_path / "run")
    (run / name).write_text('{"last_key_frame": 3, "comp', encoding="utf-8")
    with pytest.raises(RunDirectoryError) as caught:
        render_animation(settings(), stages(), RecordingBackend(), run, resume=True)
    message = str(caught.value)
    assert message.startswith(f"{name} of run run is damaged")
    assert "fix: " in message


def test_a_state_naming_a_frame_that_is_no_key_is_refused(whole_run, tmp_path):
    run = copy_run(whole_run, tmp_path / "run")
    (run / "state.json").write_text(json.dumps({"last_key_frame": 4}), encoding="utf-8")
    with pytest.raises(RunDirectoryError, match="names frame 4, which is not a diffused frame"):
        render_animation(settings(), stages(), RecordingBackend(), run, resume=True)


# -- numbers ----------------------------------------------------------------------------------


class NaNBackend(RecordingBackend):
    def diffuse(self, request):
        result = super().diffuse(request)
        return type(result)(torch.full_like(result.image, float("nan")), result.steps_run)


class ConstantDepth:
    def __call__(self, frames):
        return torch.full(frames.shape[:3], 1.5)

    def describe(self):
        return {"model_type": "constant"}


def render(run: Path, stage_set=None, *, backend=None, init=None, **overrides):
    return render_animation(settings(**overrides), stage_set or stages(),
                            backend or RecordingBackend(), run, init_image=init)  # fmt: skip


NOT_A_NUMBER = torch.full((1, 64, 64, 3), float("nan"))
DEPTH_3D = {"depth_model": ConstantDepth()}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda run: render(run, stages(zoom="0:(1), 3:(0)")),
         r"zoom: zoom 0 shrinks .* at frame 3"),
        (lambda run: render(run, cfg_schedule="0:(1e30)"),
         r"cfg_schedule: 1e\+30 is outside 0..100 at frame 0"),
        (lambda run: render(run, backend=NaNBackend()),
         r"cfg_schedule: the diffuser returned pixels that are not numbers .* at frame 0"),
        (lambda run: render(run, init=NOT_A_NUMBER),
         r"init_image: the init image holds pixel values that are not numbers"),
        (lambda run: render(run, Stages(PROMPTS, Motion3DStage(fov="0:(40), 2:(180)"), **DEPTH_3D),
                            animation_mode="3D"),
         r"fov: 180 is outside 0..180 \(exclusive\) at frame 2"),
        (lambda run: render(run, stages(enable_perspective_flip=True,
                                        perspective_flip_fv="0:(53), 3:(0)")),
         r"perspective_flip_fv: must lie between 0 and 180 degrees, got 0 at frame 3"),
    ],
    ids=["zoom-0", "cfg-1e30", "nan-frames", "nan-init", "fov-180", "flip-fv-0"],
)  # fmt: skip
def test_numbers_that_cannot_render_name_parameter_frame_and_value(tmp_path, make, message):
    run = tmp_path / "run"
    with pytest.raises(ScheduleError, match=message):
        make(run)
    assert not list(run.glob("frame_*.png"))  # refused before a frame is written


def test_a_cancel_mid_render_then_resume_is_byte_identical_after_damage(whole_run, tmp_path):
    """A cut render whose last frame was damaged afterwards still resumes exactly."""
    run = tmp_path / "run"
    written = []

    def check_cancel():
        if len(written) >= 7:
            raise RenderCancelled()

    callbacks = RenderCallbacks(on_frame=lambda *frame: written.append(frame),
                                check_cancel=check_cancel)  # fmt: skip
    with pytest.raises(RenderCancelled):
        render_animation(settings(), stages(), RecordingBackend(), run, callbacks=callbacks)
    RunDirectory(run).frame_path(5).write_bytes(b"")
    render_animation(settings(), stages(), RecordingBackend(), run, resume=True)
    assert frames_digest(run) == frames_digest(whole_run)


def test_a_full_disk_names_the_file_keeps_earlier_frames_and_resumes(whole_run, tmp_path,
                                                                      monkeypatch):  # fmt: skip
    run = tmp_path / "run"
    write_bytes = Path.write_bytes

    def full_disk(path: Path, data: bytes) -> int:
        if ".frame_00004." in path.name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return write_bytes(path, data)

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(FileWriteError) as caught:
        render_animation(settings(), stages(), RecordingBackend(), run)
    message = str(caught.value)
    assert message.startswith(f"could not write {run / 'frame_00004.png'}: No space left")
    assert "free space" in message
    assert sorted(p.name for p in run.iterdir()) == [
        "frame_00000.png", "frame_00001.png", "frame_00002.png", "frame_00003.png",
        "settings.json", "state.json",
    ]  # no temporary file left behind  # fmt: skip
    for index in range(4):
        assert RunDirectory(run).frame_path(index).read_bytes() == (
            RunDirectory(whole_run).frame_path(index).read_bytes()
        )
    monkeypatch.undo()  # space freed
    render_animation(settings(), stages(), RecordingBackend(), run, resume=True)
    assert frames_digest(run) == frames_digest(whole_run)
