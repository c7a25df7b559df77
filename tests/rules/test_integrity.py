import nbformat

from grader.rules.integrity import compare, fixed_lines

SKELETON = nbformat.v4.new_notebook(
    cells=[
        nbformat.v4.new_code_cell("import tensorflow as tf\nmnist = tf.keras.datasets.mnist"),
        nbformat.v4.new_code_cell(
            "class myCallback(tf.keras.callbacks.Callback):\n    # YOUR CODE STARTS HERE\n    pass\n    # YOUR CODE ENDS HERE\ncallbacks = myCallback()"
        ),
    ]
)


def student(*sources):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


def test_fixed_lines_leave_the_regions_out():
    assert fixed_lines(SKELETON) == [
        "import tensorflow as tf", "mnist = tf.keras.datasets.mnist", "class myCallback(tf.keras.callbacks.Callback):", "callbacks = myCallback()",
    ]


def test_filled_in_skeleton_is_kept():
    sub = student("import tensorflow as tf\nmnist = tf.keras.datasets.mnist",
                  "class myCallback(tf.keras.callbacks.Callback):\n  def on_epoch_end(self, e, logs=None):\n    pass\ncallbacks = myCallback()")
    assert compare(SKELETON, sub) == (True, "")


def test_a_removed_line_is_named():
    kept, changed = compare(SKELETON, student("import tensorflow as tf", "class myCallback(tf.keras.callbacks.Callback):\n    pass\ncallbacks = myCallback()"))
    assert not kept and "mnist = tf.keras.datasets.mnist" in changed
