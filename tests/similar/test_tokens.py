"""Normalised tokens and winnowing: what the code comparison stands on (no notebook, no gradebook)."""

from __future__ import annotations

import os
import random
import subprocess
import sys

from grader.similar.tokens import line_keys, markdown_code, normalise
from grader.similar.winnow import Vocabulary, kgram_hashes, winnow


def shape(*cells: str) -> str:
    return " ".join(t.norm for t in normalise(cells))


def test_renamed_variables_changed_literals_and_comments_leave_the_shape_alone():
    original = "total = 0\nfor item in items:  # add up\n    total += item * 2.5\nprint(f'sum {total}', 'done')"
    disguised = "# accumulate\nacc = 10\nfor x in values:\n    acc += x * 7   # scaled\nprint(f'result: {acc}', \"ok\")"
    assert shape(original) == shape(disguised) == "N = NUM for N in N : N += N * NUM print ( STR , STR )"


def test_api_names_keyword_arguments_builtins_and_imports_keep_their_text():
    code = ("import tensorflow as tf\nfrom tensorflow.keras import layers\n"
            "model = tf.keras.Sequential([layers.Dense(512, activation='relu')])\nn = len(model.layers)")
    assert shape(code) == ("import tensorflow as tensorflow from tensorflow . keras import layers "
                           "N = tensorflow . keras . Sequential ( [ layers . Dense ( NUM , activation = STR ) ] ) N = len ( N . layers )")


def test_a_functions_parameters_are_the_students_names_even_with_defaults():
    assert shape("def f(self, epoch, logs=None):\n    pass") == shape("def g(me, n, info=None):\n    pass") == "def N ( N , N , N = None ) :"


def test_names_imported_in_one_cell_are_kept_in_the_others():
    assert shape("import numpy as np", "x = np.zeros(3)").endswith("N = numpy . zeros ( NUM )")


def test_magics_and_broken_code_are_read_as_far_as_they_go():
    assert shape("%matplotlib inline\n!pip install x\nx = 1") == "N = NUM"
    assert shape('s = """never closed\nx = 1') == "N = N = NUM"  # an unclosed string loses only itself
    assert "N = NUM" in shape("if a:\n        b = 1\n    c = 2")  # a bad dedent: read line by line
    assert shape("") == "" and shape("# only a comment") == ""


def test_a_lines_key_ignores_spacing_and_comments():
    keys = line_keys(normalise(["callbacks = myCallback()  # mine", "callbacks=myCallback( )"]))
    assert keys[(0, 1)] == keys[(1, 1)] == ("callbacks", "=", "myCallback", "(", ")")


def test_code_the_skeletons_text_gives_away_is_found():
    text = "Set `self.model.stop_training = True` and pass `callbacks=[callbacks]`; see `Flatten`.\n```python\nmodel.fit(x, y)\n```"
    assert markdown_code(text) == ["model.fit(x, y)\n", "self.model.stop_training = True", "callbacks=[callbacks]"]


def test_winnowing_finds_every_shared_run_of_window_plus_k_minus_1_tokens():
    rng = random.Random(1)
    vocabulary, k, w = Vocabulary(), 5, 4
    for _ in range(50):
        shared = [rng.choice("abcdefghij") for _ in range(w + k - 1)]
        a = [rng.choice("klmnopqrst") for _ in range(rng.randrange(0, 40))] + shared + [rng.choice("uvwxyz") for _ in range(rng.randrange(0, 40))]
        b = [rng.choice("uvwxyz") for _ in range(rng.randrange(0, 40))] + shared
        prints_a = {h for h, _ in winnow(kgram_hashes(a, k, vocabulary), w)}
        prints_b = {h for h, _ in winnow(kgram_hashes(b, k, vocabulary), w)}
        assert prints_a & prints_b


def test_winnowing_selects_each_windows_rightmost_minimum_once():
    vocabulary, w = Vocabulary(), 4
    hashes = kgram_hashes(list("the quick brown fox jumps over the lazy dog the end"), 3, vocabulary)
    positions = [p for _, p in winnow(hashes, w)]
    assert positions == sorted(set(positions))
    for i in range(len(hashes) - w + 1):
        window = hashes[i:i + w]
        rightmost = i + max(j for j, h in enumerate(window) if h == min(window))
        assert rightmost in positions
    assert winnow(hashes[:2], w) == [min((hashes[0], 0), (hashes[1], 1))]
    assert kgram_hashes(["a", "b"], 3, vocabulary) == [] and winnow([], w) == []


def test_hashes_are_the_same_in_every_process():
    code = "from grader.similar.winnow import Vocabulary, kgram_hashes; print(kgram_hashes(['N', '=', 'NUM', 'print'], 3, Vocabulary()))"
    runs = {subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True, text=True, check=True).stdout
            for seed in ("1", "2")}
    assert runs == {f"{kgram_hashes(['N', '=', 'NUM', 'print'], 3, Vocabulary())}\n"}
