"""The one Jinja environment: both pages' templates, escaping, and an undefined name as an error."""

from __future__ import annotations

import jinja2
import pytest

from grader.common import templates


def test_both_pages_templates_are_found():
    folder = templates.templates_dir()
    assert (folder / "report.html.j2").is_file() and (folder / "summary.html.j2").is_file()
    assert templates.environment() is templates.environment()  # built once


def test_escapes_and_refuses_undefined_names():
    env = templates.environment()
    assert env.from_string("{{ x }}").render(x="<script>") == "&lt;script&gt;"
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ nothing.here }}").render()
    assert env.from_string("{{ v | pct }} {{ n | thousands }} {{ p | points }}").render(v=0.5, n=12345, p=2.0) == "50.00% 12,345 2"
