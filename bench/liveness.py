"""Active liveness measured as ISO/IEC 30107-3 does, on the decision pipeline: frames in, pass or fail out.

A plain script: it prints its figures and asserts nothing.

    .venv/bin/python bench/liveness.py                    # 30 sequences per attack kind, 50 genuine
    .venv/bin/python bench/liveness.py --attacks 5 --genuine 8   # a quick look

Every sequence is built by `tests/liveness_synth.py` from the two real portraits the test dependencies ship
(scikit-image's astronaut, matplotlib's Grace Hopper): genuine ones on a 3D head proxy (an ellipsoid with a nose,
textured with the portrait, turned at the challenge's times), each with its own challenge (2-3 random actions) and a
random spread of speed, light, noise, scale, position, background and JPEG quality (`varied`). The attack kinds:

- still: one frontal rendering held still (camera noise only);
- registry_photo: the registry's own photo held to the camera;
- flat_print: the portrait as a flat sheet turned in 3D at the challenge's times (the turn comes out right);
- bent_print: the same sheet bent like paper held by hand (cylindrical bends), turned;
- wrong_order: a live head doing the challenge's actions in another order;
- other_person: the other portrait doing the challenge right;
- replay: a genuine burst sent a second time, its first attempt on record.

Each sequence goes through the built-in verifier (`DlibFaceVerifier.check`: decoding, dlib, OpenCV, the rules) with
the registry photo as reference. APCER = attacks accepted / attacks of that kind; BPCER = genuine refused / genuine.
The time of each check (decoding and all) is measured on this process, one check at a time.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/liveness_synth.py builds the sequences

from tests import liveness_synth as synth

from edl.applications.face import DlibFaceVerifier
from edl.applications.liveness import LivenessResult
from edl.domain.liveness import Action, TimedFrame, draw_actions

Maker = Callable[[str, tuple[Action, ...], synth.Variation], synth.Burst]

ATTACKS: dict[str, Maker] = {
    "still": synth.attack_still,
    "registry_photo": synth.attack_registry_photo,
    "flat_print": lambda p, a, v: synth.attack_flat_print(p, a, v, bend=0.0),
    "bent_print": lambda p, a, v: synth.attack_flat_print(p, a, v, bend=random.Random(v.seed).uniform(0.3, 0.9)),
    "wrong_order": synth.attack_wrong_order,
    "other_person": synth.attack_other_person,
}


def frames_of(burst: synth.Burst) -> list[TimedFrame]:
    return [TimedFrame(t, data) for t, data in zip(burst.times_ms, burst.jpegs(), strict=True)]


def check(
    verifier: DlibFaceVerifier, actions: tuple[Action, ...], frames: list[TimedFrame], person: str, earlier: list[int]
) -> tuple[LivenessResult, float]:
    started = time.perf_counter()
    result = verifier.check(actions, frames, synth.registry_photo(person), earlier)
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attacks", type=int, default=30, help="sequences per attack kind (default 30)")
    parser.add_argument("--genuine", type=int, default=50, help="genuine sequences (default 50)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    verifier = DlibFaceVerifier()
    verifier.analyser()  # load the models before timing
    for person in synth.PERSONS:  # warm the renderer's per-person models
        synth.registry_photo(person)
    times: list[float] = []
    genuine_refused: Counter[str] = Counter()
    genuine_bursts: list[tuple[str, tuple[Action, ...], list[TimedFrame], LivenessResult]] = []

    print(f"genuine: {args.genuine} sequences", flush=True)
    for i in range(args.genuine):
        person = synth.PERSONS[i % 2]
        actions = draw_actions(rng)
        frames = frames_of(synth.genuine(person, actions, synth.varied(rng)))
        result, took = check(verifier, actions, frames, person, [])
        times.append(took)
        if not result.verdict.passed:
            genuine_refused[str(result.verdict.failure)] += 1
        genuine_bursts.append((person, actions, frames, result))

    apcer: dict[str, tuple[int, int, Counter[str]]] = {}
    for kind, make in ATTACKS.items():
        print(f"attack {kind}: {args.attacks} sequences", flush=True)
        accepted, reasons = 0, Counter[str]()
        for i in range(args.attacks):
            person = synth.PERSONS[i % 2]
            actions = draw_actions(rng)
            frames = frames_of(make(person, actions, synth.varied(rng)))
            result, took = check(verifier, actions, frames, person, [])
            times.append(took)
            accepted += result.verdict.passed
            reasons[str(result.verdict.failure)] += 1
        apcer[kind] = (accepted, args.attacks, reasons)

    print(f"attack replay: {args.attacks} sequences", flush=True)
    accepted, reasons = 0, Counter[str]()
    passed_genuine = [g for g in genuine_bursts if g[3].verdict.passed] or genuine_bursts
    for i in range(args.attacks):
        person, actions, frames, first = passed_genuine[i % len(passed_genuine)]
        result, took = check(verifier, actions, frames, person, list(first.hashes))
        times.append(took)
        accepted += result.verdict.passed
        reasons[str(result.verdict.failure)] += 1
    apcer["replay"] = (accepted, args.attacks, reasons)

    print()
    print("| attack kind | sequences | accepted | APCER | refused as |")
    print("|---|---|---|---|---|")
    for kind, (acc, total, why) in apcer.items():
        refused = ", ".join(f"{k} {n}" for k, n in why.most_common() if k != "None")
        print(f"| {kind} | {total} | {acc} | {100 * acc / total:.1f} % | {refused} |")
    worst = max(acc / total for acc, total, _ in apcer.values())
    print(f"\nAPCER (worst kind): {100 * worst:.1f} %")
    refused = sum(genuine_refused.values())
    detail = ", ".join(f"{k} {n}" for k, n in genuine_refused.most_common()) or "none"
    print(f"BPCER: {refused}/{args.genuine} = {100 * refused / args.genuine:.1f} % (refused as: {detail})")
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    print(
        f"time per check ({len(times)} checks, one at a time): median {statistics.median(times):.2f} s, "
        f"p95 {p95:.2f} s, max {ordered[-1]:.2f} s"
    )


if __name__ == "__main__":
    main()
