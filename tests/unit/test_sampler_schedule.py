"""Deforum's sampler_schedule: parsed as sd-webui-deforum reads it, imported with its switch,
and each diffused frame sent to the diffuser with its scheduled sampler."""

from __future__ import annotations

import pytest
import torch
from recording_backend import RecordingBackend

from deforum_core.diffusion.sampler_names import SamplerChoice
from deforum_core.diffusion.sampler_schedule import beside_scheduler_key, parse_sampler_schedule
from deforum_core.errors import ScheduleError
from deforum_core.prompts import parse_prompt_schedule
from deforum_core.render import AnimationSettings, Stages, render_animation
from deforum_core.settings_file.importer import import_settings

EULER_A = SamplerChoice("euler_ancestral", "normal", "euler_a")
DPMPP_2M_KARRAS = SamplerChoice("dpmpp_2m", "karras", "dpmpp_2m_karras")
HEUN = SamplerChoice("heun", "normal", "heun")


def test_a_name_holds_from_its_keyframe_to_the_next_and_frames_before_take_the_first():
    parsed = parse_sampler_schedule("10: ('Euler a'),20:(\"DPM++ 2M Karras\") , 30: (heun)")
    assert [parsed.at(frame) for frame in (0, 10, 19, 20, 29, 30, 500)] == [
        EULER_A, EULER_A, EULER_A, DPMPP_2M_KARRAS, DPMPP_2M_KARRAS, HEUN, HEUN,
    ]  # fmt: skip
    assert parse_sampler_schedule("").at(3) is None  # the diffuser's own sampler
    notebook = parse_sampler_schedule("0:('euler'),10:('dpm2'),80:('dpmpp_2s_a')")
    assert [choice.comfy_sampler for _frame, _name, choice in notebook.keyframes] == [
        "euler", "dpm_2", "dpmpp_2s_ancestral",
    ]  # fmt: skip


def test_a_bad_keyframe_or_an_unknown_name_points_at_itself():
    with pytest.raises(ScheduleError) as error:
        parse_sampler_schedule('0: ("Euler a"), 12: ("Eulr")')
    assert str(error.value).splitlines()[0] == "sampler_schedule: frame 12: unknown sampler 'Eulr'"
    assert error.value.position == len('0: ("Euler a"), 12: ("')
    with pytest.raises(ScheduleError, match="a frame number and a sampler name") as error:
        parse_sampler_schedule('0: ("Euler a"), x: ("Euler")')
    assert error.value.position == len('0: ("Euler a"), ')
    with pytest.raises(ScheduleError, match="sampler_schedule: frame 0: unknown sampler"):
        AnimationSettings(sampler_schedule='0: ("nope")')


def test_a_webui_scheduler_key_is_written_into_the_names_it_changes():
    parsed = parse_sampler_schedule('0: ("DPM++ 2M"), 5: ("Euler a Exponential"), 9: (ddim)')
    text = beside_scheduler_key(parsed, "Karras", keep=False)
    assert text == '0: ("DPM++ 2M Karras"), 5: ("Euler a Exponential"), 9: ("ddim Karras")'
    assert parse_sampler_schedule(text).at(0) == DPMPP_2M_KARRAS
    kept = beside_scheduler_key(parsed, "Karras", keep=True)  # for export: the same samplers
    assert kept == '0: ("DPM++ 2M normal"), 5: ("Euler a Exponential"), 9: ("ddim ddim_uniform")'
    reread = parse_sampler_schedule(beside_scheduler_key(parse_sampler_schedule(kept), "Karras",
                                                         keep=False))  # fmt: skip
    assert [choice for _f, _n, choice in reread.keyframes] == [
        choice for _f, _n, choice in parsed.keyframes
    ]


class SwitchingBackend(RecordingBackend):
    """A recording backend that can change its sampler, sharing one request log."""

    def __init__(self, sampler: SamplerChoice | None = None, log: list | None = None) -> None:
        super().__init__()
        self.sampler = sampler
        self.log = [] if log is None else log
        self.made: list[SamplerChoice] = []

    def with_sampler(self, sampler: SamplerChoice) -> SwitchingBackend:
        self.made.append(sampler)
        return SwitchingBackend(sampler, self.log)

    def diffuse(self, request):
        self.log.append((request.seed, self.sampler))
        return super().diffuse(request)


def render(tmp_path, backend, **overrides):
    settings = AnimationSettings(
        **{"animation_mode": "None", "max_frames": 6, "width": 64, "height": 64,
           "base_seed": 5, **overrides}
    )  # fmt: skip
    return render_animation(settings, Stages(parse_prompt_schedule("0: a cat")), backend,
                            tmp_path / "run")  # fmt: skip


def test_each_diffused_frame_gets_its_scheduled_sampler_made_once_before_frame_0(tmp_path):
    backend = SwitchingBackend()
    render(tmp_path, backend, sampler_schedule='2: ("DPM++ 2M Karras"), 4: ("Euler a")')
    assert [sampler for _seed, sampler in backend.log] == [
        DPMPP_2M_KARRAS, DPMPP_2M_KARRAS, DPMPP_2M_KARRAS, DPMPP_2M_KARRAS, EULER_A, EULER_A,
    ]  # fmt: skip
    assert backend.made == [DPMPP_2M_KARRAS, EULER_A]
    plain = SwitchingBackend()
    render(tmp_path / "plain", plain)
    assert [sampler for _seed, sampler in plain.log] == [None] * 6 and plain.made == []


def test_a_diffuser_that_cannot_switch_or_lacks_the_sampler_stops_before_any_frame(tmp_path):
    with pytest.raises(ScheduleError, match="recording diffuser cannot change its sampler"):
        render(tmp_path, RecordingBackend(), sampler_schedule='0: ("Heun")')
    assert not (tmp_path / "run").exists()

    class Lacking(SwitchingBackend):
        def with_sampler(self, sampler):
            raise ScheduleError("this ComfyUI has no sampler 'heun'", parameter="x")

    with pytest.raises(ScheduleError) as error:
        render(tmp_path, Lacking(), sampler_schedule='0: ("Heun")')
    assert str(error.value).startswith("sampler_schedule: this ComfyUI has no sampler 'heun'")
    assert not (tmp_path / "run").exists()


WEBUI_FILE = {
    "animation_mode": "None", "max_frames": 4, "W": 64, "H": 64, "sampler": "Euler a",
    "prompts": {"0": "a cat"}, "positive_prompts": "", "negative_prompts": "",
    "sampler_schedule": '0: ("Euler a"), 2: ("DPM++ 2M")',
}  # fmt: skip


@pytest.mark.parametrize(
    ("switch", "scheduler", "expected", "status"),
    [
        (True, None, '0: ("Euler a"), 2: ("DPM++ 2M")', "taken"),
        (True, "Karras", '0: ("Euler a Karras"), 2: ("DPM++ 2M Karras")', "mapped"),
        (False, None, "", "ignored"),
    ],
)
def test_the_import_takes_the_schedule_only_when_its_switch_is_on(
    switch, scheduler, expected, status
):
    data = {**WEBUI_FILE, "enable_sampler_scheduling": switch}
    if scheduler:
        data["scheduler"] = scheduler
    imported = import_settings(data, "deforum_settings.txt")
    assert imported.animation.sampler_schedule == expected
    lines = {line.key: line for line in imported.report}
    assert lines["sampler_schedule"].status == status


def test_the_notebook_switch_takes_its_k_diffusion_names():
    notebook = {
        "animation_mode": "None", "max_frames": 4, "W": 64, "H": 64, "sampler": "euler_ancestral",
        "prompts": ["a cat"], "enable_schedule_samplers": True,
        "sampler_schedule": "0:('euler'),2:('dpmpp_2m')", "use_init": False,
    }  # fmt: skip
    imported = import_settings(notebook, "settings.txt")
    assert imported.dialect == "N"
    parsed = parse_sampler_schedule(imported.animation.sampler_schedule)
    assert [parsed.at(frame).comfy_sampler for frame in range(4)] == [
        "euler", "euler", "dpmpp_2m", "dpmpp_2m",
    ]  # fmt: skip


def test_a_tiny_diffusers_model_renders_each_frame_with_its_scheduled_sampler(tmp_path, pipeline):
    from deforum_core.diffusion import DiffusersBackend
    from deforum_core.render import RunDirectory

    euler = DiffusersBackend(pipeline, "euler_a")

    def frames_of(name, backend, **overrides):
        result = render(tmp_path / name, backend, max_frames=2, steps_schedule="0:(4)",
                        **overrides)  # fmt: skip
        return [RunDirectory(result.run_dir).read_frame(index) for index in range(2)]

    scheduled = frames_of("scheduled", euler, sampler_schedule='1: ("DPM++ 2M Karras")')
    with_euler = frames_of("euler", euler)
    with_dpm = frames_of("dpm", euler.with_sampler(DPMPP_2M_KARRAS))
    # frames before the first keyframe take its sampler; frame 1 keeps it
    assert torch.equal(scheduled[0], with_dpm[0]) and torch.equal(scheduled[1], with_dpm[1])
    assert not torch.equal(with_dpm[1], with_euler[1])
    switched = frames_of(
        "switched", euler, sampler_schedule='0: ("Euler a"), 1: ("DPM++ 2M Karras")'
    )
    assert torch.equal(switched[0], with_euler[0]) and torch.equal(switched[1], with_dpm[1])
