# Attack: end the kernel process abruptly, before the grader's finish cell can run.
import os

os._exit(0)
