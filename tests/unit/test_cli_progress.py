"""The command line's progress: one labelled tqdm bar per job on stderr ("frames" while
Deforum Animate renders, "encoding" while Deforum Video encodes), redrawn in place on a
terminal and written as a few plain lines in a log, never a line per frame."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

from deforum_comfy.nodes.comfy_bridge import HeadlessHost

REPO_ROOT = Path(__file__).resolve().parents[2]
HEADLESS_2D = REPO_ROOT / "workflows" / "headless" / "deforum_2d.json"
SETTINGS_FILES = REPO_ROOT / "tests" / "settings_files"
SCRIPT = Path(sys.executable).with_name("deforum-comfy")
FRAMES = 6

# tqdm's line: "frames:  50%|#####     | 3/6 [00:00<00:00, 9.9frame/s]"
BAR = re.compile(r"^(?P<label>[a-z]+): +(?P<percent>\d+)%\|.*\| (?P<done>\d+)/(?P<total>\d+) \[")
BARE = re.compile(r"^\s*\d+/\d+ frames\s*$")


def small_workflow(folder: Path) -> Path:
    workflow = json.loads(HEADLESS_2D.read_text(encoding="utf-8"))
    for node in workflow.values():
        if node["class_type"] == "DeforumAnimate":
            node["inputs"].update({"width": 64, "height": 64, "max_frames": FRAMES})
    path = folder / HEADLESS_2D.name
    path.write_text(json.dumps(workflow), encoding="utf-8")
    return path


def bars(stderr: str) -> list[tuple[str, int, int]]:
    """(label, done, total) of every bar line; every line of stderr must be one."""
    found = []
    for line in stderr.splitlines():
        match = BAR.match(line)
        assert match, f"not a progress bar line: {line!r}"
        found.append((match["label"], int(match["done"]), int(match["total"])))
    return found


def jobs(found: list[tuple[str, int, int]]) -> list[str]:
    """The labels in the order their bars ran, one per run of consecutive lines."""
    return [label for i, (label, _, _) in enumerate(found) if i == 0 or found[i - 1][0] != label]


def assert_one_bar_per_job(stderr: str, expected_jobs: list[str]) -> None:
    assert "\r" not in stderr  # a log gets lines, not redraws
    assert not [line for line in stderr.splitlines() if BARE.match(line)]
    found = bars(stderr)
    assert jobs(found) == expected_jobs
    for label in set(expected_jobs):
        lines = [(done, total) for name, done, total in found if name == label]
        runs = expected_jobs.count(label)
        assert lines[-1] == (FRAMES, FRAMES)  # each job's bar reaches its end
        assert all(total == FRAMES for _, total in lines)
        assert len(lines) < FRAMES * runs, f"a line per frame for {label}: {lines}"


def test_render_shows_a_frames_bar_then_an_encoding_bar(tmp_path):
    result = subprocess.run(
        [str(SCRIPT), "render", str(small_workflow(tmp_path)), "--preview",
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, check=False, cwd=REPO_ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert_one_bar_per_job(result.stderr, ["frames", "encoding"])
    assert result.stdout.splitlines()[-1].startswith("video: ")  # stdout keeps only results


def test_run_shows_the_same_bars_for_a_settings_file(tmp_path):
    result = subprocess.run(
        [str(SCRIPT), "run", str(SETTINGS_FILES / "N_2d_motion_preset.json"), "--preview",
         "--max-frames", str(FRAMES), "--size", "64x64", "--out", str(tmp_path / "out")],
        capture_output=True, text=True, check=False, cwd=REPO_ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert_one_bar_per_job(result.stderr, ["frames", "encoding"])


def test_on_a_terminal_the_bar_is_redrawn_in_place(tmp_path):
    primary, secondary = os.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the other end closed
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        result = subprocess.run(
            [str(SCRIPT), "render", str(small_workflow(tmp_path)), "--preview",
             "--out", str(tmp_path / "out")],
            stdout=subprocess.PIPE, stderr=secondary, check=False, cwd=REPO_ROOT,
        )  # fmt: skip
    finally:
        os.close(secondary)
    reader.join(timeout=10)
    os.close(primary)
    assert result.returncode == 0
    screen = b"".join(chunks).decode("utf-8", "replace")
    lines = [line for line in screen.replace("\r\n", "\n").split("\n") if line]
    # one screen line per job, each redrawn with carriage returns up to its last count
    assert [line.split("\r")[-1].split(":")[0].strip() for line in lines] == [
        "frames",
        "encoding",
    ]
    for line in lines:
        redraws = [part for part in line.split("\r") if part.strip()]
        assert len(redraws) > 1
        assert BAR.match(redraws[-1].strip())["done"] == str(FRAMES)


def test_the_host_starts_a_new_bar_per_job_and_quiet_silences_it(capsys):
    host = HeadlessHost()
    for done in range(1, 4):
        host.report(done, 3)  # the first job runs to its end
    host.report(1, 3)  # the same label again: a new job, a new bar
    host.report(2, 4, "encoding")  # another label: the unfinished bar is closed first
    host.finish()
    # off a terminal each bar is a line when it opens and one when it closes
    assert bars(capsys.readouterr().err) == [
        ("frames", 0, 3), ("frames", 3, 3),
        ("frames", 0, 3), ("frames", 1, 3),
        ("encoding", 0, 4), ("encoding", 2, 4),
    ]  # fmt: skip
    host.quiet = True
    host.report(1, 2)
    host.report(2, 2)
    host.finish()
    assert capsys.readouterr().err == ""
