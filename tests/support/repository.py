"""What the tests read from the repository (its root, the shipped assignments, the result schema),
and a minimal valid assignment file to edit."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "grader" / "schema" / "result.schema.json").read_text(encoding="utf-8"))
"""result.schema.json, which every result.json must validate against."""
SHIPPED = ["fashion-callback", "lenet5", "mnist-callback", "mnist-cnn", "mnist-conv"]

BASE = """
id = "demo"
title = "Demo"
dataset = "mnist"
[training]
max_epochs = 5
threshold = 0.9
stop_messages = ["Done!"]
[evaluation]
min_test_accuracy = 0.8
[checks]
execution = 1
epoch_limit = 1
stop_message = 1
accuracy_threshold = 1
test_accuracy = 1
"""
"""A valid assignment.toml: every required field, the five default checks."""
