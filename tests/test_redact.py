"""The one redaction function: what is a secret, in URLs, names, command lines and options."""

from __future__ import annotations

import pytest

from modelkeep.redact import (
    MASK,
    holds_credentials,
    is_secret_name,
    redact_argv,
    redact_env,
    redact_metadata,
    redact_options,
    redact_text,
    redact_url,
    url_secrets,
)


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://mk:hunter2@db.internal:5432/keep", "postgresql://mk:***@db.internal:5432/keep"),
    ("postgresql://mk:p/a/ss@db:5432/keep", "postgresql://mk:***@db:5432/keep"),
    ("postgresql://mk:p@ss:w/rd@db/keep", "postgresql://mk:***@db/keep"),
    ("https://user:a:b:c@host/x", "https://user:***@host/x"),
    ("https://ghp_AbCdEf0123456789abcdef@github.com/o/r.git", "https://***@github.com/o/r.git"),
    ("ssh://git@github.com/o/r.git", "ssh://git@github.com/o/r.git"),
    ("s3://bucket/models@v1/w.bin", "s3://bucket/models@v1/w.bin"),
    ("http://host:8080/@me", "http://host:8080/@me"),
    ("https://acct.blob.core.windows.net/c?sv=2022&sig=AbC%2Fsecret&se=1",
     "https://acct.blob.core.windows.net/c?sv=2022&sig=***&se=1"),
    ("https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA&X-Amz-Signature=deadbeef&x-id=Get",
     "https://b.s3.amazonaws.com/k?X-Amz-Credential=***&X-Amz-Signature=***&x-id=Get"),
    ("/plain/path", "/plain/path"),
])
def test_url_passwords_are_masked_whatever_they_hold(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_free_text_masks_urls_assignments_and_bearer_tokens() -> None:
    text = ("cannot connect to 'postgresql://u:s3cr/et@h/db': refused; "
            "password=hunter2 lr=0.1 Authorization: Bearer abcdefghijklmnop")
    shown = redact_text(text)
    for secret in ("s3cr/et", "hunter2", "abcdefghijklmnop"):
        assert secret not in shown
    assert "postgresql://u:***@h/db" in shown and "lr=0.1" in shown
    assert redact_text("expected KEY=VALUE") == "expected KEY=VALUE"  # placeholders in a hint


@pytest.mark.parametrize("name", [
    "NCCL_SOCKET_PASS", "TORCH_HUB_PW", "CUDA_PRIVATE", "HF_TOKEN", "TF_api_key", "apiKey",
    "api-key", "aws_secret_access_key", "session_token", "account_key", "sas_token",
    "connection_string", "client_secret", "DB_PASSWORD", "db.passwd", "hftoken", "X-Amz-Signature",
])
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", [
    "MODELKEEP_AUTHOR", "max_tokens", "max_new_tokens", "CUDA_VISIBLE_DEVICES", "lr",
    "tokenizer", "MASTER_ADDR", "passes", "epochs", "region",
])
def test_names_that_are_no_secret(name: str) -> None:
    assert not is_secret_name(name)


def test_command_lines_keep_their_shape_and_lose_their_secrets() -> None:
    argv = ["python", "train.py", "--api-key", "SECRET1", "--token=SECRET2", "-password",
            "SECRET3", "DB_PASSWORD=SECRET4", "+db.token=SECRET5", "--lr", "0.1",
            "--use-auth-token", "--epochs", "3", "--db", "postgresql://u:SECRET6@h/db",
            "--hf_token"]
    shown = redact_argv(argv)
    assert not any(f"SECRET{i}" in " ".join(shown) for i in range(1, 7))
    assert shown == ["python", "train.py", "--api-key", MASK, f"--token={MASK}", "-password",
                     MASK, f"DB_PASSWORD={MASK}", f"+db.token={MASK}", "--lr", "0.1",
                     "--use-auth-token", "--epochs", "3", "--db", "postgresql://u:***@h/db",
                     "--hf_token"]
    assert redact_argv(["train.py", "-p", "8080", "--max-tokens", "5"]) == \
        ["train.py", "-p", "8080", "--max-tokens", "5"]


def test_remote_options_are_an_allow_list() -> None:
    section = {"url": "s3://AKIA:wJalr/XUt@bucket/p", "endpoint_url": "http://minio:9000",
               "region": "eu-west-1", "retries": 2, "anon": False, "session_token": "tok",
               "account_key": "ak", "password": "pw", "secret_access_key": "sk",
               "some_future_option": "x", "client_kwargs": {"region_name": "eu", "aws_secret": "s"}}
    shown = redact_options(section)
    assert shown == {"url": "s3://***:***@bucket/p", "endpoint_url": "http://minio:9000",
                     "region": "eu-west-1", "retries": 2, "anon": False, "session_token": MASK,
                     "account_key": MASK, "password": MASK, "secret_access_key": MASK,
                     "some_future_option": MASK,
                     "client_kwargs": {"region_name": "eu", "aws_secret": MASK}}
    assert holds_credentials({"remotes": {"o": section}})
    assert not holds_credentials({"core": {"store": "objects"},
                                  "remotes": {"o": {"url": "/mnt/x", "region": "eu"}}})
    assert holds_credentials({"core": {"database_url": "postgresql://u:p@h/d"}})


def test_environment_keeps_names_and_hides_values() -> None:
    env = redact_env({"HF_TOKEN": "hf_x", "MASTER_ADDR": "tcp://u:p/w@host:1", "RANK": "0"})
    assert env == {"HF_TOKEN": MASK, "MASTER_ADDR": "tcp://u:***@host:1", "RANK": "0"}


def test_metadata_snapshot() -> None:
    meta = {"components": {"pipeline": {"command": ["python", "t.py", "--api-key", "S1"]},
                           "code": {"repository": "https://u:S2@git.example/r.git"},
                           "datasets": [{"source": "s3://k:S3@b/d"}],
                           "hyperparameters": {"api_key": "S4", "key_dim": 64, "lr": 0.1}},
            "deployment": {"environment": {"OPENAI_API_KEY": "S5", "PORT": "80"},
                           "config": {"db_password": "S6", "replicas": 2}}}
    shown = str(redact_metadata(meta))
    assert not any(f"S{i}" in shown for i in range(1, 7))
    assert "'key_dim': 64" in shown and "'PORT': '80'" in shown and "'replicas': 2" in shown


def test_the_pieces_a_driver_may_echo_back() -> None:
    assert url_secrets("postgresql://mk:SECRET/p@ss:w0rd@h/db") == [
        "SECRET/p@ss:w0rd", "SECRET", "w0rd"]
    assert url_secrets("ssh://git@github.com/o/r") == []  # a user name is no secret
    assert url_secrets("https://ghp_AbCdEf0123@github.com/o/r") == ["ghp_AbCdEf0123"]
    assert url_secrets("/local/path") == []
