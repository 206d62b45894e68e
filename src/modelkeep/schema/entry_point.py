"""The form of an entry point, ``module.path:attribute``: checked by the schema (``LoaderSpec``)
and again by the loaders before they import anything. It lives apart from the schema's models so
that loading a version never imports pydantic to check one string."""

from __future__ import annotations

import re

ENTRY_POINT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*")
