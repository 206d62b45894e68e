"""A rollback drill: roll a model back and forward again against a live gateway under load,
and measure what its users saw.

Steps: a constant load of the stable version's first example input on the model's predict
path; after ``warmup`` seconds ``rollback`` (all traffic to the previous stable version); while
the restored version serves, its example inputs are sent through the same path and its answers
compared with its reference outputs; after ``hold`` seconds the stable version is deployed again
(roll-forward); ``hold`` seconds later the load stops. Every answer's ``X-Modelkeep-Version``
header times the two switches. If anything fails midway the stable version is deployed again,
so a drill never leaves a model rolled back.

Reference outputs are recorded at a version's first drill, by running its example inputs
through its own loader in this process (``Keep.predict``), not through the gateway under test;
later drills compare the gateway's answers with them (numbers within 1e-6, relative).
"""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from email.message import Message
from typing import Any

from modelkeep.clock import now_iso
from modelkeep.errors import InvalidInputError, NotDeployedError, RolloutStateError
from modelkeep.interface import KeepInterface
from modelkeep.registry.drills import DrillResult, Switch

from .plan import build_plan, check_target
from .runner import Progress, check_reachable, run_load

VERSION_HEADER = "X-Modelkeep-Version"


def _http(method: str, url: str, body: Any = None, timeout: float = 10.0
          ) -> tuple[int, Message, Any]:
    """Status, headers (names in any case) and JSON body of one request."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.headers, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, None


def same(a: Any, b: Any, rel: float = 1e-6) -> bool:
    """Equal JSON values, numbers within ``rel`` (relative) of each other."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y, rel) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], rel) for k in a)
    return bool(a == b)


def switch_of(tracked: tuple[tuple[float, str, bool], ...], to: str, start: float, end: float
              ) -> Switch:
    """How traffic answered between ``start`` (the command) and ``end`` moved to ``to``."""
    answers = [(t, v) for t, v, ok in tracked if ok and start <= t < end]
    first = next((t for t, v in answers if v == to), None)
    if first is None:
        return Switch(to, None, None)
    others = [t for t, v in answers if v != to]
    last_other = max(others, default=None)
    if last_other is not None and not any(t > last_other and v == to for t, v in answers):
        return Switch(to, round(first - start, 4), None)  # never 100%
    full = 0.0 if last_other is None or last_other < first else last_other - first
    return Switch(to, round(first - start, 4), round(full, 4))


def _check_state(keep: KeepInterface, name: str) -> tuple[str, str]:
    state = keep.deployment(name)
    if state.stable is None:
        raise RolloutStateError(f"cannot drill {name}: it has no stable version (never deployed)",
                                hint=f"deploy one first: modelkeep deploy {name}@VERSION",
                                name=name, action="drill")
    if state.active_rollout is not None:
        raise RolloutStateError(f"cannot drill {name}: a rollout to "
                                f"{state.active_rollout.candidate} is running (a rollback "
                                "would abort it)", hint=f"modelkeep deploy promote|abort {name}",
                                name=name, action="drill")
    if not state.previous:
        raise RolloutStateError(f"cannot drill {name}: {state.stable} is the only stable version "
                                "it has had, so there is nothing to roll back to",
                                hint=f"deploy a second version first: modelkeep deploy {name}@VERSION",
                                name=name, action="drill")
    return state.stable, state.previous[0]


def _check_gateway(gateway: str, name: str) -> None:
    check_reachable(gateway)
    try:
        status, _, body = _http("GET", f"{gateway}/v1/models")
    except (OSError, ValueError) as exc:
        raise NotDeployedError(f"{gateway} did not answer GET /v1/models as a modelkeep gateway: "
                               f"{exc}", hint="start one: modelkeep gateway") from None
    served = {m.get("model") for m in (body or {}).get("models", [])} if status == 200 else set()
    if name not in served:
        raise NotDeployedError(f"the gateway at {gateway} does not serve {name}",
                               hint="start the gateway on this keep: modelkeep gateway", name=name)


class _Outputs:
    """Sends the restored version's example inputs through the gateway and compares."""

    def __init__(self, url: str, restored: str, inputs: list[Any], reference: list[Any]) -> None:
        self.url, self.restored, self.inputs, self.reference = url, restored, inputs, reference
        self.match: bool | None = None
        self.problem = ""

    def check(self, deadline: float) -> None:
        if not self.inputs:
            return
        for i, (x, want) in enumerate(zip(self.inputs, self.reference, strict=True)):
            while True:
                status, headers, body = _http("POST", self.url, {"inputs": x})
                if headers.get(VERSION_HEADER) == self.restored or time.monotonic() > deadline:
                    break
                time.sleep(0.05)  # the previous version still answered: the switch is under way
            if status != 200 or headers.get(VERSION_HEADER) != self.restored:
                self.match, self.problem = False, (f"example input #{i} was answered {status} by "
                                                   f"{headers.get(VERSION_HEADER) or 'nobody'}")
                return
            if not same(body.get("outputs"), want):
                self.match, self.problem = False, (f"{self.restored}'s outputs for example input "
                                                   f"#{i} differ from its reference outputs")
                return
        self.match = True


def run_drill(keep: KeepInterface, name: str, gateway: str, *, rps: float = 20.0,
              hold: float = 3.0, warmup: float = 1.0,
              on_progress: Callable[[Progress], None] | None = None) -> DrillResult:
    """Drill ``name``'s rollback and roll-forward on the gateway at ``gateway``; the stored
    ``DrillResult`` (stored whether it passed or not)."""
    gateway = check_target(gateway.rstrip("/"))
    stable, restored = _check_state(keep, name)
    examples = keep.example_inputs(f"{name}@{stable}")
    if not examples:
        raise InvalidInputError(f"{name}@{stable} declares no example inputs, so the drill has "
                                "no request to send", hint="declare example inputs (docs/running.md)")
    plan = build_plan(f"{gateway}/v1/models/{name}/predict", "constant", rps=rps, method="POST",
                      duration=warmup + 2 * hold + 2, body={"inputs": examples[0]},
                      track_header=VERSION_HEADER)
    _check_gateway(gateway, name)
    restored_inputs = keep.example_inputs(f"{name}@{restored}")
    stored = keep.drill_reference(f"{name}@{restored}")
    recorded: list[Any] | None = None
    if stored is None and restored_inputs:
        recorded = [keep.predict(f"{name}@{restored}", x).outputs for x in restored_inputs]
    reference = list(stored.outputs) if stored is not None else (recorded or [])
    outputs = _Outputs(plan.url, restored, restored_inputs[:len(reference)], reference)
    marks: dict[str, float] = {}

    def on_tick(elapsed: float) -> None:
        if "rollback" not in marks and elapsed >= warmup:
            marks["rollback"] = time.time()
            keep.change_deployment(name, "rollback", reason="drill: rollback under load")
        elif "forward" not in marks and "rollback" in marks and elapsed >= warmup + hold:
            outputs.check(time.monotonic() + hold)
            marks["forward"] = time.time()
            keep.deploy(f"{name}@{stable}", reason="drill: roll forward")

    try:
        load = run_load(plan, on_progress=on_progress, on_tick=on_tick)
    finally:
        if "rollback" in marks and "forward" not in marks:  # never leave the model rolled back
            keep.deploy(f"{name}@{stable}", reason="drill: roll forward after a failed drill")
    end = time.time() + 1
    back = switch_of(load.tracked, restored, marks.get("rollback", end), marks.get("forward", end))
    forward = switch_of(load.tracked, stable, marks.get("forward", end), end)
    problems = [f"{load.failures} of {load.requests} requests failed"] if load.failures else []
    problems += [f"traffic never moved wholly to {s.to} within {hold:g} s"
                 for s in (back, forward) if s.full is None]
    if outputs.problem:
        problems.append(outputs.problem)
    result = DrillResult(model=name, gateway=gateway, stable=stable, restored=restored, rps=rps,
                         requests=load.requests, failed=load.failures, rollback=back,
                         forward=forward, outputs_match=outputs.match,
                         outputs_checked=len(outputs.inputs) if outputs.match is not None else 0,
                         reference_at=stored.at if stored is not None else
                         (now_iso() if recorded else ""),
                         problems=tuple(problems))
    return keep.record_drill(result, reference=recorded)
