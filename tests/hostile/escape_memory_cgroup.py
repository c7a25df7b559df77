# Attack: leave the memory cgroup (write our pid into every cgroup.procs we can see), raise its
# limits and our own rlimits, then allocate and touch memory well past the limit. As root with
# capabilities (the old fallback), the first step alone worked and the limit never bound.
import os
import resource

import numpy as np

done = []
for top, dirs, files in os.walk("/sys/fs/cgroup"):
    for name in files:
        path = os.path.join(top, name)
        value = str(os.getpid()) if name == "cgroup.procs" else "max" if name in ("memory.max", "memory.swap.max", "pids.max") else "-1" if name.startswith("memory.") and name.endswith("limit_in_bytes") else None
        if value is None:
            continue
        try:
            with open(path, "w") as fh:
                fh.write(value)
            done.append(path)
        except OSError:
            pass
for name in ("RLIMIT_DATA", "RLIMIT_AS", "RLIMIT_RSS"):
    limit = getattr(resource, name)
    if resource.getrlimit(limit)[1] == resource.RLIM_INFINITY:
        continue  # nothing to raise
    try:
        resource.setrlimit(limit, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        done.append(name)
    except (OSError, ValueError):
        pass
print("escaped through:", done, flush=True)

blocks = []
for step in range(1, {{TOUCH_MB}} // 128 + 1):
    block = np.empty(128 << 20, dtype=np.uint8)
    block.fill(step)
    blocks.append(block)
raise RuntimeError("ALLOCATION" + "-COMPLETED after " + repr(done))
