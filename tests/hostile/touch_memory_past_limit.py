# Attack: allocate and touch memory well past the limit, and say so once it is all there.
# (The reported case: 12 GiB touched under a 4 GiB limit, printed, and only then the verdict.)
import numpy as np

blocks = []
for step in range(1, {{TOUCH_MB}} // 128 + 1):
    block = np.empty(128 << 20, dtype=np.uint8)
    block.fill(step)  # every page written: resident memory, not a reservation
    blocks.append(block)
    print(f"touched {step * 128} MiB", flush=True)
raise RuntimeError("ALLOCATION" + "-COMPLETED: " + str(sum(b.nbytes for b in blocks) >> 20) + " MiB")
