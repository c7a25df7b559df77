"""grader/schema/assignment.schema.json: every field of an assignment file declared once; what it
refuses is named by file and field in a plain sentence; it agrees with the typed config."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from grader import i18n, schema
from grader.assignment import DEFAULT_PACKAGES, SCHEMA, Assignment, Authoring, Limits, Structure, Training, assignments_root, load_assignment, parse_assignment
from grader.authoring.scaffold import scaffold
from grader.data.datasets import DATASETS
from grader.errors import ConfigError
from tests.support.repository import BASE, ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FILE = Path("/course/assignments/demo/assignment.toml")
SHIPPED = sorted(p.parent.name for p in assignments_root().glob("*/assignment.toml"))
# Assignment's fields that a file spells otherwise, or that do not come from the file
RENAMED = {"points": "checks", "integrity": "skeleton_integrity", "min_test_accuracy": "evaluation"}
NESTED = {"training": Training, "limits": Limits, "structure": Structure, "authoring": Authoring}


def error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_assignment(tomllib.loads(text), FILE)
    message = str(caught.value)
    assert message.startswith(f"{FILE}: field '{caught.value.field}': ")
    assert not re.search(r"ValidationError|is not of type|is not valid under|\{'|Failed validating", message), message
    return caught.value


def add(line: str, table: str = "") -> str:
    """BASE with `line` in place of the field's own line, or added at the top level or at the start of `[table]`."""
    key = line.split(" = ")[0]
    if re.search(rf"^{key} = ", BASE, re.MULTILINE):
        return re.sub(rf"^{key} = .*$", line, BASE, count=1, flags=re.MULTILINE)
    if not table:
        return BASE.replace('dataset = "mnist"\n', f'dataset = "mnist"\n{line}\n')
    if f"[{table}]\n" in BASE:
        return BASE.replace(f"[{table}]\n", f"[{table}]\n{line}\n")
    return BASE + f"\n[{table}]\n{line}\n"


def test_the_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize(
    ("line", "table", "field", "hint"),
    [
        ("time_limit = 10", "", "time_limit", "known here: id, title"),
        ("timeout = 10", "", "timeout", "did you mean 'timeout_s'"),
        ("epochs = 3", "training", "training.epochs", "known here: max_epochs, metric, threshold, stop_messages"),
        ("max_convs = 1", "limits", "limits.max_convs", "did you mean 'max_conv'"),
        ("min_accuracy = 0.9", "evaluation", "evaluation.min_accuracy", "did you mean 'min_test_accuracy'"),
        ('refrence = "x.ipynb"', "authoring", "authoring.refrence", "did you mean 'reference'"),
        ("early_stop = 1", "checks", "checks.early_stop", "unknown check (known: execution, epoch_limit"),
    ],
)
def test_an_unknown_key_is_refused_by_its_name(line, table, field, hint):
    refused = error(add(line, table))
    assert refused.field == field and "unknown" in refused.problem and hint in refused.problem


@pytest.mark.parametrize(
    ("line", "table", "field", "problem"),
    [
        ('timeout_s = "900"', "", "timeout_s", "must be an integer >= 1"),
        ("timeout_s = 900.0", "", "timeout_s", "must be an integer >= 1"),  # TOML tells integers from floats; so do we
        ("timeout_s = true", "", "timeout_s", "must be an integer >= 1"),
        ("title_zh = 3", "", "title_zh", "must be a string"),
        ("title_zh = 2024-01-01", "", "title_zh", "must be a string"),
        ('default_lang = "fr"', "", "default_lang", "must be one of en, zh"),
        ('skeleton_integrity = "strict"', "", "skeleton_integrity", "must be one of off, warn, enforce"),
        ("entry = 3", "", "entry", "must be the name of a Python function, e.g. train_mnist"),
        ("entry = \"\"", "", "entry", "must be the name of a Python function"),
        ("limits = 1", "", "limits", "must be a table"),
        ('threshold = "0.9"', "training", "training.threshold", "must be a number"),
        ('stop_messages = "Done!"', "training", "training.stop_messages", "must be a non-empty list of non-empty strings"),
        ('stop_messages = ["Done!", "  "]', "training", "training.stop_messages", "non-empty strings"),
        ("model_class = 5", "structure", "structure.model_class", "must be a Python class name, e.g. LeNet5"),
        ('min_test_accuracy = "high"', "evaluation", "evaluation.min_test_accuracy", "must be a number between 0 and 1"),
        ("expected = false", "authoring", "authoring.expected", "must be a non-empty path"),
        ("layer_limit = true", "checks", "checks.layer_limit", "points must be a number >= 0"),
    ],
)
def test_a_value_of_the_wrong_type_is_named_with_what_it_must_be(line, table, field, problem):
    refused = error(add(line, table))
    assert refused.field == field and problem in refused.problem, str(refused)


@pytest.mark.parametrize(
    ("old", "new", "field", "problem"),
    [
        ('dataset = "mnist"', 'dataset = "mnist"\ntimeout_s = 0', "timeout_s", "must be an integer >= 1"),
        ("max_epochs = 5", "max_epochs = 0", "training.max_epochs", "must be an integer >= 1"),
        ("[checks]", "[limits]\nmax_pool = -1\n[checks]", "limits.max_pool", "must be an integer >= 0"),
        ("[checks]", "[structure]\nconv = -2\n[checks]", "structure.conv", "must be an integer >= 0"),
        ("execution = 1", "execution = -0.5", "checks.execution", "points must be a number >= 0"),
        ("min_test_accuracy = 0.8", "min_test_accuracy = 1.01", "evaluation.min_test_accuracy", "must be a number between 0 and 1"),
        ("min_test_accuracy = 0.8", "min_test_accuracy = nan", "evaluation.min_test_accuracy", "must be a finite number"),
        ("threshold = 0.9", "threshold = inf", "training.threshold", "must be a finite number"),
        ("threshold = 0.9", "threshold = 1.5", "training.threshold", "must be a number between 0 and 1"),  # accuracy: a fraction
        ('["Done!"]', "[]", "training.stop_messages", "must be a non-empty list"),
    ],
)
def test_a_value_out_of_range_is_named_with_its_range(old, new, field, problem):
    refused = error(BASE.replace(old, new))
    assert refused.field == field and problem in refused.problem, str(refused)


def test_an_unknown_key_is_named_before_the_missing_field_it_misspells():
    refused = error(BASE.replace("max_epochs = 5", "max_epoch = 5"))
    assert refused.field == "training.max_epoch" and "did you mean 'max_epochs'" in refused.problem


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_assignment_validates(name):
    path = assignments_root() / name / "assignment.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator(SCHEMA).validate(data)  # any standard validator (an editor's) accepts it
    schema.validate(data, SCHEMA, path)  # and so does the grader's, with its formats
    assert load_assignment(path.parent).id == name


def test_the_schema_and_the_dataclasses_agree():
    top = set(SCHEMA["properties"])
    assert {RENAMED.get(f.name, f.name) for f in dataclasses.fields(Assignment)} - {"folder"} == top
    for table, cls in NESTED.items():
        assert {f.name for f in dataclasses.fields(cls)} == set(SCHEMA["properties"][table]["properties"]), table
    assert set(SCHEMA["properties"]["evaluation"]["properties"]) == {"min_test_accuracy"}


def test_every_field_is_described_and_its_default_is_the_loaders(tmp_path):
    def walk(node, where=""):
        for name, spec in node.get("properties", {}).items():
            yield f"{where}{name}", spec
            yield from walk(spec, f"{where}{name}.")

    for field, spec in walk(SCHEMA):
        assert spec.get("description"), f"{field} has no description"
        if "default" in spec:
            assert f"Default: {json.dumps(spec['default'], ensure_ascii=False)}" in spec["description"], field
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "assignment.toml").write_text(BASE, encoding="utf-8")
    minimal = load_assignment(tmp_path / "demo")  # no optional top-level field: the schema's defaults
    top = SCHEMA["properties"]
    defaults = tuple(top[k]["default"] for k in ("title_zh", "default_lang", "timeout_s", "skeleton_integrity"))
    assert (minimal.title_zh, minimal.default_lang, minimal.timeout_s, minimal.integrity) == defaults
    assert minimal.packages == DEFAULT_PACKAGES == tuple(top["packages"]["default"])
    assert minimal.training.metric == top["training"]["properties"]["metric"]["default"] == Training(1, None, ()).metric


def test_the_schema_agrees_with_the_rest_of_the_grader():
    top = SCHEMA["properties"]
    assert tuple(top["dataset"]["enum"]) == DATASETS
    assert tuple(top["default_lang"]["enum"]) == i18n.LANGS
    result = schema.load("result.schema.json")
    assert list(top["checks"]["properties"]) == result["properties"]["checks"]["items"]["properties"]["id"]["enum"]


def test_the_scaffold_writes_a_file_the_schema_accepts_with_every_commented_field_too(tmp_path):
    scaffold("ex-1", tmp_path, log=lambda _: None)
    path = tmp_path / "assignments" / "ex-1" / "assignment.toml"
    text = path.read_text(encoding="utf-8")
    schema.validate(tomllib.loads(text), SCHEMA, path)
    uncommented = re.sub(r"^# (\[\w+\]|\w+ = )", r"\1", text, flags=re.MULTILINE)
    assert uncommented.count("\n[") > text.count("\n[")
    schema.validate(tomllib.loads(uncommented), SCHEMA, path)
    assert load_assignment(path.parent).id == "ex-1"


def test_the_guide_and_the_readme_name_the_schema():
    for doc in ("docs/authoring.md", "README.md"):
        assert "grader/schema/assignment.schema.json" in (ROOT / doc).read_text(encoding="utf-8"), doc
