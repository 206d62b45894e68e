"""Settings. Every ``MODELKEEP_*`` environment variable is defined here and nowhere else.

Precedence, highest first: an explicit argument (CLI flag) > environment variable >
project config (``.modelkeep/config.toml``) > user config (``~/.config/modelkeep/config.toml``)
> built-in default.
"""

from __future__ import annotations

import getpass
import os
import re
import stat
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelkeep._lazy import lazy_pattern
from modelkeep.errors import (
    InvalidInputError,
    KeepNotFoundError,
    ServerNotSupportedError,
    StoreNotSupportedError,
)

KEEP_DIRNAME = ".modelkeep"
CONFIG_FILENAME = "config.toml"
DB_FILENAME = "modelkeep.db"

# name -> what it sets (the docs test checks each one is documented in docs/configuration.md)
ENVIRONMENT_VARIABLES: dict[str, str] = {
    "MODELKEEP_KEEP": "keep to open: a folder, or a database URL used with MODELKEEP_STORE_URL "
                      "(instead of walking up from the cwd); http(s):// is refused for now",
    "MODELKEEP_AUTHOR": "author recorded on versions, aliases and runs (default: the OS user)",
    "MODELKEEP_DATABASE_URL": "SQLAlchemy URL of the metadata database (default: SQLite in the keep)",
    "MODELKEEP_STORE_URL": "local folder (or file:// URL) of the object store (default: the keep's "
                           "objects/); object storage URLs are refused: use them as remotes",
    "MODELKEEP_USER_CONFIG": "path of the user config file (default ~/.config/modelkeep/config.toml)",
    "MODELKEEP_WORKERS": "threads used for hashing, checkout and transfers (default: CPU count)",
    "MODELKEEP_RUN_ID": "run that `modelkeep run log` and child processes log to",
    "MODELKEEP_FLUSH_INTERVAL": "seconds between background flushes of buffered metrics (default 1)",
    "MODELKEEP_REMOTE": "remote that push and pull use when none is named (default: the only one, or origin)",
    "MODELKEEP_GC_GRACE": "seconds an object must have existed before gc may delete it (default 3600)",
}


def env(name: str) -> str | None:
    """Read a declared MODELKEEP_* variable; reading an undeclared one is a programming error."""
    if name not in ENVIRONMENT_VARIABLES:
        raise KeyError(f"{name} is not a declared modelkeep environment variable")
    value = os.environ.get(name)
    return value if value else None


def user_config_path() -> Path:
    """Where the user-wide config lives."""
    override = env("MODELKEEP_USER_CONFIG")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "modelkeep" / CONFIG_FILENAME


def read_toml(path: Path) -> dict[str, Any]:
    """Load a TOML file, or {} when absent; a malformed file is a one-line user error."""
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInputError(
            f"config file {path} is not valid TOML: {exc}",
            hint=f"fix or remove {path}",
            path=str(path),
        ) from exc


def find_keep_root(start: Path | None = None) -> Path:
    """Walk up from ``start`` (default cwd) to the folder holding ``.modelkeep/``, like git."""
    # the cwd is already a resolved path; string operations: a sweep calls this every run
    here = Path(start).resolve() if start is not None else Path(os.getcwd())
    folder = str(here)
    while True:
        if os.path.isfile(os.path.join(folder, KEEP_DIRNAME, CONFIG_FILENAME)):
            return Path(folder)
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    raise KeepNotFoundError(
        f"no modelkeep keep in {here} or any parent folder",
        hint="run 'modelkeep init' here, or pass --keep PATH",
        path=str(here),
    )


# -- where a keep is: a folder, or a database URL plus a store folder -----------------------

DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres", "postgresql+psycopg")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
STATE_DIRNAME = ".modelkeep"  # inside the store folder of a keep opened by URL


def url_scheme(text: str) -> str | None:
    """The lower-cased scheme of ``text`` when it is a URL (``s3://b`` -> ``s3``), else None."""
    found = _SCHEME.match(text)
    return found.group(1).lower() if found else None


@dataclass(frozen=True)
class KeepLocation:
    """Where a keep is: the folder holding ``.modelkeep/`` (``database_url`` None), or a
    database URL with the folder of its object store."""

    root: Path  # for a keep opened by URL: its store folder
    database_url: str | None = None


def locate_keep(where: str | Path | None = None, *, store: str | None = None,
                near: str | Path | None = None) -> KeepLocation:
    """Dispatch on ``where`` (default ``MODELKEEP_KEEP``, else walk up from ``near``'s nearest
    existing folder or the cwd): an existing path (the keep there or above it), a database URL
    (with ``store`` or ``MODELKEEP_STORE_URL``), or ``http(s)://``, refused until the team
    server exists. A path that does not exist is an error, never the keep found from the cwd."""
    if where is None or where == "":
        where = env("MODELKEEP_KEEP")
    if where is None:
        start = None if near is None else next(
            p for p in (Path(near), *Path(near).absolute().parents) if p.exists())
        try:
            return KeepLocation(find_keep_root(start))
        except KeepNotFoundError:
            where = _configured_url_keep()  # no keep folder here: one set by URL, if any
            if where is None:
                raise
    text = os.fspath(where)
    scheme = url_scheme(text)
    if scheme in ("http", "https"):
        raise ServerNotSupportedError(
            f"cannot open {text}: modelkeep has no server support yet", url=text)
    if scheme in DATABASE_SCHEMES:
        chosen = store or env("MODELKEEP_STORE_URL")
        if not chosen:
            raise InvalidInputError(
                "a keep opened by database URL needs its object store as well",
                hint="set MODELKEEP_STORE_URL=/path/to/objects (Python: Keep.open(URL, "
                "store=PATH))", url=text)
        folder = local_store_path(chosen, Path.cwd())
        if not folder.is_dir():
            raise KeepNotFoundError(f"the object store {folder} does not exist",
                                    hint=f"fix MODELKEEP_STORE_URL, or for a new keep: mkdir -p "
                                    f"{folder}", path=str(folder))
        return KeepLocation(folder.resolve(), database_url=text)
    if scheme == "file":
        text = text[len("file://"):]
    elif scheme is not None:
        raise InvalidInputError(
            f"cannot open a keep at {text}: '{scheme}://' is neither a folder nor a database URL",
            hint="give a keep folder, or a database URL (sqlite:///PATH, postgresql://...) with "
            "MODELKEEP_STORE_URL", url=text)
    path = Path(text).expanduser()
    if not text or not path.exists():
        named = str(path) if text else os.fspath(where)
        raise KeepNotFoundError(f"no keep at {named}: it does not exist",
                                hint="check --keep / MODELKEEP_KEEP, or create one there: "
                                f"modelkeep init {named}", path=named)
    return KeepLocation(find_keep_root(path))


def _configured_url_keep() -> str | None:
    """The database URL of a keep named by ``MODELKEEP_DATABASE_URL`` with
    ``MODELKEEP_STORE_URL``, used where no keep folder is found."""
    url = env("MODELKEEP_DATABASE_URL")
    return url if url and env("MODELKEEP_STORE_URL") else None


def local_store_path(value: str, base: Path) -> Path:
    """The folder a store setting names (relative to ``base``); a URL of object storage is
    refused: the primary store is a local folder until the team server brings more."""
    scheme = url_scheme(value)
    if scheme == "file":
        value = value[len("file://"):]
    elif scheme is not None:
        raise StoreNotSupportedError(
            f"store {value} uses '{scheme}://': object storage as the primary store is not "
            "supported yet", hint=f"keep objects in a local folder and use {scheme}:// as a "
            f"remote: modelkeep remote add origin {value}", store=value)
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path
DEFAULT_PROTECTED_ALIASES = ("production",)


@dataclass(frozen=True)
class Settings:
    """Resolved settings for one open keep."""

    root: Path
    database_url: str
    store_path: Path
    author: str
    workers: int
    hash_algorithm: str = "blake3"
    retention_stable: int = 3
    remotes: dict[str, dict[str, Any]] = field(default_factory=dict)
    flush_interval: float = 1.0
    gc_grace: float = 3600.0
    default_remote: str | None = None
    state_dir: Path | None = None  # a keep opened by URL keeps tmp/, pins... here
    # aliases that move only onto a version whose latest validation passed (docs/validation.md)
    protected_aliases: tuple[str, ...] = DEFAULT_PROTECTED_ALIASES
    # models whose pickle files may be unpickled ([loaders] trusted_pickles): it runs their code
    trusted_pickles: tuple[str, ...] = ()
    # how old a model's last rollback drill may be before `deploy status` warns (docs/loadtest.md)
    drill_max_age: str = "7d"
    # upstream providers of hosted versions ([providers.NAME]: base_url, api_key_env or
    # api_key_file, timeout, retries): URLs come from here only, keys are read when a call is made
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    # budgets of hosted versions ([budgets] "NAME@VERSION" = {amount, currency}), set in the
    # keep by each gateway at start (docs/hosted.md)
    budgets: dict[str, dict[str, Any]] = field(default_factory=dict)
    # [gateway] payload logging (docs/privacy.md): off unless the project turns it on
    payload_logging: bool = False
    payload_retention_days: float = 7.0
    payload_max_bytes: int = 64 * 1024
    payload_redact: tuple[str, ...] = ("email", "key", "number")
    payload_patterns: tuple[tuple[str, str], ...] = ()

    @property
    def keep_dir(self) -> Path:
        """The keep's own folder: ``.modelkeep/``, or the store's for a keep opened by URL."""
        return self.state_dir or self.root / KEEP_DIRNAME

    def reopen_env(self) -> dict[str, str]:
        """The ``MODELKEEP_*`` variables that make a child process open this same keep."""
        if self.state_dir is None:
            return {"MODELKEEP_KEEP": str(self.root)}
        return {"MODELKEEP_KEEP": self.database_url, "MODELKEEP_STORE_URL": str(self.store_path)}

    @property
    def tmp_dir(self) -> Path:
        return self.keep_dir / "tmp"


def _default_author() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _number(what: str, raw: Any, kind: type[int] | type[float], minimum: float) -> Any:
    """A numeric setting, or a one-line error naming it (never a traceback)."""
    try:
        value = kind(raw)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"setting {what} must be a number, got {raw!r}",
                                hint="fix the environment variable or .modelkeep/config.toml",
                                setting=what) from exc
    if value < minimum:
        raise InvalidInputError(f"setting {what} must be at least {minimum}, got {raw!r}",
                                hint="fix the environment variable or .modelkeep/config.toml",
                                setting=what)
    return value


SUPPORTED_HASHES = ("blake3",)
# table -> key -> accepted types; what a hand-edited config.toml may hold (others are ignored)
_SHAPE: dict[str, dict[str, tuple[type, ...]]] = {
    "core": {"hash": (str,), "store": (str,), "database_url": (str,), "author": (str,),
             "workers": (int,), "flush_interval": (int, float), "remote": (str,)},
    "gc": {"keep_stable": (int,), "grace": (int, float)},
    "validation": {"protected_aliases": (list,)},
    "loaders": {"trusted_pickles": (list,)},
    "gateway": {"drill_max_age": (str,)},
}


def check_config(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """``data`` if its known tables and keys have the right types, else a one-line error."""
    def bad(where: str, want: str) -> InvalidInputError:
        return InvalidInputError(f"config file {path}: {where} must be {want}",
                                 hint=f"fix {path} (see docs/configuration.md)", path=str(path))

    for table, keys in _SHAPE.items():
        section = data.get(table, {})
        if not isinstance(section, dict):
            raise bad(f"[{table}]", "a table")
        for key, types in keys.items():
            value = section.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, types)):
                raise bad(f"[{table}] {key}", " or ".join(t.__name__ for t in types))
            if isinstance(value, list) and not all(isinstance(item, str) for item in value):
                raise bad(f"[{table}] {key}", "a list of strings")
    remotes = data.get("remotes", {})
    if not isinstance(remotes, dict):
        raise bad("[remotes]", "a table")
    for name, section in remotes.items():
        if not isinstance(section, dict) or not isinstance(section.get("url"), str):
            raise bad(f"[remotes.{name}]", "a table with a string url")
    _check_providers(data.get("providers", {}), bad)
    budgets = data.get("budgets", {})
    if not isinstance(budgets, dict):
        raise bad("[budgets]", "a table")
    for ref, budget in budgets.items():
        if not isinstance(budget, dict) or set(budget) != {"amount", "currency"} \
                or not isinstance(budget["currency"], str) or isinstance(budget["amount"], bool) \
                or not isinstance(budget["amount"], int | float | str):
            raise bad(f'[budgets] "{ref}"', '{amount = "10.00", currency = "USD"}')
    return data


_PROVIDER_KEYS: dict[str, tuple[type, ...]] = {
    "base_url": (str,), "api_key_env": (str,), "api_key_file": (str,), "timeout": (int, float),
    "retries": (int,)}


def _check_providers(providers: Any, bad: Callable[[str, str], InvalidInputError]) -> None:
    """``[providers.NAME]`` tables: an http(s) base_url, and the key's source (never the key)."""
    if not isinstance(providers, dict):
        raise bad("[providers]", "a table")
    for name, section in providers.items():
        where = f"[providers.{name}]"
        if not isinstance(section, dict):
            raise bad(where, "a table")
        if "api_key" in section:
            raise bad(f"{where} api_key", "absent: name the key's source with api_key_env "
                      "or api_key_file, so the key never sits in the keep")
        for key, value in section.items():
            types = _PROVIDER_KEYS.get(key)
            if types is None:
                raise bad(f"{where} {key}", f"one of {', '.join(_PROVIDER_KEYS)}")
            if isinstance(value, bool) or not isinstance(value, types):
                raise bad(f"{where} {key}", " or ".join(t.__name__ for t in types))
        url = section.get("base_url")
        if not isinstance(url, str) or not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", url):
            raise bad(f"{where} base_url", "an http:// or https:// URL")
        if not 0 < float(section.get("timeout", 30)) <= 600:
            raise bad(f"{where} timeout", "a number of seconds from 0 to 600")
        if not 0 <= int(section.get("retries", 2)) <= 10:
            raise bad(f"{where} retries", "a whole number from 0 to 10")


def load_settings(root: Path, *, database_url: str | None = None, author: str | None = None,
                  store: str | Path | None = None, by_url: bool = False) -> Settings:
    """Resolve settings for the keep at ``root`` with the documented precedence; ``by_url``:
    a keep opened by database URL, whose store folder is ``root`` (its config.toml, made by
    ``remote add``, holds remotes and policies: the database and store come from the URL)."""
    keep_dir = root / STATE_DIRNAME if by_url else root / KEEP_DIRNAME
    user = check_config(read_toml(user_config_path()), user_config_path())
    project = check_config(read_toml(keep_dir / CONFIG_FILENAME), keep_dir / CONFIG_FILENAME)
    hash_algorithm = project.get("core", {}).get("hash", "blake3")
    if hash_algorithm not in SUPPORTED_HASHES:
        raise InvalidInputError(
            f"the keep in {root} names objects by hash algorithm '{hash_algorithm}', which this "
            f"modelkeep does not support (it supports: {', '.join(SUPPORTED_HASHES)})",
            hint="open it with the tool that made it, or fix [core] hash in .modelkeep/config.toml",
            path=str(root))

    def pick(key: str, env_name: str | None, default: Any) -> Any:
        if env_name and env(env_name):
            return env(env_name)
        for source in (project, user):
            section = source.get("core", {})
            if key in section:
                return section[key]
        return default

    db_url = database_url or pick(
        "database_url", "MODELKEEP_DATABASE_URL", f"sqlite:///{keep_dir / DB_FILENAME}"
    )
    chosen = root if by_url else store or pick("store", "MODELKEEP_STORE_URL", "objects")
    store_path = local_store_path(os.fspath(chosen), keep_dir)
    workers = _number("workers (MODELKEEP_WORKERS)",
                      pick("workers", "MODELKEEP_WORKERS", os.cpu_count() or 2), int, 1)
    flush = _number("flush_interval (MODELKEEP_FLUSH_INTERVAL)",
                    pick("flush_interval", "MODELKEEP_FLUSH_INTERVAL", 1.0), float, 0.001)
    retention = _number("[gc] keep_stable", project.get("gc", {}).get(
        "keep_stable", user.get("gc", {}).get("keep_stable", 3)), int, 0)
    grace = _number("[gc] grace (MODELKEEP_GC_GRACE)", env("MODELKEEP_GC_GRACE")
                    or project.get("gc", {}).get("grace", 3600), float, 0)
    return Settings(
        root=root,
        database_url=str(db_url),
        store_path=store_path,
        author=author or pick("author", "MODELKEEP_AUTHOR", _default_author()),
        workers=workers,
        hash_algorithm=hash_algorithm,
        retention_stable=retention,
        remotes=dict(project.get("remotes", {})),
        flush_interval=flush,
        gc_grace=grace,
        default_remote=env("MODELKEEP_REMOTE") or project.get("core", {}).get("remote"),
        state_dir=keep_dir if by_url else None,
        # trust is the project's own decision: a user-wide config cannot extend it
        trusted_pickles=tuple(project.get("loaders", {}).get("trusted_pickles", ())),
        protected_aliases=_protected_aliases(project),
        drill_max_age=str(project.get("gateway", {}).get(
            "drill_max_age", user.get("gateway", {}).get("drill_max_age", "7d"))),
        providers={**user.get("providers", {}), **project.get("providers", {})},
        budgets=dict(project.get("budgets", {})),
        **_payload_settings(project, keep_dir / CONFIG_FILENAME),
    )


def _payload_settings(project: dict[str, Any], path: Path) -> dict[str, Any]:
    """``[gateway]`` payload logging, retention, size cap and redaction of the project config
    only: like trust, what is logged about users is the project's decision (docs/privacy.md).
    A wrong type is one line naming the key; the patterns are checked when they are used."""
    section = project.get("gateway", {})
    if not isinstance(section, dict):
        raise InvalidInputError(f"config file {path}: [gateway] must be a table",
                                hint=f"fix {path} (see docs/privacy.md)", path=str(path))

    def bad(key: str, want: str) -> InvalidInputError:
        return InvalidInputError(f"config file {path}: [gateway] {key} must be {want}, got "
                                 f"{section[key]!r}", hint=f"fix {path} (see docs/privacy.md)",
                                 path=str(path))

    out: dict[str, Any] = {}
    if "payload_logging" in section:
        if not isinstance(section["payload_logging"], bool):
            raise bad("payload_logging", "true or false")
        out["payload_logging"] = section["payload_logging"]
    for key, kind, least in (("payload_retention_days", float, 0.0), ("payload_max_bytes", int, 64)):
        value = section.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value \
                or value < least or value == float("inf") or (kind is int and not isinstance(value, int)):
            raise bad(key, f"a {'whole ' if kind is int else ''}number of at least {least:g}")
        out[key] = kind(value)
    if "redact" in section:
        names = section["redact"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise bad("redact", "a list of pattern names")
        out["payload_redact"] = tuple(names)
    patterns = section.get("redact_patterns", {})
    if not isinstance(patterns, dict) or not all(isinstance(v, str) for v in patterns.values()):
        raise InvalidInputError(f"config file {path}: [gateway.redact_patterns] must map names to "
                                "regular expressions (strings)", hint=f"fix {path} (see "
                                "docs/privacy.md)", path=str(path))
    out["payload_patterns"] = tuple((str(k), v) for k, v in patterns.items())
    return out


def _protected_aliases(project: dict[str, Any]) -> tuple[str, ...]:
    """``[validation] protected_aliases`` of the project config, else the default
    (production); ``[]`` protects none. Like trust, protection is the project's decision: a
    user-wide config cannot lift it."""
    if "protected_aliases" in project.get("validation", {}):
        return tuple(project["validation"]["protected_aliases"])
    return DEFAULT_PROTECTED_ALIASES


# a remote name is one bare TOML key: no dots (they would nest tables), nothing after a
# newline (compiled on first use: only the remote commands need it)
_remote_name_re = lazy_pattern(r"[A-Za-z][A-Za-z0-9_-]{0,63}")


def remote_section(settings: Settings, name: str | None) -> tuple[str, dict[str, Any]]:
    """``(name, [remotes.NAME] table)`` of a remote; with no name, MODELKEEP_REMOTE, ``[core]
    remote``, the only remote configured, or ``origin``. Unknown: RemoteNotFoundError."""
    from modelkeep.errors import RemoteNotFoundError, did_you_mean

    known = settings.remotes
    chosen = name or settings.default_remote or (next(iter(known)) if len(known) == 1 else "origin")
    section = known.get(chosen)
    if not isinstance(section, dict) or not isinstance(section.get("url"), str):
        near = did_you_mean(chosen, known)
        raise RemoteNotFoundError(
            f"no remote named '{chosen}'" + (f"; {near}" if near else ""),
            hint="add one: modelkeep remote add NAME URL (see 'modelkeep remote list')",
            remote=chosen,
        )
    return chosen, section


def add_remote_section(root: Path, name: str, url: str, options: dict[str, Any]) -> None:
    """Add ``[remotes.NAME]`` with ``url`` and string/number/bool ``options`` to config.toml,
    keeping the file's comments and layout (tomlkit)."""
    import tomlkit

    if not isinstance(name, str) or not _remote_name_re().fullmatch(name):
        raise InvalidInputError(f"invalid remote name {name!r}",
                                hint="letters, digits, '-' and '_', starting with a letter: e.g. origin, "
                                "s3-backup", remote=name)
    path = root / KEEP_DIRNAME / CONFIG_FILENAME
    doc = _load_document(path)
    remotes = doc.setdefault("remotes", tomlkit.table(is_super_table=True))
    if name in remotes:
        raise InvalidInputError(f"remote '{name}' already exists",
                                hint=f"remove it first: modelkeep remote remove {name}", remote=name)
    section = tomlkit.table()
    section["url"] = url
    for key, value in options.items():
        if value is not None:
            section[key] = value
    remotes[name] = section
    write_config_file(path, doc.as_string())


def remove_remote_section(root: Path, name: str) -> None:
    """Delete ``[remotes.NAME]`` (and its sub-tables) from config.toml, keeping the rest as it was."""
    path = root / KEEP_DIRNAME / CONFIG_FILENAME
    doc = _load_document(path)
    remotes = doc.get("remotes")
    if not isinstance(remotes, dict) or name not in remotes:
        from modelkeep.errors import RemoteNotFoundError

        raise RemoteNotFoundError(f"no remote named '{name}' in {path}",
                                  hint="see 'modelkeep remote list'", remote=name)
    del remotes[name]
    write_config_file(path, doc.as_string())


def _load_document(path: Path) -> Any:
    import tomlkit

    read_toml(path)  # a malformed file is reported the same way as on every read
    if not path.exists():  # a keep opened by URL has none until its first remote
        path.parent.mkdir(parents=True, exist_ok=True)
        return tomlkit.document()
    return tomlkit.parse(path.read_text(encoding="utf-8"))


def write_config_file(path: Path, text: str) -> None:
    """Atomically write config.toml; mode 0600 when it holds credentials (a password in a URL,
    a remote option not known to be safe: see redact.py), else the file's current mode."""
    from modelkeep.redact import holds_credentials

    data = tomllib.loads(text)  # never write a config that would not load
    if holds_credentials(data):
        mode = 0o600
    elif path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # never readable by others while written, even over a stale tmp file
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def default_config_text() -> str:
    """The config.toml that ``modelkeep init`` writes."""
    return (
        "# modelkeep keep configuration. Precedence: CLI flag > MODELKEEP_* env > this file >\n"
        "# user config > default. See docs/configuration.md.\n"
        "[core]\n"
        'hash = "blake3"\n'
        'store = "objects"\n'
        "\n"
        "[gc]\n"
        "# stable versions of each model kept by 'modelkeep gc' besides aliased ones\n"
        "keep_stable = 3\n"
        "\n"
        "[validation]\n"
        "# aliases that move only onto a version whose latest 'modelkeep validate' passed\n"
        'protected_aliases = ["production"]\n'
        "\n"
        "# [remotes.origin]\n"
        '# url = "s3://bucket/prefix"\n'
    )
