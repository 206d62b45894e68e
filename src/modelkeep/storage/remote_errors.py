"""One-line errors for remote failures, whatever the backend (local, s3fs, gcsfs, adlfs) raised.

Backends raise their own exception types (botocore, aiohttp, google-auth, azure-core), which
modelkeep does not import: they are recognised by class name anywhere in their MRO.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence

from modelkeep.errors import RemoteAuthError, RemoteError, StorageError
from modelkeep.redact import mask_known, redact_url

_AUTH = {
    "NoCredentialsError",
    "PartialCredentialsError",
    "CredentialRetrievalError",
    "NoAuthTokenError",
    "UnauthorizedSSOTokenError",
    "DefaultCredentialsError",
    "RefreshError",
    "ClientAuthenticationError",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
}
_NETWORK = {
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ConnectionClosedError",
    "ClientConnectorError",
    "ClientConnectionError",
    "ServerDisconnectedError",
    "ClientOSError",
    "ServerTimeoutError",
    "ServiceRequestError",
    "gaierror",
    "ConnectionError",
    "TimeoutError",
    "ProxyConnectionError",
    "SSLError",
}
_NETWORK_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ETIMEDOUT,
    errno.EHOSTDOWN,
}


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _http_status(exc: BaseException) -> int | None:
    # azure-core's HttpResponseError and aiohttp's ClientResponseError carry the status
    status = getattr(exc, "status_code", None) or getattr(exc, "status", None)
    return status if isinstance(status, int) else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.splitlines()[0].split())


def translate(exc: BaseException, name: str, url: str, what: str, *,
              secrets: Sequence[str] = ()) -> StorageError:
    """The modelkeep error for ``exc``, raised while trying to ``what`` remote ``name``;
    ``secrets`` (the remote's credentials) are masked wherever the backend's text repeats them."""
    where = f"remote '{name}' ({redact_url(url)})"
    names = _names(exc)
    cause = mask_known(_first_line(exc), secrets)
    if names & _AUTH or isinstance(exc, PermissionError) or _http_status(exc) in (401, 403):
        return RemoteAuthError(
            f"cannot {what} {where}: access denied ({cause})",
            hint="check the credentials: the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY environment "
            "variables (or the cloud's usual login), or the remote's settings in "
            ".modelkeep/config.toml",
            remote=name,
        )
    if names & _NETWORK or (isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS):
        return RemoteError(
            f"cannot reach {where}: {cause}",
            hint="check the URL and endpoint_url (modelkeep remote list) and the network",
            remote=name,
        )
    if isinstance(exc, FileNotFoundError):
        return RemoteError(
            f"cannot {what} {where}: the bucket or folder does not exist ({cause})",
            hint="create the bucket first, or fix the URL: modelkeep remote list",
            remote=name,
        )
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return RemoteError(f"{where} is full: {cause}", hint="free space on the remote", remote=name)
    return RemoteError(
        f"cannot {what} {where}: {cause}",
        hint="check the remote's URL and settings: modelkeep remote list",
        remote=name,
    )
