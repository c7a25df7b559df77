"""The one Jinja environment every HTML page of the grader is rendered with (the report, the class
summary): templates from `templates/`, autoescaped, an undefined name an error, and the number
filters the templates share.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

import jinja2

import grader


def templates_dir() -> Path:
    """The repo's `templates/` in a source checkout, else the copy the wheel ships (`grader/templates`)."""
    source = Path(grader.__file__).resolve().parent.parent / "templates"
    return source if (source / "report.html.j2").is_file() else Path(str(resources.files("grader") / "templates"))


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The environment (built once per process; Jinja caches the compiled templates in it)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v: "—" if v is None else f"{v * 100:.2f}%"
    env.filters["num"] = lambda v, places=4: "—" if v is None else f"{v:.{places}f}"
    env.filters["points"] = lambda v: f"{v:g}"
    env.filters["thousands"] = lambda v: f"{v:,}"
    return env


def render(name: str, **context: object) -> str:
    """The template `name` rendered with `context`."""
    return environment().get_template(name).render(**context)
