"""The rule for model names, shared by the registry (versions) and tracking (a run's model).

It sits below both so that neither reaches into the other to check a name.
"""

from __future__ import annotations

import re

from modelkeep.errors import InvalidNameError

# fullmatch, never ``$``: ``$`` also matches before a final newline ("bert\n" would pass)
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


def check_model_name(name: str) -> str:
    """Return ``name`` if it is a valid model name, else raise InvalidNameError."""
    if not isinstance(name, str) or not _MODEL_NAME.fullmatch(name):
        raise InvalidNameError(
            f"invalid model name {name!r}: use letters, digits, '.', '_' or '-' (at most 200), "
            "starting with a letter or digit",
            hint="e.g. modelkeep register bert-classifier ./model",
            name=name,
        )
    return name
