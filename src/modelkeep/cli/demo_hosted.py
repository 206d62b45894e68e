"""The demo's last serving step: a hosted model (docs/hosted.md) in an A/B test, and its cost.

The upstream is modelkeep's fake OpenAI-compatible provider (``modelkeep.gateway.fake_provider``)
on a free loopback port, so the demo needs no network and no real key. Two hosted versions of a
chat model (one priced per token, one per call) are validated, A/B tested behind a second
gateway that has the provider's key in its environment, and their spend is shown per arm.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from modelkeep.interface import KeepInterface

if TYPE_CHECKING:
    from modelkeep.cli.demo_serving import Client

NAME = "demo-assistant"
KEY_ENV = "DEMO_PROVIDER_KEY"
KEY = "sk-demo-not-a-real-key"
SPECS = {  # the two arms: a per-token price and a per-call price
    "small.yaml": "provider: fake\nmodel: fake-small\nparameters: {max_tokens: 64}\n"
                  "price: {currency: USD, input_per_1k: 0.5, output_per_1k: 1.5}\n",
    "large.yaml": "provider: fake\nmodel: fake-large\nprice: {currency: USD, per_call: 0.002}\n",
}
POLICY = "# hosted versions: no weights to measure, the spec must be complete\nrequired: [name]\n"
QUESTIONS = ["what is a canary", "why pin versions", "how do aliases move", "what does gc keep"]


@contextmanager
def _provider() -> Iterator[str]:
    """The fake provider as a child process until the block ends; yields its base URL."""
    from modelkeep.gateway.fake_provider import FakeProvider

    click.secho(f"$ export {KEY_ENV}={KEY}   # a real provider's key goes here", fg="green")
    try:
        fake = FakeProvider(key=KEY)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    click.secho(f"$ python -m modelkeep.gateway.fake_provider --port {fake.port} --key $"
                f"{KEY_ENV} &", fg="green")
    click.echo(f"fake OpenAI-compatible provider on {fake.url} (pid {fake.proc.pid})")
    try:
        yield fake.url
    finally:
        fake.stop()


def hosted_ab_step(root: Path, step: int, run: Callable[..., None], say: Callable[[str], None],
                   keep: KeepInterface,
                   gateway: Callable[[dict[str, str]], AbstractContextManager[Client]],
                   wait: Callable[..., float]) -> None:
    """Register two hosted versions, validate them, A/B test them through a gateway, then show
    the spend per arm and the report, and end the test. ``gateway(env)`` starts one."""
    say(f"{step}. A hosted model: the upstream is an OpenAI-compatible API (a fake one on "
        "loopback here). Its URL comes from config.toml, its key from the environment; each "
        "version is a spec with a price. Two versions in an A/B test, then what each arm cost")
    with _provider() as url:
        table = f'\n[providers.fake]\nbase_url = "{url}"\napi_key_env = "{KEY_ENV}"\n'
        config = root / ".modelkeep" / "config.toml"
        config.write_text(config.read_text() + table)
        click.secho("$ cat >> .modelkeep/config.toml", fg="green")
        click.echo(table.strip("\n"))
        for spec, text in SPECS.items():
            (root / spec).write_text(text)
            click.secho(f"$ cat {spec}", fg="green")
            click.echo(text.rstrip())
        (root / "hosted-policy.yaml").write_text(POLICY)
        run(root, "register", NAME, "--hosted", "small.yaml")
        run(root, "register", NAME, "--hosted", "large.yaml")
        for version in ("1.0.0", "1.0.1"):
            run(root, "validate", f"{NAME}@{version}", "--policy", "hosted-policy.yaml")
        run(root, "deploy", f"{NAME}@1.0.0")
        run(root, "deploy", NAME, "--ab", "A=1.0.0,B=1.0.1", "--split", "50/50", "--by",
            "header:X-User-Id")
        with gateway({KEY_ENV: KEY}) as client:  # a new gateway reads the new provider table
            _requests(client, len(QUESTIONS) * 8)
            wait(lambda: sum(line.calls for line in keep.cost_report(NAME, by="arm").lines)
                 >= len(QUESTIONS) * 8, "the calls' costs to be recorded")
            wait(lambda: sum(arm["requests"] for arm in keep.ab_report(NAME).to_dict()["arms"])
                 >= len(QUESTIONS) * 8, "the A/B test's requests to be counted")
            run(root, "cost", NAME, "--by", "arm")
            run(root, "deploy", "report", NAME)
            run(root, "deploy", "end", NAME, "--winner", "B", "--reason",
                "the same answers at a lower cost")


def _requests(client: Client, count: int) -> None:
    """``count`` requests from different users through the predict endpoint (the A/B test's
    tallies count these; /v1/chat/completions answers too); one answer shown, then the arms."""
    arms: Counter[str] = Counter()
    for i in range(count):
        body = {"inputs": {"messages": [{"role": "user",
                                         "content": QUESTIONS[i % len(QUESTIONS)]}]}}
        if i == 0:
            click.secho(f"$ curl -s localhost:{client.port}/v1/models/{NAME}/predict "
                        f"-H 'X-User-Id: user-0' -d '{json.dumps(body)}'", fg="green")
        status, headers, answer = client.call("POST", f"/v1/models/{NAME}/predict", body,
                                              {"X-User-Id": f"user-{i}"})
        if status != 200:
            raise click.ClickException(f"the hosted model answered {status}: {answer}")
        if i == 0:
            click.echo(json.dumps(answer))
        arms[f"arm {answer['arm']} ({answer['version']})"] += 1
    click.echo(f"{count} users, one request each: "
               + ", ".join(f"{n} on {arm}" for arm, n in sorted(arms.items())))
