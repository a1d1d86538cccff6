"""YAML from users, read with limits: the one home for turning untrusted YAML text into data (scenarios, catalog
overlays, the planner page's YAML box).

A YAML document can make a small text stand for a huge tree through anchors and aliases ("billion laughs": nine
levels of nine aliases are 10^9 nodes in a few hundred bytes). PyYAML composes each alias as one shared node, so
composing is cheap; whatever walks the tree afterwards (validation, the depth check, JSON encoding) expands it. So the
document's expanded size and depth are counted on the composed graph, each shared node once, before anything is
built from it, and a document over the limits is refused in well under a second.
"""

from __future__ import annotations

from typing import Any

import yaml

from tokenlane.errors import InputError

MAX_EXPANDED_NODES = 200_000
"""Most nodes a document may stand for once its aliases are expanded: far beyond any real scenario or catalog file
(the built-in hardware catalog, anchors and all, is a few thousand)."""
MAX_NESTING = 32
"""Deepest nesting of mappings and lists a document may have."""


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def expansion(root: yaml.Node) -> tuple[int, int]:
    """(nodes, depth) of the document with every alias expanded, each capped just past its limit; a node that contains
    itself (a recursive alias) counts as over both. Iterative, each shared node visited once."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    over = (MAX_EXPANDED_NODES + 1, MAX_NESTING + 1)
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            kids = _children(node)
            size[key] = min(MAX_EXPANDED_NODES + 1, 1 + sum(size[id(k)] for k in kids))
            depth[key] = min(MAX_NESTING + 1, 1 + max((depth[id(k)] for k in kids), default=0))
            open_nodes.discard(key)
            continue
        if key in size:
            continue
        if key in open_nodes:
            return over
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in _children(node) if id(k) not in size)
    return size[id(root)], depth[id(root)]


def load_yaml(
    text: str, path: str, *, error: type[InputError] = InputError, loader: type[yaml.SafeLoader] = yaml.SafeLoader
) -> tuple[Any, yaml.Node | None]:
    """(data, composed root) of one YAML document, safely: refused with `error` naming `path` (and the line, where the
    parser gives one) when it is not YAML, nests deeper than `MAX_NESTING`, or expands past `MAX_EXPANDED_NODES`."""
    reader = loader(text)
    try:
        root = reader.get_single_node()
        if root is None:
            return None, None
        nodes, deep = expansion(root)
        if nodes > MAX_EXPANDED_NODES:
            line = root.start_mark.line + 1
            raise error(f"line {line}: its aliases expand to more than {MAX_EXPANDED_NODES:,} values (an alias bomb?)", path=path)
        if deep > MAX_NESTING:
            raise error(f"nested more than {MAX_NESTING} levels deep", path=path)
        return reader.construct_document(root), root
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise error(f"{where}not valid YAML ({getattr(exc, 'problem', None) or exc})", path=path) from exc
    except RecursionError as exc:
        raise error(f"nested more than {MAX_NESTING} levels deep", path=path) from exc
    finally:
        reader.dispose()
