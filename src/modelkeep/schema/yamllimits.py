"""The input limits (``modelkeep.limits``) applied while a YAML document is composed.

Checking after loading would be too late: a few hundred bytes of nested aliases (a "billion
laughs" document) expand to billions of nodes once constructed, and a document nested 100,000
deep ends in a RecursionError. ``LimitedComposer`` replaces ruamel's composer and refuses,
before any Python object is built:

- nesting deeper than ``MAX_DEPTH``, as written or once aliases are followed;
- aliases that together add more than ``MAX_ALIAS_NODES`` nodes, and an alias inside the node
  it refers to (a document that never ends);
- integers of more than ``MAX_INT_DIGITS`` digits (Python refuses to convert those anyway,
  with a bare ValueError).

Each collection node is measured once, when its composition ends: its expanded size and depth
follow from its children's, which are all measured by then, so measuring costs one step per
child and needs no recursion.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from modelkeep.limits import MAX_ALIAS_NODES, MAX_DEPTH, MAX_INT_DIGITS

_INT_TAG = "tag:yaml.org,2002:int"


class YamlLimitError(MarkedYAMLError):
    """A YAML document exceeds an input limit; ``problem`` says which, ``problem_mark`` where."""


class LimitedComposer(Composer):
    """ruamel's composer, with the input limits enforced as nodes are composed."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self._level = 0
        self._expanded = 0
        self._measures: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded size, depth)

    def _refuse(self, problem: str, node: Node | None = None) -> YamlLimitError:
        """The error, marked at ``node`` or else where the parser is (just after an alias)."""
        mark = node.start_mark if node is not None else self.parser.peek_event().start_mark
        return YamlLimitError(None, None, problem, mark)

    def return_alias(self, a: Any) -> Any:
        """An alias: count the nodes it adds; refuse one that refers to its own node."""
        if isinstance(a, ScalarNode):
            size = 1
        elif id(a) in self._measures:
            size = self._measures[id(a)][0]
        else:
            raise self._refuse(f"has an alias that refers to itself (&{a.anchor})")
        self._expanded += size
        if self._expanded > MAX_ALIAS_NODES:
            raise self._refuse(f"has aliases that expand to more than {MAX_ALIAS_NODES} nodes")
        return a

    def compose_scalar_node(self, anchor: Any) -> Any:
        """A scalar; an integer of more than ``MAX_INT_DIGITS`` digits is refused."""
        node = super().compose_scalar_node(anchor)
        tag = getattr(node.tag, "value", node.tag)
        digits = len(str(node.value).lstrip("+-"))
        if str(tag) == _INT_TAG and digits > MAX_INT_DIGITS:
            raise self._refuse(
                f"has an integer of {digits} digits (more than {MAX_INT_DIGITS} digits)", node)
        return node

    def compose_sequence_node(self, anchor: Any) -> Any:
        """A list, at most ``MAX_DEPTH`` collections deep, measured once composed."""
        return self._collection(super().compose_sequence_node, anchor)

    def compose_mapping_node(self, anchor: Any) -> Any:
        """A mapping, at most ``MAX_DEPTH`` collections deep, measured once composed."""
        return self._collection(super().compose_mapping_node, anchor)

    def _collection(self, compose: Callable[[Any], Node], anchor: Any) -> Node:
        self._level += 1
        try:
            if self._level > MAX_DEPTH:
                raise self._refuse(f"is nested more than {MAX_DEPTH} levels deep")
            return self._measure(compose(anchor))
        finally:
            self._level -= 1

    def _measure(self, node: Node) -> Node:
        items = node.value
        children = [n for pair in items for n in pair] if isinstance(node, MappingNode) else items
        size, depth = 1, 0
        for child in children:
            if isinstance(child, ScalarNode):
                size += 1
                continue
            child_size, child_depth = self._measures[id(child)]
            size += child_size
            depth = max(depth, child_depth)
        depth += 1
        if depth > MAX_DEPTH:
            raise self._refuse(
                f"is nested more than {MAX_DEPTH} levels deep once its aliases are expanded", node)
        self._measures[id(node)] = (size, depth)
        return node
