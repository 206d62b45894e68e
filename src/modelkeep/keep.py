"""Keep: the facade that cli/ and server/ call. It opens the parts and delegates; no logic here."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelkeep import config
from modelkeep.db.database import Database
from modelkeep.db.migrate import Migration, check_schema
from modelkeep.db.migrate import migrate as migrate_schema
from modelkeep.errors import InvalidInputError, KeepExistsError
from modelkeep.registry import versions
from modelkeep.registry.refs import parse_ref
from modelkeep.registry.versions import Bump, ModelSummary, VersionInfo
from modelkeep.storage.hashing import Progress
from modelkeep.storage.objects import ObjectStore

if TYPE_CHECKING:
    from modelkeep.registry import records
    from modelkeep.registry.ab_report import AbReport
    from modelkeep.registry.ab_tally import ArmTally, SeenUser, TallyKey
    from modelkeep.registry.aliases import AliasMove
    from modelkeep.registry.costs import Budget, CallCost, CostReport
    from modelkeep.registry.dependency_lock import ServingNeeds
    from modelkeep.registry.deploy_config import DeployConfig
    from modelkeep.registry.deploy_history import ServingPeriod
    from modelkeep.registry.deployments import DeploymentEvent
    from modelkeep.registry.documents import DocsResult
    from modelkeep.registry.drills import DrillReference, DrillResult, DrillStatus
    from modelkeep.registry.feedback import Feedback, FeedbackSummary
    from modelkeep.registry.gates import GatePolicy, GateResult
    from modelkeep.registry.payloads import PayloadItem, PayloadPolicy, PurgeResult
    from modelkeep.registry.rollout import Deployment
    from modelkeep.registry.serving import VersionStats
    from modelkeep.registry.shadow_report import ShadowReport
    from modelkeep.registry.shadow_stats import ShadowBatch
    from modelkeep.run import Run

if TYPE_CHECKING:  # result types, imported for annotations only (opening a keep stays fast)
    from collections.abc import Sequence
    from typing import IO

    from modelkeep.registry.diff import VersionDiff
    from modelkeep.registry.integrity import KeepCheck
    from modelkeep.registry.publish import SyncResult
    from modelkeep.registry.roots import GcResult
    from modelkeep.registry.views import VersionView
    from modelkeep.storage.checkout import CheckoutStats
    from modelkeep.storage.lfs import LfsReport
    from modelkeep.storage.pointer_results import AddedPath, RestoredPointers
    from modelkeep.storage.remotes import Remote, RemoteInfo
    from modelkeep.tracking.execute import ExecResult
    from modelkeep.tracking.history import MetricHistory
    from modelkeep.tracking.runs import RunInfo
    from modelkeep.tracking.views import (
        DatasetSummary,
        DatasetView,
        RunComparison,
        RunSummary,
        RunView,
    )

if TYPE_CHECKING:
    from modelkeep.registry.candidates import BumpReport
    from modelkeep.registry.loaders import Loaded, Prediction
    from modelkeep.registry.validation.results import ValidationReport, ValidationStatus
    from modelkeep.tracking.reproduce_plan import Layout
    from modelkeep.tracking.reproduce_run import ReproduceReport

KEEP_GITIGNORE = "# written by modelkeep init: the keep is local state, never committed\n*\n"


class Keep:
    """An open keep: settings, metadata database and object store.

    Opening reads only: a schema behind this modelkeep's is migrated by the first write (a
    SQLite keep, backed up first) or by ``migrate()`` (a shared database); see db/migrate.py.
    """

    def __init__(self, settings: config.Settings, *, create: bool = False,
                 on_migrate: Callable[[Migration], None] | None = None) -> None:
        self.settings = settings
        # only init creates the database: a missing or empty one is an error, never a new keep
        self.db = Database(settings.database_url, create=create)
        # the stat cache lets add and checkout skip unchanged files without re-hashing them
        self.store = ObjectStore(settings.store_path, settings.tmp_dir, settings.workers,
                                 stat_cache_path=settings.keep_dir / "statcache.json")
        if create:
            migrate_schema(self.db, self._migrate_lock, create=True)
        else:
            self.db.schema_guard = check_schema(self.db, self._migrate_lock, on_migrate)

    # -- opening --------------------------------------------------------------------------

    @classmethod
    def init(cls, path: Path | str = ".", *, database_url: str | None = None) -> Keep:
        """Create ``.modelkeep/`` in ``path`` (config.toml, SQLite in WAL mode, objects/, tmp/)."""
        root = Path(path).resolve()
        if database_url:  # a bad URL, a missing driver or a server down: refused before any mkdir
            probe = Database(database_url)
            probe.connection  # noqa: B018  (connecting is the check)
            probe.close()
        keep_dir = root / config.KEEP_DIRNAME
        if (keep_dir / config.CONFIG_FILENAME).exists():
            raise KeepExistsError(
                f"a keep already exists in {root}",
                hint="use it as it is, or remove .modelkeep/ to start again",
                path=str(root),
            )
        root.mkdir(parents=True, exist_ok=True)
        import shutil  # init only: shutil pulls bz2 and lzma, which other commands skip

        staging = root / f"{config.KEEP_DIRNAME}.init-tmp"
        shutil.rmtree(staging, ignore_errors=True)
        (staging / "objects").mkdir(parents=True)
        (staging / "tmp").mkdir()
        text = config.default_config_text()
        if database_url:
            text = text.replace("[core]\n", f"[core]\ndatabase_url = {json.dumps(database_url)}\n", 1)
        config.write_config_file(staging / config.CONFIG_FILENAME, text)  # 0600 with a password
        # like a virtual environment: the keep ignores itself, so no repository setting is needed
        (staging / ".gitignore").write_text(KEEP_GITIGNORE, encoding="utf-8")
        staging.rename(keep_dir)  # a keep appears whole or not at all
        try:
            return cls(config.load_settings(root, database_url=database_url), create=True)
        except BaseException:
            shutil.rmtree(keep_dir, ignore_errors=True)
            raise

    @classmethod
    def open(cls, location: Path | str | None = None, *, store: str | Path | None = None,
             near: Path | str | None = None, author: str | None = None,
             on_migrate: Callable[[Migration], None] | None = None) -> Keep:
        """Open a keep, reading only. ``location`` (default ``MODELKEEP_KEEP``, else found by
        walking up from ``near`` or the cwd) is a path to or inside a keep, or a database URL
        whose object store is ``store`` (default ``MODELKEEP_STORE_URL``); ``http(s)://`` is
        refused (``ServerNotSupportedError``). ``on_migrate`` hears of a migration a write makes."""
        where = config.locate_keep(location, store=os.fspath(store) if store else None, near=near)
        settings = config.load_settings(where.root, database_url=where.database_url,
                                        author=author, store=store,
                                        by_url=where.database_url is not None)
        return cls(settings, on_migrate=on_migrate)

    def migrate(self) -> Migration:
        """Bring the keep's database to this modelkeep's schema (a SQLite file is backed up
        first); the one way to migrate a shared database. Already current: nothing is done."""
        done = migrate_schema(self.db, self._migrate_lock)
        self.db.schema_guard = None
        return done

    @property
    def _migrate_lock(self) -> Path:
        return self.settings.keep_dir / "migrate.lock"

    @property
    def killed_runs(self) -> list[str]:
        """Mark ``killed`` the running runs whose owner process on this host is gone; their
        ids (runs are also marked wherever they are read or written)."""
        from modelkeep.tracking.runs import reap_dead_runs

        return reap_dead_runs(self.db)

    @property
    def author(self) -> str:
        return self.settings.author

    def close(self) -> None:
        """Release database connections."""
        self.db.close()

    # -- registry -------------------------------------------------------------------------

    def register(self, name: str, path: Path | str, *, version: str | None = None,
                 bump: Bump | None = None, metadata: Any = None,
                 params: Mapping[str, Any] | None = None, metrics: Mapping[str, Any] | None = None,
                 run_id: str | None = None, lineage: Mapping[str, Any] | None = None,
                 progress: Progress | None = None, allow_same: bool = False) -> VersionInfo:
        """Store ``path`` and register it as a new immutable version of model ``name``
        (inheriting its predecessor's declared metadata). Content identical to the latest
        version makes none: that version comes back with ``unchanged`` set, unless
        ``allow_same``."""
        from modelkeep.registry.registration import register_path

        return register_path(
            self.db, self.store, name, Path(path), author=self.author, version=version,
            bump=bump, metadata=metadata, params=params, metrics=metrics, run_id=run_id,
            lineage=lineage, progress=progress, allow_same=allow_same,
        )

    def models(self) -> list[ModelSummary]:
        """Every registered model."""
        return versions.list_models(self.db)

    def versions(self, name: str) -> list[VersionInfo]:
        """Every version of ``name``, lowest first."""
        return versions.list_versions(self.db, name)

    def resolve(self, ref: str, at: str | None = None) -> VersionInfo:
        """``NAME@VERSION``, ``NAME@ALIAS`` or ``NAME@latest`` (as of ``at``) to a version."""
        return versions.resolve(self.db, parse_ref(ref), at)

    def show(self, ref: str, at: str | None = None) -> VersionView:
        """A version with its metadata snapshot, aliases and appended records."""
        from modelkeep.registry.views import version_view

        return version_view(self.db, self.resolve(ref, at), at)

    def diff(self, ref_a: str, ref_b: str) -> VersionDiff:
        """What changed from version ``ref_a`` to ``ref_b`` (metadata, params, metrics, files)."""
        from modelkeep.registry.views import diff_versions

        return diff_versions(self.db, self.store, self.resolve(ref_a), self.resolve(ref_b))

    def export(self, ref: str, fmt: str) -> bytes:
        """A version's metadata as json, yaml or proto bytes."""
        from modelkeep.registry.views import export_version

        return export_version(self.db, self.resolve(ref), fmt)

    def import_metadata(self, path: Path | str, *, artifacts: Path | str | None = None,
                        name: str | None = None, progress: Progress | None = None
                        ) -> VersionInfo:
        """Register a version from an exported metadata file (artifacts from the store or a path)."""
        from modelkeep.registry.views import import_version

        return import_version(self.db, self.store, Path(path), author=self.author,
                              artifacts=Path(artifacts) if artifacts else None, name=name,
                              progress=progress)

    def set_alias(self, name: str, alias: str, version: str, reason: str = "", *,
                  force: bool = False) -> AliasMove:
        """Point ``alias`` at ``version``; the previous target stays in the history. A protected
        alias (config ``[validation] protected_aliases``) needs a passing validation of
        ``version``, unless ``force`` with a ``reason`` (recorded as forced)."""
        from modelkeep.registry import aliases

        return aliases.set_alias(self.db, name, alias, version, self.author, reason,
                                 protected=self.settings.protected_aliases, force=force)

    def remove_alias(self, name: str, alias: str, reason: str = "") -> AliasMove:
        """Unset ``alias`` (recorded in its history)."""
        from modelkeep.registry import aliases

        return aliases.remove_alias(self.db, name, alias, self.author, reason)

    def aliases(self, name: str) -> dict[str, str]:
        """alias -> version for every alias of ``name`` set now."""
        from modelkeep.registry import aliases

        return aliases.current_aliases(self.db, name)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        """Every move of an alias (or all aliases) of ``name``, oldest first."""
        from modelkeep.registry import aliases

        return aliases.alias_history(self.db, name, alias)

    def add_note(self, ref: str, text: str) -> records.VersionRecord:
        """Append a dated note to a registered version."""
        from modelkeep.registry import records

        return records.append_record(self.db, self.resolve(ref).id, "note", "note", text,
                                     self.author)

    def add_metric(self, ref: str, key: str, value: Any) -> records.VersionRecord:
        """Append a dated metric to a registered version (the registered snapshot is untouched)."""
        from modelkeep.registry import records

        return records.append_record(self.db, self.resolve(ref).id, "metric", key, value,
                                     self.author)

    # -- artifacts ------------------------------------------------------------------------

    def checkout(self, ref: str, dest: Path | str, *, link: str = "auto",
                 patterns: list[str] | None = None, tensor_patterns: list[str] | None = None,
                 progress: Progress | None = None, verify: bool = True) -> CheckoutStats:
        """Restore a version's files into ``dest`` byte for byte (or only the files matching
        ``patterns``, and of safetensors files only the tensors matching ``tensor_patterns``);
        ``verify`` (default) hashes every file as it is written."""
        from modelkeep.storage.checkout import checkout

        info = self.resolve(ref)
        return checkout(self.store, info.tree_id, Path(dest), link=link,  # type: ignore[arg-type]
                        patterns=patterns, tensor_patterns=tensor_patterns, progress=progress,
                        verify=verify, protected=self.own_folders)

    def fsck(self, progress: Progress | None = None, *, repair: bool = False,
             remote: str | None = None) -> KeepCheck:
        """Re-hash every object (quarantining corrupt ones) and check manifests and trees; name
        the versions that any damage affects. ``repair`` fetches corrupt and missing objects
        again from ``remote`` (default: the default remote)."""
        from modelkeep.registry.integrity import check_keep, repair_keep
        from modelkeep.storage.pins import list_pins

        pinned = [p.tree_id for p in list_pins(self.pins_dir)]
        if repair:
            return repair_keep(self.db, self.store, self.remote(remote), progress=progress,
                               pinned=pinned)
        return check_keep(self.db, self.store, progress=progress, pinned=pinned)

    # -- remotes and gc -------------------------------------------------------------------

    def remote(self, name: str | None = None) -> Remote:
        """Open remote ``name`` (default: MODELKEEP_REMOTE, [core] remote, the only one, origin)."""
        from modelkeep.storage.remotes import Remote

        chosen, section = config.remote_section(self.settings, name)
        return Remote(chosen, section["url"], section, base=self.settings.root)

    def remotes(self) -> dict[str, RemoteInfo]:
        """name -> settings of every configured remote, credentials masked (``redact``): what
        may be shown. ``remote()`` opens one with its real settings."""
        from modelkeep.redact import redact_options
        from modelkeep.storage.remotes import RemoteInfo

        return {name: RemoteInfo.from_section(
                    name, redact_options(section) if isinstance(section, dict) else section)
                for name, section in self.settings.remotes.items()}

    def add_remote(self, name: str, url: str, **options: Any) -> None:
        """Add ``[remotes.NAME]`` to the keep's config.toml (a local path is stored absolute)."""
        if "://" not in url:
            url = str(Path(url).expanduser().resolve())
        config.add_remote_section(self.settings.root, name, url, options)
        self.settings = config.load_settings(self.settings.root, database_url=self.settings.database_url,
                                             author=self.settings.author)

    def remove_remote(self, name: str) -> None:
        """Remove ``[remotes.NAME]`` from the keep's config.toml (the remote's data is untouched)."""
        config.remove_remote_section(self.settings.root, name)
        self.settings = config.load_settings(self.settings.root, database_url=self.settings.database_url,
                                             author=self.settings.author)

    def push(self, refs: list[str] | None = None, *, remote: str | None = None,
             all_versions: bool = False, progress: Progress | None = None) -> SyncResult:
        """Send versions (default: all, plus the trees of live ``add`` pointers) to a remote;
        ``all_versions`` also sends every tree a pointer ever named (pins and Git history)."""
        from modelkeep.registry.publish import push_versions
        from modelkeep.storage.pins import list_pins

        if refs and all_versions:
            raise InvalidInputError("--all-versions pushes everything: give no NAME@VERSION with it",
                                    hint="modelkeep push --all-versions")
        pins = [] if refs else list_pins(self.pins_dir)
        trees = {p.tree_id for p in pins if all_versions or p.is_live()}
        history: set[str] = set()
        if all_versions:
            from modelkeep.tracking.git import pointer_trees_in_repositories

            history = pointer_trees_in_repositories(
                [Path.cwd(), self.settings.root, *(Path(p.pointer).parent for p in pins)])
        here = {t for t in trees | history if self.store.has(t)}
        result = push_versions(self.db, self.store, self.remote(remote), refs or [],
                               trees=sorted(here), progress=progress)
        if all_versions:
            result = replace(result, history_trees=len(history),
                             trees_not_here=sorted((trees | history) - here))
        return result

    def pull(self, refs: list[str], *, remote: str | None = None, patterns: list[str] | None = None,
             tensor_patterns: list[str] | None = None, progress: Progress | None = None
             ) -> SyncResult:
        """Fetch versions from a remote (registering those this keep lacks); ``patterns`` and
        ``tensor_patterns`` fetch only some files, or only some tensors of safetensors files."""
        from modelkeep.registry.publish import pull_versions

        return pull_versions(self.db, self.store, self.remote(remote), refs, author=self.author,
                             patterns=patterns, tensor_patterns=tensor_patterns,
                             progress=progress)

    def gc(self, *, dry_run: bool = False, grace: float | None = None, keep_stable: int | None = None,
           keep_all: bool = False, force: bool = False, progress: Progress | None = None
           ) -> GcResult:
        """Delete objects no kept version, dataset, run or pointer needs (see docs/remotes.md);
        ``force``: even when the database records nothing but the store holds objects."""
        from modelkeep.registry.retention import RetentionPolicy
        from modelkeep.registry.roots import collect_garbage

        policy = RetentionPolicy(
            keep_stable=self.settings.retention_stable if keep_stable is None else keep_stable,
            keep_all=keep_all, grace=self.settings.gc_grace if grace is None else grace)
        return collect_garbage(self.db, self.store, self.pins_dir, policy, author=self.author,
                               dry_run=dry_run, force=force, progress=progress)

    @property
    def own_folders(self) -> list[Path]:
        """The keep's folder and its store: checkout and pointer restore never write into them."""
        return [self.settings.keep_dir, self.store.root, self.store.tmp_dir]

    @property
    def pins_dir(self) -> Path:
        """Where ``modelkeep add`` records the trees its pointer files name."""
        from modelkeep.storage.pins import PINS_DIRNAME

        return self.settings.keep_dir / PINS_DIRNAME

    def add(self, path: Path | str, progress: Progress | None = None, *, sha256: bool = False
            ) -> AddedPath:
        """Store a file or folder and write its ``.mk`` pointer file and .gitignore entry
        (``sha256``: also compute and keep each file's SHA-256)."""
        from modelkeep.storage.pointer_results import AddedPath
        from modelkeep.storage.pointers import track
        from modelkeep.storage.sha256index import Sha256Index

        index = Sha256Index(self.settings.keep_dir / "sha256") if sha256 else None
        return AddedPath(Path(path), *track(self.store, Path(path), self.pins_dir,
                                            progress=progress, sha256=index))

    def restore_pointers(self, where: Path | str = ".", *, remote: str | None = None,
                         link: str = "auto", fetch: bool = True, empty_ok: bool = True,
                         progress: Progress | None = None) -> RestoredPointers:
        """Turn the ``.mk`` pointers under ``where`` back into files, pulling what is missing
        (``fetch=False``: from this keep only, as ``checkout`` with no ref does; ``empty_ok``
        False: no pointer there is an error, as for ``pull`` with no ref)."""
        from modelkeep.storage.pointer_results import RestoredPointers
        from modelkeep.storage.pointers import find_pointers, restore_all

        pointers = find_pointers(Path(where))
        if not pointers and not empty_ok:
            raise InvalidInputError(
                "nothing to pull: no NAME@VERSION given and no .mk pointer files here",
                hint="modelkeep pull NAME@VERSION, or run it in a folder holding pointer files")
        root = Path(where) if Path(where).is_dir() else Path(where).parent
        restored, transfer = restore_all(
            self.store, pointers, self.pins_dir,
            remote=(lambda: self.remote(remote)) if fetch else None,
            link=link, progress=progress, root=root,  # type: ignore[arg-type]
            protected=self.own_folders)
        return RestoredPointers(restored, transfer, fetched=fetch)

    def export_lfs(self, source: str, dest: Path | str, *, objects: Path | str | None = None,
                   progress: Progress | None = None) -> LfsReport:
        """Write Git LFS pointers and objects for a version (NAME@VERSION) or a ``.mk`` pointer."""
        from modelkeep.storage.lfs import export_lfs, lfs_objects_for
        from modelkeep.storage.pointers import tree_of_pointer
        from modelkeep.storage.sha256index import Sha256Index

        tree = tree_of_pointer(Path(source)) or self.resolve(source).tree_id
        return export_lfs(self.store, tree, Path(dest), lfs_objects_for(Path(dest), objects),
                          Sha256Index(self.settings.keep_dir / "sha256"), progress=progress)

    def import_lfs(self, source: Path | str, *, objects: Path | str | None = None,
                   name: str | None = None, version: str | None = None,
                   progress: Progress | None = None) -> LfsReport:
        """Store a Git LFS checkout (objects checked by SHA-256); register it when ``name``."""
        from modelkeep.registry.publish import register_tree
        from modelkeep.storage.lfs import import_lfs, lfs_objects_for
        from modelkeep.storage.sha256index import Sha256Index

        with self.store.recording():  # gc's root set waits until the version is recorded
            report = import_lfs(self.store, Path(source), lfs_objects_for(Path(source), objects),
                                Sha256Index(self.settings.keep_dir / "sha256"), progress=progress)
            if name:
                report = replace(report, version=register_tree(
                    self.db, name, report, author=self.author, version=version).ref)
        return report

    # -- tracking -------------------------------------------------------------------------

    def start_run(self, model: str | None = None, name: str | None = None, *,
                  run_id: str | None = None, tags: Mapping[str, Any] | None = None,
                  params: Mapping[str, Any] | None = None, capture: bool = True,
                  system_metrics: float | None = None, flush_interval: float | None = None,
                  owned: bool = True, handle_signals: bool = True) -> Run:
        """Start a run logged to this keep, or attach to one (see ``modelkeep.start_run``).
        A program that embeds modelkeep passes ``handle_signals=False``: then no SIGTERM
        handler, exit hook or lingering thread is installed, and it ends its runs itself."""
        from modelkeep.run import start_in

        return start_in(self, model, name, run_id=run_id, tags=tags, params=params,
                        capture=capture, system_metrics=system_metrics,
                        flush_interval=flush_interval, owned=owned,
                        handle_signals=handle_signals)

    def run(self, ref: str) -> RunInfo:
        """A run's row by UUID or unique prefix."""
        from modelkeep.tracking.runs import get_run

        return get_run(self.db, ref)

    def run_view(self, ref: str) -> RunView:
        """Everything known about a run (params, metrics, datasets, code, environment, ...)."""
        from modelkeep.tracking.query import run_view

        return run_view(self.db, self.store, self.run(ref))

    def runs(self, *, model: str | None = None, status: str | None = None,
             params: list[str] | tuple[str, ...] = (), metrics: list[str] | tuple[str, ...] = (),
             limit: int | None = None) -> list[RunSummary]:
        """Runs newest first, filtered by model, status, params and final-metric ranges."""
        from modelkeep.tracking.query import list_runs

        return list_runs(self.db, model=model, status=status, params=params, metrics=metrics,
                         limit=limit)

    def compare_runs(self, refs: list[str] | tuple[str, ...]) -> RunComparison:
        """Params and final metrics of several runs side by side, with what changed."""
        from modelkeep.tracking.query import compare_runs

        return compare_runs(self.db, [self.run(r) for r in refs])

    def metric_history(self, ref: str, name: str) -> MetricHistory:
        """Every point of one metric of a run, by step."""
        from modelkeep.tracking.history import read_history

        info = self.run(ref)
        return read_history(self.db, info.pk, info.id, name)

    def end_run(self, ref: str, status: str = "finished", *, strict: bool = False) -> bool:
        """End a running run; False when it had already ended (``strict``: RunNotActiveError)."""
        from modelkeep.tracking.runs import end_run, require_running

        ended = end_run(self.db, self.run(ref).pk, status)
        if not ended and strict:
            require_running(self.run(ref))
        return ended

    def datasets(self, name: str | None = None) -> list[DatasetSummary]:
        """Every dataset version (or those named ``name``), newest first."""
        from modelkeep.tracking.datasets import list_datasets

        return list_datasets(self.db, name)

    def dataset(self, ref: str) -> DatasetView:
        """A dataset version (tree id, prefix or name) with the runs and versions that used it."""
        from modelkeep.tracking.datasets import dataset_view

        return dataset_view(self.db, ref)

    # -- run exec -------------------------------------------------------------------------

    def exec_run(self, run_id: str, command: Sequence[str], *, stdout: IO[bytes] | None = None,
                 stderr: IO[bytes] | None = None) -> ExecResult:
        """Run ``command`` under run ``run_id`` (``MODELKEEP_RUN_ID`` and ``MODELKEEP_KEEP`` in
        its environment), its output copied to ``stdout``/``stderr``; record its exit code,
        output tail and command on the run. The run stays open: its owner ends it."""
        from modelkeep.tracking.execute import execute_run

        return execute_run(self.db, self.run(run_id), command,
                           keep_env=self.settings.reopen_env(), stdout=stdout, stderr=stderr)

    # -- running versions (loaders) -------------------------------------------------------

    def load(self, ref: str) -> Loaded:
        """Load version ``ref`` through its declared loader from a private, verified checkout:
        a ``LoadedModel`` whose ``predict`` takes and returns JSON-ready values (``close()``
        removes the checkout; a ``with`` block does it too). Pickles load
        only for models in ``[loaders] trusted_pickles``."""
        from modelkeep.registry.loaders import load_version

        info = self.resolve(ref)
        return load_version(self.store, info, versions.version_metadata(self.db, info.id),
                            trusted_pickles=self.settings.trusted_pickles,
                            providers=self.settings.providers)

    def example_inputs(self, ref: str) -> list[object]:
        """The example inputs version ``ref`` declares (``[]`` when none)."""
        from modelkeep.registry.loaders import example_inputs

        info = self.resolve(ref)
        return example_inputs(self.store, info, versions.version_metadata(self.db, info.id))

    def predict(self, ref: str, inputs: Any) -> Prediction:
        """Load version ``ref``, run it on ``inputs`` (JSON-ready values, or the bytes of a JSON
        document) and close it: a ``Prediction``."""
        from modelkeep.registry.loaders import predict_version

        info = self.resolve(ref)
        return predict_version(self.store, info, versions.version_metadata(self.db, info.id),
                               inputs, trusted_pickles=self.settings.trusted_pickles,
                               providers=self.settings.providers)

    def bump(self, name: str, path: Path | str, *, metadata: Any = None,
             params: Mapping[str, Any] | None = None, metrics: Mapping[str, Any] | None = None,
             progress: Progress | None = None) -> BumpReport:
        """The bump the files at ``path`` need as the next version of ``name``, with every
        reason (a ``BumpReport``); nothing is registered."""
        from modelkeep.registry.candidates import candidate_bump

        return candidate_bump(self.db, self.store, name, Path(path), author=self.author,
                              metadata=metadata, params=params, metrics=metrics,
                              progress=progress)

    # -- validation -----------------------------------------------------------------------

    def validate(self, ref: str, policy: Path | str, *, store_result: bool = True
                 ) -> ValidationReport:
        """Check a version against a policy file (docs/validation.md) and, unless
        ``store_result`` is False, store the report with the version as a dated record."""
        from modelkeep.registry.validation.gate import validate_version
        from modelkeep.registry.validation.policy import load_policy

        loaded = load_policy(Path(policy))
        return validate_version(self.db, self.settings.root, self.settings.database_url,
                                self.resolve(ref), loaded, author=self.author,
                                store_result=store_result)

    def validation_status(self, ref: str) -> ValidationStatus | None:
        """The latest stored validation of a version (None: never validated)."""
        from modelkeep.registry.validation.protection import latest_validation

        return latest_validation(self.db, self.resolve(ref))

    # -- documents and standards ----------------------------------------------------------

    def docs(self, ref: str, out: Path | str | None = None, *, force: bool = False) -> DocsResult:
        """The model card and changelog of ``ref`` (NAME@VERSION; a bare NAME: the card of its
        latest version and every version's changelog entry), stored with each version when
        they changed since last time; written to ``out`` as CARD.md and CHANGELOG.md (an
        existing file is refused unless ``force``)."""
        from modelkeep.registry.documents import document

        return document(self.db, self.store, ref, author=self.author,
                        out=Path(out) if out is not None else None, force=force)

    def export_as(self, ref: str, fmt: str, out: Path | str | None = None, *,
                  force: bool = False) -> bytes:
        """A version in a standard format: ``mlmodel`` (MLflow MLmodel), ``hf-card`` (Hugging
        Face model card), ``cyclonedx`` (CycloneDX ML-BOM) or ``openlineage`` (run events);
        also written to file ``out`` when given (an existing file is refused unless ``force``)."""
        from modelkeep.registry.documents import write_file
        from modelkeep.registry.standards import export_standard

        data = export_standard(self.db, ref, fmt)
        if out is not None:
            write_file(Path(out), data, force=force)
        return data

    # -- reproduce ------------------------------------------------------------------------

    def reproduce(self, ref: str, dest: Path | str, *, remote: str | None = None,
                  force: bool = False, strict: bool = False, run: bool = False,
                  tolerance: float | None = None, output: Path | None = None,
                  progress: Progress | None = None, stdout: IO[bytes] | None = None,
                  stderr: IO[bytes] | None = None, on_start: Callable[[str], None] | None = None,
                  on_layout: Callable[[Layout], None] | None = None) -> ReproduceReport:
        """Lay out everything ``ref`` was made from in ``dest`` (code, datasets, pipeline,
        hyperparameters, requirements lock, REPRODUCE.md); with ``run=True`` re-run its pipeline
        there as a tracked run and compare (``tracking.reproduce_run.reproduce``). Objects this
        keep lacks are fetched from ``remote`` (default: the default remote) when one is
        configured."""
        from modelkeep.registry.versions import version_metadata
        from modelkeep.storage.transfer import pull_objects
        from modelkeep.tracking.reproduce_run import DEFAULT_TOLERANCE, Workbench, reproduce

        info = self.resolve(ref)

        def fetch(trees: list[str], blobs: list[str]) -> None:
            pull_objects(self.store, self.remote(remote), trees, objects=blobs)

        if remote is not None:
            self.remote(remote)  # an unknown name is refused before anything is laid out
        bench = Workbench(self.db, self.store, self.own_folders, self.settings.reopen_env(),
                          self.start_run, fetch if self.settings.remotes else None)
        return reproduce(bench, ref=info.ref, name=info.name, tree_id=info.tree_id,
                         run_id=info.run_id, meta=version_metadata(self.db, info.id),
                         dest=Path(dest), force=force, strict=strict, run=run,
                         tolerance=DEFAULT_TOLERANCE if tolerance is None else tolerance,
                         output=output, progress=progress, stdout=stdout, stderr=stderr,
                         on_start=on_start, on_layout=on_layout)

    # -- deployments (the gateway's serving state: docs/gateway.md) -----------------------

    def deployment(self, name: str) -> Deployment:
        """Model ``name``'s serving state now: stable version, earlier stable versions and the
        running or last rollout (a ``Deployment``; empty when never deployed)."""
        from modelkeep.registry.deployments import current

        return current(self.db, name)

    def deployments(self) -> list[Deployment]:
        """The serving state of every deployed model (what a gateway routes by)."""
        from modelkeep.registry.deployments import all_current

        return all_current(self.db)

    def deployment_revision(self) -> int:
        """A number that changes whenever any model's serving state does (gateways poll it)."""
        from modelkeep.registry.deployments import revision

        return revision(self.db)

    def deployment_history(self, name: str) -> list[DeploymentEvent]:
        """Every change of ``name``'s serving state, oldest first (``DeploymentEvent``\\ s)."""
        from modelkeep.registry.deployments import history

        return history(self.db, name)

    def deploy(self, ref: str, *, canary: bool = False, shadow: bool = False,
               shadow_percent: float | None = None, steps: tuple[int, ...] | None = None,
               by: str | None = None, window: float | None = None, gates: GatePolicy | None = None,
               reason: str = "", config: DeployConfig | None = None, blue_green: bool = False,
               shadow_window: float = 0.0, tolerance: float = 0.0, force: bool = False
               ) -> DeploymentEvent:
        """Serve version ``ref``: all traffic at once, or through a shadow and/or canary rollout
        from the stable version (``steps`` in percent, default 5,25,50,100; ``by`` the request
        key for sticky assignment, ``header:NAME``; each step watched ``window`` seconds, default
        24 h, under ``gates``; the shadow phase ``shadow_window`` seconds, 0: moved by hand), or
        ``blue_green``: loaded beside the stable version, then all traffic at once. ``config``
        (routing, gates, loader settings, environment; over the version's registered
        ``deployment`` metadata; arguments win over its routing and gates) is recorded with the
        version. A version whose latest validation did not pass is refused unless ``force``
        (with a ``reason``). A ``DeploymentEvent``."""
        from modelkeep.registry.deploy_config import DeployConfig, registered_defaults, rollout_shape
        from modelkeep.registry.deployments import deploy_version
        from modelkeep.registry.rollout import DEFAULT_STEPS, DEFAULT_WINDOW

        info = self.resolve(ref)
        given = config or DeployConfig()
        shape = rollout_shape(given, steps=steps, by=by, shadow_percent=shadow_percent,
                              window=window, gates=gates)
        recorded = given.under(registered_defaults(versions.version_metadata(self.db, info.id)))
        return deploy_version(self.db, info, author=self.author, canary=canary,
                              shadow=shadow, shadow_percent=shape.shadow_percent,
                              steps=shape.steps or DEFAULT_STEPS, by=shape.by,
                              window=DEFAULT_WINDOW if shape.window is None else shape.window,
                              gates=shape.gates, reason=reason, config=recorded,
                              blue_green=blue_green, shadow_window=shadow_window,
                              tolerance=tolerance, force=force)

    def change_deployment(self, name: str, action: str, reason: str = "", *,
                          expect_revision: int | None = None) -> DeploymentEvent:
        """``promote`` (next step), ``promote-full``, ``pause``, ``resume``, ``abort`` or
        ``rollback`` (all traffic to the last stable version) model ``name``'s deployment;
        ``expect_revision``: only if its state is still that revision."""
        from modelkeep.registry.deployments import change

        return change(self.db, name, action, author=self.author, reason=reason,
                      expect_revision=expect_revision)

    def record_serving_stats(self, name: str, stats: Mapping[str, VersionStats],
                             gateway: str) -> None:
        """Append what a gateway's requests to each version of ``name`` did (gateways call it);
        about once a minute, rows a few minutes old are folded into one per minute."""
        from modelkeep.registry.serving import record_stats
        from modelkeep.registry.stats_folding import fold_if_due

        record_stats(self.db, name, stats, gateway)
        fold_if_due(self.db, name)

    def serving_stats(self, name: str, since: str = "") -> dict[str, VersionStats]:
        """version -> requests, errors and latency of every gateway since ``since``, for the
        versions ``name``'s deployment serves."""
        from modelkeep.registry.serving import stats_since

        return stats_since(self.db, name, self.deployment(name).serving(), since)

    def deployment_gates(self, name: str) -> list[GateResult]:
        """Each gate's verdict on ``name``'s canary step or shadow phase now ([] when neither
        runs): the built-in gates and the metric gates (``--gate``)."""
        from modelkeep.registry.judging import rollout_verdicts

        return rollout_verdicts(self.db, self.deployment(name))

    def record_feedback(self, name: str, items: Sequence[Feedback]) -> None:
        """Append labels and outcome values for answers of ``name`` (gateways call it)."""
        from modelkeep.registry.feedback import record_feedback

        record_feedback(self.db, name, items)

    def feedback_summary(self, name: str, since: str = "") -> dict[str, FeedbackSummary]:
        """version -> feedback items, accuracy of judged labels and mean outcome value since
        ``since``, for the versions ``name``'s deployment serves."""
        from modelkeep.registry.feedback import summary

        return summary(self.db, name, self.deployment(name).serving(), since)

    # -- payloads (privacy by default: docs/privacy.md) -----------------------------------

    def payload_policy(self) -> PayloadPolicy:
        """Whether gateways log payloads (off unless ``[gateway] payload_logging``), the
        retention period, size cap and redaction patterns."""
        from modelkeep.registry.payloads import PayloadPolicy
        from modelkeep.registry.redaction import check_patterns

        s = self.settings
        redactor = check_patterns(s.payload_redact, dict(s.payload_patterns),
                                  f"config file {s.keep_dir / config.CONFIG_FILENAME}")
        return PayloadPolicy(s.payload_logging, s.payload_retention_days, redactor,
                             s.payload_max_bytes)

    def record_payloads(self, items: Sequence[PayloadItem]) -> int:
        """Store answered requests' payloads redacted, and delete expired ones (gateways call
        it, only with logging on); how many were stored."""
        from modelkeep.registry.payloads import record_payloads

        return record_payloads(self.db, items, self.payload_policy())

    def purge_payloads(self, *, model: str | None = None, before: str | None = None,
                       everything: bool = False) -> PurgeResult:
        """Delete stored payloads: of ``model`` (default all models), older than ``before``
        (ISO 8601 or an age such as ``3d``; default: the retention period), or all of them."""
        from modelkeep.registry.payloads import parse_before, purge_payloads

        if everything and before is not None:
            raise InvalidInputError("give --before or --all, not both",
                                    hint="modelkeep purge --all deletes every payload")
        cutoff = parse_before(before) if before is not None else None
        return purge_payloads(self.db, self.payload_policy(), model=model, before=cutoff,
                              everything=everything)

    # -- deployment configuration, history replay and worker environments (g-ops) ---------

    def deployment_replay(self, name: str, at: str | None = None) -> list[ServingPeriod]:
        """What served ``name`` when: every change of traffic or configuration as a
        ``ServingPeriod`` (split, versions involved, changes, configurations), oldest first;
        with ``at`` (ISO 8601), only the period in force then."""
        from modelkeep.registry.deploy_history import replay
        from modelkeep.registry.deployments import history

        return replay(history(self.db, name), at)

    def serving_needs(self, ref: str) -> ServingNeeds:
        """What version ``ref`` needs to run in a gateway: its dependency lock, where built
        environments are cached, and how a worker process opens this keep."""
        from modelkeep.registry.dependency_lock import ServingNeeds, lock_of

        info = self.resolve(ref)
        return ServingNeeds(ref=info.ref, lock=lock_of(versions.version_metadata(self.db, info.id)),
                            envs_dir=str(self.settings.keep_dir / "envs"),
                            reopen_env=self.settings.reopen_env())

    # -- shadow tests (docs/gateway.md#shadow-tests) ------------------------------------------

    def record_shadow_stats(self, name: str, batches: Sequence[ShadowBatch], gateway: str) -> None:
        """Append what a gateway's shadow copies of ``name``'s requests did (gateways call it);
        folded like the serving counts."""
        from modelkeep.registry.shadow_stats import record_shadow
        from modelkeep.registry.stats_folding import fold_if_due

        record_shadow(self.db, name, batches, gateway)
        fold_if_due(self.db, name)

    def shadow_report(self, name: str, tolerance: float | None = None) -> ShadowReport:
        """``name``'s latest shadow test: agreement within ``tolerance`` (None: the one the
        rollout was started with), the candidate's latency and errors beside the stable
        version's, and a sample of disagreements."""
        from modelkeep.registry.shadow_report import shadow_report

        return shadow_report(self.db, name, tolerance)

    # -- rollback drills (docs/loadtest.md) -----------------------------------------------

    def record_drill(self, result: DrillResult, reference: list[Any] | None = None) -> DrillResult:
        """Append a drill's result (and the restored version's reference outputs, when this
        drill recorded them); the stored ``DrillResult`` with its id and time."""
        from modelkeep.clock import now_iso
        from modelkeep.registry.drills import record

        return record(self.db, result, author=self.author, at=now_iso(), reference=reference)

    def drills(self, name: str) -> list[DrillResult]:
        """Every rollback drill of model ``name``, oldest first."""
        from modelkeep.registry.drills import history

        return history(self.db, name)

    def drill_reference(self, ref: str) -> DrillReference | None:
        """The reference outputs recorded for version ``ref`` by its first drill (or None)."""
        from modelkeep.registry.drills import reference

        info = self.resolve(ref)
        return reference(self.db, info.name, info.version)

    def drill_status(self, name: str) -> DrillStatus:
        """Model ``name``'s last drill, and a warning when it is older than ``[gateway]
        drill_max_age`` (default 7d)."""
        from modelkeep.registry.drills import status

        return status(self.db, name, self.settings.drill_max_age)

    # -- hosted versions and costs (docs/hosted.md) ----------------------------------------

    def register_hosted(self, name: str, spec: Path | str, *, version: str | None = None,
                        bump: Bump | None = None, metadata: Any = None,
                        allow_same: bool = False) -> VersionInfo:
        """Register the hosted spec in file ``spec`` (provider, model id, parameters, price) as
        a new version of ``name``, served through the provider's upstream API."""
        from modelkeep.registry.hosted_versions import register_hosted

        return register_hosted(self.db, self.store, name, Path(spec), author=self.author,
                               version=version, bump=bump, metadata=metadata,
                               allow_same=allow_same)

    def record_costs(self, name: str, items: Sequence[CallCost], gateway: str) -> None:
        """Append a gateway's summed calls, tokens and cost of ``name``'s hosted versions."""
        from modelkeep.registry.costs import record_costs

        record_costs(self.db, name, items, gateway)

    def cost_report(self, name: str | None = None, since: str = "",
                    by: str = "version") -> CostReport:
        """Spend since ``since`` (a day or time; "" = all), per ``by`` version, day or arm."""
        from modelkeep.registry.costs import report

        return report(self.db, name, since, by)

    def set_budget(self, ref: str, amount: Any, currency: str) -> Budget:
        """Limit what version ``ref`` may spend to ``amount`` ``currency`` (gateways stop
        routing to it once spent or reserved by calls in flight)."""
        from modelkeep.registry.costs import set_budget
        from modelkeep.registry.hosted import check_currency, to_micros

        info = self.resolve(ref)
        hint = f"e.g. modelkeep budget set {info.ref} 10.00 --currency USD"
        return set_budget(self.db, info.name, info.version, to_micros(amount, "the budget", hint),
                          check_currency(currency, "--currency", hint))

    def budgets(self, name: str | None = None) -> list[Budget]:
        """Every budget, with what is spent and reserved (of model ``name`` only, if given)."""
        from modelkeep.registry.costs import budgets

        return budgets(self.db, name)

    def apply_configured_budgets(self) -> list[Budget]:
        """Set the budgets config.toml's ``[budgets]`` declares (a gateway does it at start)."""
        return [self.set_budget(ref, b["amount"], b["currency"])
                for ref, b in self.settings.budgets.items()]

    def reserve_budget(self, ref: str, micros: int) -> bool:
        """Reserve one call's worst-case cost of ``ref``'s budget; False: it would pass it."""
        from modelkeep.registry.costs import reserve

        name, _, version = ref.partition("@")
        return reserve(self.db, name, version, micros)

    def settle_budget(self, ref: str, reserved: int, spent: int) -> None:
        """Release a call's reservation and add its real cost to ``ref``'s budget."""
        from modelkeep.registry.costs import settle

        name, _, version = ref.partition("@")
        settle(self.db, name, version, reserved, spent)

    # -- A/B/n tests (docs/gateway.md, "A/B/n tests") -------------------------------------

    def start_ab_test(self, name: str, arms: str, split: str | None = None, *, by: str | None = None,
                      reason: str = "", force: bool = False) -> DeploymentEvent:
        """Start an A/B/n test of model ``name``: ``arms`` ``A=VERSION,B=VERSION[,...]`` (the
        first is the control), ``split`` ``50/50[/...]`` in percent (None: equal), users kept on their arm
        by the request key ``by`` (``header:NAME``, ``cookie:NAME`` or ``query:NAME``). An arm
        whose version's latest validation did not pass is refused unless ``force`` (with a
        ``reason``), as for ``deploy``."""
        from modelkeep.registry.ab_rollout import start_test
        from modelkeep.registry.ab_split import parse_arms

        parsed = parse_arms(arms)
        infos = [self.resolve(f"{name}@{version}") for _, version in parsed]
        return start_test(self.db, name, parsed, infos, split, by, author=self.author,
                          reason=reason, force=force)

    def split_ab_test(self, name: str, split: str, reason: str = "") -> DeploymentEvent:
        """Change the split of ``name``'s running test, moving as few users as possible."""
        from modelkeep.registry.ab_rollout import split_test

        return split_test(self.db, name, split, author=self.author, reason=reason)

    def end_ab_test(self, name: str, winner: str, reason: str = "") -> DeploymentEvent:
        """End ``name``'s running test: arm ``winner``'s version becomes the stable one."""
        from modelkeep.registry.ab_rollout import end_test

        return end_test(self.db, name, winner, author=self.author, reason=reason)

    def record_ab_tallies(self, name: str, test: str, tallies: Mapping[TallyKey, ArmTally],
                          gateway: str, users: Sequence[SeenUser] = ()) -> None:
        """Append what a gateway counted for each arm of ``name``'s test, and the users it
        saw on each (gateways call it); folded like the serving counts."""
        from modelkeep.registry.ab_tally import record_tallies
        from modelkeep.registry.stats_folding import fold_if_due

        record_tallies(self.db, name, test, tallies, gateway, users)
        fold_if_due(self.db, name)

    def ab_report(self, name: str, alpha: float = 0.05) -> AbReport:
        """``name``'s latest A/B/n test: each metric per arm with its interval, the
        sample-ratio check and each arm's sequential test against the control."""
        from modelkeep.registry.ab_report import report

        return report(self.db, name, alpha=alpha)


if TYPE_CHECKING:
    from modelkeep.interface import KeepInterface

    def _implements(keep: Keep) -> KeepInterface:
        """Where mypy checks that Keep implements the keep interface."""
        return keep
