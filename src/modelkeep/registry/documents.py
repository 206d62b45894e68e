"""Documents modelkeep writes for each version: a model card and a changelog entry.

When they are made: on ``modelkeep docs`` (``Keep.docs``), not at registration. Registering
stays as fast as it is (its time is a benchmark), and a card written at registration would be
stale at once: metrics, validation results and notes are appended later. ``docs`` writes the
documents from everything known now and stores each as a dated record of its version
(``model_card`` / ``changelog``) only when it differs from the newest one stored, so running
it again adds nothing, and the history of a card is kept. ``push`` carries the stored
documents to the remote with the version's other records; ``export --as hf-card`` writes the
current card to a file without storing it (a read, fine on a read-only keep).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelkeep.clock import now_iso
from modelkeep.db.database import Database
from modelkeep.errors import ModelkeepError, OutputExistsError, UnsafePathError
from modelkeep.registry.changelog import changelog_entry
from modelkeep.registry.diff import diff_snapshots
from modelkeep.registry.records import insert_record, list_records
from modelkeep.registry.refs import parse_ref
from modelkeep.registry.standards.facts import VersionFacts, gather_facts
from modelkeep.registry.standards.hfcard import model_card
from modelkeep.registry.versions import VersionInfo, list_versions, resolve, version_metadata
from modelkeep.registry.views import appended_metrics, diff_versions
from modelkeep.storage.objects import ObjectStore

CARD_FILE = "CARD.md"
CHANGELOG_FILE = "CHANGELOG.md"


@dataclass(frozen=True)
class VersionDocuments:
    """The card and changelog entry of one version, and which of them were stored just now."""

    ref: str
    card: str
    changelog: str
    stored: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "card": self.card, "changelog": self.changelog,
                "stored": list(self.stored)}


@dataclass(frozen=True)
class DocsResult:
    """What ``docs`` wrote: the card of one version, the changelog of one or all versions."""

    name: str
    card_of: str
    versions: tuple[VersionDocuments, ...]  # newest first
    written: tuple[str, ...] = field(default=())

    @property
    def card(self) -> str:
        return next(v.card for v in self.versions if v.ref == self.card_of)

    @property
    def changelog(self) -> str:
        """The changelog file: a title, then the entries newest first."""
        entries = "\n".join(v.changelog for v in self.versions)
        return f"# Changelog of {self.name}\n\n{entries}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "card_of": self.card_of, "written": list(self.written),
                "versions": [v.to_dict() for v in self.versions]}


def facts_and_entry(db: Database, store: ObjectStore, info: VersionInfo,
                    versions: list[VersionInfo] | None = None) -> tuple[VersionFacts, str]:
    """A version's facts and its changelog entry (from the previous version, or from nothing)."""
    facts = gather_facts(db, info, versions)
    prev = facts.previous
    if prev is None:
        diff = diff_snapshots("", info.ref, {}, facts.metadata, {}, appended_metrics(db, info))
        return facts, changelog_entry(facts, diff, None)
    prev_meta = version_metadata(db, prev.id)
    try:
        diff, compared = diff_versions(db, store, prev, info), True
    except ModelkeepError:  # a tree gc pruned or a damaged object: compare the metadata only
        diff = diff_snapshots(prev.ref, info.ref, prev_meta, facts.metadata,
                              appended_metrics(db, prev), appended_metrics(db, info))
        compared = False
    return facts, changelog_entry(facts, diff, prev_meta, compared)


def version_documents(db: Database, store: ObjectStore, info: VersionInfo, author: str,
                      versions: list[VersionInfo] | None = None) -> VersionDocuments:
    """Write a version's card and changelog entry; store each that changed since last time
    (``versions``: all of the model's, when the caller has them already)."""
    facts, entry = facts_and_entry(db, store, info, versions)
    card = model_card(facts)
    stored = []
    with db.write():  # compare and append under the write lock: two runs never store one twice
        newest = {r.kind: r.value for r in list_records(db, info.id)
                  if r.kind in ("model_card", "changelog")}
        for kind, key, text in (("model_card", CARD_FILE, card), ("changelog", CHANGELOG_FILE, entry)):
            if newest.get(kind) != text:
                insert_record(db, info.id, kind, key, text, author, now_iso())  # type: ignore[arg-type]
                stored.append(kind)
    return VersionDocuments(info.ref, card, entry, tuple(stored))


def check_output(out: Path, names: tuple[str, ...], *, force: bool = False) -> None:
    """Refuse, before anything is written, a folder ``out`` that is a file or that holds one
    of ``names`` already (unless ``force``)."""
    if out.exists() and not out.is_dir():
        raise UnsafePathError(f"{out} is a file, not a folder", hint="give a folder: --out DIR",
                              path=str(out))
    for name in names:
        path = out / name
        if not force and (path.exists() or path.is_symlink()):
            raise OutputExistsError(f"{path} exists already; nothing was written",
                                    hint="choose another folder, or pass --force to replace it",
                                    path=str(path))


def write_file(path: Path, data: bytes, *, force: bool = False) -> None:
    """Write one output file whole (``export --as --out``; its folder made when missing): an
    existing file is refused unless ``force``; a folder is never replaced."""
    from modelkeep.storage.durable import write_file_atomic

    if path.is_dir():
        raise UnsafePathError(f"{path} is a folder, not a file", hint="give a file name: --out FILE",
                              path=str(path))
    check_output(path.parent, (path.name,), force=force)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_file_atomic(path, data)


def write_documents(out: Path, files: dict[str, str], *, force: bool = False) -> list[str]:
    """Write ``files`` (name -> text) into folder ``out``: all of them, or none when one exists
    already (unless ``force``); each file appears whole."""
    from modelkeep.storage.durable import write_file_atomic

    check_output(out, tuple(files), force=force)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        write_file_atomic(out / name, text.encode("utf-8"))
        written.append(str(out / name))
    return written


def document(db: Database, store: ObjectStore, ref: str, *, author: str, out: Path | None = None,
             force: bool = False) -> DocsResult:
    """``docs NAME@VERSION``: that version's card and changelog entry; ``docs NAME``: the card
    of NAME@latest and every version's changelog entry, newest first. Stored as records (when
    changed), then written to ``out`` as CARD.md and CHANGELOG.md."""
    parsed = parse_ref(ref)
    target = resolve(db, parsed)
    every = list_versions(db, parsed.name)
    chosen = [target] if "@" in ref else list(reversed(every))
    if out is not None:  # refuse an existing file before anything is stored
        check_output(out, (CARD_FILE, CHANGELOG_FILE), force=force)
    docs = tuple(version_documents(db, store, v, author, every) for v in chosen)
    result = DocsResult(parsed.name, target.ref, docs)
    if out is None:
        return result
    written = write_documents(out, {CARD_FILE: result.card, CHANGELOG_FILE: result.changelog},
                              force=force)
    return DocsResult(result.name, result.card_of, docs, tuple(written))

