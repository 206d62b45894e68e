"""What a remote says about versions, validated as strictly as local input before it is used.

A remote is written by other keeps, so its records are outside input: a damaged or forged
``versions/NAME/VERSION.json`` or ``aliases/NAME.json`` must never register a wrong version,
print a forged line, crash a pull or make modelkeep open a file outside the remote. Here:

- a path on the remote is built only from a checked model name and a canonical version number,
  each a plain name (no ``/``, ``..``, NUL or line break), before anything is opened;
- a record is read with the input limits (``MAX_RECORD_BYTES``, depth, integer digits) and must
  have exactly the fields push writes, each of the right type and range: a canonical UTC
  ``created_at`` not in the future, a printable one-line ``author``, a tree id, sizes in int64,
  a run id that is null or a UUID, and metadata that passes the metadata schema and describes
  this very version (name, number, id, creation time, tree and size);
- an aliases file must map alias names to canonical version numbers;
- an appended-records file (``records/NAME/VERSION.json``: notes, metrics, validations,
  documents) must hold at most ``MAX_RECORDS`` records, each with exactly the fields push
  writes: a carried kind, a one-line key, a printable author, a canonical ``created_at`` neither
  in the future nor before the version itself, and a value of its kind's type and size (texts
  free of terminal control characters, metrics numbers, validations JSON objects).

Anything else is a ``RemoteRecordInvalidError`` naming the remote and the record; nothing of it
is adopted, and no object it names is fetched.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from modelkeep._names import check_model_name
from modelkeep.clock import to_iso
from modelkeep.errors import InvalidNameError, InvalidVersionError, ModelkeepError, RemoteRecordInvalidError
from modelkeep.limits import MAX_RECORD_BYTES, InputLimitError, has_surrogate, load_json
from modelkeep.registry.records import CARRIED_KINDS
from modelkeep.registry.refs import check_alias_name
from modelkeep.registry.semver import Version
from modelkeep.registry.standards.text import UNSAFE_TEXT
from modelkeep.schema.types import INT64_MAX
from modelkeep.storage.hashing import is_object_id
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.remotes import Remote
from modelkeep.storage.tree import read_tree

RECORD_FORMAT = "modelkeep.remote-version"
ALIASES_FORMAT = "modelkeep.remote-aliases"
MAX_ALIASES_BYTES = 1 << 20
MAX_AUTHOR = 250
CLOCK_SKEW = timedelta(days=1)  # a record may be this far ahead of our clock, no further
RECORD_FIELDS = ("author", "created_at", "files", "format", "metadata", "name", "number",
                 "run_id", "size", "tree_id", "version")


class _Invalid(ValueError):
    """One problem with a record (the message), raised inside this module only."""


def invalid(remote: Remote, what: str, path: str, problem: str | Exception
            ) -> RemoteRecordInvalidError:
    """The one-line error for ``what`` (e.g. "the record of m@1.0.0") at ``path`` on ``remote``."""
    if isinstance(problem, ValueError) and not isinstance(problem, _Invalid | InputLimitError):
        problem = f"not JSON: {problem}"  # JSONDecodeError, UnicodeDecodeError
    text = str(problem).replace("\r", "\\r").replace("\n", "\\n")
    return RemoteRecordInvalidError(
        f"remote '{remote.name}': {what} ({path}) is invalid (damaged or forged): {text}",
        hint="nothing was adopted; push it again from a keep that has it (modelkeep push NAME)",
        remote=remote.name, record=path)


def _shown(value: Any) -> str:
    """A value for a message: its repr (line breaks escaped), cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def plain_name(part: str) -> str:
    """``part`` if it can be one component of a path on a remote, else _Invalid."""
    if not part or part in (".", "..") or any(c in part for c in "/\\\x00\r\n"):
        raise _Invalid(f"{_shown(part)} is not a plain file name")
    return part


def record_path(name: str, number: str) -> str:
    """``versions/NAME/VERSION.json`` for a checked name and a canonical number."""
    return f"versions/{plain_name(check_model_name(name))}/{plain_name(canonical(number))}.json"


def canonical(number: Any) -> str:
    """``number`` if it is a canonical SemVer string, else _Invalid."""
    if not isinstance(number, str):
        raise _Invalid(f"version number {_shown(number)} is not a string")
    try:
        parsed = str(Version.parse(number))
    except InvalidVersionError:
        raise _Invalid(f"{_shown(number)} is not a version number") from None
    if parsed != number:
        raise _Invalid(f"version number {_shown(number)} is not written canonically ({parsed})")
    return number


def read_record(remote: Remote, name: str, number: str) -> dict[str, Any] | None:
    """The validated record of ``name@number`` on ``remote``; None when there is none."""
    what = f"the record of {name}@{number}"
    try:
        path = record_path(name, number)
    except (_Invalid, InvalidNameError) as exc:
        raise invalid(remote, what, "versions/…", str(exc)) from None
    raw = remote.read_bytes(path, limit=MAX_RECORD_BYTES)
    if raw is None:
        return None
    try:
        return check_record(load_json(raw, max_bytes=MAX_RECORD_BYTES), name, number)
    except ValueError as exc:
        raise invalid(remote, what, path, exc) from None


def check_record(rec: Any, name: str, number: str) -> dict[str, Any]:
    """A decoded record, checked field by field; its metadata in the schema's normal form."""
    _check_header(rec, RECORD_FIELDS, RECORD_FORMAT, name, number)
    _check_created(rec["created_at"])
    _check_author(rec["author"])
    if not is_object_id(rec["tree_id"]):
        raise _Invalid(f"tree_id {_shown(rec['tree_id'])} is not an object id")
    for key in ("size", "files"):
        if type(rec[key]) is not int or not 0 <= rec[key] <= INT64_MAX:
            raise _Invalid(f"{key} {_shown(rec[key])} is not a whole number from 0 to 2^63-1")
    _check_run_id(rec["run_id"])
    return {**rec, "metadata": _check_metadata(rec)}


def _check_header(doc: Any, fields: tuple[str, ...], fmt: str, name: str, number: str) -> None:
    """Exactly ``fields``, format ``fmt`` version 1, about ``name@number``."""
    _exact_fields(doc, fields, "a record")
    if doc["format"] != fmt or doc["version"] != 1 or type(doc["version"]) is not int:
        raise _Invalid(f"format/version is {_shown(doc['format'])}/{_shown(doc['version'])}, not "
                       f"{fmt!r}/1 (a newer modelkeep may have written it)")
    if doc["name"] != name or doc["number"] != number:
        raise _Invalid(f"name/number say {_shown(doc['name'])}/{_shown(doc['number'])}, "
                       f"not '{name}'/'{number}'")


def _check_created(value: Any) -> None:
    try:
        moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except (TypeError, ValueError):
        raise _Invalid(f"created_at {_shown(value)} is not a UTC time like "
                       "2026-03-18T14:30:00.000000Z") from None
    if to_iso(moment) != value:
        raise _Invalid(f"created_at {value!r} is not written canonically")
    if moment > datetime.now(UTC) + CLOCK_SKEW:
        raise _Invalid(f"created_at {value!r} is in the future")


def _check_author(value: Any) -> None:
    ok = isinstance(value, str) and 0 < len(value) <= MAX_AUTHOR and value.isprintable()
    if not ok:
        raise _Invalid(f"author {_shown(value)} is not 1 to {MAX_AUTHOR} printable characters "
                       "on one line")


def _check_run_id(value: Any) -> None:
    if value is None:
        return
    try:
        ok = isinstance(value, str) and str(uuid.UUID(value)) == value
    except ValueError:
        ok = False
    if not ok:
        raise _Invalid(f"run_id {_shown(value)} is neither null nor a run id (a UUID)")


def _check_metadata(rec: dict[str, Any]) -> dict[str, Any]:
    from modelkeep.schema.validation import metadata_from_data

    try:
        meta = metadata_from_data(rec["metadata"], source="metadata")
    except ModelkeepError as exc:
        raise _Invalid(exc.message) from None  # "metadata field 'x' ...": one line
    ident, artifacts = meta.identity, meta.components.artifacts
    stated = {
        "identity.name": (ident.name, rec["name"]),
        "identity.version": (ident.version, rec["number"]),
        "identity.id": (ident.id, f"{rec['name']}@{rec['number']}"),
        "identity.created": (ident.created and to_iso(ident.created), rec["created_at"]),
        "components.artifacts.tree": (artifacts.tree, rec["tree_id"]),
        "components.artifacts.size_bytes": (artifacts.size_bytes, rec["size"]),
    }
    for field, (said, expected) in stated.items():
        if said != expected:
            raise _Invalid(f"metadata field '{field}' says {_shown(said)}, the record "
                           f"{_shown(expected)}: it describes another version")
    snapshot: dict[str, Any] = meta.model_dump(mode="json")
    return snapshot


def read_aliases(remote: Remote, name: str) -> dict[str, str]:
    """alias -> canonical version number, from ``aliases/NAME.json`` ({} when absent)."""
    _, doc = _aliases_document(remote, name)
    return dict(doc.get("aliases", {}))


def _aliases_document(remote: Remote, name: str) -> tuple[str, dict[str, Any]]:
    """``(path, document)`` of ``aliases/NAME.json``, read once, its aliases checked ({} when
    absent)."""
    path = f"aliases/{plain_name(check_model_name(name))}.json"
    raw = remote.read_bytes(path, limit=MAX_ALIASES_BYTES)
    if raw is None:
        return path, {}
    try:
        doc = load_json(raw, max_bytes=MAX_ALIASES_BYTES)
        if not isinstance(doc, dict) or doc.get("format") != ALIASES_FORMAT or doc.get("version") != 1:
            raise _Invalid(f"not a {ALIASES_FORMAT} file (version 1)")
        aliases = doc.get("aliases")
        if not isinstance(aliases, dict):
            raise _Invalid("'aliases' is not a mapping of alias names to version numbers")
        for alias, number in aliases.items():
            try:
                check_alias_name(alias)
            except InvalidNameError:
                raise _Invalid(f"{_shown(alias)} is not an alias name") from None
            try:
                canonical(number)
            except _Invalid as exc:
                raise _Invalid(f"alias '{alias}': {exc}") from None
    except ValueError as exc:
        raise invalid(remote, f"the aliases file of {name}", path, exc) from None
    return path, doc


def read_alias_history(remote: Remote, name: str, alias: str) -> tuple[str | None, list[dict[str, Any]]]:
    """``(target, moves)`` of ``alias`` from ``aliases/NAME.json``: the version it points at on
    the remote and its pushed history, each move checked as strictly as a version record."""
    path, doc = _aliases_document(remote, name)
    target = doc.get("aliases", {}).get(alias)
    history = doc.get("history")
    moves = []
    try:
        if history is not None and not isinstance(history, list):
            raise _Invalid("'history' is not a list of alias moves")
        for move in history or []:
            if not isinstance(move, dict):
                raise _Invalid("an alias move is not an object")
            if move.get("alias") != alias:
                continue
            version = move.get("version")
            _check_created(move.get("moved_at"))
            _check_author(move.get("author") or "unknown")
            reason = move.get("reason") or ""
            if not isinstance(reason, str) or len(reason) > 1000 or not reason.isprintable():
                raise _Invalid(f"reason {_shown(reason)} is not one printable line")
            moves.append({"version": None if version is None else canonical(version),
                          "moved_at": move["moved_at"], "author": move.get("author") or "",
                          "reason": reason})
    except _Invalid as exc:
        raise invalid(remote, f"the alias history of {name}", path, exc) from None
    return target, moves


def remote_numbers(remote: Remote, name: str) -> list[Version]:
    """The version numbers ``versions/NAME/`` holds records for; a stray file is refused."""
    folder = f"versions/{plain_name(check_model_name(name))}"
    numbers = []
    for entry in remote.list_names(folder):
        try:
            if not entry.endswith(".json"):
                raise _Invalid("it is not a VERSION.json record")
            numbers.append(Version.parse(canonical(entry.removesuffix(".json"))))
        except _Invalid as exc:
            raise invalid(remote, f"the listing of {name}'s versions", f"{folder}/{entry}", exc) from None
    return numbers


def check_against_tree(store: ObjectStore, remote: Remote, rec: dict[str, Any]) -> None:
    """Once its tree is here: the record's ``files`` and ``size`` must be the tree's."""
    entries = read_tree(store, rec["tree_id"])
    size = sum(e.size for e in entries)
    if (len(entries), size) != (rec["files"], rec["size"]):
        raise invalid(remote, f"the record of {rec['name']}@{rec['number']}",
                      record_path(rec["name"], rec["number"]),
                      f"it says {rec['files']} files of {rec['size']} bytes, its tree holds "
                      f"{len(entries)} files of {size} bytes")


# -- appended records -----------------------------------------------------------------------

APPENDED_FORMAT = "modelkeep.remote-records"
APPENDED_FIELDS = ("format", "name", "number", "records", "version")
ONE_RECORD_FIELDS = ("author", "created_at", "key", "kind", "value")
MAX_RECORDS = 10_000
MAX_KEY = 250
MAX_RECORD_AUTHOR = 200  # the width of version_records.author
MAX_TEXT = {"note": 64 << 10, "model_card": 1 << 20, "changelog": 1 << 20}
MAX_VALUE_BYTES = 1 << 20  # a validation result, as JSON


def appended_path(name: str, number: str) -> str:
    """``records/NAME/VERSION.json`` for a checked name and a canonical number."""
    return f"records/{plain_name(check_model_name(name))}/{plain_name(canonical(number))}.json"


def read_appended(remote: Remote, name: str, number: str, version_created: str
                  ) -> list[dict[str, Any]]:
    """The validated appended records of ``name@number`` on ``remote`` ([] when none)."""
    path = appended_path(name, number)
    raw = remote.read_bytes(path, limit=MAX_RECORD_BYTES)
    if raw is None:
        return []
    try:
        return check_appended(load_json(raw, max_bytes=MAX_RECORD_BYTES), name, number,
                              version_created)
    except ValueError as exc:
        raise invalid(remote, f"the appended records of {name}@{number}", path, exc) from None


def check_appended(doc: Any, name: str, number: str, version_created: str
                   ) -> list[dict[str, Any]]:
    """A decoded appended-records file, checked record by record."""
    _check_header(doc, APPENDED_FIELDS, APPENDED_FORMAT, name, number)
    records = doc["records"]
    if not isinstance(records, list) or len(records) > MAX_RECORDS:
        raise _Invalid(f"'records' is not a list of at most {MAX_RECORDS} records")
    checked = []
    for index, rec in enumerate(records):
        try:
            checked.append(check_appended_record(rec, version_created))
        except _Invalid as exc:
            raise _Invalid(f"record {index}: {exc}") from None
    return checked


def check_appended_record(rec: Any, version_created: str) -> dict[str, Any]:
    """One appended record (kind, key, value, created_at, author) as push writes it; push
    checks its own records with it too, so it never sends what a pull would refuse."""
    _exact_fields(rec, ONE_RECORD_FIELDS, "a record")
    kind, key, value = rec["kind"], rec["key"], rec["value"]
    if kind not in CARRIED_KINDS:
        raise _Invalid(f"kind {_shown(kind)} is not one of {', '.join(CARRIED_KINDS)}")
    if not (isinstance(key, str) and 0 < len(key) <= MAX_KEY and key.isprintable()):
        raise _Invalid(f"key {_shown(key)} is not 1 to {MAX_KEY} printable characters on one line")
    _check_created(rec["created_at"])
    if rec["created_at"] < version_created:
        raise _Invalid(f"created_at {rec['created_at']!r} is before the version was registered")
    author = rec["author"]
    if not (isinstance(author, str) and 0 < len(author) <= MAX_RECORD_AUTHOR and author.isprintable()):
        raise _Invalid(f"author {_shown(author)} is not 1 to {MAX_RECORD_AUTHOR} printable "
                       "characters on one line")
    if kind == "metric":
        if type(value) not in (int, float):
            raise _Invalid(f"metric {key!r}: {_shown(value)} is not a number")
        return {**rec, "value": float(value)}
    if kind == "validation":
        if not isinstance(value, dict):
            raise _Invalid(f"validation {key!r} is not a JSON object")
        if len(json.dumps(value, allow_nan=True)) > MAX_VALUE_BYTES:
            raise _Invalid(f"validation {key!r} is larger than {MAX_VALUE_BYTES} bytes")
        _check_texts(value, f"validation {key!r}")
        return dict(rec)
    limit = MAX_TEXT[kind]
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise _Invalid(f"{kind} {key!r} is not a text of 1 to {limit} characters")
    _check_texts(value, f"{kind} {key!r}")
    return dict(rec)


def _exact_fields(doc: Any, fields: tuple[str, ...], what: str) -> None:
    if not isinstance(doc, dict):
        raise _Invalid(f"{what} is a JSON object, not {type(doc).__name__}")
    unknown, missing = sorted(set(doc) - set(fields)), sorted(set(fields) - set(doc))
    if unknown or missing:
        raise _Invalid(f"unknown field {_shown(unknown[0])}" if unknown
                       else f"field '{missing[0]}' is missing")


def _check_texts(value: Any, what: str) -> None:
    """Every string in ``value`` (keys too) free of terminal controls and lone surrogates."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack += [*item.keys(), *item.values()]
        elif isinstance(item, list):
            stack += item
        elif isinstance(item, str):
            found = UNSAFE_TEXT.search(item)
            if found or has_surrogate(item):
                shown = repr(found.group()) if found else "a lone surrogate"
                raise _Invalid(f"{what} holds {shown}, a control character")
