# ruff: noqa: F541
# Attack on grader similar, by someone who read its source: as much code as it reads (200,000
# characters) on single lines of many tokens, a list of numbers and an f-string of replacement
# fields. From Python 3.12 on, `tokenize` gives every token its own copy of its line: the
# comparison held 100,000 copies of a 200,000-character line (20 GB) and counted each f-string's
# pieces again at every piece, and the instructor's `grader similar` was killed for memory.
import tensorflow as tf

numbers = [{{NUMBERS}}]
flood = f"{{FIELDS}}"
print(len(numbers), len(flood), tf.__version__)
