"""`grader new`: scaffold a complete, sound assignment to edit, from the templates below."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from grader.assignment import DATASETS
from grader.authoring.percent_notebook import notebook_from_percent, write_notebook
from grader.common.files import TomlError, load_toml
from grader.errors import UsageError

ID_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def scaffold(assignment_id: str, root: Path = Path("."), *, title: str | None = None, dataset: str = "mnist", log: Callable[[str], None] = print) -> list[Path]:
    """Create a complete, sound assignment to edit: its TOML (every field, commented), skeleton,
    reference solution, two samples meant to fail and their entries in the expected file."""
    if not ID_PATTERN.match(assignment_id):
        raise UsageError(f"'{assignment_id}' is not a valid assignment id: "
                         "lower-case letters, digits and single hyphens, starting with a letter (e.g. my-exercise)")
    if dataset not in DATASETS:
        raise UsageError(f"unknown data set '{dataset}' (known: {', '.join(DATASETS)})")
    root = Path(root)
    folder = root / "assignments" / assignment_id
    reference = root / "reference" / assignment_id
    samples = root / "tests" / "samples" / assignment_id
    expected = root / "tests" / "samples" / "expected.toml"
    for existing in (folder, reference, samples):
        if existing.exists():
            raise UsageError(f"{existing} already exists; choose another id or remove it")
    if expected.is_file() and assignment_id in _expected_table(expected):
        raise UsageError(f"{expected} already describes samples of '{assignment_id}'")
    fashion = dataset == "fashion_mnist"
    pct, threshold, minimum = ("85", "0.85", "0.80") if fashion else ("99", "0.99", "0.97")  # what a dense network reaches in 2 / 5 epochs
    values = {
        "__ID__": assignment_id,
        "__TITLE__": title or f"{assignment_id}: stop training with a callback at {pct}% accuracy",
        "__DATASET__": dataset,
        "__LOADER__": dataset,
        "__DATA_TITLE__": "Fashion-MNIST" if fashion else "MNIST",
        "__PCT__": pct,
        "__THRESHOLD__": threshold,
        "__MIN_TEST__": minimum,
        "__MIN_TEST_PCT__": f"{float(minimum) * 100:g}%",
        "__SUBSET_TEST__": "" if fashion else ", test_accuracy = false",  # 8,192 Fashion images may reach the bound
    }

    def fill(text: str) -> str:
        for key, value in values.items():
            text = text.replace(key, value)
        return text

    written = [folder / "assignment.toml"]
    folder.mkdir(parents=True)
    written[0].write_text(fill(TEMPLATE_TOML), encoding="utf-8")
    written.append(write_notebook(notebook_from_percent(fill(TEMPLATE_SKELETON), assignment_id), folder / "skeleton.ipynb"))
    reference.mkdir(parents=True)
    (reference / "solution.py").write_text(fill(TEMPLATE_SOLUTION), encoding="utf-8")
    written += [reference / "solution.py", write_notebook(notebook_from_percent(fill(TEMPLATE_SOLUTION), assignment_id), reference / "solution.ipynb")]
    for stem, text in TEMPLATE_SAMPLES.items():
        written.append(write_notebook(notebook_from_percent(fill(text), assignment_id), samples / f"{stem}.ipynb"))
    expected.parent.mkdir(parents=True, exist_ok=True)
    before = expected.read_text(encoding="utf-8") if expected.is_file() else EXPECTED_HEADER
    expected.write_text(before.rstrip("\n") + "\n" + fill(TEMPLATE_EXPECTED), encoding="utf-8")
    written.append(expected)
    log(f"created assignment '{assignment_id}':")
    for path in written:
        log(f"  {path}")
    log(f"next: edit {folder / 'assignment.toml'} and the notebooks, then run `grader validate {folder}` (see docs/authoring.md)")
    return written


EXPECTED_HEADER = """# Expected grading outcomes of the sample submissions in this folder (read by `grader validate`
# and tests/test_samples.py). One table per sample: [<assignment-id>.<file stem>] with
#   file, passed, checks (each check's outcome with --full), slow, early (optional), entry
#   (optional), why. See docs/authoring.md.
"""

TEMPLATE_TOML = '''# __TITLE__
# Every field is described in docs/authoring.md and declared in the grader's schema/assignment.schema.json;
# `grader validate` checks this file and the notebooks.
id = "__ID__"                       # must equal the folder name
title = "__TITLE__"
title_zh = ""                       # optional: the title in Chinese
dataset = "__DATASET__"                  # mnist | fashion_mnist: what keras.datasets.<name>.load_data() returns when graded
default_lang = "en"                 # en | zh: language of the feedback unless --lang says otherwise
timeout_s = 900                     # wall-clock limit for the whole submission, seconds
skeleton_integrity = "warn"         # off | warn | enforce: code outside YOUR CODE regions must be kept
# entry = "train_mnist"             # optional: a function the grader calls if the cells trained nothing
packages = ["tensorflow", "keras", "numpy", "matplotlib"]  # what students may import beyond the standard library

[training]
max_epochs = 10                     # every fit's `epochs`, and the epochs run in all, at most this
metric = "accuracy"                 # accuracy (must go above threshold) | loss (must go below it)
threshold = __THRESHOLD__                    # strictly above (accuracy) or below (loss)
stop_messages = ["Reached __PCT__% accuracy so cancelling training!"]  # any one of these, exactly

# [limits]                          # at most this many layers (check layer_limit)
# max_conv = 1
# max_pool = 1
# max_dense = 2

# [structure]                       # exactly this model (check model_structure)
# model_class = "MyModel"           # the trained model's class name
# conv = 2
# pool = 2
# dense = 3

[evaluation]
min_test_accuracy = __MIN_TEST__            # measured by the grader on the 5,000 test images it withholds from the kernel

[checks]                            # the checks that run, in report order, with their points
execution = 1
epoch_limit = 1
stop_message = 1
accuracy_threshold = 1
test_accuracy = 1
skeleton_integrity = 0

# [authoring]                       # only for `grader validate`; paths relative to this file
# reference = "../../reference/__ID__/solution.ipynb"
# samples = "../../tests/samples/__ID__"
# expected = "../../tests/samples/expected.toml"
'''

_COMMON = '''# %%
import tensorflow as tf

print(tf.__version__)

# %%
data = tf.keras.datasets.__LOADER__

(x_train, y_train), (x_test, y_test) = data.load_data()
'''

TEMPLATE_SKELETON = '''# %% [markdown]
# # __TITLE__
#
# Train a classifier on __DATA_TITLE__ (60,000 training and 10,000 test images of 28×28 pixels, 10 classes).
# Write a callback that stops training once the training accuracy goes **above** __PCT__%, printing exactly
# `Reached __PCT__% accuracy so cancelling training!` in that epoch. Train for at most 10 epochs.
# The grader also tests your model on 5,000 test images your notebook never sees: at least __MIN_TEST_PCT__.
#
# Write code only between `# YOUR CODE STARTS HERE` and `# YOUR CODE ENDS HERE`.

''' + _COMMON + '''
# %%
# Scale the pixel values to 0–1
# YOUR CODE STARTS HERE
x_train = None  # replace None
x_test = None  # replace None
# YOUR CODE ENDS HERE

# %%
class myCallback(tf.keras.callbacks.Callback):
    # YOUR CODE STARTS HERE
    pass
    # YOUR CODE ENDS HERE


callbacks = myCallback()

# %%
# YOUR CODE STARTS HERE
model = None  # replace None
# YOUR CODE ENDS HERE

# %%
# YOUR CODE STARTS HERE
pass
# YOUR CODE ENDS HERE

# %%
# YOUR CODE STARTS HERE
history = None  # replace None
# YOUR CODE ENDS HERE
'''

_SOLUTION_BODY = '''
# %%
# Scale the pixel values to 0–1
# YOUR CODE STARTS HERE
x_train = x_train__SUBSET__ / 255.0
y_train = y_train__SUBSET__
x_test = x_test / 255.0
# YOUR CODE ENDS HERE

# %%
class myCallback(tf.keras.callbacks.Callback):
    # YOUR CODE STARTS HERE
    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if logs.get('accuracy', 0) > __THRESHOLD__:
            print("\\nReached __PCT__% accuracy so cancelling training!")
            self.model.stop_training = True
    # YOUR CODE ENDS HERE


callbacks = myCallback()

# %%
# YOUR CODE STARTS HERE
model = tf.keras.models.Sequential([
    tf.keras.Input(shape=(28, 28)),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(512, activation='relu'),
    tf.keras.layers.Dense(10, activation='softmax'),
])
# YOUR CODE ENDS HERE

# %%
# YOUR CODE STARTS HERE
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
# YOUR CODE ENDS HERE

# %%
# YOUR CODE STARTS HERE
history = model.fit(x_train, y_train, epochs=__EPOCHS____CALLBACKS__)
# YOUR CODE ENDS HERE
'''


def _expected_table(expected: Path) -> dict[str, object]:
    """The expected-verdicts file's tables (a file that cannot be read is a usage error, named)."""
    try:
        return load_toml(expected)
    except TomlError as exc:
        raise UsageError(str(exc)) from exc


def _solution(subset: str = "", epochs: str = "10", callbacks: str = ", callbacks=[callbacks]", note: str = "") -> str:
    """The text of a solution: the reference, or a sample that trains on `subset` of the data, headed by `note`."""
    body = _SOLUTION_BODY.replace("__SUBSET__", subset).replace("__EPOCHS__", epochs).replace("__CALLBACKS__", callbacks)
    return (f"# %% [markdown]\n# {note}\n\n" if note else "") + _COMMON + body


TEMPLATE_SOLUTION = _solution()
TEMPLATE_SAMPLES = {
    "epochs_over": _solution("[:8192]", "30", note="Meant to fail epoch_limit: fit(epochs=30). Trains on 8,192 images to stay cheap."),
    "no_callback": _solution("[:8192]", "3", "", note="Meant to fail stop_message: no callback is passed to fit. Trains on 8,192 images to stay cheap."),
}
TEMPLATE_EXPECTED = '''
# ---------------------------------------------------------------------------------------------
# __ID__ (scaffolded by `grader new`: replace these samples with your own)

[__ID__.epochs_over]
file = "epochs_over.ipynb"
passed = false
checks = { epoch_limit = false__SUBSET_TEST__ }
slow = false
early = "epoch_limit"
why = "fit(epochs=30) breaks the 10-epoch limit: the static pre-check gives the verdict without running. Trains on 8,192 images to stay cheap."

[__ID__.no_callback]
file = "no_callback.ipynb"
passed = false
checks = { epoch_limit = true, stop_message = false__SUBSET_TEST__ }
slow = false
early = "stop_message"
why = "No callback is passed to fit, so nothing stops training at the threshold (a certain static finding). Trains 3 epochs on 8,192 images."
'''
