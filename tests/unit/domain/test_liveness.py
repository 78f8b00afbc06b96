"""The liveness rules (edl.domain.liveness) on measured frames: a genuine burst passes; each way an attack or a
careless holder departs from it fails with its own reason, and never with a score."""

from __future__ import annotations

import dataclasses
import itertools
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edl.domain.liveness import (
    MAX_FRAMES,
    MESSAGES,
    MIN_FRAMES,
    Action,
    Failure,
    FrameMeasure,
    capture_ms,
    decide,
    draw_actions,
    frame_times,
    parse_actions,
    timeline,
)

TURN = 25.0


def pose_at(actions: tuple[Action, ...], t: int) -> tuple[float, float]:
    """(yaw, ear) of a well-behaved holder at time t: the action's movement in the middle of its window."""
    for window in timeline(actions)[1:]:
        assert window.action is not None
        middle = (window.start_ms + window.end_ms) / 2
        if window.start_ms <= t < window.end_ms and abs(t - middle) <= (160 if window.action is Action.BLINK else 380):
            if window.action is Action.BLINK:
                return 0.0, 0.1
            return (TURN if window.action is Action.TURN_LEFT else -TURN), 0.3
    return 0.0, 0.3


def genuine(actions: tuple[Action, ...], times: tuple[int, ...] | None = None) -> list[FrameMeasure]:
    frames = []
    for t in times or frame_times(actions):
        yaw, ear = pose_at(actions, t)
        turned = abs(yaw) >= 15
        frames.append(
            FrameMeasure(t, 1, distance=0.3, spread=0.1, yaw=yaw + 2.0, ear=ear, parallax=0.05 if turned else 0.01)
        )
    return frames


LEFT_BLINK_RIGHT = (Action.TURN_LEFT, Action.BLINK, Action.TURN_RIGHT)


def test_a_genuine_burst_passes() -> None:
    verdict = decide(LEFT_BLINK_RIGHT, genuine(LEFT_BLINK_RIGHT))
    assert verdict.passed, verdict


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_every_drawn_challenge_is_2_or_3_actions_with_a_turn_a_blink_and_no_repeat_and_a_genuine_burst_passes(
    seed: int,
) -> None:
    actions = draw_actions(random.Random(seed))
    assert 2 <= len(actions) <= 3
    assert any(a.is_turn for a in actions) and Action.BLINK in actions
    assert all(a is not b for a, b in itertools.pairwise(actions))
    assert parse_actions(",".join(a.value for a in actions)) == actions
    times = frame_times(actions)
    assert MIN_FRAMES <= len(times) <= MAX_FRAMES
    assert all(any(w.holds(t) for t in times) for w in timeline(actions)), "every window is sampled"
    assert times[-1] < capture_ms(actions)
    assert decide(actions, genuine(actions)).passed


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_the_same_movements_in_another_order_fail_on_an_action(seed: int) -> None:
    actions = draw_actions(random.Random(seed))
    other = tuple(reversed(actions))
    if other == actions:  # a palindrome (left, blink, left): the replay turns the other way instead
        swap = {Action.TURN_LEFT: Action.TURN_RIGHT, Action.TURN_RIGHT: Action.TURN_LEFT, Action.BLINK: Action.BLINK}
        other = tuple(swap[a] for a in actions)
    verdict = decide(actions, genuine(other))
    assert not verdict.passed and verdict.failure is Failure.ACTION


def _with(frames: list[FrameMeasure], index: int, **change: object) -> list[FrameMeasure]:
    copy = list(frames)
    copy[index] = dataclasses.replace(copy[index], **change)  # type: ignore[arg-type]
    return copy


def test_each_departure_fails_with_its_own_reason() -> None:
    a = LEFT_BLINK_RIGHT
    g = genuine(a)
    cases: dict[str, tuple[list[FrameMeasure], Failure]] = {
        "no face in one frame": (_with(g, 4, faces=0, yaw=None, ear=None, distance=None), Failure.NO_FACE),
        "two faces": (_with(g, 7, faces=2), Failure.SEVERAL_FACES),
        "someone else": ([dataclasses.replace(f, distance=0.7) for f in g], Failure.MISMATCH),
        "a face swapped in": (_with(g, 9, spread=0.8), Failure.MISMATCH),
        "one frame a near-copy": (_with(g, 2, near_copy=True), Failure.REPLAY),
        "a still picture": ([dataclasses.replace(f, yaw=1.0, ear=0.3, parallax=0.0) for f in g], Failure.ACTION),
        "turned but flat": ([dataclasses.replace(f, parallax=0.015) for f in g], Failure.FLAT),
        "looking away at the start": (_with(g, 0, yaw=40.0), Failure.NOT_FRONTAL),
        "too few frames": (g[: MIN_FRAMES - 1], Failure.FRAMES),
        "times out of order": (_with(g, 3, t_ms=g[2].t_ms), Failure.FRAMES),
    }
    for name, (frames, failure) in cases.items():
        verdict = decide(a, frames)
        assert not verdict.passed and verdict.failure is failure, (name, verdict)


def test_a_blink_must_close_and_reopen_the_eyes() -> None:
    a = (Action.BLINK, Action.TURN_LEFT)
    closed_for_good = [
        dataclasses.replace(f, ear=0.1) if f.t_ms >= timeline(a)[1].start_ms + 400 else f for f in genuine(a)
    ]
    verdict = decide(a, closed_for_good)
    assert verdict.failure is Failure.ACTION and verdict.action is Action.BLINK


def test_an_action_done_before_its_prompt_fails() -> None:
    a = (Action.BLINK, Action.TURN_LEFT)
    early = [dataclasses.replace(f, yaw=TURN, parallax=0.12) if f.t_ms < 500 else f for f in genuine(a)]
    verdict = decide(a, early)
    assert not verdict.passed and verdict.failure in (Failure.NOT_FRONTAL, Failure.ACTION)


def test_the_opposite_turn_inside_a_turn_window_fails() -> None:
    a = (Action.TURN_LEFT, Action.BLINK)
    window = timeline(a)[1]
    both = [
        dataclasses.replace(f, yaw=-TURN, parallax=0.12) if window.start_ms <= f.t_ms < window.start_ms + 700 else f
        for f in genuine(a)
    ]
    verdict = decide(a, both)
    assert verdict.failure is Failure.ACTION and verdict.action is Action.TURN_LEFT


def test_one_stray_frame_read_the_wrong_way_does_not_refuse_a_genuine_burst() -> None:
    a = (Action.BLINK, Action.TURN_RIGHT)
    window = timeline(a)[2]
    frames = genuine(a)
    first = next(i for i, f in enumerate(frames) if window.holds(f.t_ms))
    frames[first] = dataclasses.replace(frames[first], yaw=30.0)  # one landmark fit read the other side
    assert decide(a, frames).passed


def test_a_frame_outside_the_timeline_fails() -> None:
    a = (Action.TURN_LEFT, Action.TURN_RIGHT)
    frames = genuine(a)
    frames[-1] = dataclasses.replace(frames[-1], t_ms=capture_ms(a) + 5000)
    assert decide(a, frames).failure is Failure.FRAMES


@pytest.mark.parametrize("failure", list(Failure))
def test_messages_say_what_to_do_in_both_languages_and_carry_no_score(failure: Failure) -> None:
    zh, en = MESSAGES[failure]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh) and en.isascii()
    assert not re.search(r"\d", zh + en), "a message must not reveal a number an attacker could tune against"


def test_the_action_hint_names_the_action_in_chinese() -> None:
    a = (Action.TURN_LEFT, Action.BLINK)
    still = [dataclasses.replace(f, yaw=0.0, ear=0.3) for f in genuine(a)]
    zh, en = decide(a, still).message()
    assert zh.startswith("请按提示向左转头") and en.startswith("Turn your head to the left")


def test_a_challenge_of_one_or_four_actions_is_not_accepted_from_storage() -> None:
    with pytest.raises(ValueError):
        parse_actions("turn_left")
    with pytest.raises(ValueError):
        parse_actions("turn_left,blink,turn_right,blink")
    with pytest.raises(ValueError):
        parse_actions("turn_left,smile")
