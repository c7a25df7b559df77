# Attack: ignore every polite signal, then sleep past any time limit.
import signal
import time

for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1):
    signal.signal(sig, signal.SIG_IGN)
while True:
    try:
        time.sleep(3600)
    except BaseException:  # KeyboardInterrupt from an interrupt request: keep sleeping
        pass
