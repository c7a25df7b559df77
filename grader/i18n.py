"""Message catalogues: every string shown to a person comes from `locales/<lang>/<domain>.toml`.

A key is `<domain>.<table>.<name>`, e.g. `checks.epoch_limit.fail` from `locales/en/checks.toml`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib import resources
from typing import Any

from grader.common.files import load_toml

LANGS = ("en", "zh")


@functools.cache
def catalogue(lang: str) -> dict[str, str]:
    """The flat `{key: template}` catalogue of one language: every file, nested tables joined with dots."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r} (known: {', '.join(LANGS)})")
    flat: dict[str, str] = {}
    folder = resources.files("grader") / "locales" / lang
    for item in sorted(folder.iterdir(), key=lambda i: i.name):
        if item.name.endswith(".toml"):
            flat.update(_flatten(load_toml(item), item.name[: -len(".toml")] + "."))
    return flat


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = str(value)
    return flat


def t(lang: str, key: str, **values: Any) -> str:
    """The message `key` in `lang`, formatted with `values`; English when the key is missing in `lang`."""
    template = catalogue(lang).get(key) or catalogue("en").get(key)
    if template is None:
        raise KeyError(f"no message '{key}' in the catalogue")
    return template.format(**values) if values else template


def translator(lang: str, domain: str) -> Callable[..., str]:
    """`t` bound to one language and one domain: `translator("en", "report")("title")` is
    `t("en", "report.title")`; an unknown language raises ValueError here, not at the first message."""
    catalogue(lang)
    return lambda key, **values: t(lang, f"{domain}.{key}", **values)
