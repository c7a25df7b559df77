# Attack: a daemon (double fork, new session) that outlives grading and keeps writing.
import os
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        script = "while :; do echo alive >> {{DROP}}/heartbeat 2>/dev/null; echo alive >> /tmp/heartbeat; sleep 0.2; done"
        os.execv("/bin/sh", ["sh", "-c", script, "{{MARKER}}"])
    os._exit(0)
os.wait()
time.sleep(1)  # let it settle: grading must end it all the same
print("daemon started")
