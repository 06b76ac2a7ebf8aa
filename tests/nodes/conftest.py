"""Fixtures of the node tests."""

from __future__ import annotations

import importlib

import pytest


@pytest.fixture
def host(pack, tmp_path, monkeypatch):
    """The headless host with its output and input folders in tmp_path."""
    bridge = importlib.import_module(f"{pack.__name__}.nodes.comfy_bridge")
    (tmp_path / "input").mkdir()
    monkeypatch.setattr(bridge.HEADLESS, "output", tmp_path / "output")
    monkeypatch.setattr(bridge.HEADLESS, "input", tmp_path / "input")
    monkeypatch.setattr(bridge.HEADLESS, "quiet", True)
    return bridge.HEADLESS
