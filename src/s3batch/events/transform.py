"""A target's input: its ``Input``, ``InputPath`` or ``InputTransformer`` applied to an event (pure).

Template rules (AWS's, as recorded in the reference notes):

- A *JSON template* (its first non-blank character is ``{`` or ``[``) must render to
  valid JSON. A placeholder standing as a JSON value (``"key": <key>``) is filled with the
  value as JSON: a string is quoted and escaped, an object or list is embedded, a number,
  boolean or null is written raw, and a path that found nothing gives ``""``. A
  placeholder inside a JSON string (``"s3://<bucket>/<key>"``) is filled with text: a
  string's characters (escaped, so the string stays valid), a number's or boolean's JSON
  text; an object or list breaks the JSON, as it does on AWS, and the event is not delivered.
- Any other template (typically a quoted string, ``"<key> arrived"``) is filled without
  escaping: strings as they are, objects and lists as JSON with their quotes dropped
  (``{a:1}``), missing values as nothing. The result is returned parsed if it is JSON
  (a quoted string gives a ``str``), else as the raw text.
- ``<aws.events.event>`` (the event without ``detail``, with ``detailType``) and
  ``<aws.events.event.json>`` (the whole event) may only stand as a JSON value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from s3batch.events.errors import InvalidTargetInput, TargetInputError
from s3batch.types import Json

#: Most variables an InputPathsMap may define.
MAX_INPUT_PATHS = 100

#: Longest InputTemplate and Input (characters).
MAX_TEMPLATE_LENGTH = 8192

#: Longest JSON path (InputPath, and each InputPathsMap value).
MAX_PATH_LENGTH = 256

#: Variables EventBridge defines for every template.
PREDEFINED = frozenset(
    {
        "aws.events.rule-arn",
        "aws.events.rule-name",
        "aws.events.event.ingestion-time",
        "aws.events.event",
        "aws.events.event.json",
    }
)

_EVENT_VARIABLES = frozenset({"aws.events.event", "aws.events.event.json"})
_VARIABLE = re.compile(r"[A-Za-z0-9_\-]{1,256}")
_PLACEHOLDER = re.compile(r"<(aws\.events\.[a-z.\-]+|[A-Za-z0-9_\-]+)>")
_NAME_STEP = re.compile(r"\.([^.\[\]]+)")
_BRACKET_STEP = re.compile(r"\[(?:(\d+)|(\*)|'([^']*)'|\"([^\"]*)\")\]")
_EVENT_KEYS = ("id", "account", "detail-type", "time", "source", "region", "resources", "version")


class _Wild:
    """A ``*`` step in a JSON path."""


#: The ``*`` step.
WILD = _Wild()

#: One step of a JSON path: a member name, an array index, or ``WILD``.
Step = str | int | _Wild


@dataclass(frozen=True)
class _Slot:
    name: str
    in_string: bool


def validate_target_input(target: Mapping[str, Any]) -> None:
    """Check a target's input settings as PutTargets does.

    Raises:
        InvalidTargetInput: more than one of Input / InputPath / InputTransformer, or one of them is not valid.
    """
    kind, target_id = _input_kind(target), target.get("Id", "")
    if kind == "Input":
        _constant(target["Input"], target_id)
    elif kind == "InputPath":
        parse_path(target["InputPath"], f"InputPath for target {target_id}")
    elif kind == "InputTransformer":
        _compile(target["InputTransformer"], target_id)


def apply_target_input(
    event: Mapping[str, Any],
    target: Mapping[str, Any],
    rule_name: str,
    rule_arn: str,
    ingestion_time: str,
) -> Json:
    """What the target receives for this event: the transformed input, or the whole event.

    Raises:
        InvalidTargetInput: the target's input settings are not valid.
        TargetInputError: a JSON template did not render to valid JSON (the event is not delivered).
    """
    kind, target_id = _input_kind(target), target.get("Id", "")
    if kind is None:
        return event
    if kind == "Input":
        return _constant(target["Input"], target_id)
    if kind == "InputPath":
        found, value = select(
            parse_path(target["InputPath"], f"InputPath for target {target_id}"), event
        )
        return value if found else None
    transformer = target["InputTransformer"]
    json_mode, tokens = _compile(transformer, target_id)
    values = {
        name: select(parse_path(path), event)
        for name, path in (transformer.get("InputPathsMap") or {}).items()
    }
    values.update(_predefined(event, rule_name, rule_arn, ingestion_time))
    text = "".join(
        t if isinstance(t, str) else _fill(values[t.name], json_mode, t.in_string) for t in tokens
    )
    return _result(text, json_mode, target_id)


def _input_kind(target: Mapping[str, Any]) -> str | None:
    given = [k for k in ("Input", "InputPath", "InputTransformer") if target.get(k) is not None]
    if len(given) > 1:
        raise InvalidTargetInput(
            f"Only one of Input, InputPath, or InputTransformer must be provided for target {target.get('Id', '')}."
        )
    return given[0] if given else None


def parse_path(text: Any, what: str = "JSON path") -> tuple[Step, ...]:
    """Parse the JSONPath subset EventBridge takes: ``$``, ``.name``, ``[0]``, ``['name']``, ``.*``, ``[*]``.

    Raises:
        InvalidTargetInput: the path is not a string, too long, or not in the subset.
    """
    if not isinstance(text, str) or not text.startswith("$") or len(text) > MAX_PATH_LENGTH:
        raise InvalidTargetInput(
            f"{what} is not valid: {text!r} (a JSON path of at most {MAX_PATH_LENGTH} characters starting with $)"
        )
    steps: list[Step] = []
    i = 1
    while i < len(text):
        name, bracket = _NAME_STEP.match(text, i), _BRACKET_STEP.match(text, i)
        if name:
            steps.append(WILD if name.group(1) == "*" else name.group(1))
            i = name.end()
        elif bracket:
            index, star, single, double = bracket.groups()
            steps.append(
                int(index)
                if index is not None
                else WILD
                if star
                else single
                if single is not None
                else double
            )
            i = bracket.end()
        else:
            raise InvalidTargetInput(
                f"{what} is not valid: {text!r} (unexpected {text[i]!r} at position {i})"
            )
    return tuple(steps)


def select(steps: tuple[Step, ...], document: Any) -> tuple[bool, Any]:
    """``(found, value)`` of a parsed path in a document; a path with ``*`` gives the list of matches."""
    nodes, definite = [document], True
    for step in steps:
        following: list[Any] = []
        for node in nodes:
            if isinstance(step, _Wild):
                definite = False
                following.extend(
                    node.values()
                    if isinstance(node, Mapping)
                    else node
                    if isinstance(node, list)
                    else ()
                )
            elif isinstance(step, int):
                if isinstance(node, list) and step < len(node):
                    following.append(node[step])
            elif isinstance(node, Mapping) and step in node:
                following.append(node[step])
        nodes = following
    if not definite:
        return True, nodes
    return (True, nodes[0]) if nodes else (False, None)


def _constant(text: Any, target_id: str) -> Json:
    if not isinstance(text, str) or len(text) > MAX_TEMPLATE_LENGTH:
        raise InvalidTargetInput(
            f"Input for target {target_id} must be JSON text of at most {MAX_TEMPLATE_LENGTH} characters."
        )
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidTargetInput(f"Input for target {target_id} is not valid JSON: {exc}") from exc


def _compile(transformer: Any, target_id: str) -> tuple[bool, tuple[str | _Slot, ...]]:
    """Validate an InputTransformer and split its template into text and placeholders."""
    if not isinstance(transformer, Mapping):
        raise InvalidTargetInput(f"InputTransformer for target {target_id} must be an object.")
    paths = transformer.get("InputPathsMap") or {}
    if not isinstance(paths, Mapping) or len(paths) > MAX_INPUT_PATHS:
        raise InvalidTargetInput(
            f"InputPathsMap for target {target_id} must map at most {MAX_INPUT_PATHS} variables to JSON paths."
        )
    for name, path in paths.items():
        if not isinstance(name, str) or not _VARIABLE.fullmatch(name):
            raise InvalidTargetInput(
                f"InputPathsMap for target {target_id} has an invalid variable name {name!r}."
            )
        parse_path(path, f"InputPathsMap[{name!r}] for target {target_id}")
    template = transformer.get("InputTemplate")
    if not isinstance(template, str) or not 1 <= len(template) <= MAX_TEMPLATE_LENGTH:
        raise InvalidTargetInput(
            f"InputTemplate for target {target_id} must be 1 to {MAX_TEMPLATE_LENGTH} characters."
        )
    return _tokens(template, set(paths), target_id)


def _tokens(template: str, names: set[str], target_id: str) -> tuple[bool, tuple[str | _Slot, ...]]:
    json_mode = template.lstrip()[:1] in ("{", "[")
    tokens: list[str | _Slot] = []
    text: list[str] = []
    in_string, i = False, 0
    while i < len(template):
        placeholder = _PLACEHOLDER.match(template, i) if template[i] == "<" else None
        if placeholder:
            tokens.append("".join(text))
            text = []
            tokens.append(_slot(placeholder.group(1), in_string or not json_mode, names, target_id))
            i = placeholder.end()
            continue
        ch = template[i]
        text.append(ch)
        if in_string and ch == "\\" and template[i + 1 : i + 2] not in ("", "<"):
            text.append(template[i + 1])  # an escaped character never ends the string
            i += 1
        elif ch == '"':
            in_string = not in_string
        i += 1
    tokens.append("".join(text))
    return json_mode, tuple(t for t in tokens if t != "")


def _slot(name: str, in_string: bool, names: set[str], target_id: str) -> _Slot:
    if name not in names and name not in PREDEFINED:
        raise InvalidTargetInput(
            f"InputTemplate for target {target_id} contains invalid placeholder {name}."
        )
    if name in _EVENT_VARIABLES and in_string:
        raise InvalidTargetInput(
            f"InputTemplate for target {target_id} uses <{name}> inside a string; it may only be the value of a JSON field."
        )
    return _Slot(name, in_string)


def _predefined(
    event: Mapping[str, Any], rule_name: str, rule_arn: str, ingestion_time: str
) -> dict[str, tuple[bool, Any]]:
    envelope = {
        ("detailType" if k == "detail-type" else k): event[k] for k in _EVENT_KEYS if k in event
    }
    return {
        "aws.events.rule-arn": (True, rule_arn),
        "aws.events.rule-name": (True, rule_name),
        "aws.events.event.ingestion-time": (True, ingestion_time),
        "aws.events.event": (True, envelope),
        "aws.events.event.json": (True, dict(event)),
    }


def _fill(found_value: tuple[bool, Any], json_mode: bool, in_string: bool) -> str:
    """The text a placeholder becomes (see the module docstring for the rules)."""
    found, value = found_value
    if json_mode and not in_string:
        return json.dumps(value, ensure_ascii=False) if found else '""'
    if not found:
        return ""
    if json_mode:
        if isinstance(value, str):
            return json.dumps(value, ensure_ascii=False)[1:-1]
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, str):
        return value
    compact = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return compact.replace('"', "") if isinstance(value, (Mapping, list)) else compact


def _result(text: str, json_mode: bool, target_id: str) -> Json:
    try:
        return json.loads(text)
    except ValueError as exc:
        if json_mode:
            raise TargetInputError(
                f"InputTemplate for target {target_id} did not produce valid JSON ({exc}): {text[:200]}"
            ) from exc
        return text
