# Attack: write a passing result.json wherever the grader might read one.
import json
import os

fake = {"assignment": "mnist-callback", "submission": "fake", "passed": True, "score": 5, "max_score": 5, "checks": [], "errors": ["FAKE-RESULT"]}
targets = ["result.json", "../result.json", "../run/result.json", "../run/evaluation.json", "/tmp/result.json", "{{OUT}}/result.json", "{{OUT}}/../result.json"]
try:
    from grader.inside import setup

    run = os.path.dirname(setup._RECORDER[-1].record_path)
    targets += [os.path.join(run, "result.json"), os.path.join(run, "evaluation.json"), os.path.join(run, "..", "result.json")]
except Exception as exc:  # noqa: BLE001
    print(exc)
for target in targets:
    try:
        os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
        with open(target, "w") as fh:
            json.dump(fake, fh)
        print("wrote", target)
    except OSError as exc:
        print("could not write", target, exc)
