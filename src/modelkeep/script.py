"""``modelkeep.start_run``: a script's runs, in a keep opened once per process and folder.

``start_run`` given a path (or nothing: ``MODELKEEP_KEEP`` or the keep found from the cwd)
opens the keep itself, and by default installs the process-wide hooks a script wants
(``handle_signals``: a SIGTERM handler and an exit hook that flush and end its runs); a
program that embeds modelkeep passes ``handle_signals=False`` or calls ``Keep.start_run`` on
a keep it opened and closes itself.

A sweep written as users write it (``with modelkeep.start_run(...)`` in a loop) would otherwise
open the keep for every run: read the settings, connect, check the schema, then close the
connection (which checkpoints SQLite's write-ahead log), about 3.5 ms a run. The first run
of a process opens the keep; later runs reuse it while it is still the same keep: the same
settings (config.toml and the ``MODELKEEP_`` environment, re-read each time) and, on SQLite,
the same database file. A keep changed in any of these ways is opened again; a PostgreSQL
connection the server dropped is opened again; a forked child opens its own (a connection
never crosses a fork).

The connections are released when the process exits, after the runs still open are closed
(an exit hook installed only when a run asked for the hooks).
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from modelkeep import config
from modelkeep.keep import Keep
from modelkeep.run import Run

MAX_OPEN = 8  # keep folders one process uses at once; beyond this the oldest is let go
_USER_VARIABLES = ("LOGNAME", "USER", "LNAME", "USERNAME")  # the default author (getpass)


class _Opened(NamedTuple):
    keep: Keep
    inputs: tuple[object, ...]  # what its settings were read from (``_settings_inputs``)
    database: tuple[int, int] | None  # the SQLite file its connections opened


_lock = threading.Lock()
_open: dict[Path, _Opened] = {}
_hooked = False


def start_run(model: str | None = None, name: str | None = None, *, run_id: str | None = None,
              keep: Keep | Path | str | None = None, tags: Mapping[str, Any] | None = None,
              params: Mapping[str, Any] | None = None, capture: bool = True,
              system_metrics: float | None = None, flush_interval: float | None = None,
              owned: bool = True, handle_signals: bool = True) -> Run:
    """Start a run (or attach to ``run_id`` / ``MODELKEEP_RUN_ID``) and return it.

    ``keep`` is an open Keep or a path (default: ``MODELKEEP_KEEP`` or found from the cwd);
    a keep opened from a path is opened once per process and shared by its runs.
    ``capture`` records the environment, Git state and command line at start;
    ``system_metrics`` samples CPU/RAM/GPU use every that many seconds. ``handle_signals``
    (default True, for scripts) installs a SIGTERM handler and an exit hook that flush and end
    the process's runs; a program embedding modelkeep passes False and ends its runs itself.
    """
    opened = keep if isinstance(keep, Keep) else shared_keep(keep, hook=handle_signals)
    return opened.start_run(model, name, run_id=run_id, tags=tags, params=params,
                            capture=capture, system_metrics=system_metrics,
                            flush_interval=flush_interval, owned=owned,
                            handle_signals=handle_signals)


def shared_keep(location: Path | str | None = None, *, hook: bool = True) -> Keep:
    """The open keep at ``location`` (default ``MODELKEEP_KEEP`` or found from the cwd),
    opened by this process's first call and reused by later ones while it is unchanged.
    ``hook`` closes the shared keeps at exit (an exit hook, installed once)."""
    if hook:
        _hook()
    where = config.locate_keep(location)  # the dispatch Keep.open and --keep use
    root = where.root
    inputs = (where.database_url, *_settings_inputs(root))
    with _lock:
        found = _open.get(root)
    if found is not None and found.inputs == inputs and _still_same(found):
        return found.keep
    settings = config.load_settings(root, database_url=where.database_url,
                                    by_url=where.database_url is not None)
    with _lock:
        found = _open.get(root)
        if found is not None and found.keep.settings == settings and _still_same(found):
            _open[root] = found._replace(inputs=inputs)  # e.g. config.toml touched, not changed
            return found.keep
        database = _database_file(settings.database_url)
        keep = Keep(settings)
        _open.pop(root, None)  # a replaced keep is not closed: runs may still hold it
        _open[root] = _Opened(keep, inputs, database)
        while len(_open) > MAX_OPEN:
            del _open[next(iter(_open))]
        return keep


def _settings_inputs(root: Path) -> tuple[object, ...]:
    """What ``config.load_settings`` reads, cheaply: the config files' identity and the
    variables it looks at. Unchanged inputs give unchanged settings; changed ones only make
    the settings be read again and compared."""
    files = (root / config.KEEP_DIRNAME / config.CONFIG_FILENAME, config.user_config_path())
    environ = os.environ
    return (
        *(_file_identity(str(f)) for f in files),
        *(environ.get(name) for name in config.ENVIRONMENT_VARIABLES),
        *(environ.get(name) for name in _USER_VARIABLES),
    )


def _still_same(opened: _Opened) -> bool:
    """Whether the keep's SQLite file is still the one its connections opened, and a server
    connection still answers (a dropped one is closed and opened again on next use)."""
    return (opened.database == _database_file(opened.keep.settings.database_url)
            and opened.keep.db.alive())


def _file_identity(path: str) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _database_file(url: str) -> tuple[int, int] | None:
    """(device, inode) of a SQLite database file: a keep removed and made anew in the same
    folder has a new file, and its old connection must not be used. None for a server."""
    if not url.startswith("sqlite:///"):
        return None
    found = _file_identity(url[len("sqlite:///"):])
    return found[:2] if found else None


def _close_all() -> None:
    with _lock:
        keeps = [opened.keep for opened in _open.values()]
        _open.clear()
    for keep in keeps:
        keep.close()


def _forget_after_fork() -> None:
    """A forked child starts with no open keep (its parent's connections stay the parent's)."""
    global _lock
    _lock = threading.Lock()  # another thread of the parent may have held it at the fork
    _open.clear()


def _hook() -> None:
    global _hooked
    if not _hooked:
        _hooked = True
        # registered before the first run is tracked, so it runs after lifecycle's exit hook
        atexit.register(_close_all)


os.register_at_fork(after_in_child=_forget_after_fork)
