"""Prompt schedules: Deforum's JSON and line forms, --neg, global text, backtick math, blends."""

import pytest

from deforum_core import ScheduleError, parse_prompt_schedule


def test_json_form_gives_current_next_and_blend_per_frame():
    frames = parse_prompt_schedule('{"0": "a cat", "4": "a dog"}').evaluate(6)
    assert [f.positive for f in frames] == ["a cat"] * 4 + ["a dog"] * 2
    assert [f.next_positive for f in frames] == ["a dog"] * 6
    assert [f.blend for f in frames] == [0.0, 0.25, 0.5, 0.75, 0.0, 0.0]
    assert [f.key_frame for f in frames] == [0, 0, 0, 0, 4, 4]
    assert [f.next_key_frame for f in frames] == [4, 4, 4, 4, 4, 4]


def test_line_form_with_continuation_lines_and_blank_lines():
    text = "0: a lake\n   at sunrise\n\n10: a forest --neg fog\n"
    frames = parse_prompt_schedule(text).evaluate(11)
    assert frames[0].positive == "a lake at sunrise"
    assert frames[10].positive == "a forest"
    assert frames[10].negative == "fog"


def test_neg_splits_and_global_text_is_composed_like_deforum():
    schedule = parse_prompt_schedule(
        '{"0": "a cat --neg blurry"}', positive="masterpiece,", negative="lowres"
    )
    frame = schedule.evaluate(1)[0]
    assert frame.positive == "masterpiece, a cat"
    assert frame.negative == "blurry lowres"


def test_global_negative_applies_to_prompts_without_neg():
    frame = parse_prompt_schedule('{"0": "a cat"}', negative="lowres").evaluate(1)[0]
    assert (frame.positive, frame.negative) == ("a cat", "lowres")


def test_backtick_math_is_evaluated_per_frame_in_current_and_next_prompt():
    schedule = parse_prompt_schedule(
        '{"0": "(cat:`1 + t/10`)", "10": "(dog:`max_f - t`) --neg (fog:`s`)"}'
    )
    frames = schedule.evaluate(12, seed=7)
    assert frames[0].positive == "(cat:1)"
    assert frames[5].positive == "(cat:1.5)"
    assert frames[5].next_positive == "(dog:6)"
    assert frames[11].positive == "(dog:0)"
    assert frames[11].negative == "(fog:7)"


def test_sqrt_in_backticks_is_not_mangled_by_the_letter_t():
    # Deforum replaces every letter t in the math with the frame number, breaking sqrt.
    frame = parse_prompt_schedule('{"0": "a `sqrt(t)`"}').evaluate(5)[4]
    assert frame.positive == "a 2"


def test_expression_keys_and_missing_frame_zero():
    frames = parse_prompt_schedule('{"5": "a cat", "max_f": "a dog"}').evaluate(11)
    assert frames[0].positive == "a cat" and frames[0].blend == 0.0  # first prompt holds
    assert frames[0].next_positive == "a cat"
    assert frames[5].positive == "a cat" and frames[5].next_positive == "a dog"
    assert frames[10].positive == "a dog"
    assert frames[8].blend == pytest.approx(0.6)


def test_line_form_with_quoted_expression_key():
    frames = parse_prompt_schedule('0: a cat\n"max_f-1": a dog').evaluate(10)
    assert frames[8].positive == "a dog" and frames[7].positive == "a cat"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty prompt schedule"),
        ('{"0": "a cat",}', "not valid JSON"),
        ('{"0": 5}', "is int, not text"),
        ("a cat without a frame", "the first prompt has no frame number"),
        ('{"0": "a `sin(t` cat"}', "unclosed '('"),
        ('{"0": "a ` cat"}', "unclosed backtick"),
        ('{"t": "a cat"}', "a frame key cannot use t"),
        ('{"0": "a `zoom` cat"}', "unknown name 'zoom'"),
    ],
)
def test_prompt_schedule_errors(text, message):
    with pytest.raises(ScheduleError) as caught:
        parse_prompt_schedule(text).evaluate(10)
    assert message in str(caught.value)
    assert str(caught.value).startswith("prompts: ")


def test_json_error_points_at_the_problem():
    text = '{"0": "a cat",\n "10": "a dog",\n}'
    with pytest.raises(ScheduleError) as caught:
        parse_prompt_schedule(text)
    assert "line 3" in str(caught.value)
    assert "trailing comma" in caught.value.hint
