"""Writing untrusted text into Markdown and YAML so that it stays text.

Metadata comes from users and from other keeps: a description may hold ``---`` (which would end
a YAML front matter), ``# heading`` or ``<script>`` (which would become Markdown or HTML), a
newline (which would end a table row) or an escape sequence (which would repaint a terminal).
Every writer in this package puts outside text through these functions:

- ``yaml_scalar`` writes every string double-quoted with escapes, so no content can end the
  scalar, the document or the front matter; floats always carry a ``.`` or are ``.nan``/``.inf``
  so YAML 1.1 readers (PyYAML) and YAML 1.2 readers agree on their type;
- ``md_inline`` / ``md_block`` turn ``<``, ``>``, ``&`` into entities, backslash-escape inline
  markup (emphasis, code, links, table pipes) everywhere and block markers (``#``, ``-``,
  ``+``, ``=``, ``1.``) at the start of a line, so text renders as the characters it holds;
- control characters (but tab and newline) and bidirectional overrides become U+FFFD.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

# C0/C1 controls but tab and newline, and bidirectional overrides: what could repaint a terminal
UNSAFE_TEXT = re.compile("[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069]")
_MD_INLINE = re.compile(r"([\\`*_\[\]|~])")  # emphasis, code, links, table cells, strikeout
_MD_LINE_START = re.compile(r"^(\d+)([.)])(?=\s|$)")  # "1." or "1)" would start an ordered list
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_YAML_RAW = set(" !#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`"
                "abcdefghijklmnopqrstuvwxyz{|}~")
_YAML_WORDS = {"null", "true", "false", "yes", "no", "on", "off", "y", "n"}  # YAML 1.1 booleans
_YAML_SHORT = {"\n": "\\n", "\t": "\\t"}
_YAML_BREAKS = {"\x85", "\u2028", "\u2029", "\ufeff"}  # line breaks or marks to YAML readers


def clean(text: str) -> str:
    """``text`` with control characters (but tab and newline) and bidi overrides as U+FFFD."""
    return UNSAFE_TEXT.sub("\ufffd", text.replace("\r\n", "\n"))


def md_inline(value: Any, *, cell: bool = False) -> str:
    """Any value as Markdown text on one line: a list item, a heading, or (``cell``) a table
    cell, where no block marker can take effect."""
    if isinstance(value, int | float):  # our own digits: nothing to escape
        return format_value(value)
    text = clean(value if isinstance(value, str) else format_value(value))
    return _escape(" ".join(text.split()), line_start=not cell)


def md_block(text: str) -> str:
    """Prose as Markdown paragraphs: its line breaks kept, every line escaped."""
    lines = [_escape(line.strip()) for line in clean(text).split("\n")]
    return "\n".join(lines).strip("\n")


def _escape(text: str, *, line_start: bool = True) -> str:
    """Text as Markdown renders it literally, wherever it starts: inline markup escaped
    everywhere, block markers (``#``, ``-``, ``+``, ``=``, ``1.``) where they start the text."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_INLINE.sub(r"\\\1", text)
    if not line_start:
        return text
    if text[:1] in ("#", "-", "+", "="):
        return "\\" + text
    return _MD_LINE_START.sub(r"\1\\\2", text)


def format_value(value: Any) -> str:
    """A value for a person: floats in six significant digits, lists joined by commas."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else f"{value:.6g}"
    if isinstance(value, list | tuple):
        return ", ".join(format_value(v) for v in value) or "-"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={format_value(v)}" for k, v in value.items()) or "-"
    return str(value)


def size_text(size: int | None) -> str:
    """1536 -> '1.5 KiB'."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def md_table(columns: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table; every cell escaped (``md_inline``)."""
    head = "| " + " | ".join(md_inline(c, cell=True) for c in columns) + " |"
    rule = "|" + "---|" * len(columns)
    body = ["| " + " | ".join(md_inline(c, cell=True) for c in row) + " |" for row in rows]
    return "\n".join([head, rule, *body])


# -- YAML -----------------------------------------------------------------------------------

def yaml_scalar(value: Any) -> str:
    """One YAML scalar that every YAML reader reads back as ``value``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "e" in text and "." not in text:  # YAML 1.1 floats need a dot: 1e-05 -> 1.0e-05
            text = text.replace("e", ".0e", 1)
        return text
    return _quoted(str(value))


def _quoted(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in _YAML_RAW:
            out.append(ch)
        elif ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in _YAML_SHORT:
            out.append(_YAML_SHORT[ch])
        elif ord(ch) > 0x7F and ch.isprintable() and ch not in _YAML_BREAKS:
            out.append(ch)
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def yaml_document(data: Mapping[str, Any]) -> str:
    """A mapping as block-style YAML (keys in the given order), ending with a newline."""
    return "\n".join(_lines(data)) + "\n"


def _key(key: Any) -> str:
    """A mapping key: plain when no YAML reader could take it for anything but a string."""
    plain = isinstance(key, str) and _PLAIN_KEY.match(key) and key.lower() not in _YAML_WORDS
    return key if plain else _quoted(str(key))


def _lines(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        lines = []
        for key, item in value.items():
            if isinstance(item, Mapping | list) and item:
                lines.append(f"{_key(key)}:")
                lines += ["  " + line for line in _lines(item)]
            else:
                lines.append(f"{_key(key)}: {_empty_or_scalar(item)}")
        return lines
    if isinstance(value, list):
        lines = []
        for item in value:
            sub = _lines(item) if isinstance(item, Mapping | list) and item else [_empty_or_scalar(item)]
            lines.append("- " + sub[0])
            lines += ["  " + line for line in sub[1:]]
        return lines
    return [yaml_scalar(value)]


def _empty_or_scalar(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return yaml_scalar(value)
