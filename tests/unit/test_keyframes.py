"""Keyframe schedules evaluated frame by frame against values worked out from Deforum's rules."""

import math

import pytest

from deforum_core import ScheduleError, evaluate_schedule, parse_schedule

FRAMES = 120


def test_expression_key_is_evaluated_on_every_frame():
    values = evaluate_schedule("0:(1.0025+0.002*sin(1.25*3.14*t/30))", FRAMES)
    expected = [1.0025 + 0.002 * math.sin(1.25 * 3.14 * t / 30) for t in range(FRAMES)]
    assert len(values) == FRAMES
    assert values == pytest.approx(expected, abs=1e-15)


def test_numeric_keys_interpolate_linearly_and_the_last_value_holds():
    values = evaluate_schedule("0:(0), 30:(10), 60:(-10)", FRAMES)
    expected = (
        [10 * t / 30 for t in range(31)]
        + [10 - 20 * (t - 30) / 30 for t in range(31, 61)]
        + [-10.0] * (FRAMES - 61)
    )
    assert values == pytest.approx(expected, abs=1e-12)
    assert values[30] == 10.0 and values[60] == -10.0 and values[119] == -10.0


def test_quoted_max_f_key_ramps_to_the_second_last_frame():
    values = evaluate_schedule('0:(0), "max_f-1":(2)', FRAMES)
    # max_f = 119, so the key sits on frame 118; the last frame holds its value.
    expected = [2 * t / 118 for t in range(119)] + [2.0]
    assert values == pytest.approx(expected, abs=1e-12)


def test_whitespace_newlines_and_unquoted_key_expressions_are_accepted():
    text = "0 : ( 0 ) ,\n\n   max_f : (\n 10 )\n"
    assert evaluate_schedule(text, 11) == pytest.approx([float(t) for t in range(11)])


def test_commas_inside_function_arguments_do_not_split_keyframes():
    values = evaluate_schedule("0:(max(t, 5)), 10:(min(t, 3))", 12)
    assert values[:10] == [5.0] * 5 + [5.0, 6.0, 7.0, 8.0, 9.0]
    assert values[10:] == [3.0, 3.0]


def test_schedule_without_frame_zero_holds_the_first_value_before_it():
    assert evaluate_schedule("10:(5), 20:(15)", 25) == pytest.approx(
        [5.0] * 11 + [5.0 + t for t in range(1, 10)] + [15.0] * 5
    )


def test_expression_key_holds_its_own_value_before_it_and_runs_until_the_next_key():
    values = evaluate_schedule("5:(t*2), 8:(0)", 10)
    assert values == [10.0] * 5 + [10.0, 12.0, 14.0, 0.0, 0.0]


def test_numeric_key_ramps_towards_the_value_of_a_following_expression_key():
    values = evaluate_schedule("0:(0), 10:(t)", 12)
    assert values == pytest.approx([float(t) for t in range(12)])


def test_keys_past_the_last_frame_still_shape_the_ramp():
    values = evaluate_schedule("0:(0), 200:(100)", FRAMES)
    assert values == pytest.approx([t / 2 for t in range(FRAMES)])


def test_repeated_frame_keeps_the_last_entry():
    assert evaluate_schedule("0:(1), 0:(2)", 3) == [2.0, 2.0, 2.0]


def test_trailing_comma_is_tolerated():
    assert evaluate_schedule("0:(1), 2:(3),", 3) == [1.0, 2.0, 3.0]


def test_variables_s_fps_and_max_f():
    values = evaluate_schedule("0:(s + fps + max_f + t)", 3, seed=100, fps=24)
    assert values == [126.0, 127.0, 128.0]


def test_step_interpolation_holds_each_key_until_the_next():
    values = evaluate_schedule("0:(0), 3:(9), 5:(1)", 7, interpolation="step")
    assert values == [0.0, 0.0, 0.0, 9.0, 9.0, 1.0, 1.0]


def test_cubic_interpolation_passes_through_keys_without_overshoot():
    values = evaluate_schedule("0:(1), 10:(1.02), 20:(1.02), 30:(1)", 31, interpolation="cubic")
    assert values[0] == 1.0 and values[10] == 1.02 and values[20] == 1.02 and values[30] == 1.0
    assert all(1.0 <= value <= 1.02 + 1e-12 for value in values)
    assert values[11:20] == pytest.approx([1.02] * 9)  # flat between equal keys
    rising = values[:11]
    assert rising == sorted(rising) and len(set(rising)) == 11
    # smooth: the curve eases into the plateau instead of meeting it at an angle
    assert values[9] > 1.0 + 0.02 * 9 / 10


def test_cubic_with_two_keys_is_linear():
    assert evaluate_schedule("0:(0), 4:(8)", 5, interpolation="cubic") == pytest.approx(
        [0.0, 2.0, 4.0, 6.0, 8.0]
    )


def test_key_frames_lists_resolved_key_indices():
    schedule = parse_schedule('30:(1), 0:(0), "max_f":(3)')
    assert schedule.key_frames(61) == [0, 30, 60]


@pytest.mark.parametrize(
    ("text", "reason_part", "hint_part", "position"),
    [
        ("0:(1,02)", "decimal comma", "use '.' as the decimal separator: write 1.02", 4),
        ("0:1,02", "decimal comma", "use '.' as the decimal separator: write 1.02", 3),
        ("0:(1), 10:(2", "unclosed '('", "add the missing ')'", 10),
        ("0:(1)), 10:(2)", "unbalanced ')'", "remove it", 5),
        ("0:(zoom*2)", "unknown name 'zoom'", "available here are e, fps, max_f, pi, s, t", 3),
        ("0:(sine(t))", "unknown function 'sine'", "available functions", 3),
        ("", "empty schedule", "0:(1.0)", None),
        ("  \n ,", "empty schedule", "0:(1.0)", None),
        ("0:(1) 10:(2)", "more than one ':'", "separate keyframes with commas", None),
        ("0:()", "empty parentheses", "(1.0)", 2),
        ("0:", "empty value", "(1.0)", None),
        ("0:(2^3)", "unexpected character '^'", "use ** for powers", 4),
        ("0:(2t)", "missing operator before 't'", "write 2*t", 4),
        ("t:(1)", "a frame key cannot use t", "max_f", 0),
        ("(1.0)", "has no ':'", "frame:(value)", 0),
        ("0:(sqrt(-1))", "sqrt(-1) is undefined", "", 3),
        ("0:(1/(t-2))", "division by zero", "where(", 4),
        ("0:(exp(1000))", "exp(1000) is undefined", "", 3),
        ("0:(1e308*10)", "not a finite number", "finite", 2),
        ("0:(pow(1, 2, 3))", "pow() takes 2 argument(s), got 3", "commas", 3),
        ('0:("1.0")', "unexpected character '\"'", "quotes", 3),
    ],
)
def test_bad_schedules_raise_one_error_type_with_position_and_fix(
    text, reason_part, hint_part, position
):
    with pytest.raises(ScheduleError) as caught:
        evaluate_schedule(text, 10, name="zoom")
    error = caught.value
    assert reason_part in error.reason
    assert hint_part in error.hint
    if position is not None:
        assert error.position == position
    message = str(error)
    assert message.startswith("zoom: ")
    assert reason_part in message


def test_runtime_error_names_the_frame():
    with pytest.raises(ScheduleError) as caught:
        evaluate_schedule("0:(1/(t-2))", 10, name="zoom")
    assert caught.value.frame == 2
    assert "at frame 2" in str(caught.value)


def test_decimal_comma_message_shows_the_text_and_a_caret():
    with pytest.raises(ScheduleError) as caught:
        evaluate_schedule("0:(1,02)", 10, name="zoom")
    lines = str(caught.value).splitlines()
    assert lines[0] == "zoom: decimal comma: ',' is not a decimal separator"
    excerpt_line, caret_line = lines[1], lines[2]
    assert "'0:(1,02)'" in excerpt_line
    assert excerpt_line[caret_line.index("^")] == ","
    assert "decimal separator" in lines[3]


def test_max_frames_must_be_positive():
    with pytest.raises(ScheduleError, match="max_frames must be a whole number"):
        evaluate_schedule("0:(1)", 0)


def test_unknown_interpolation_is_refused():
    with pytest.raises(ScheduleError, match="use one of linear, step, cubic"):
        parse_schedule("0:(1)", interpolation="quadratic")
