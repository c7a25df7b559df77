"""Early stops judged right: when the kernel stops a run because a rule is already broken, the
check for that rule fails on what was measured (the layers as counted when it stopped), the
others say they were not evaluated, and every part of every message is in the report's language."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.models import Evaluation, ExecutionInfo, LayerInfo, Recording


def conv_layers(*kinds: str) -> tuple[LayerInfo, ...]:
    classes = {"conv": "Conv2D", "pool": "MaxPooling2D"}
    return tuple(LayerInfo(name=f"l{i}", class_name=classes.get(k, "Dense"), output_shape="?", params=1, kind=k) for i, k in enumerate(kinds))  # type: ignore[arg-type]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_an_early_stop_on_layers_fails_layer_limit_with_the_counts_in_the_reports_language(conv_assignment, lang):
    from grader.pipeline import assemble

    info = ExecutionInfo(status="stopped", message="the model has 2 conv layers; at most 1 allowed", cell=5)
    recording = Recording(layers=conv_layers("conv", "conv", "pool", "dense", "dense"), model_class="Functional", stopped_by="layer_limit")
    result = assemble(conv_assignment, Path("s.py"), lang, info, recording, Evaluation(), None, [], 0.0)
    layer = result.check("layer_limit")
    if lang == "en":
        assert layer.message == "The model has 2 convolution layers; at most 1 allowed"
        assert layer.measured == "2 convolution(s), 1 pooling layer(s) counted on the trained model"
        assert result.errors[0] == ("The grader stopped the run early because a rule was already broken: "
                                    "The model has 2 convolution layers; at most 1 allowed (cell 5).")
    for check in result.checks:
        if check.id not in ("layer_limit", "execution", "skeleton_integrity"):
            assert not check.passed and check.message.startswith("Not evaluated" if lang == "en" else "未评估")
        assert "conv layers" not in check.message and "at most 1 allowed" not in (check.message if lang == "zh" else "")
    assert not layer.passed and "2" in layer.message and "conv layers" not in " ".join(result.errors)


def test_a_stop_the_record_does_not_explain_falls_back_on_the_kernels_words(callback_assignment):
    from grader.pipeline import assemble

    info = ExecutionInfo(status="stopped", message="the student raised GraderStop themselves")
    result = assemble(callback_assignment, Path("s.py"), "en", info, Recording(stopped_by="nonsense"), Evaluation(), None, [], 0.0)
    assert not result.passed and "the student raised GraderStop themselves" in result.errors[0]


def test_an_early_stop_on_epochs_speaks_the_reports_language(callback_assignment):
    from grader.models import FitRecord
    from grader.pipeline import assemble

    info = ExecutionInfo(status="stopped", message="fit was called with epochs=30; the limit is 10", cell=7)
    recording = Recording(fits=(FitRecord(epochs_requested=30, initial_epoch=0, accuracy_metric=None),), stopped_by="epoch_limit")
    result = assemble(callback_assignment, Path("s.ipynb"), "zh", info, recording, Evaluation(), None, [], 0.0)
    assert result.errors[0] == "由于已经违反规则，评分程序提前停止了运行：fit 的调用参数为 epochs=30；上限为 10（第 7 个单元格）。"
    assert result.check("epoch_limit").message == "fit 的调用参数为 epochs=30；上限为 10。"
    assert result.check("stop_message").message == "未评估：评分程序提前停止了运行（fit 的调用参数为 epochs=30；上限为 10）。"


SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "mnist-conv" / "separable_and_conv.py"


@pytest.mark.kernel
def test_the_kernel_records_the_layers_it_stopped_on(conv_assignment, tmp_path):
    """The issue's module, graded for real: the kernel stops at fit, and the record holds the layers
    it counted, so layer_limit and the report's model section show them."""
    # Its own grading, in Chinese (the messages are the point): tests/test_samples.py grades this sample in English.
    from grader.pipeline import Options, grade
    from grader.report.outputs import write_outputs

    result = grade(SAMPLE, conv_assignment, Options(lang="zh"))
    assert result.execution.status == "stopped" and result.recording.stopped_by == "layer_limit"
    assert [layer.class_name for layer in result.recording.layers if layer.kind == "conv"] == ["SeparableConv2D", "Conv2D"]
    layer = result.check("layer_limit")
    assert layer.message == "模型有 2 个卷积层；最多允许 1 个" and "2 个卷积层、1 个池化层" in layer.measured
    assert result.errors[0].startswith("由于已经违反规则，评分程序提前停止了运行：模型有 2 个卷积层") and "conv" not in result.errors[0]
    write_outputs(result, conv_assignment, tmp_path)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "SeparableConv2D" in html and "conv layers" not in html
