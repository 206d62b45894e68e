"""Credentials never leave through output, errors, captured environments or records.

One module decides what is a secret, for every path a value can take out of modelkeep: the
``remote list`` table and JSON, error messages (every ``ModelkeepError`` passes its text through
``redact_text``), the environment a run captures, recorded command lines, version metadata (so
show, export and the records pushed to remotes) and config.toml's file mode.

Two rules, on purpose of different strictness:

- **Remote and config options** are an allow-list: a key is shown only when it is known to hold
  no credential (``region``, ``endpoint_url``, ``retries``...). An option modelkeep does not know,
  such as ``session_token``, ``account_key`` or ``sas_token``, is masked.
- **Names chosen by users** (environment variables, command-line options, ``NAME=VALUE``
  arguments, URL query parameters) are secret when a word of the name says so: key, token,
  secret, pass, password, pw, pwd, auth, credential, private, cookie, signature, sig, sas...
  Words, not substrings: ``MODELKEEP_AUTHOR`` and ``max_tokens`` are not secrets.

URLs lose the password of their user information (``user:***@host``), however many ``/``, ``:``
or ``@`` it holds: the user information runs to the last ``@`` before the host. A user name
alone is kept when it looks like one (``git@``), and masked when it looks like a token.
This module imports nothing from modelkeep, so every layer may use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from modelkeep._lazy import lazy_pattern

MASK = "***"

# remote / config option keys known to hold no credential (everything else is masked)
SAFE_OPTION_KEYS = frozenset({
    "url", "endpoint_url", "region", "region_name", "profile", "anon", "use_ssl", "verify",
    "requester_pays", "retries", "timeout", "connect_timeout", "read_timeout", "max_attempts",
    "max_concurrency", "default_block_size", "default_cache_type", "default_fill_cache",
    "version_aware", "cache_regions", "skip_instance_cache", "use_listings_cache",
    "listings_expiry_time", "max_paths", "project", "account_name", "container", "bucket",
    "prefix", "path", "acl", "storage_class", "host", "port", "username", "user", "consistency",
    "requests_timeout", "signature_version", "addressing_style", "s3", "fixed_upload_size",
    "client_kwargs", "config_kwargs", "s3_additional_kwargs", "mode",
    # config.toml [core], [gc] and [validation]
    "database_url", "store", "hash", "author", "workers", "flush_interval", "remote",
    "keep_stable", "grace", "protected_aliases",
    # config.toml [gateway] (docs/privacy.md)
    "payload_logging", "payload_retention_days", "payload_max_bytes", "redact",
})
_SECRET_WORDS = frozenset({
    "key", "apikey", "token", "secret", "secrets", "pass", "passwd", "password", "passwords",
    "passphrase", "pw", "pwd", "auth", "authorization", "authn", "oauth", "credential",
    "credentials", "cred", "creds", "private", "privkey", "cookie", "cookies", "signature", "sig",
    "sas", "bearer", "jwt", "otp", "dsn",
})
_SECRET_FRAGMENTS = ("password", "passwd", "passphrase", "secret", "apikey", "accesskey",
                     "privatekey", "credential", "connectionstring", "bearer")
_SECRET_SUFFIXES = ("token", "key")
_FLAG_PREFIXES = ("no", "use", "enable", "disable", "with", "without", "require", "skip")


# Patterns compiled on first use: most commands redact nothing, and compiling all eight at
# import cost every start-up ~1.5 ms.
_camel_re = lazy_pattern(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_url_re = lazy_pattern(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
_assignment_re = lazy_pattern(r"(?<![\w.-])([A-Za-z_][\w.-]*)=([^\s&;,'\"]*)")
_bearer_re = lazy_pattern(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{8,}")
_query_re = lazy_pattern(r"([?&;])([^=&;#]+)=([^&;#]*)")
_plain_user_re = lazy_pattern(r"^[a-z_][a-z0-9._-]{0,31}$")
_metavar_re = lazy_pattern(r"[A-Z][A-Z_]*")
_port_re = lazy_pattern(r"^\d{1,5}(?:[/?#]|$)")


def name_words(name: str) -> list[str]:
    """``"TORCH_HUB_PW"`` -> ["torch", "hub", "pw"]; ``"apiKey"`` -> ["api", "key"]."""
    return [w.lower() for part in re.split(r"[^A-Za-z0-9]+", name) for w in _camel_re().findall(part)]


@lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """Whether a user-chosen name (variable, option, parameter) says its value is a secret."""
    words = name_words(name)
    if any(w in _SECRET_WORDS or w.endswith(_SECRET_SUFFIXES) for w in words):
        return True
    joined = "".join(words)
    return any(fragment in joined for fragment in _SECRET_FRAGMENTS)


def is_safe_option(key: str) -> bool:
    """Whether a remote/config option key is known to hold no credential."""
    return key.lower() in SAFE_OPTION_KEYS


def redact_url(url: str, *, drop_credentials: bool = False) -> str:
    """``url`` with the password of its user information and secret query values masked;
    ``drop_credentials`` cuts out user information that held a secret instead (a clone URL
    stays usable)."""
    head, sep, rest = url.partition("://")
    if not sep:
        return url
    split = _userinfo_end(rest)
    if split is None:
        return head + sep + _redact_query(rest)
    userinfo, hostpart = rest[:split], rest[split + 1:]
    user, colon, _password = userinfo.partition(":")
    if colon:
        shown = f"{user}:{MASK}" if _plain_user_re().match(user) else f"{MASK}:{MASK}"
    else:
        shown = user if _plain_user_re().match(user) else MASK
    if drop_credentials and shown != userinfo:
        return f"{head}{sep}{_redact_query(hostpart)}"
    return f"{head}{sep}{shown}@{_redact_query(hostpart)}"


def _userinfo_end(rest: str) -> int | None:
    """Index of the ``@`` that ends the user information, or None when there is none.

    The last ``@`` whose left side can be user information: it holds a ``:`` (user:password,
    and then the password may hold ``/`` and ``@``), or no ``/`` at all (a bare user or token).
    ``s3://bucket/dir@v1`` and ``http://host:8080/@me`` have none.
    """
    at = len(rest)
    while (at := rest.rfind("@", 0, at)) > 0:
        left = rest[:at]
        user, colon, password = left.partition(":")
        if colon and "/" not in user and not _port_re().match(password):
            return at
        if not colon and "/" not in left and "?" not in left and "#" not in left:
            return at
    return None


def url_secrets(url: str) -> list[str]:
    """The password in ``url`` (raw and percent-decoded) and its pieces between ``/ @ :``: what
    a driver that misparsed the URL may echo back in its own error text."""
    from urllib.parse import unquote

    _head, sep, rest = url.partition("://")
    split = _userinfo_end(rest) if sep else None
    if split is None:
        return []
    user, colon, password = rest[:split].partition(":")
    if not colon:  # a bare token is a secret, a bare user name is not
        return [] if _plain_user_re().match(user) else [user]
    found = {password, unquote(password)} - {""}
    found.update(p for whole in list(found) for p in re.split(r"[/@:]", whole) if len(p) >= 4)
    return sorted(found, key=len, reverse=True)


def mask_known(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every occurrence of the given secret strings masked (longest first)."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, MASK)
    return text


def _redact_query(hostpart: str) -> str:
    if "?" not in hostpart:
        return hostpart
    path, _, query = hostpart.partition("?")
    return path + _query_re().sub(
        lambda m: f"{m[1]}{m[2]}={MASK}" if is_secret_name(m[2]) else m[0], "?" + query)


def redact_text(text: str) -> str:
    """Free text (an error message, a log line, an argument) with credentials masked: URL
    passwords and secret query values, ``NAME=VALUE`` where NAME names a secret, and
    ``Bearer``/``Basic`` tokens."""
    if not text:
        return text
    text = _url_re().sub(lambda m: redact_url(m[0]), text)
    text = _assignment_re().sub(
        lambda m: f"{m[1]}={MASK}" if is_secret_name(m[1]) and m[2] and not _metavars(m) else m[0],
        text)
    return _bearer_re().sub(lambda m: f"{m[1]} {MASK}", text)


def _metavars(m: re.Match[str]) -> bool:
    """``KEY=VALUE`` in a hint or usage line: two placeholders, no secret."""
    return bool(_metavar_re().fullmatch(m[1]) and _metavar_re().fullmatch(m[2]))


def redact_argv(argv: Sequence[str]) -> list[str]:
    """A command line fit to record: the values of options named like secrets are masked
    (``--api-key X``, ``--api-key=X``, ``-password X``, ``DB_PASSWORD=X``, ``db.token=X``), and
    URL passwords anywhere. Single-letter options (``-p X``) are not guessed at."""
    out: list[str] = []
    mask_next = False
    for raw in argv:
        arg = str(raw)
        if mask_next:
            mask_next = False
            if not arg.startswith("--"):
                out.append(MASK)
                continue
        name, eq, value = arg.lstrip("-").partition("=")
        if arg.startswith("-") and len(name) > 1 and is_secret_name(name):
            if eq:
                out.append(arg[: len(arg) - len(value)] + MASK)
            else:
                out.append(arg)
                mask_next = name_words(name)[0] not in _FLAG_PREFIXES
            continue
        if not arg.startswith("-") and eq and re.fullmatch(r"\+*[A-Za-z_][\w.-]*", name) \
                and is_secret_name(name):
            out.append(f"{name}={MASK}")
            continue
        out.append(redact_text(arg))
    return out


def redact_env(environ: Mapping[str, str]) -> dict[str, str]:
    """Environment variables fit to record: secret-named ones keep their name, not their value;
    the others lose URL passwords."""
    return {name: MASK if is_secret_name(name) else redact_text(str(value))
            for name, value in environ.items()}


def redact_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """A remote's (or any config table's) options fit to show: keys not known to be safe are
    masked (booleans excepted: a flag is no credential), URLs lose their passwords; nested
    tables (``client_kwargs``) are treated the same way."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        if isinstance(value, Mapping):
            out[key] = redact_options(value)
        elif not is_safe_option(str(key)) and not isinstance(value, bool) and value is not None:
            out[key] = MASK
        elif isinstance(value, str):
            out[key] = redact_text(value)
        else:
            out[key] = value
    return out


def option_secrets(options: Mapping[str, Any]) -> list[str]:
    """The secret strings of a remote's options (masked values, URL passwords), to mask in the
    text of errors a backend raises with them."""
    found: list[str] = []
    for key, value in options.items():
        if isinstance(value, Mapping):
            found += option_secrets(value)
        elif isinstance(value, str):
            found += [value] if not is_safe_option(str(key)) and len(value) >= 4 \
                else url_secrets(value)
    return found


def holds_credentials(config: Mapping[str, Any]) -> bool:
    """Whether a parsed config.toml holds anything ``redact_options`` would mask."""
    return redact_options(config) != config


def redact_metadata(meta: Mapping[str, Any]) -> dict[str, Any]:
    """A version's metadata snapshot fit to record, show, export and push: the pipeline's
    command line, the code's repository URL, dataset sources, string hyperparameters named like
    secrets, and the deployment's environment and config."""
    data = dict(meta)
    for section in ("components", "deployment"):
        if isinstance(data.get(section), Mapping):
            data[section] = {k: redact_component(k, v) for k, v in data[section].items()}
    return data


def redact_component(kind: str, value: Any) -> Any:
    """One recorded part of a run or version, fit to keep: ``command`` (an argument vector),
    ``pipeline`` (its ``command``), ``code`` (its ``repository`` URL), ``datasets`` (their
    ``source``), ``hyperparameters``/``config`` (secret-named values) or ``environment``."""
    if kind == "command" and isinstance(value, list):
        return redact_argv(value)
    if kind == "pipeline" and isinstance(value, Mapping) and isinstance(value.get("command"), list):
        return {**value, "command": redact_argv(value["command"])}
    if kind == "code" and isinstance(value, Mapping) and isinstance(value.get("repository"), str):
        return {**value, "repository": redact_url(value["repository"], drop_credentials=True)}
    if kind == "datasets" and isinstance(value, list):
        return [{**d, "source": redact_text(d["source"])}
                if isinstance(d, Mapping) and isinstance(d.get("source"), str) else d for d in value]
    if kind in ("hyperparameters", "config") and isinstance(value, Mapping):
        return redact_values(value)
    if kind == "environment" and isinstance(value, Mapping):
        return redact_env(value)
    return value


def redact_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Params or settings fit to record: string values of secret-named keys are masked (numbers
    and flags are kept: ``key_dim = 64`` is no credential); other strings lose URL passwords."""
    return {k: (MASK if is_secret_name(str(k)) else redact_text(v)) if isinstance(v, str) else v
            for k, v in values.items()}
