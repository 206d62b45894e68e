"""The fake OpenAI-compatible provider, for tests and the benchmark: it lives in the package
(``modelkeep.gateway.fake_provider``) since ``modelkeep demo`` uses it too.

Run it: ``python tests/fake_provider.py --port 8099 [--key sk-test]``.
"""

from __future__ import annotations

from modelkeep.gateway.fake_provider import STATE, FakeProvider, build_app, free_port, main

__all__ = ["STATE", "FakeProvider", "build_app", "free_port", "main"]

if __name__ == "__main__":
    main()
