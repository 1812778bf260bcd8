"""YAML for knowledge managers' files, read with line numbers so every error names its line."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

import yaml

from kb.errors import N_, Invalid, Message

MAX_VALUES = 100_000
"""Most values a file may hold once its aliases are expanded (ten aliases of ten, nine deep,
would be a billion)."""
# The things a file lists, as its messages name them.
NOUNS = {"rule": N_("rule"), "reply": N_("reply")}
ID = re.compile(r"[a-z0-9][a-z0-9_.-]*")
"""The ids of replies and rules: lower-case letters, digits, '-', '_' or '.'."""


class RuleFileError(Invalid):
    """A problem in an imported rule or reply file, at a line (1-based) when one is known."""

    def __init__(self, source: str, line: int | None, message: str) -> None:
        # ``message`` may be a Message: the page shows it, and the frame, in its reader's language.
        if line is None:
            text = Message("{source}: {problem}", source=source, problem=message)
        else:
            text = Message(
                "{source} line {line}: {problem}", source=source, line=line, problem=message
            )
        super().__init__(text, field="file")
        self.source = source
        self.line = line
        self.problem = message


@dataclass(frozen=True)
class Node:
    """A YAML value with its line: a scalar, ``list[Node]`` or ``dict[str, Node]``."""

    value: object
    line: int
    raw: str | None = None  # a scalar's text as written, so `12315` or `no` can still be text
    style: str | None = None  # a scalar's style: "|" lets callers point inside block text
    key_line: int | None = None  # for a mapping value: the line of its key
    tag: str = ""

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_list(self) -> bool:
        return isinstance(self.value, list)

    @property
    def at(self) -> int:
        """The line to blame: the key's line for a mapping value, else the value's own."""
        return self.key_line if self.key_line is not None else self.line

    def items(self) -> dict[str, Node]:
        assert isinstance(self.value, dict)
        return self.value

    def elements(self) -> list[Node]:
        assert isinstance(self.value, list)
        return self.value


def load(text: str, source: str) -> Node | None:
    """Parse YAML text into line-carrying nodes; ``None`` for an empty document."""
    try:
        # The reader checks the first characters as it is built: a control character there
        # raised past the handlers below (a 500 on import).
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:
        raise RuleFileError(source, None, Message("invalid YAML: {detail}", detail=exc)) from exc
    try:
        root = loader.get_single_node()
        return None if root is None else _convert(root, loader, source, None, [MAX_VALUES])
    except RecursionError as exc:  # the composer and the conversion recurse once per level
        raise RuleFileError(source, None, N_("invalid YAML: nested too deeply")) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise RuleFileError(
            source,
            mark.line + 1 if mark else None,
            Message("invalid YAML: {detail}", detail=problem),
        ) from exc
    except yaml.YAMLError as exc:  # reader errors (bad characters) carry no mark
        raise RuleFileError(source, None, Message("invalid YAML: {detail}", detail=exc)) from exc
    finally:
        loader.dispose()


def _convert(
    node: yaml.Node, loader: yaml.SafeLoader, source: str, key_line: int | None, budget: list[int]
) -> Node:
    line = node.start_mark.line + 1
    budget[0] -= 1
    if budget[0] < 0:
        raise RuleFileError(
            source,
            line,
            Message(
                "the file holds over {limit} values once its aliases are expanded",
                limit=f"{MAX_VALUES:,}",
            ),
        )
    if isinstance(node, yaml.MappingNode):
        mapping: dict[str, Node] = {}
        for key_node, value_node in node.value:
            k_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise RuleFileError(source, k_line, N_("a key must be plain text"))
            key = str(key_node.value)  # as written: `on:` stays "on", not True
            if key in mapping:
                first = mapping[key].at
                raise RuleFileError(
                    source,
                    k_line,
                    Message("duplicate key '{key}' (first at line {first})", key=key, first=first),
                )
            mapping[key] = _convert(value_node, loader, source, k_line, budget)
        return Node(mapping, line, key_line=key_line, tag=node.tag)
    if isinstance(node, yaml.SequenceNode):
        items = [_convert(item, loader, source, None, budget) for item in node.value]
        return Node(items, line, key_line=key_line, tag=node.tag)
    value = loader.construct_object(node, deep=True)
    style = node.style if isinstance(node, yaml.ScalarNode) else None
    return Node(value, line, str(node.value), style, key_line, node.tag)


_NULL_TAG = "tag:yaml.org,2002:null"


def kind_of(node: Node) -> Message:
    """How a YAML value reads to a knowledge manager, for error messages."""
    if node.is_mapping:
        return N_("a mapping")
    if node.is_list:
        return N_("a list")
    if node.tag == _NULL_TAG:
        return N_("empty")
    if isinstance(node.value, bool):
        return N_("true/false")
    if isinstance(node.value, int | float):
        return Message("the number {number}", number=node.raw)
    return N_("text")


@dataclass
class Fields:
    """Typed reads from one YAML mapping; every problem becomes a RuleFileError at its line."""

    node: Node
    source: str
    what: str  # names the thing in messages: "reply 'refund-ok'", "rule 3"
    allowed: Collection[str]
    _items: dict[str, Node] = field(init=False)

    def __post_init__(self) -> None:
        if not self.node.is_mapping:
            raise self.error(
                self.node,
                Message(
                    "{what} must be a mapping, not {kind}", what=self.what, kind=kind_of(self.node)
                ),
            )
        self._items = self.node.items()
        for key, value in self._items.items():
            if key not in self.allowed:
                hint = suggest(key, self.allowed)
                unknown = Message(
                    "{what}: unknown key '{key}'{hint}", what=self.what, key=key, hint=hint
                )
                raise self.error(value, unknown)

    def _wrong(self, template: str, key: str, node: Node) -> Message:
        """A value of the wrong kind: ``template`` has {what}, {key} and {kind} fields."""
        return Message(template, what=self.what, key=key, kind=kind_of(node))

    def error(self, node: Node | None, message: str) -> RuleFileError:
        return RuleFileError(self.source, (node or self.node).at, message)

    def get(self, key: str) -> Node | None:
        """The node under ``key``, or None when absent or written empty (`key:` / `key: ~`)."""
        node = self._items.get(key)
        return None if node is None or node.tag == _NULL_TAG else node

    def text(self, key: str, *, required: bool = False) -> str | None:
        """A text value, stripped of surrounding whitespace; empty text counts as missing."""
        node = self.get(key)
        if node is None or (isinstance(node.raw, str) and not node.raw.strip()):
            if required:
                missing = Message("{what} has no {key}", what=self.what, key=key)
                raise self.error(self._items.get(key), missing)
            return None
        if node.raw is None:
            raise self.error(
                node, self._wrong(N_("{what}: '{key}' must be text, not {kind}"), key, node)
            )
        return node.raw.strip()

    def texts(self, key: str, *, allow_single: bool = False) -> tuple[str, ...]:
        """A list of non-empty texts (``allow_single``: one text counts as a list of one)."""
        node = self.get(key)
        if node is None:
            return ()
        if allow_single and node.raw is not None:
            return (node.raw.strip(),) if node.raw.strip() else ()
        if not node.is_list:
            raise self.error(
                node, self._wrong(N_("{what}: '{key}' must be a list, not {kind}"), key, node)
            )
        out: list[str] = []
        for item in node.elements():
            if item.raw is None or item.tag == _NULL_TAG or not item.raw.strip():
                raise self.error(
                    item,
                    self._wrong(
                        N_("{what}: every item of '{key}' must be text, not {kind}"), key, item
                    ),
                )
            out.append(item.raw.strip())
        return tuple(out)

    def integer(self, key: str, default: int) -> int:
        node = self.get(key)
        if node is None:
            return default
        if isinstance(node.value, bool) or not isinstance(node.value, int):
            raise self.error(
                node,
                self._wrong(N_("{what}: '{key}' must be a whole number, not {kind}"), key, node),
            )
        return node.value

    def number(self, key: str, default: float) -> float:
        node = self.get(key)
        if node is None:
            return default
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise self.error(
                node, self._wrong(N_("{what}: '{key}' must be a number, not {kind}"), key, node)
            )
        return float(node.value)

    def flag(self, key: str, default: bool) -> bool:
        node = self.get(key)
        if node is None:
            return default
        if not isinstance(node.value, bool):
            raise self.error(
                node,
                self._wrong(N_("{what}: '{key}' must be true or false, not {kind}"), key, node),
            )
        return node.value


class _Dumper(yaml.SafeDumper):
    """Multi-line texts as `|` blocks, so exported files read as they were written."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_text)


def dump(document: object) -> str:
    """YAML for a knowledge manager: keys in our order, Chinese as written, blocks for long text."""
    return yaml.dump(document, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)


def check_version(top: Fields) -> None:
    """Files say which format they are written in; only version 1 exists."""
    if top.get("version") is None:
        raise top.error(None, N_("the file has no version (write 'version: 1' at the top)"))
    if top.integer("version", 1) != 1:
        unsupported = N_("unsupported version (this reader knows version 1)")
        raise top.error(top.get("version"), unsupported)


def suggest(word: str, choices: Collection[str]) -> str:
    """A " (did you mean 'x'?)" hint, or "" when nothing is close; otherwise list the choices."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if close:
        return Message(" (did you mean '{word}'?)", word=close[0])
    return Message(" (expected one of: {choices})", choices=", ".join(sorted(choices)))


def read_items(
    text: str, source: str, key: str, noun: str, item_keys: Collection[str]
) -> Iterator[tuple[Fields, str]]:
    """The items of a version-1 file's ``key:`` list (``rules``, ``replies``), with their ids.

    Each item's ``Fields`` already names it by id (``what``); an empty file, a missing list, an
    item that is not a mapping, a bad or repeated id is a RuleFileError at its line.
    """
    root = load(text, source)
    if root is None:
        empty = Message("file is empty: expected 'version: 1' and a '{key}:' list", key=key)
        raise RuleFileError(source, 1, empty)
    top = Fields(root, source, N_("the file"), ("version", key))
    check_version(top)
    items = top.get(key)
    if items is None or not items.is_list:
        found = N_("nothing") if items is None else kind_of(items)
        wrong = Message("'{key}' must be a list of {key}, not {kind}", key=key, kind=found)
        raise top.error(items, wrong)
    first_line: dict[str, int] = {}
    for number, item in enumerate(items.elements(), start=1):
        what = Message("{noun} {number}", noun=NOUNS.get(noun, noun), number=number)
        fields = Fields(item, source, what, item_keys)
        item_id = fields.text("id", required=True) or ""
        if not ID.fullmatch(item_id):
            raise fields.error(
                fields.get("id"),
                Message(
                    "{noun} id '{id}' must be lower-case letters, digits, '-', '_' or '.'",
                    noun=NOUNS.get(noun, noun),
                    id=item_id,
                ),
            )
        check_unique(noun, item_id, item.line, first_line, source)
        fields.what = Message("{noun} '{id}'", noun=NOUNS.get(noun, noun), id=item_id)
        yield fields, item_id


def check_unique(
    noun: str, item_id: str, line: int, first_line: dict[str, int], source: str
) -> None:
    """Ids are unique within a file; ``first_line`` remembers where each was seen first."""
    if item_id in first_line:
        raise RuleFileError(
            source,
            line,
            Message(
                "{noun} id '{id}' is used twice (first at line {first})",
                noun=NOUNS.get(noun, noun),
                id=item_id,
                first=first_line[item_id],
            ),
        )
    first_line[item_id] = line
