"""Parseq manifests: given directly or named by a settings file's parseq_manifest (inline JSON,
a path beside the file, or a URL matched to a .json beside it by its document id), they set
the schedules and prompts they manage frame for frame, as sd-webui-deforum applies them."""

import importlib
import json
import shutil
from pathlib import Path

import pytest

from deforum_app.cli import main
from deforum_core.keyframes import parse_schedule
from deforum_core.params import params_of
from deforum_core.seeds import seed_sequence
from deforum_core.settings_file import SettingsFileError, import_settings, read_settings_file
from deforum_core.settings_file.parseq_import import MOTION_FIELDS, schedule_text, settings_key
from deforum_core.settings_file.report import IGNORED, MAPPED, TAKEN, UNSUPPORTED

SHARED = Path(__file__).resolve().parents[3] / "shared" / "deforum_settings"
TEST_DOC = "A_v09_test_parseq.json"
THOLONIA_DOC = "A_v09_user_tholonia_parseq.json"
THOLONIA = "A_v09_user_tholonia_3d_parseq_hybrid_cn.txt"
DOC_ID = "doc-0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/deforum_settings absent")


def line(result, key: str):
    (found,) = [entry for entry in result.report if entry.key == key]
    return found


def schedule_of(imported, key: str):
    """The imported schedule whose Deforum key is key, wherever the import put it."""
    for settings in (imported.animation, imported.motion, imported.enhance, imported.noise):
        for declared in params_of(type(settings)) if settings is not None else ():
            if declared.deforum_key == key:
                return getattr(settings, declared.name)
    raise AssertionError(f"no imported schedule has the key {key}")


def split(prompt: str) -> tuple[str, str]:
    positive, _, negative = prompt.partition("--neg")
    return positive.strip(), negative.strip()


def manifest(frames: list[dict], **options) -> dict:
    return {"meta": {"generated_by": "sd_parseq", "doc_id": DOC_ID}, "options": options,
            "rendered_frames": frames}  # fmt: skip


def zoom_frames(count: int = 4, **extra) -> list[dict]:
    return [
        {"frame": frame, "zoom": 1 + frame / 10, "zoom_delta": 1.1, "strength": 0.5,
         "deforum_prompt": f"a cat {frame} --neg dog", **extra}
        for frame in range(count)
    ]  # fmt: skip


def settings(doc, **changes) -> dict:
    """An sd-webui-deforum file whose parseq_manifest holds the manifest's JSON."""
    written = {"animation_mode": "2D", "max_frames": 20, "fps": 12, "diffusion_cadence": 3,
               "prompts": {"0": "a house"}, "animation_prompts_negative": "blurry",
               "parseq_manifest": json.dumps(doc)}  # fmt: skip
    return {**written, **changes}


@needs_shared
@pytest.mark.parametrize("name", [TEST_DOC, THOLONIA_DOC])
def test_the_real_manifests_import_with_every_frame_as_the_manifest_says(name):
    doc = json.loads((SHARED / name).read_text(encoding="utf-8"))
    frames = doc["rendered_frames"]
    count = len(frames)
    imported = read_settings_file(SHARED / name)
    assert imported.blocker is None and imported.parseq.frames == count
    animation = imported.animation
    assert animation.max_frames == count
    assert (animation.fps, animation.diffusion_cadence) == (
        doc["options"]["output_fps"],
        doc["options"]["cadence"],
    )
    columns = [field for field in frames[0] if settings_key(field) is not None]
    assert columns == (["seed", "angle", "subseed", "subseed_strength"] if name == TEST_DOC
                       else [])  # fmt: skip
    for field in columns:
        column = f"{field}_delta" if field in MOTION_FIELDS else field  # parseq_use_deltas on
        values = schedule_of(imported, settings_key(field)).evaluate(count)
        assert values == [frame[column] for frame in frames], field
        assert line(imported, settings_key(field)).detail.startswith(f"from Parseq ({count} frames")
    if "seed" in columns:  # every frame's seed is int(seed), as Deforum takes it
        assert animation.seed_behavior == "schedule"
        seeds = seed_sequence(
            "schedule", 1, count, schedule=animation.seed_schedule.evaluate(count)
        )
        assert seeds == [int(frame["seed"]) for frame in frames]
    prompts = imported.prompts.parse().evaluate(count)
    assert [(frame.positive, frame.negative) for frame in prompts] == [
        split(frame["deforum_prompt"]) for frame in frames
    ]
    assert all(frame.blend == 0 or frame.next_positive == frame.positive for frame in prompts)
    assert line(imported, "prompts").detail.startswith(f"from Parseq ({count} frames)")


@needs_shared
def test_the_settings_file_finds_its_manifest_url_by_doc_id_next_to_it(tmp_path, capsys):
    shutil.copy(SHARED / THOLONIA, tmp_path / THOLONIA)
    shutil.copy(SHARED / THOLONIA_DOC, tmp_path / "downloaded.json")  # any name will do
    decoy = '{"note": "doc-1eff40d2-7610-4fed-a661-5b393fd2fd6c"}'  # the id, but no meta
    (tmp_path / "other.json").write_text(decoy, encoding="utf-8")
    imported = read_settings_file(tmp_path / THOLONIA)
    assert imported.blocker is None
    assert imported.parseq.path == tmp_path / "downloaded.json"
    assert imported.animation.max_frames == 508 and imported.animation.fps == 10
    manifest_line = line(imported, "parseq_manifest")
    assert manifest_line.status == TAKEN
    assert manifest_line.detail == (
        "downloaded.json, the Parseq document doc-1eff40d2-7610-4fed-a661-5b393fd2fd6c that "
        "the URL names: 508 rendered frames"
    )
    # Deforum adds no global text to Parseq's prompts: the file's "nsfw, nude" is not added
    assert line(imported, "animation_prompts_negative").status == IGNORED
    assert not imported.prompts.parse().evaluate(508)[0].negative.endswith("nsfw, nude")
    assert main(["settings", str(tmp_path / THOLONIA)]) == 0
    out = capsys.readouterr().out
    assert "mapped            prompts: from Parseq (508 frames)" in out
    assert "mapped            max_frames: 508 from the Parseq manifest" in out
    assert "not supported yet parseq" not in out


@needs_shared
def test_a_url_with_no_manifest_beside_the_file_says_to_download_it(tmp_path, capsys):
    shutil.copy(SHARED / THOLONIA, tmp_path / THOLONIA)
    imported = read_settings_file(tmp_path / THOLONIA)
    manifest_line = line(imported, "parseq_manifest")
    assert manifest_line.status == UNSUPPORTED
    assert manifest_line.detail == (
        "no .json file next to the settings file is Parseq document doc-1eff40d2-7610-4fed-"
        "a661-5b393fd2fd6c (URLs are not downloaded): download the manifest from that URL "
        "into the settings file's folder as a .json"
    )
    assert line(imported, "angle").detail == "not used in animation_mode 3D"  # not the blocker
    with pytest.raises(SettingsFileError, match="URLs are not downloaded"):
        imported.check_renderable()
    url = json.loads((SHARED / THOLONIA).read_text(encoding="utf-8"))["parseq_manifest"]
    (tmp_path / "s.txt").write_text(json.dumps(settings({}, parseq_manifest=url)), "utf-8")
    code = main(["run", str(tmp_path / "s.txt"), "--preview", "--out", str(tmp_path / "out")])
    assert code == 2
    assert "download the manifest from that URL" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_manifest_is_found_by_a_path_that_stays_inside_the_settings_folder(tmp_path):
    folder = tmp_path / "settings"
    (folder / "parseq").mkdir(parents=True)
    (folder / "parseq" / "m.json").write_text(json.dumps(manifest(zoom_frames())), "utf-8")
    (tmp_path / "outside.json").write_text(json.dumps(manifest(zoom_frames(6))), "utf-8")
    for value, found in [("parseq/m.json", 4), ("../outside.json", None),
                         (str(tmp_path / "outside.json"), None)]:  # fmt: skip
        path = folder / "s.txt"
        path.write_text(json.dumps(settings({}, parseq_manifest=value)), encoding="utf-8")
        imported = read_settings_file(path)
        if found:
            assert imported.parseq.frames == found and imported.animation.max_frames == found
        else:  # looked up by its name inside the folder only, and said so
            assert imported.parseq is None
            detail = line(imported, "parseq_manifest").detail
            assert "is not in the settings file's folder" in detail
            assert str(tmp_path) not in detail.replace(value, "")


def test_pasted_settings_can_name_no_manifest_file():
    imported = import_settings(settings({}, parseq_manifest="https://x/doc-" + DOC_ID[4:]), "p")
    assert "cannot be looked up for pasted settings" in imported.blocker


def test_deltas_choose_the_motion_columns_as_deforum_does():
    doc = manifest(zoom_frames())
    with_deltas = import_settings(settings(doc), "s.txt")
    absolute = import_settings(settings(doc, parseq_use_deltas=False), "s.txt")
    assert with_deltas.motion.zoom.evaluate(4) == [1.1] * 4
    assert absolute.motion.zoom.evaluate(4) == [1.0, 1.1, 1.2, 1.3]
    assert line(with_deltas, "zoom").detail == "from Parseq (4 frames of zoom_delta)"
    assert line(absolute, "zoom").detail == "from Parseq (4 frames)"
    # strength is not a motion field: its absolute values either way
    assert with_deltas.animation.strength_schedule.evaluate(4) == [0.5] * 4
    assert line(absolute, "parseq_use_deltas").detail.startswith("off: the motion fields")


def test_non_schedule_overrides_set_frames_cadence_and_fps_unless_turned_off():
    doc = manifest(zoom_frames(), cadence=2, output_fps=24)
    on = import_settings(settings(doc), "s.txt").animation
    assert (on.max_frames, on.diffusion_cadence, on.fps) == (4, 2, 24.0)
    off = import_settings(settings(doc, parseq_non_schedule_overrides=False), "s.txt")
    animation = off.animation
    assert (animation.max_frames, animation.diffusion_cadence, animation.fps) == (20, 3, 12.0)
    # frames past the manifest's last hold its value, as Deforum repeats it
    assert off.motion.zoom.evaluate(20) == [1.1] * 20
    prompts = off.prompts.parse().evaluate(20)
    assert {(frame.positive, frame.negative) for frame in prompts[3:]} == {("a cat 3", "dog")}
    assert line(off, "max_frames").status == TAKEN
    assert line(off, "prompts").status == MAPPED
    assert line(off, "animation_prompts_negative").status == IGNORED


def test_fields_the_pack_cannot_use_or_the_mode_does_not_read_are_reported():
    extra = {"translation_z": 5, "translation_z_delta": 0, "ddim_eta": 0.3, "cn_1_weight": 1,
             "prompt_weight_1": 0.5, "steps_schedule": 12, "angle": 3}  # fmt: skip
    doc = manifest(zoom_frames(**extra))
    imported = import_settings(settings(doc), "s.txt")
    assert line(imported, "translation_z").status == IGNORED
    assert line(imported, "translation_z").detail.endswith("unused in animation_mode 2D")
    assert line(imported, "ddim_eta_schedule").status == UNSUPPORTED
    assert "cannot use: eta scheduling" in line(imported, "ddim_eta_schedule").detail
    assert line(imported, "cn_1_weight").status == IGNORED  # cn_1 is off
    assert line(imported, "cn_1_weight").detail.startswith("from Parseq (4 frames)")
    assert line(imported, "(parseq) prompt_weight_1").detail == "not a field Deforum reads"
    assert line(imported, "(parseq) angle").detail.startswith("no angle_delta column")
    steps = line(imported, "steps_schedule")
    assert (steps.status, steps.detail) == (
        IGNORED,
        "from Parseq (4 frames), unused: enable_steps_scheduling is off, as in Deforum",
    )
    switched_on = import_settings(settings(doc, enable_steps_scheduling=True), "s.txt")
    assert switched_on.animation.steps_schedule.evaluate(4) == [12] * 4
    assert line(switched_on, "steps_schedule").status == MAPPED


def test_mode_none_reads_no_manifest():
    imported = import_settings(settings(manifest(zoom_frames()), animation_mode="None"), "s.txt")
    assert imported.parseq is None and imported.blocker is None
    assert line(imported, "parseq_manifest").detail == (
        "Deforum reads no Parseq manifest in animation_mode None"
    )


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        ([], "the manifest has no rendered_frames"),
        ([{"frame": 0}, {"frame": 2}], "frame 1 is missing: rendered_frames must number"),
        ([{"frame": 0}, {"frame": 0}], "frame 0 is there twice"),
        ([{"frame": -1}, {"frame": 0}], "frame -1 is below 0"),
        ([{"frame": "0"}], "entry 0 has no whole frame number"),
        ([{"frame": 0, "zoom": 1}, {"frame": 1, "zoom": "1.1"}], "zoom is '1.1', not a number "
         "at frame 1"),
        ([{"frame": 0, "zoom": 1}, {"frame": 1}], "zoom is missing (frame 0 has it) at frame 1"),
        ([{"frame": 0, "deforum_prompt": 3}], "deforum_prompt is int, not text at frame 0"),
    ],
)  # fmt: skip
def test_a_bad_manifest_is_refused_naming_what_is_wrong(frames, message):
    with pytest.raises(SettingsFileError) as caught:
        import_settings(settings(manifest(frames)), "s.txt")
    assert caught.value.parameter == "parseq_manifest"
    assert message in str(caught.value)


def test_bad_options_and_documents_are_refused(tmp_path):
    with pytest.raises(SettingsFileError, match=r"options\.cadence is 1\.5, not a whole number"):
        import_settings(settings(manifest(zoom_frames(), cadence=1.5)), "s.txt")
    with pytest.raises(SettingsFileError, match="is not valid JSON"):
        import_settings(settings({}, parseq_manifest="{rendered_frames"), "s.txt")
    path = tmp_path / "doc.json"
    path.write_text('{"meta": {"generated_by": "sd_parseq"}, "prompts": {}}', encoding="utf-8")
    with pytest.raises(SettingsFileError, match="is a Parseq document without rendered_frames"):
        read_settings_file(path)


def test_schedules_are_exact_on_every_frame_and_runs_are_kept_short():
    values = [0, 0, 0, 0.1, 0.1 + 0.2, -3e-07, 7, 7, 7, 7, 2**32 - 1]
    text = schedule_text(values)
    assert text == ("0:(0), 2:(0), 3:(0.1), 4:(0.30000000000000004), 5:(-3e-07), 6:(7), 9:(7), "
                    "10:(4294967295)")  # fmt: skip
    assert parse_schedule(text).evaluate(len(values)) == values
    with pytest.raises(SettingsFileError, match="more than a schedule holds") as caught:
        schedule_text([frame / 7 for frame in range(5000)], "zoom")
    assert caught.value.parameter == "zoom"


@needs_shared
def test_the_settings_verb_prints_the_parseq_lines(capsys):
    assert main(["settings", str(SHARED / TEST_DOC)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{TEST_DOC}: sd-webui-deforum settings, animation_mode 2D, 512x512, "
                          "11 frames")  # fmt: skip
    for expected in (
        "taken             parseq_manifest: the Parseq document A_v09_test_parseq.json: 11 "
        "rendered frames",
        "mapped            angle: from Parseq (11 frames of angle_delta)",
        "mapped            seed_schedule: from Parseq (11 frames)",
        "mapped            seed_behavior: schedule: Parseq sets every frame's seed",
        "mapped            fps: 60 from the Parseq manifest, its options.output_fps",
        "default           parseq_use_deltas: on: the motion fields from Parseq's *_delta "
        "columns (sd-webui-deforum default)",
    ):
        assert expected in out


@needs_shared
def test_a_parseq_render_exports_as_schedules_that_render_the_same(tmp_path, capsys):
    def run(path: Path, out: Path) -> Path:
        code = main(["run", str(path), "--preview", "--max-frames", "5", "--size", "64x64",
                     "--out", str(out)])  # fmt: skip
        assert code == 0, capsys.readouterr().err
        capsys.readouterr()
        (folder,) = (out / "deforum").iterdir()
        return folder

    first = run(SHARED / TEST_DOC, tmp_path / "first")
    assert main(["export", str(first), "--out", str(tmp_path / "exported.txt")]) == 0
    exported = json.loads((tmp_path / "exported.txt").read_text(encoding="utf-8"))
    assert exported["parseq_manifest"] is None  # the schedules hold it
    assert exported["angle"] == read_settings_file(SHARED / TEST_DOC).motion.angle.text
    assert exported["seed_behavior"] == "schedule"
    second = run(tmp_path / "exported.txt", tmp_path / "second")
    for name in ("settings.json", *(f"frame_{index:05d}.png" for index in range(5))):
        assert (second / name).read_bytes() == (first / name).read_bytes(), name
    assert read_settings_file(tmp_path / "exported.txt").parseq is None


@pytest.fixture
def host(pack, tmp_path, monkeypatch):
    bridge = importlib.import_module(f"{pack.__name__}.nodes.comfy_bridge")
    monkeypatch.setattr(bridge.HEADLESS, "input", tmp_path / "input")
    monkeypatch.setattr(bridge.HEADLESS, "output", tmp_path / "output")
    monkeypatch.setattr(bridge.HEADLESS, "quiet", True)
    (tmp_path / "input" / "parseq").mkdir(parents=True)
    return bridge.HEADLESS


@needs_shared
def test_load_settings_imports_a_manifest_from_the_input_folder(pack, host):
    shutil.copy(SHARED / TEST_DOC, host.input / "parseq" / TEST_DOC)
    load_node = pack.NODE_CLASS_MAPPINGS["DeforumLoadSettings"]
    assert f"parseq/{TEST_DOC}" in load_node.INPUT_TYPES()["required"]["settings_file"][0]
    loaded = load_node().load(f"parseq/{TEST_DOC}", "", 0, 0, 0, True)
    settings, prompts, motion, *_, report = loaded["result"]
    assert settings.loaded.animation.max_frames == 11
    assert motion.angle.text == read_settings_file(SHARED / TEST_DOC).motion.angle.text
    assert prompts.evaluate(11)[10].negative == "neg parseq prompt!"
    assert "mapped            angle: from Parseq (11 frames of angle_delta)" in report


@needs_shared
def test_load_settings_reloads_when_the_named_manifest_changes(pack, host):
    url = json.loads((SHARED / THOLONIA).read_text(encoding="utf-8"))["parseq_manifest"]
    written = json.dumps(settings({}, parseq_manifest=url, seed=5))
    (host.input / "parseq" / "s.txt").write_text(written, encoding="utf-8")
    shutil.copy(SHARED / THOLONIA_DOC, host.input / "parseq" / "tango.json")
    load_node = pack.NODE_CLASS_MAPPINGS["DeforumLoadSettings"]
    before = load_node.IS_CHANGED("parseq/s.txt", "")
    doc = json.loads((SHARED / THOLONIA_DOC).read_text(encoding="utf-8"))
    doc["rendered_frames"][0]["deforum_prompt"] = "a changed prompt"
    (host.input / "parseq" / "tango.json").write_text(json.dumps(doc), encoding="utf-8")
    after = load_node.IS_CHANGED("parseq/s.txt", "")
    assert before and after and before != after
    prompts = load_node().load("parseq/s.txt", "", 0, 0, 0, True)["result"][1]
    assert prompts.evaluate(508)[0].positive == "a changed prompt"


def test_a_controlnet_units_columns_reach_the_unit_when_it_is_on():
    doc = manifest(zoom_frames(cn_1_weight=0.5))
    imported = import_settings(settings(doc, cn_1_enabled=True), "s.txt")
    assert line(imported, "cn_1_weight").status == MAPPED
    (unit,) = imported.controlnet
    assert unit.unit == "cn_1" and unit.fields["weight"] == "0:(0.5), 3:(0.5)"
