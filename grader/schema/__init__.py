"""The JSON Schemas of the files the grader reads and writes (draft 2020-12), and validation against
them that explains a bad file in plain words: `ConfigError(file, field path, problem)`.

`assignment.schema.json` declares every field of an `assignment.toml`; `result.schema.json` the
`result.json` the grader writes. Besides the standard keywords, a schema here may use the formats
below (checked by the grader, ignored by other tools), `title` (the noun a message starts with)
and `examples` (quoted after "e.g." in a message).
"""

from __future__ import annotations

import difflib
import json
import math
import sys
from collections.abc import Callable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # jsonschema is imported where a file is validated, not at every start of the command line
    from jsonschema import Draft202012Validator, ValidationError

from grader.errors import ConfigError


def _is_module(value: object) -> bool:
    return not isinstance(value, str) or (value.isidentifier() and value not in sys.stdlib_module_names)


def _is_identifier(value: object) -> bool:
    return not isinstance(value, str) or value.isidentifier()


def _is_path(value: object) -> bool:
    return not isinstance(value, str) or bool(value.strip())


# format -> (test, what a value must be, what the items of a list of them must be)
FORMATS: Mapping[str, tuple[Callable[[object], bool], str, str]] = {
    "python-function": (_is_identifier, "the name of a Python function", "names of Python functions"),
    "python-class": (_is_identifier, "a Python class name", "Python class names"),
    "module-name": (_is_module, "a top-level module name", "module names"),
    "path": (_is_path, "a non-empty path", "non-empty paths"),
}
NOT_BLANK = "\\S"  # the one `pattern` used: a string with something other than whitespace


def load(name: str) -> dict[str, Any]:
    """A schema shipped in this folder, by file name (e.g. `assignment.schema.json`)."""
    return json.loads((resources.files("grader") / "schema" / name).read_text(encoding="utf-8"))


def _validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    """A validator where an integer is a TOML/JSON integer (5.0 is not one) and the formats above are checked."""
    from jsonschema import Draft202012Validator, FormatChecker
    from jsonschema.validators import extend

    types = Draft202012Validator.TYPE_CHECKER.redefine("integer", lambda _, v: isinstance(v, int) and not isinstance(v, bool))
    cls = extend(Draft202012Validator, type_checker=types)
    formats = FormatChecker(formats=())
    for fmt, (test, _, _) in FORMATS.items():
        formats.checks(fmt)(test)
    return cls(schema, format_checker=formats)


def validate(data: Mapping[str, Any], schema: Mapping[str, Any], path: Path, *, ids: tuple[str, ...] = ()) -> None:
    """Raise ConfigError(path, field, problem) for the first fault of `data`: a non-finite number, an
    unknown key (the shallowest first), then anything else the schema refuses. `ids` names the tables
    whose keys are ids of something (e.g. `checks`: "unknown check"), not fields."""
    for field, value in _floats(data):
        if not math.isfinite(value):
            raise ConfigError(path, field, f"must be a finite number, not {value}")
    errors = sorted(_validator(schema).iter_errors(data), key=lambda e: (e.validator != "additionalProperties", len(e.absolute_path)))
    if errors:
        raise ConfigError(path, *explain(errors[0], schema, ids))


def explain(error: ValidationError, schema: Mapping[str, Any], ids: tuple[str, ...] = ()) -> tuple[str, str]:
    """(field path, problem in plain words) for one of jsonschema's errors."""
    keys = [str(k) for k in error.absolute_path if isinstance(k, str)]  # list indices: the list's own field
    field = ".".join(keys) or "-"
    kind = error.validator
    instance: Any = error.instance  # the stubs add a sentinel for "not set": a reported error always has both
    value: Any = error.validator_value
    here: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    if kind == "additionalProperties":
        known = tuple(here.get("properties", {}))
        extra = next(k for k in instance if k not in known)
        noun = "check" if field in ids else "field"
        close = difflib.get_close_matches(extra, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        where = "known" if field in ids else "known here"
        return _join(keys, extra), f"unknown {noun}{hint} ({where}: {', '.join(known)})"
    if kind == "required":
        return _join(keys, next(k for k in value if k not in instance)), "missing"
    if kind == "minProperties" and field in ids:
        return field, f"enable at least one {field.rstrip('s')} (known: {', '.join(here.get('properties', {}))})"
    if kind == "uniqueItems":
        return field, f"'{next(v for i, v in enumerate(instance) if v in instance[:i])}' is listed twice"
    if kind == "contains":
        options = " or ".join(f"'{v}'" for v in value.get("enum", ()))
        reason = f": {value['description']}" if value.get("description") else ""
        return field, f"must include {options}{reason}"
    if kind == "format" and value == "module-name" and isinstance(instance, str):
        if not instance.isidentifier():
            return field, (f"'{instance}' is not a top-level module name "
                           "(write what students import: 'sklearn', not 'scikit-learn'; 'tensorflow', not 'tensorflow.keras')")
        return field, f"'{instance}' is part of Python's standard library, which students may always import: leave it out"
    target = subschema(schema, keys)
    noun = f"{target['title']} " if "title" in target and keys else ""
    return field, f"{noun}must be {phrase(target)}"


def subschema(schema: Mapping[str, Any], keys: list[str]) -> dict[str, Any]:
    """The schema of the field at `keys` (properties followed, local `$ref`s merged with their siblings)."""
    node = _resolve(schema, schema)
    for key in keys:
        node = _resolve(schema, node.get("properties", {}).get(key, {}))
    return node


def phrase(node: Mapping[str, Any]) -> str:
    """What a value of this schema must be, in words: "an integer >= 1", "one of en, zh"."""
    if "enum" in node:
        text = "one of " + ", ".join(str(v) for v in node["enum"])
    elif node.get("type") == "array":
        items = node.get("items", {})
        empty = "non-empty " if node.get("minItems") else ""
        text = f"a {empty}list of {_plural(items)}"
    else:
        text = _single(node)
    if node.get("examples"):
        example = node["examples"][0]
        text += ", e.g. " + (example if isinstance(example, str) else json.dumps(example, ensure_ascii=False))
    return text


def _single(node: Mapping[str, Any]) -> str:
    kind = node.get("type")
    if kind == "object":
        return "a table"
    if kind == "string":
        if node.get("format") in FORMATS:
            return FORMATS[node["format"]][1]
        return "a non-empty string" if node.get("pattern") == NOT_BLANK or node.get("minLength") else "a string"
    if kind in ("integer", "number"):
        noun = "an integer" if kind == "integer" else "a number"
        low, high, above = node.get("minimum"), node.get("maximum"), node.get("exclusiveMinimum")
        if low is not None and high is not None:
            return f"{noun} between {low:g} and {high:g}"
        if above is not None:
            return f"{noun} greater than {above:g}"
        return f"{noun} >= {low:g}" if low is not None else noun
    if kind == "boolean":
        return "true or false"
    return "a valid value"


def _plural(items: Mapping[str, Any]) -> str:
    if items.get("format") in FORMATS:
        return FORMATS[items["format"]][2]
    if items.get("type") == "string":
        return "non-empty strings" if items.get("pattern") == NOT_BLANK or items.get("minLength") else "strings"
    return "integers" if items.get("type") == "integer" else "values"


def _resolve(root: Mapping[str, Any], node: Mapping[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return dict(node)
    target: Any = root
    for part in ref[2:].split("/"):
        target = target[part]
    return {**_resolve(root, target), **{k: v for k, v in node.items() if k != "$ref"}}


def _join(keys: list[str], key: str) -> str:
    return ".".join([*keys, key])


def _floats(data: Any, keys: tuple[str, ...] = ()) -> Iterator[tuple[str, float]]:
    """Every float in nested tables and lists, with its field path (TOML has inf and nan; JSON has not)."""
    if isinstance(data, float):
        yield ".".join(keys) or "-", data
    elif isinstance(data, Mapping):
        for key, value in data.items():
            yield from _floats(value, (*keys, str(key)))
    elif isinstance(data, list):
        for value in data:
            yield from _floats(value, keys)
