"""What every loader kind hands back: a model that takes JSON-ready inputs and gives JSON-ready outputs.

``LoadedModel`` is the contract the CLI, validation gates and the gateway rely on. ``Loaded`` is
the one implementation: a loader kind supplies only a ``call`` function (inputs already checked
against the signature) and the private folder its files were checked out to; ``Loaded`` checks
inputs, turns whatever the model raises into one ``LoaderFailedError`` line, makes outputs JSON
ready, and removes the folder when closed (or collected).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from modelkeep.errors import LoaderFailedError, ModelkeepError, PredictionMemoryError
from modelkeep.registry.loaders.inputs import check_inputs, parse_input_text


@runtime_checkable
class LoadedModel(Protocol):
    """A loaded version: ``predict`` takes JSON-ready inputs and returns JSON-ready outputs."""

    ref: str

    def predict(self, inputs: Any) -> Any: ...


@dataclass(frozen=True)
class Prediction:
    """One ``predict`` call's answer: which version and loader answered, and the outputs."""

    ref: str
    kind: str
    outputs: Any

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def failure(exc: BaseException, what: str) -> LoaderFailedError:
    """One line for anything a loader or model raised: ``what: TypeName: message``."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, MemoryError):  # the process lives on; say so rather than "it raised"
        return PredictionMemoryError(f"{what}: MemoryError: it ran out of memory"
                                     + (f" ({text})" if text else ""), exception="MemoryError")
    return LoaderFailedError(f"{what}: {type(exc).__name__}" + (f": {text}" if text else ""),
                             exception=type(exc).__name__)


_AS_THEY_ARE = frozenset({str, int, bool, type(None)})  # exact types, JSON already


def to_json(value: Any) -> Any:
    """Numpy arrays, scalars and tuples as lists and Python numbers; NaN and infinity as the
    strings "NaN", "Infinity", "-Infinity" (JSON has no literal for them)."""
    kind = type(value)  # plain Python values first: no ABC checks on every leaf of every answer
    if kind in _AS_THEY_ARE or (kind is float and math.isfinite(value)):
        return value
    if kind is list:
        return [to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy arrays and scalars
        return to_json(value.tolist())
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise LoaderFailedError(f"the model returned a {type(value).__name__}, which is not JSON",
                            hint="return lists, dicts, numbers and strings (or numpy arrays)")


class Loaded:
    """A version loaded in this process (see the module docstring)."""

    def __init__(self, ref: str, kind: str, call: Callable[[Any], Any], *,
                 signature: Mapping[str, Any] | None = None, folder: Path | None = None,
                 adapt: Callable[[Any], Any] | None = None) -> None:
        self.ref = ref
        self.kind = kind
        self.signature: dict[str, Any] = dict(signature or {})
        self.folder = folder
        self._call = call
        self._adapt = adapt
        import shutil  # here, not at the top: shutil pulls bz2 and lzma into every command's start-up

        self._cleanup = (weakref.finalize(self, shutil.rmtree, folder, True)
                         if folder is not None else None)

    def predict(self, inputs: Any) -> Any:
        """Check ``inputs`` against the signature, call the model, return JSON-ready outputs.
        ``inputs`` may also be the bytes of a JSON document (malformed: InvalidModelInputError)."""
        if isinstance(inputs, bytes | bytearray):
            inputs = parse_input_text(bytes(inputs), "the input")
        if self._adapt is not None:
            inputs = self._adapt(inputs)
        checked = check_inputs(inputs, self.signature)
        try:
            outputs = self._call(checked)
        except ModelkeepError:
            raise
        except Exception as exc:  # the model's own code: any exception is its failure
            raise failure(exc, f"{self.ref} raised") from exc
        return to_json(outputs)

    def prediction(self, inputs: Any) -> Prediction:
        """``predict`` with who answered: a ``Prediction`` (ref, kind, outputs)."""
        return Prediction(self.ref, self.kind, self.predict(inputs))

    def close(self) -> None:
        """Remove the private checkout (the model stays usable only if it holds no open files)."""
        if self._cleanup is not None:
            self._cleanup()

    def __enter__(self) -> Loaded:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Loaded {self.ref} ({self.kind})>"


def require(module: str, extra: str, kind: str) -> Any:
    """Import an optional framework, or MissingDependencyError naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        from modelkeep.errors import MissingDependencyError

        raise MissingDependencyError(
            f"the {kind} loader needs {module.split('.')[0]}, which is not installed ({exc})",
            hint=f"pip install 'modelkeep[{extra}]'", module=module) from None
