"""Reading settings files: what is refused and how, how values as users wrote them are read,
and how the files a settings file names are found (never outside the allowed folders)."""

import pytest

from deforum_app.cli import main
from deforum_core.params import param_of
from deforum_core.render.settings import AnimationSettings
from deforum_core.settings_file import FileReference, SettingsFileError, resolve_reference
from deforum_core.settings_file.reading import detect_dialect, parse_settings_text
from deforum_core.settings_file.values import convert, deforum_reading, to_bool, to_schedule
from deforum_core.stages import Motion3DStage


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "x.txt is empty"),
        ("{'W': 512}", "x.txt is not valid JSON: Expecting property name"),
        ('{"W": 512,}', "look for a trailing comma"),
        ("[1, 2]", "holds a JSON list, not an object of settings"),
        ('{"nodes": [], "links": []}', "has none of Deforum's settings keys (it has nodes, links)"),
        ('{"meta": {"generated_by": "sd_parseq"}, "prompts": {}}', "is a Parseq document"),
        ("[" * 100_000, "nests JSON too deeply"),
    ],
)
def test_what_is_not_a_settings_file_is_refused_with_the_reason(text, message):
    with pytest.raises(SettingsFileError) as caught:
        parse_settings_text(text, "x.txt")
    assert message in str(caught.value)


def test_a_byte_order_mark_and_crlf_are_read():
    assert parse_settings_text('\ufeff{\r\n"W": 512\r\n}', "x.txt") == {"W": 512}


@pytest.mark.parametrize(
    ("keys", "dialect"),
    [
        ({"W": 512, "show_info_on_ui": True}, "A"),
        ({"width": 1024, "sampler_name": "euler", "cfg_scale_schedule": "0:(7)"}, "A"),
        ({"width": 512, "animation_prompts": {}}, "L"),
        ({"W": 512, "blue_scale": 0}, "N"),
        ({"animation_mode": "2D", "zoom": "0:(1.01)"}, "N"),  # a partial preset
    ],
)
def test_the_dialect_is_known_by_the_keys_only_it_writes(keys, dialect):
    assert detect_dialect(keys) == dialect


@pytest.mark.parametrize(
    ("value", "text"),
    [(40, "0:(40)"), (0.065, "0:(0.065)"), ("1.5", "0:(1.5)"), (" 0: (120)", "0: (120)"),
     ("0:(0.2),\n60:(10)", "0:(0.2), 60:(10)")],
)  # fmt: skip
def test_schedules_as_users_wrote_them(value, text):
    assert to_schedule(value, "fov")[0] == text


def test_the_doubled_key_reads_as_deforum_reads_it():
    studio = "0: 0: ((0.11 * cos((120/ 240 * 3.141 * (t + 0) / 24))**1 + 0))"
    assert deforum_reading(studio) == "0:(0)"
    assert deforum_reading("0: 5: (x), 10: (2*t)") == "0:(5), 10:((2*t))"
    assert deforum_reading("0: (sin(t)") is None  # broken for Deforum too: an error
    with pytest.raises(SettingsFileError, match="angle"):
        to_schedule("0: (sin(t)", "angle")


def test_numbers_and_flags_written_as_text():
    cadence = param_of(AnimationSettings, "diffusion_cadence")
    assert convert(cadence, "3", "diffusion_cadence") == (3, "the text '3' read as the number 3")
    assert convert(cadence, 3.0, "diffusion_cadence")[0] == 3
    with pytest.raises(SettingsFileError, match=r"diffusion_cadence: 2\.5 is not a whole number"):
        convert(cadence, 2.5, "diffusion_cadence")
    assert to_bool("true", "use_init")[0] is True and to_bool(0, "use_init")[0] is False
    with pytest.raises(SettingsFileError, match="use_init: 'maybe' is not true or false"):
        to_bool("maybe", "use_init")
    padding = param_of(Motion3DStage, "padding_mode")
    assert convert(padding, "Reflection", "padding_mode")[0] == "reflection"


@pytest.mark.parametrize(
    "value",
    [
        "C:\\Users\\someone\\Desktop\\fox.png",
        "C:/Your/File/Path/Here/fox.png",
        "/home/someone/pictures/fox.png",
        "https://deforum.github.io/a1/fox.png?raw=1",
        "fox.png",
        "./fox.png",
    ],
)
def test_a_named_file_is_found_by_its_name_in_the_allowed_folder(value, tmp_path):
    (tmp_path / "fox.png").write_bytes(b"png")
    found = resolve_reference(FileReference("init_image", value, "init image"), [tmp_path], "here")
    assert found == (tmp_path / "fox.png").resolve()


def test_a_relative_path_is_looked_up_inside_each_folder_in_order(tmp_path):
    first, second = tmp_path / "input", tmp_path / "beside"
    (second / "templates" / "a").mkdir(parents=True)
    (second / "templates" / "a" / "source.jpg").write_bytes(b"jpg")
    first.mkdir()
    reference = FileReference("init_image", "templates/a/source.jpg", "init image")
    assert (
        resolve_reference(reference, [first, second], "x")
        == (second / "templates" / "a" / "source.jpg").resolve()
    )


def test_no_path_leads_outside_the_allowed_folders(tmp_path):
    allowed, outside = tmp_path / "input", tmp_path / "secret"
    allowed.mkdir()
    outside.mkdir()
    (outside / "key.png").write_bytes(b"x")
    (allowed / "link").symlink_to(outside, target_is_directory=True)
    for value in ("../secret/key.png", "link/key.png", str(outside / "key.png")[:-7] + "nokey.png"):
        with pytest.raises(SettingsFileError) as caught:
            resolve_reference(FileReference("init_image", value, "init image"), [allowed],
                              "the input folder")  # fmt: skip
        message = str(caught.value)
        assert message.startswith("init_image: the init image") and str(tmp_path) not in (
            message.replace(value, "")
        )


def test_settings_verb_prints_the_report_and_exits_0(tmp_path, capsys):
    path = tmp_path / "deforum_settings.txt"
    text = ('{"W": 386, "H": 512, "show_info_on_ui": true, "animation_mode": "2D",'
            ' "noise_type": "uniform", "ENABLE_STORY_MODE": 1}')  # fmt: skip
    path.write_text(text, encoding="utf-8")
    assert main(["settings", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "deforum_settings.txt: sd-webui-deforum settings, animation_mode 2D, 384x512, 120 frames"
    )
    assert any(line.startswith("mapped") and "W: 386 rounded down to 384" in line for line in out)
    assert any("noise_type: 'uniform' is Deforum's name for Gaussian noise" in line for line in out)
    assert any("ENABLE_STORY_MODE: not a Deforum setting the pack knows" in line for line in out)


def test_settings_verb_exits_2_for_what_is_not_settings(tmp_path, capsys):
    path = tmp_path / "workflow.json"
    path.write_text('{"1": {"class_type": "KSampler", "inputs": {}}}', encoding="utf-8")
    assert main(["settings", str(path)]) == 2
    assert "error: settings: workflow.json has none of Deforum's settings keys" in (
        capsys.readouterr().err
    )
    assert main(["settings", str(tmp_path / "missing.txt")]) == 2
    assert "cannot read missing.txt: No such file or directory" in capsys.readouterr().err
