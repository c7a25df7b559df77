# Attack: burn CPU for as long as the wall clock allows, ignoring the CPU limit's warning signal.
import signal
import time

signal.signal(signal.SIGXCPU, signal.SIG_IGN)
started = time.monotonic()
while time.monotonic() - started < {{SECONDS}}:
    pass
raise RuntimeError("SPUN" + "-TO-THE-END")
