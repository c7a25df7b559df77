# Attack: RLIMIT_DATA counts private memory only. Where no memory cgroup binds, touch more than the
# memory limit in a shared anonymous mapping (what mmap.mmap(-1, n) makes), which it does not count.
import mmap

block = mmap.mmap(-1, {{TOUCH_MB}} << 20)
for offset in range(0, {{TOUCH_MB}} << 20, 64 << 20):
    block[offset : offset + (64 << 20)] = b"\1" * (64 << 20)
    print("touched", (offset >> 20) + 64, flush=True)
raise RuntimeError("ALLOCATION" + "-COMPLETED: {{TOUCH_MB}} MiB")
