# Attack: flood the grader with output, through Python and around it (the raw file descriptors),
# and in one message too large to hold.
import os
import sys

line = "x" * 1023 + "\n"
for _ in range(20):
    sys.stdout.write(line * 2048)  # 2 MB a write, 40 MB in all
    sys.stdout.flush()
for _ in range(20):
    os.write(1, (line * 2048).encode())
    os.write(2, (line * 2048).encode())
print("y" * 200_000_000)
