"""moto in server mode on a free loopback port: the real S3 protocol over HTTP.

Two servers per test process at most, started on first use and stopped at exit: a plain one for
the transfer tests, and one with IAM auth enforced for the credential tests. On the second, the
first three requests are unauthenticated: they create an IAM user with full rights and its
access key, and any other key is refused, as S3 would. (moto 5's signature check rejects
listings with a delimiter or prefix, so transfers are tested on the plain server.)
"""

from __future__ import annotations

import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from emulators import free_port, spawn


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    key: str
    secret: str

    def new_bucket(self) -> str:
        """A fresh, empty bucket (one per test keeps tests independent)."""
        import boto3

        name = f"mk-{uuid.uuid4().hex[:12]}"
        boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=self.key,
                     aws_secret_access_key=self.secret, region_name="us-east-1").create_bucket(Bucket=name)
        return name


_servers: dict[bool, S3Server] = {}


def s3_server(auth: bool = False) -> S3Server:
    """Start (once) and return the moto server (``auth``: the one that checks credentials)."""
    if auth in _servers:
        return _servers[auth]
    port = free_port()
    env = dict(os.environ)
    if auth:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"
    try:
        spawn([sys.executable, "-m", "moto.server", "-p", str(port), "-H", "127.0.0.1"], port, "moto", env)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    import boto3

    endpoint = f"http://127.0.0.1:{port}"
    if not auth:
        _servers[auth] = S3Server(endpoint, "testing", "testing")
        return _servers[auth]
    iam = boto3.client("iam", endpoint_url=endpoint, aws_access_key_id="setup",
                       aws_secret_access_key="setup", region_name="us-east-1")
    iam.create_user(UserName="modelkeep")
    iam.put_user_policy(UserName="modelkeep", PolicyName="all", PolicyDocument=(
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'))
    key = iam.create_access_key(UserName="modelkeep")["AccessKey"]
    _servers[auth] = S3Server(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
    return _servers[auth]


def isolate_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: S3Server | None = None) -> None:
    """No ~/.aws files, no instance metadata lookups; the server's keys in the environment."""
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    if server is not None:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.secret)
