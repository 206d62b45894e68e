"""Blue-green: the candidate (green) is loaded beside the stable version (blue) with no
traffic; once a gateway holds it loaded and it has answered each of its example inputs, that
gateway switches all traffic to it at once (``promote``), and every gateway follows at its next
poll. A green that fails to load or to answer aborts the deploy (blue keeps everything).
The way back is ``modelkeep rollback NAME``: blue is still loaded (the most recent stable
versions stay loaded), so it answers again within one poll.
"""

from __future__ import annotations

import threading
from typing import Protocol

from modelkeep.errors import ModelkeepError, RolloutStateError
from modelkeep.registry.loaders import LoadedModel
from modelkeep.registry.rollout import Deployment

from .pool import VersionPool

MAX_EXAMPLES = 5  # example inputs a green answers before the switch
SMOKE_TIMEOUT = 30.0  # seconds they may take together; a green that hangs is aborted


def _answer_all(model: LoadedModel, examples: list[object], timeout: float) -> None:
    """Call ``model`` on each example in a daemon thread, so a green that hangs holds neither
    the loader thread (other versions still load) nor a stopping gateway."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            for example in examples:
                model.predict(example)
        except BaseException as exc:  # handed to the caller below
            failed.append(exc)

    thread = threading.Thread(target=run, name="modelkeep-blue-green", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"no answer within {timeout:g} s")
    if failed:
        raise failed[0]


class SwitchKeep(Protocol):
    """What the switch needs of a keep."""

    def example_inputs(self, ref: str) -> list[object]: ...

    def change_deployment(self, name: str, action: str, reason: str = "", *,
                          expect_revision: int | None = None) -> object: ...


def _verdict(keep: SwitchKeep, pool: VersionPool, ref: str,
             timeout: float) -> tuple[str, str] | None:
    """("promote-full" | "abort", why) for a green ``ref``, or None while it is loading."""
    if pool.failed(ref):
        reason = next((h.reason for h in pool.health() if h.ref == ref), "")
        return "abort", f"blue-green: {ref} failed to load: {reason}"
    if not pool.healthy(ref):
        return None
    try:
        examples = keep.example_inputs(ref)[:MAX_EXAMPLES]
        _answer_all(pool.get(ref), examples, timeout)
    except Exception as exc:  # the green answers wrongly: blue keeps the traffic
        why = (exc.message if isinstance(exc, ModelkeepError)
               else f"{type(exc).__name__}: {exc}").splitlines()[0]
        return "abort", f"blue-green: {ref} failed on an example input: {why}"
    return "promote-full", (f"blue-green: {ref} loaded and answered its {len(examples)} "
                            "example inputs")


def switch_ready(keep: SwitchKeep, pool: VersionPool, deployments: dict[str, Deployment], *,
                 timeout: float = SMOKE_TIMEOUT) -> list[tuple[str, str, str]]:
    """Switch (or abort) each blue-green deploy whose green this gateway has tried; the
    (model, action, why) done. A move applies only if the state is still the one judged."""
    done = []
    for name, d in deployments.items():
        rollout = d.active_rollout
        if rollout is None or rollout.phase != "blue-green" or rollout.paused:
            continue
        move = _verdict(keep, pool, f"{name}@{rollout.candidate}", timeout)
        if move is None:
            continue
        try:
            keep.change_deployment(name, move[0], move[1], expect_revision=d.revision)
        except RolloutStateError:
            continue  # another gateway switched it first, or a person moved it
        done.append((name, *move))
    return done
