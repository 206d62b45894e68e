"""``POST /v1/feedback``: a label or outcome value for a request the gateway answered.

The gateway remembers its last ``RECENT`` answers (request id -> model, version, and a 16-byte
digest of the outputs' canonical JSON, so memory stays small whatever the outputs), so
feedback names only the request id; feedback for an answer it no longer remembers (or that
another replica gave) names the ``model`` and ``version`` the answer carried. A label is judged
against the remembered outputs (equal canonical JSON: keys sorted, so key order does not
matter, but ``1`` and ``1.0`` differ); items are handed to the keep in batches
by the gate keeper, about once a second. Each answer takes one item: a repeat for a request
this gateway remembers is refused (``FeedbackExistsError``), and the keep counts only the first
item per request id (``registry/feedback.py``), which also covers repeats sent to replicas.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any

from modelkeep.errors import FeedbackExistsError, InvalidInputError, RequestNotFoundError
from modelkeep.registry.feedback import Feedback, check_value
from modelkeep.registry.rollout import Deployment

RECENT = 100_000


def canonical_json(value: Any) -> str:
    """``value`` as compact JSON with sorted keys (ValueError for NaN and infinities)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


class RecentAnswers:
    """The last ``limit`` answers by request id (oldest forgotten first)."""

    def __init__(self, limit: int = RECENT) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._answers: OrderedDict[str, tuple[str, str, bytes]] = OrderedDict()
        self._judged: set[str] = set()  # remembered answers that have their feedback

    def remember(self, request_id: str, model: str, version: str,
                 outputs_json: str | None) -> None:
        """Remember an answer; ``outputs_json`` is its outputs' ``canonical_json`` (None: not
        known, as for a streamed answer, so its labels are not judged)."""
        entry = (model, version, b"" if outputs_json is None else _digest(outputs_json))
        with self._lock:
            self._answers[request_id] = entry
            self._answers.move_to_end(request_id)
            self._judged.discard(request_id)  # a client's own request id, used again
            while len(self._answers) > self._limit:
                self._judged.discard(self._answers.popitem(last=False)[0])

    def claim(self, request_id: str) -> tuple[str, str, bytes] | None:
        """(model, version, outputs digest) of a remembered answer, now marked as having its
        feedback; ``FeedbackExistsError`` when it had it already."""
        with self._lock:
            known = self._answers.get(request_id)
            if known is not None:
                if request_id in self._judged:
                    raise FeedbackExistsError(
                        f"request {request_id!r} already has its feedback", request_id=request_id)
                self._judged.add(request_id)
            return known


class FeedbackInbox:
    """Feedback received and not yet handed to the keep, by model."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, list[Feedback]] = {}

    def add(self, model: str, item: Feedback) -> None:
        with self._lock:
            self._pending.setdefault(model, []).append(item)

    def take(self) -> dict[str, list[Feedback]]:
        with self._lock:
            pending, self._pending = self._pending, {}
        return pending


def _bad(message: str) -> InvalidInputError:
    return InvalidInputError(message, hint='send {"request_id": ID, "label": ...} or '
                                            '{"request_id": ID, "value": NUMBER}')


def join(payload: Any, recent: RecentAnswers, deployments: dict[str, Deployment],
         keep_stable: int) -> tuple[str, Feedback]:
    """The model and the feedback item for a ``POST /v1/feedback`` body (already JSON)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("request_id"), str):
        raise _bad('feedback is a JSON object with a "request_id" string')
    if "label" not in payload and "value" not in payload and "outcome" not in payload:
        raise _bad('feedback needs a "label", a "value" or an "outcome"')
    try:
        value = check_value(payload.get("value"))
    except ValueError:
        raise _bad(f'"value" must be a finite number, not {payload.get("value")!r}') from None
    try:
        canonical_json(payload.get("label"))
    except ValueError:
        raise _bad('"label" holds NaN or an infinity, which cannot be compared') from None
    request_id, label = payload["request_id"], payload.get("label")
    if not 0 < len(request_id) <= 128:
        raise _bad("a request id is 1 to 128 characters")
    known = recent.claim(request_id)
    if known is not None:
        model, version, digest = known
        judged = label is not None and digest
        correct = _digest(canonical_json(label)) == digest if judged else None
        return model, Feedback(version, request_id, label, value, correct)
    named, claimed = payload.get("model"), payload.get("version")
    d = deployments.get(named) if isinstance(named, str) else None
    if d is None or not isinstance(claimed, str) or claimed not in d.serving(keep_stable):
        raise RequestNotFoundError(
            f"request {request_id!r} is not one this gateway answered recently, and the "
            "feedback names no model and version it serves", request_id=request_id)
    return d.model, Feedback(claimed, request_id, label, value, None)
