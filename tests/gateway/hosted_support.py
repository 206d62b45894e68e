"""A keep with hosted versions served by fake providers (tests/fake_provider.py)."""

from __future__ import annotations

from pathlib import Path

from gateway_process import register_python
from support import pass_validation

from modelkeep.keep import Keep

KEY = "sk-test-7f3a9c1e5b2d4f60aa"  # greppable: it must appear in none of the keep's files
KEY_ENV = "FAKE_PROVIDER_KEY"
LOCAL = '''
def run(inputs):
    return {"text": "local: " + inputs["prompt"]}
'''


def add_provider(root: Path, name: str, url: str, *, timeout: float = 2.0, retries: int = 2) -> None:
    """Append ``[providers.NAME]`` to the keep's config.toml (the key named, never written)."""
    config = root / ".modelkeep" / "config.toml"
    config.write_text(config.read_text() + f'\n[providers.{name}]\nbase_url = "{url}"\n'
                      f'api_key_env = "{KEY_ENV}"\ntimeout = {timeout}\nretries = {retries}\n')


def write_spec(folder: Path, provider: str, model: str, price: str, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{provider}-{model}.yaml"
    path.write_text(f"provider: {provider}\nmodel: {model}\n{extra}price: {price}\n")
    return path


TOKEN_PRICE = "{currency: USD, input_per_1k: 0.5, output_per_1k: 1.5}"
CALL_PRICE = "{currency: USD, per_call: 0.01}"


def hosted_keep(root: Path, url: str, *, database_url: str | None = None,
                other_url: str | None = None, timeout: float = 2.0) -> Keep:
    """chat@1.0.0 (per-token price, max_tokens 16) and chat@1.0.1 (per call) on provider
    ``fake``; with ``other_url``, chat@1.0.2 on provider ``other``; mix@1.0.0 a local model
    answering {"prompt": TEXT} and mix@2.0.0 hosted (a major bump: it takes a prompt, not the signature)."""
    keep = Keep.init(root, database_url=database_url)
    add_provider(root, "fake", url, timeout=timeout)
    specs = root.parent / "specs"
    keep.register_hosted("chat", write_spec(specs, "fake", "fake-small", TOKEN_PRICE,
                                            "parameters: {max_tokens: 16}\n"))
    keep.register_hosted("chat", write_spec(specs, "fake", "fake-large", CALL_PRICE))
    if other_url:
        add_provider(root, "other", other_url)
        keep.register_hosted("chat", write_spec(specs, "other", "other-model", CALL_PRICE))
    register_python(keep, "mix", root / "mix", LOCAL, {"prompt": "hi"})
    keep.register_hosted("mix", write_spec(specs, "fake", "fake-mix", CALL_PRICE))
    pass_validation(keep, *(v.ref for m in keep.models() for v in keep.versions(m.name)))
    keep.close()
    return Keep.open(root)  # with the providers now in its config
