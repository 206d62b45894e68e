"""YAML encoding of ``ModelMetadata`` (YAML 1.2, ruamel.yaml), including comment-keeping edits.

YAML is the format people read and edit, so output is compact: fields at their default value
are left out (``schema_version`` is always written). Fields come in schema order (identity
first), user-keyed maps (hyperparameters, metrics, ...) sorted, timestamps as quoted ISO 8601
strings, NaN and infinities as ``.nan``, ``.inf``, ``-.inf``. Input is read with the safe
loader: no Python tags, one document, no duplicate keys, and the input limits of
``modelkeep.limits`` (depth, alias expansion, integer digits; see ``yamllimits``).
``update_yaml`` rewrites an existing document in ruamel's round-trip mode: only values that
changed are touched, so comments, key order and number formatting survive.
"""

from __future__ import annotations

import io
import math
from datetime import datetime
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.resolver import VersionedResolver

from modelkeep.errors import InvalidMetadataError
from modelkeep.schema.metadata import IDENTITY_FIELDS, ModelMetadata
from modelkeep.schema.types import NATIVE_FLOATS
from modelkeep.schema.validation import LIMITS_HINT, metadata_from_data
from modelkeep.schema.yamllimits import LimitedComposer, YamlLimitError

_UNICODE_LINE_BREAKS = ("\x85", "\u2028", "\u2029")
_INDICATORS = tuple("-?:,[]{}#&*!|>'\"%@`")


class _Representer(RoundTripRepresenter):
    """Writes what every YAML reader reads back as the same value, YAML 1.1 readers included.

    NEL/LS/PS would be written raw and read back as spaces; a string that starts with an
    indicator such as ``?x`` is valid plain YAML but misread inside flow collections. PyYAML,
    the most used reader, follows YAML 1.1: a plain ``yes``, ``on``, ``1:20``, ``017``, ``=``
    or ``<<`` (a key too) is another type there, so such strings are quoted; and a float needs
    a dot and a signed exponent there (``1e-300`` is a string), so floats are written so. A
    subclass, so ruamel's own representer stays as it is for everyone else.
    """

    def represent_str(self, data: str) -> ScalarNode:
        """A str node, quoted when plain style could be misread by a YAML 1.2 or 1.1 reader."""
        if any(char in data for char in _UNICODE_LINE_BREAKS) or data.startswith(_INDICATORS):
            return self.represent_scalar("tag:yaml.org,2002:str", data, style='"')
        if _YAML_1_1.resolve(ScalarNode, data, (True, False)) != "tag:yaml.org,2002:str":
            return self.represent_scalar("tag:yaml.org,2002:str", data, style="'")
        return super().represent_str(data)

    def represent_float(self, data: float) -> ScalarNode:
        """A float both YAML 1.1 and 1.2 read as the same number: ``1.0e-300``, not ``1e-300``."""
        if not math.isfinite(data):
            return super().represent_float(data)
        return self.represent_scalar("tag:yaml.org,2002:float", portable_float(data))


def portable_float(value: float) -> str:
    """The shortest text of a finite float that YAML 1.1 and 1.2 readers both read back as it:
    the mantissa has a dot, the exponent a sign."""
    text = repr(value)
    mantissa, _, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    if not exponent:
        return mantissa
    return f"{mantissa}e{exponent if exponent[0] in '+-' else '+' + exponent}"


_YAML_1_1 = VersionedResolver(version=(1, 1))
_Representer.add_representer(str, _Representer.represent_str)
_Representer.add_representer(float, _Representer.represent_float)


def _round_trip_yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Representer = _Representer
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 1 << 30  # never fold: ruamel can corrupt folded quoted scalars in flow style
    return yaml


def _to_bytes(yaml: YAML, document: Any) -> bytes:
    stream = io.StringIO()
    yaml.dump(document, stream)
    return stream.getvalue().encode("utf-8")


def _yaml_data(meta: ModelMetadata, *, exclude_defaults: bool = False) -> dict[str, Any]:
    return meta.model_dump(
        mode="json", context={NATIVE_FLOATS: True}, exclude_defaults=exclude_defaults
    )


def dump_yaml(meta: ModelMetadata) -> bytes:
    """YAML bytes of the model, deterministic; fields at their default are left out."""
    data = {"schema_version": meta.schema_version, **_yaml_data(meta, exclude_defaults=True)}
    return _to_bytes(_round_trip_yaml(), data)


def _load(data: bytes, yaml: YAML) -> Any:
    yaml.Composer = LimitedComposer
    try:
        return yaml.load(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InvalidMetadataError(f"metadata YAML is not UTF-8: {exc.reason}") from None
    except YamlLimitError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise InvalidMetadataError(f"metadata YAML {exc.problem}{where}", hint=LIMITS_HINT) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        parts = (str(part) for part in (exc.context, exc.problem) if part)
        problem = " ".join(", ".join(parts).split())
        raise InvalidMetadataError(f"metadata is not valid YAML: {problem}{where}") from None
    except (YAMLError, RecursionError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        raise InvalidMetadataError(f"metadata is not valid YAML: {message}") from None


def parse_yaml(data: bytes) -> ModelMetadata:
    """Decode YAML bytes; malformed YAML or invalid fields raise InvalidMetadataError."""
    decoded = _load(data, YAML(typ="safe", pure=True))
    if decoded is None:
        raise InvalidMetadataError("metadata YAML is empty", hint="write at least name: and version:")
    return metadata_from_data(decoded, source="YAML metadata")


# ---- comment-keeping update -----------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A ruamel round-trip scalar as the plain Python value it stands for."""
    for kind in (bool, str, int, float):
        if isinstance(value, kind):
            return kind(value)
    return value


def _same(old: Any, new: Any) -> bool:
    old = _plain(old)
    if isinstance(old, datetime) and isinstance(new, str):
        try:
            return old.tzinfo is not None and old == datetime.fromisoformat(new)
        except ValueError:
            return False
    if type(old) is not type(new):
        return False
    return old == new or (old != old and new != new)  # NaN is unchanged NaN


def _merge(old: Any, full: Any, needed: Any) -> Any:
    """``full`` written over ``old`` in place where possible, keeping what did not change."""
    if isinstance(old, dict) and isinstance(full, dict):
        needed = needed if isinstance(needed, dict) else {}
        for key in [key for key in old if key not in full]:
            del old[key]
        for key, value in full.items():
            if key in old:
                old[key] = _merge(old[key], value, needed.get(key))
            elif key in needed:
                old[key] = needed[key]
        return old
    if isinstance(old, list) and isinstance(full, list) and len(old) == len(full):
        needed = needed if isinstance(needed, list) and len(needed) == len(full) else full
        for index, value in enumerate(full):
            old[index] = _merge(old[index], value, needed[index])
        return old
    return old if _same(old, full) and _rewrites_exactly(old) else full


def _rewrites_exactly(value: Any) -> bool:
    """Whether ruamel writes a loaded float back as the same number.

    ruamel re-renders a round-trip float from its remembered width and precision, which can
    drop a digit (``5.799464760547905e+16`` comes back as ``...904e+16``); such a value is
    replaced by a plain float instead of kept.
    """
    if not isinstance(value, float) or math.isnan(value):
        return True
    written = _to_bytes(_round_trip_yaml(), {"value": value})
    return YAML(typ="safe", pure=True).load(written)["value"] == value


def _match_identity_layout(document: CommentedMap, data: dict[str, Any]) -> dict[str, Any]:
    """Write identity fields where the document keeps them: nested, or in the flat shorthand."""
    if not any(name in document for name in IDENTITY_FIELDS):
        return data
    data = dict(data)
    identity = data.pop("identity", {})
    nested_in_file = document.get("identity")
    nested_keys = set(nested_in_file) if isinstance(nested_in_file, dict) else set()
    nested = {key: value for key, value in identity.items() if key in nested_keys}
    flat = {key: value for key, value in identity.items() if key not in nested_keys}
    return {**flat, **data, **({"identity": nested} if nested else {})}


def update_yaml(data: bytes, meta: ModelMetadata) -> bytes:
    """The YAML document ``data`` rewritten to hold ``meta``, keeping its comments and layout.

    Fields the document has are updated in place (unchanged values keep their formatting),
    fields it lacks are added only when they differ from the default, and fields ``meta`` no
    longer has are removed. Identity fields stay in the flat shorthand if the document uses it.
    """
    yaml = _round_trip_yaml()
    document = _load(data, yaml)
    if document is None:
        document = CommentedMap()
    if not isinstance(document, CommentedMap):
        raise InvalidMetadataError(
            f"YAML metadata must be a mapping of fields, not {type(document).__name__}"
        )
    full = _match_identity_layout(document, _yaml_data(meta))
    needed = _match_identity_layout(document, _yaml_data(meta, exclude_defaults=True))
    return _to_bytes(yaml, _merge(document, full, needed))
