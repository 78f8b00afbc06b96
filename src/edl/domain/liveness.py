"""Active liveness (活体检测) as rules: the challenge a holder is asked to perform, and the decision over what was
measured in the frames they sent. Plain Python: the measuring (face detection, landmarks, head pose, descriptors,
hashes) is done elsewhere (`edl.applications.liveness`) and handed in as `FrameMeasure`s.

The protocol, in time order:

1. The server draws a challenge: a one-time nonce and a random sequence of 2–3 actions (turn left, turn right,
   blink), no action twice in a row, at least one turn (it shows the parallax of a head) and one blink (no print
   can).
2. The capture runs on a fixed timeline: a frontal window (the holder looks at the screen), then one window per
   action and a short tail; during each the page shows its prompt ("请向左转头"). The page takes 10-15 frames at
   the times `frame_times` names; each carries its time (ms since the capture began).
3. The decision (`decide`) passes only when every frame holds exactly one face of the registry photo's person,
   consistently; the frontal frames are frontal; each action shows in its own window and in no earlier one (so a
   replay in another order fails); a turn shows the parallax of a head rather than one flat plane; and no frame is a
   near-copy of the registry photo or of an earlier attempt's frame.

The answer is pass, or fail with one reason that says what to do. Never a score (GB/T 38671-2020: an attacker must
not be able to tune against it).
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Action(StrEnum):
    TURN_LEFT = "turn_left"  # the holder's left: in the (unmirrored) camera image the nose moves to the right
    TURN_RIGHT = "turn_right"
    BLINK = "blink"

    @property
    def is_turn(self) -> bool:
        return self is not Action.BLINK


PROMPTS: dict[Action | None, tuple[str, str]] = {
    None: ("请正对屏幕，保持不动", "Look straight at the screen and hold still"),
    Action.TURN_LEFT: ("请向左转头", "Turn your head to the left"),
    Action.TURN_RIGHT: ("请向右转头", "Turn your head to the right"),
    Action.BLINK: ("请闭眼，再睁开", "Close your eyes, then open them"),
}

FRONTAL_MS = 800
"""The first window: the holder looks at the screen. Its frames set the holder's own frontal pose."""
ACTION_MS = 1200
"""Each action's window: time to react, move and come back."""
TAIL_MS = 400
"""After the last action: the holder looks back at the screen (a blink at the end must be seen to reopen)."""
FRAMES_IN: dict[Action | None, tuple[int, int, int]] = {
    None: (3, 100, 0),
    Action.TURN_LEFT: (3, 350, 150),
    Action.TURN_RIGHT: (3, 350, 150),
    Action.BLINK: (4, 300, 100),
}
"""Per window: how many frames, and how far from its start and its end the first and last are taken (ms). A turn
is held for a while, so 3 frames past the reaction time see it; a blink is short, so 4 frames close together."""
MAX_TURN = 60.0
"""A yaw further than this from the frontal pose is not a head turned for the camera: no parallax is read from it."""
MIN_FRAMES = 8
MAX_FRAMES = 15
CHALLENGE_SECONDS = 60
"""A challenge must be answered within this long of being issued, and only once."""


@dataclass(frozen=True, slots=True)
class Window:
    action: Action | None
    start_ms: int
    end_ms: int

    def holds(self, t_ms: int, slack_ms: int = 0) -> bool:
        return self.start_ms - slack_ms <= t_ms < self.end_ms + slack_ms


def timeline(actions: Sequence[Action]) -> tuple[Window, ...]:
    """The frontal window, then one window per action, back to back."""
    windows = [Window(None, 0, FRONTAL_MS)]
    start = FRONTAL_MS
    for action in actions:
        windows.append(Window(action, start, start + ACTION_MS))
        start += ACTION_MS
    return tuple(windows)


def capture_ms(actions: Sequence[Action]) -> int:
    return FRONTAL_MS + ACTION_MS * len(actions) + TAIL_MS


def frame_times(actions: Sequence[Action]) -> tuple[int, ...]:
    """When the page takes its frames (ms since the capture began): per window as `FRAMES_IN` says, and one in the
    tail. 10 to 15 frames for 2 or 3 actions."""
    times: list[int] = []
    for window in timeline(actions):
        count, first, last = FRAMES_IN[window.action]
        start, end = window.start_ms + first, window.end_ms - last
        step = (end - start) / count
        times.extend(int(start + step * i) for i in range(count))
    times.append(capture_ms(actions) - TAIL_MS // 2)
    return tuple(times)


def draw_actions(rng: random.Random) -> tuple[Action, ...]:
    """2 or 3 actions, none twice in a row, at least one turn and one blink.

    The turn shows the parallax of a head; the blink is what no print can do (a bent print, turned, can come close
    to a head's parallax in the landmarks' noise, so the blink is the one every challenge asks for)."""
    while True:
        n = rng.choice((2, 3))
        picked: list[Action] = []
        for _ in range(n):
            choices = [a for a in Action if not picked or a is not picked[-1]]
            picked.append(rng.choice(choices))
        if any(a.is_turn for a in picked) and Action.BLINK in picked:
            return tuple(picked)


def parse_actions(text: str) -> tuple[Action, ...]:
    """The stored form ('turn_left,blink') back to actions; ValueError on anything else."""
    actions = tuple(Action(part) for part in text.split(",") if part)
    if not 2 <= len(actions) <= 3:
        raise ValueError("a challenge has 2 or 3 actions")
    return actions


# --- the decision ----------------------------------------------------------------------------------------------------


class Failure(StrEnum):
    """Why a burst was refused; each has a message that says what to do (`MESSAGES`)."""

    FRAMES = "frames"  # wrong number of frames, unreadable, out of order or outside the timeline
    NO_FACE = "no_face"
    SEVERAL_FACES = "several_faces"
    MISMATCH = "mismatch"  # not the person on the registry photo (or not the same person throughout)
    NOT_FRONTAL = "not_frontal"  # the first frames are not a steady frontal view
    ACTION = "action"  # an action missing, early, or in the wrong direction (see `Verdict.action`)
    FLAT = "flat"  # the movement is that of a flat picture, not a head
    REPLAY = "replay"  # a frame is a near-copy of the registry photo or of an earlier attempt
    NO_REFERENCE = "no_reference"  # the registry photo has no single usable face: nothing to compare with


MESSAGES: dict[Failure, tuple[str, str]] = {
    Failure.FRAMES: (
        "未能完整采集画面，请保持网络畅通，按提示重新认证。",
        "The capture was incomplete. Keep the page open and try again, following the prompts.",
    ),
    Failure.NO_FACE: (
        "部分画面中未检测到人脸。请在光线充足处正对镜头，整个脸部保持在取景框内，按提示重新认证。",
        "Your face was not found in every frame. Face the camera in good light, keep your whole face in the frame "
        "and try again.",
    ),
    Failure.SEVERAL_FACES: (
        "画面中出现了多张人脸。请确保只有您本人在镜头前，重新认证。",
        "More than one face was in view. Make sure only you are in front of the camera and try again.",
    ),
    Failure.MISMATCH: (
        "人脸与驾驶证档案照片不一致。须由驾驶人本人认证；多次不通过请携带身份证到车辆管理所办理。",
        "The face does not match the photo on the licence record. Only the licence holder can pass; if it keeps "
        "failing, visit a vehicle administration office with your ID card.",
    ),
    Failure.NOT_FRONTAL: (
        "开始时请正对屏幕、保持不动，看到提示后再做动作。",
        "At the start, look straight at the screen and hold still; move only when the prompt tells you to.",
    ),
    Failure.ACTION: (
        "未按提示完成动作。请看清每个提示后再做，动作幅度稍大一些。",
        "The actions were not done as prompted. Do each action when its prompt shows, a little more clearly.",
    ),
    Failure.FLAT: (
        "未能确认是真人在镜头前。请本人直接面对摄像头认证，不要使用照片或屏幕。",
        "We could not confirm that a live person is in front of the camera. Face the camera yourself; photos and "
        "screens are not accepted.",
    ),
    Failure.REPLAY: (
        "画面与已有照片或以前的认证画面相同。请本人现场重新认证，不要使用照片、录像或屏幕。",
        "The frames repeat an existing photo or an earlier attempt. Take the check live yourself; photos, videos "
        "and screens are not accepted.",
    ),
    Failure.NO_REFERENCE: (
        "档案照片无法用于人脸比对。请携带身份证到车辆管理所采集照片后再认证。",
        "The photo on your licence record cannot be used for face comparison. Visit a vehicle administration "
        "office with your ID card to have your photo taken, then try again.",
    ),
}

ACTION_HINTS: dict[Action, tuple[str, str]] = {
    Action.TURN_LEFT: ("请按提示向左转头", "Turn your head to the left when prompted"),
    Action.TURN_RIGHT: ("请按提示向右转头", "Turn your head to the right when prompted"),
    Action.BLINK: ("请按提示闭眼再睁开", "Close and open your eyes when prompted"),
}


@dataclass(frozen=True, slots=True)
class FrameMeasure:
    """What was measured in one frame (None where it could not be, e.g. no single face)."""

    t_ms: int
    faces: int
    distance: float | None = None
    """Descriptor distance to the registry photo's face."""
    spread: float | None = None
    """Descriptor distance to the mean descriptor of this burst's frontal frames (consistency)."""
    yaw: float | None = None
    """Head yaw in degrees, positive towards the holder's left (solvePnP on the landmarks)."""
    ear: float | None = None
    """Eye aspect ratio, mean of both eyes (open ≈ 0.3, closed < 0.15)."""
    parallax: float | None = None
    """How far the landmark motion from the frontal pose departs from a flat picture turned or bent (0 = flat)."""
    near_copy: bool = False
    """A near-copy (perceptual hash) of the registry photo or of a frame from an earlier attempt."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The decision's limits (docs/applications.md says how they were set, on what data)."""

    match_distance: float = 0.5
    """The frontal frames' median descriptor distance to the registry photo (EDL_FACE_MATCH_THRESHOLD)..."""
    frame_distance: float = 0.6
    """...and every frame's, turned or blinking included (dlib's documented same-person bound)."""
    spread: float = 0.5
    """Every frame's distance to the mean of this burst's frontal frames: one person throughout."""
    frontal_yaw: float = 15.0
    """Frontal frames: within this of their own median (steady)."""
    frontal_abs_yaw: float = 25.0
    """...and within this of the camera axis."""
    turn_yaw: float = 12.0
    early_yaw: float = 18.0
    """A turn outside its window (too early, or the opposite way inside one) counts only when this clear..."""
    stray_frames: int = 2
    """...and seen in this many frames: the yaw of a blinking or still face wanders, and a landmark fit far from
    frontal can now and then read the wrong side in one frame."""
    """A turn counts when the yaw departs this far from the frontal median, in the prompted direction."""
    blink_ratio: float = 0.7
    """A blink: the eye aspect ratio falls below this fraction of the frontal frames' median..."""
    reopen_ratio: float = 0.85
    """...and later rises back above this fraction."""
    blink_max_yaw: float = 12.0
    parallax: float = 0.095
    """Nose parallax per unit of turn: over the frames turned at least `turn_yaw`, the median of each frame's nose
    misfit (inter-ocular distances) divided by the sine of its turn must reach this. A head's nose stands out of
    its face, so its misfit grows with the turn; a picture's stays at the landmarks' noise."""
    slack_ms: int = 300
    """A movement may start or end this much outside its window (reaction time, frame timing)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    passed: bool
    failure: Failure | None = None
    action: Action | None = None
    """For Failure.ACTION: the action that was not done as prompted."""
    detail: dict[str, object] = field(default_factory=dict)
    """For the audit log (not shown to the holder): which rule refused, which frame."""

    def message(self) -> tuple[str, str]:
        if self.passed:
            return ("实人认证通过。", "Real-person authentication passed.")
        assert self.failure is not None
        zh, en = MESSAGES[self.failure]
        if self.failure is Failure.ACTION and self.action is not None:
            hint_zh, hint_en = ACTION_HINTS[self.action]
            return (f"{hint_zh}。{zh}", f"{hint_en}. {en}")
        return zh, en


PASSED = Verdict(True)


def _refuse(failure: Failure, action: Action | None = None, **detail: object) -> Verdict:
    return Verdict(False, failure, action, dict(detail))


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def check_timings(actions: Sequence[Action], times: Sequence[int]) -> Verdict | None:
    """The frames' times: MIN_FRAMES..MAX_FRAMES of them, strictly increasing, inside the timeline (with slack),
    the frontal window and every action window sampled. None when fine."""
    if not MIN_FRAMES <= len(times) <= MAX_FRAMES:
        return _refuse(Failure.FRAMES, rule="count", frames=len(times))
    if any(b <= a for a, b in itertools.pairwise(times)) or times[0] < 0:
        return _refuse(Failure.FRAMES, rule="order")
    if times[-1] > capture_ms(actions) + 1000:
        return _refuse(Failure.FRAMES, rule="too_long", last_ms=times[-1])
    for window in timeline(actions):
        if not any(window.holds(t) for t in times):
            return _refuse(Failure.FRAMES, rule="window_unsampled", window=str(window.action))
    return None


def _window_of(windows: Sequence[Window], t_ms: int) -> Window:
    """The window `t_ms` falls in (the last one for the tail)."""
    for window in windows:
        if t_ms < window.end_ms:
            return window
    return windows[-1]


def _turned(yaw: float, action: Action, baseline: float, limit: float) -> bool:
    rel = yaw - baseline
    return rel >= limit if action is Action.TURN_LEFT else rel <= -limit


def decide(actions: Sequence[Action], frames: Sequence[FrameMeasure], limits: Thresholds | None = None) -> Verdict:
    """Pass or fail (with one reason) for the measured burst of a challenge with these `actions`."""
    lim = limits or Thresholds()
    timing = check_timings(actions, [f.t_ms for f in frames])
    if timing is not None:
        return timing
    for i, f in enumerate(frames):
        if f.faces == 0:
            return _refuse(Failure.NO_FACE, frame=i)
        if f.faces > 1:
            return _refuse(Failure.SEVERAL_FACES, frame=i)
        if f.distance is None or f.yaw is None or f.ear is None:
            return _refuse(Failure.NO_FACE, frame=i, rule="unmeasured")
    for i, f in enumerate(frames):
        if f.near_copy:
            return _refuse(Failure.REPLAY, frame=i)
    windows = timeline(actions)
    frontal_distances = [f.distance for f in frames if f.t_ms < windows[0].end_ms and f.distance is not None]
    if not frontal_distances or _median(frontal_distances) > lim.match_distance:
        return _refuse(Failure.MISMATCH, rule="registry")
    for i, f in enumerate(frames):
        assert f.distance is not None
        if f.distance > lim.frame_distance:
            return _refuse(Failure.MISMATCH, frame=i, rule="registry_frame")
        if f.spread is not None and f.spread > lim.spread:
            return _refuse(Failure.MISMATCH, frame=i, rule="consistency")

    frontal = [f for f in frames if f.t_ms < windows[0].end_ms]
    yaws = [f.yaw for f in frontal if f.yaw is not None]
    ears = [f.ear for f in frontal if f.ear is not None]
    baseline = _median(yaws)
    if abs(baseline) > lim.frontal_abs_yaw or any(abs(y - baseline) > lim.frontal_yaw for y in yaws):
        return _refuse(Failure.NOT_FRONTAL, rule="yaw")
    open_ear = _median(ears)
    if open_ear <= 0:
        return _refuse(Failure.NOT_FRONTAL, rule="eyes")

    def shows(f: FrameMeasure, action: Action, turn: float = lim.turn_yaw) -> bool:
        assert f.yaw is not None and f.ear is not None
        if action is Action.BLINK:
            return f.ear < lim.blink_ratio * open_ear and abs(f.yaw - baseline) <= lim.blink_max_yaw
        return _turned(f.yaw, action, baseline, turn)

    # Every action shows in its own window (with slack) and in no window before it; the opposite turn never shows
    # in a turn's window.
    for index, window in enumerate(windows[1:], start=1):
        action = window.action
        assert action is not None
        inside = [f for f in frames if window.holds(f.t_ms, lim.slack_ms)]
        if not any(shows(f, action) for f in inside):
            return _refuse(Failure.ACTION, action, rule="missing", window=index)
        early = [
            f
            for f in frames
            if f.t_ms < window.start_ms - lim.slack_ms and _window_of(windows, f.t_ms).action is not action
        ]
        if sum(shows(f, action, lim.early_yaw) for f in early) >= lim.stray_frames:
            return _refuse(Failure.ACTION, action, rule="early", window=index)
        if action.is_turn:
            opposite = Action.TURN_RIGHT if action is Action.TURN_LEFT else Action.TURN_LEFT
            strict = [f for f in frames if window.holds(f.t_ms)]
            if sum(shows(f, opposite, lim.early_yaw) for f in strict) >= lim.stray_frames:
                return _refuse(Failure.ACTION, action, rule="opposite", window=index)
        else:
            closed = [i for i, f in enumerate(frames) if window.holds(f.t_ms, lim.slack_ms) and shows(f, action)]
            after = frames[closed[0] + 1 :]
            if not any(f.ear is not None and f.ear >= lim.reopen_ratio * open_ear for f in after):
                return _refuse(Failure.ACTION, action, rule="not_reopened", window=index)

    per_turn = [
        (f.parallax if math.isfinite(f.parallax) else 0.0) / math.sin(math.radians(abs(f.yaw - baseline)))
        for f in frames
        if f.yaw is not None and f.parallax is not None and lim.turn_yaw <= abs(f.yaw - baseline) <= MAX_TURN
    ]
    if not per_turn:
        return _refuse(Failure.FLAT, rule="no_turned_frame")
    if _median(per_turn) < lim.parallax:
        return _refuse(Failure.FLAT, rule="parallax")
    return PASSED


# --- what the page sends -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimedFrame:
    """One JPEG of the burst and when it was taken (ms since the capture began)."""

    t_ms: int
    data: bytes


@dataclass(frozen=True, slots=True)
class LiveCapture:
    """A burst of frames answering the challenge `challenge` (its nonce)."""

    challenge: str
    frames: tuple[TimedFrame, ...]


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()
