"""The kernel's record is untrusted: good records parse, damaged ones raise RecordError."""

from __future__ import annotations

import json

import pytest

from grader.run.record import RecordError, parse_recording, read_recording

GOOD = {
    "fits": [
        {
            "epochs_requested": 10,
            "initial_epoch": 0,
            "accuracy_metric": "acc",
            "completed": True,
            "epochs": [
                {"epoch": 0, "metrics": {"acc": 0.95, "loss": 0.2}, "accuracy": 0.95, "loss": 0.2, "stop_training": False, "printed": "",
                 "duration_s": 3.1, "terminal": "1875/1875 ━━━"},
                {"epoch": 1, "metrics": {"acc": 0.992, "loss": 0.05}, "accuracy": 0.992, "loss": 0.05, "stop_training": True, "printed": "Reached!",
                 "duration_s": 3.0},
            ],
        }
    ],
    "layers": [{"name": "conv2d", "class_name": "Conv2D", "output_shape": "(None, 26, 26, 32)", "params": 320, "kind": "conv", "depth": 0}],
    "model_class": "Sequential",
    "input_transform": {"known": True, "exact": True, "shape": [28, 28], "scale": 0.00392, "offset": 0.0},
    "versions": {"tensorflow": "2.21.0", "keras": "3.15.1"},
    "seed": 0,
}


def test_a_good_record_parses():
    rec = parse_recording(GOOD)
    assert rec.fits[0].epochs_run == 2 and rec.fits[0].stopped_at == 1
    assert rec.all_epochs[-1].accuracy == 0.992 and rec.layers[0].kind == "conv"
    assert rec.versions["keras"] == "3.15.1"


def test_missing_file_is_an_empty_recording(tmp_path):
    assert read_recording(tmp_path / "record.json").fits == ()


@pytest.mark.parametrize(
    "damage",
    [
        lambda r: r.update(fits="lots"),
        lambda r: r["fits"][0]["epochs"][0].update(accuracy="0.999"),
        lambda r: r["fits"][0]["epochs"][0].update(accuracy=float("inf")),
        lambda r: r["fits"][0]["epochs"][0]["metrics"].update(acc=[1]),
        lambda r: r["fits"][0].update(epochs_requested=True),
        lambda r: r.update(layers=[1, 2]),
    ],
)
def test_damaged_records_are_rejected(damage):
    record = json.loads(json.dumps(GOOD))
    damage(record)
    with pytest.raises(RecordError):
        parse_recording(record)


def test_stop_training_must_be_exactly_true():
    record = json.loads(json.dumps(GOOD))
    record["fits"][0]["epochs"][0]["stop_training"] = "yes"
    assert parse_recording(record).fits[0].epochs[0].stop_training is False


def test_broken_json_file(tmp_path):
    (tmp_path / "record.json").write_text("{")
    with pytest.raises(RecordError, match="not valid JSON"):
        read_recording(tmp_path / "record.json")


def test_huge_text_fields_are_truncated():
    record = json.loads(json.dumps(GOOD))
    record["fits"][0]["epochs"][0]["printed"] = "x" * 1_000_000
    assert len(parse_recording(record).all_epochs[0].printed) == 20_000
