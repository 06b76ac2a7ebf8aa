"""The words a user types into ComfyUI's node search find the pack's nodes.

The newer frontend searches each node's `search_aliases` besides its name and category; the
server fills them from the class attribute SEARCH_ALIASES (tests/integration/
test_comfyui_server.py checks that the servers under test pass them on where they do).
"""

from __future__ import annotations

import pytest

SEARCHED = ("zoom", "camera", "keyframe", "cadence", "animation")


@pytest.fixture(scope="module")
def aliases(pack) -> dict[str, list[str]]:
    return {
        node_id: getattr(node_class, "SEARCH_ALIASES", None)
        for node_id, node_class in pack.NODE_CLASS_MAPPINGS.items()
    }


def test_every_node_has_search_aliases(aliases) -> None:
    for node_id, words in aliases.items():
        assert isinstance(words, list) and words, f"{node_id} has no SEARCH_ALIASES"
        assert all(isinstance(word, str) and word == word.strip() and word for word in words)
        assert len(set(words)) == len(words), f"{node_id} repeats an alias"


@pytest.mark.parametrize("word", SEARCHED)
def test_the_searched_words_find_a_node(aliases, word: str) -> None:
    assert [node_id for node_id, words in aliases.items() if word in words], word


def test_the_searches_find_the_nodes_they_are_about(aliases) -> None:
    assert {"zoom", "camera"} <= set(aliases["DeforumMotion2D"])
    assert {"camera", "3d"} <= set(aliases["DeforumMotion3D"])
    assert "keyframe" in aliases["DeforumSchedule"] and "keyframe" in aliases["DeforumPrompts"]
    assert {"animation", "cadence"} <= set(aliases["DeforumAnimate"])
    assert {"mp4", "video", "ffmpeg"} <= set(aliases["DeforumVideo"])
