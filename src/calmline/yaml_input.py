"""YAML that people write (scenario packs, rubrics, tone cues): parsed within a budget.

PyYAML's composer recurses once per level of nesting, so a file nested 100 000 deep
ended in ``RecursionError`` ("a bug in calmline"); and a few ``*alias`` references
can make a small file stand for a tree of billions of values. Here the parser's
events (which it produces without recursion) are counted first, so such a file is
refused before anything is composed; then aliases are counted as what they repeat.
Every problem is one line: ``line 3, column 5: YAML syntax error: ...``.
"""

from __future__ import annotations

from typing import Any

import yaml

from calmline.limits import limits


class YamlProblem(ValueError):
    """Why a text is not acceptable YAML, in one line without the file name."""


def _where(mark: Any) -> str:  # yaml.Mark, or the C loader's own Mark type
    return f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""


def _check_depth(text: str, max_depth: int) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > max_depth:
                raise YamlProblem(
                    f"{_where(event.start_mark)}nested more than {max_depth} levels deep; "
                    "no calmline file needs that many"
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _check_size(root: yaml.Node, max_nodes: int) -> None:
    """Count values with every alias expanded (memoised, so the count itself is cheap)."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:  # recursion is bounded by the depth check
        key = id(node)
        if key not in sizes:
            sizes[key] = 0  # a recursive alias counts once, not forever
            if isinstance(node, yaml.MappingNode):
                total = sum(size(k) + size(v) for k, v in node.value)
            elif isinstance(node, yaml.SequenceNode):
                total = sum(size(v) for v in node.value)
            else:
                total = 0
            sizes[key] = 1 + total
            if sizes[key] > max_nodes:
                raise YamlProblem(
                    f"{_where(node.start_mark)}stands for more than {max_nodes:,} values "
                    "(aliases repeated into aliases); no calmline file needs that many"
                )
        return sizes[key]

    size(root)


def describe(exc: yaml.YAMLError) -> str:
    """PyYAML's several-line message as one line with the position."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        return f"{_where(mark)}YAML syntax error: {exc.problem or exc.context or 'invalid YAML'}"
    return f"YAML syntax error: {' '.join(str(exc).split())}"


def load_yaml(text: str) -> tuple[Any, yaml.Node | None]:
    """The data in ``text`` and its node tree (for line numbers); ``YamlProblem`` if bad."""
    budget = limits()
    loader = yaml.SafeLoader(text)
    try:
        _check_depth(text, budget.yaml_depth)
        root = loader.get_single_node()
        if root is None:
            return None, None
        _check_size(root, budget.yaml_nodes)
        return loader.construct_document(root), root
    except yaml.YAMLError as exc:
        raise YamlProblem(describe(exc)) from None
    finally:
        loader.dispose()
