"""The seccomp filter of every sandboxed process: the system calls that namespaces do not isolate,
refused with ENOSYS.

The kernel's keyrings are not namespaced. A process inherits its parent's session keyring, so
sandboxed code could read the keys in the grader's (root's) session keyring and add, change or
revoke them; and the keys it adds to its uid's own keyrings stay in the kernel after the grading
(a fresh uid each time, so they add up). `add_key`, `request_key` and `keyctl` are refused, as
Docker's default profile refuses them; nothing a notebook needs uses them.

The launcher installs the filter after `no_new_privs` and before the command runs; it holds for
every descendant and cannot be removed. Standard library only (it runs in the launcher).
"""

from __future__ import annotations

import ctypes
import os
import platform

PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
RET_ALLOW, RET_ERRNO, ENOSYS = 0x7FFF0000, 0x00050000, 38
LD_W_ABS, JEQ_K, AND_K, RET_K = 0x20, 0x15, 0x54, 0x06  # classic BPF: load word, jump if equal, and, return
NR, ARCH = 0, 4  # offsets in struct seccomp_data
X32_BIT = 0x40000000  # x32 system calls are the x86-64 numbers with this bit set

# Per machine, each ABI a process there can call the kernel with (a 64-bit process may also make
# 32-bit calls): its audit architecture, its numbers for add_key, request_key and keyctl, and a
# mask applied to the number first.
DENIED: dict[str, tuple[tuple[int, tuple[int, ...], int], ...]] = {
    "x86_64": ((0xC000003E, (248, 249, 250), ~X32_BIT & 0xFFFFFFFF), (0x40000003, (286, 287, 288), 0)),  # x86-64 and x32; i386
    "aarch64": ((0xC00000B7, (217, 218, 219), 0), (0x40000028, (309, 310, 311), 0)),  # arm64; arm (EABI)
}


class _Instruction(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Instruction))]


def filter_program(machine: str) -> list[tuple[int, int, int, int]] | None:
    """The filter for `machine` (as `platform.machine()` names it) as (code, jt, jf, k)
    instructions, or None where this module does not know its system call numbers. A call from an
    architecture not listed is refused whatever it is."""
    table = DENIED.get(machine)
    if table is None:
        return None
    code: list[list[int]] = [[LD_W_ABS, 0, 0, ARCH]]
    to_refusal: list[int] = []  # the instructions that jump to the refusal at the end
    for arch, numbers, mask in table:
        block = [[LD_W_ABS, 0, 0, NR], *([[AND_K, 0, 0, mask]] if mask else [])]
        for number in numbers:
            to_refusal.append(len(code) + 1 + len(block))
            block.append([JEQ_K, 0, 0, number])
        block.append([RET_K, 0, 0, RET_ALLOW])
        code += [[JEQ_K, 0, len(block), arch], *block]  # another architecture skips the block
    refusal = len(code)
    code.append([RET_K, 0, 0, RET_ERRNO | ENOSYS])
    for index in to_refusal:
        code[index][1] = refusal - (index + 1)
    return [(c, jt, jf, k) for c, jt, jf, k in code]


def install(machine: str | None = None) -> bool:
    """Install the filter in this process (after PR_SET_NO_NEW_PRIVS); False where the machine's
    numbers are unknown (nothing installed). Raises OSError if the kernel refuses it."""
    program = filter_program(machine or platform.machine())
    if program is None:
        return False
    instructions = (_Instruction * len(program))(*[_Instruction(*i) for i in program])
    fprog = _Program(len(program), instructions)
    libc = ctypes.CDLL(None, use_errno=True)
    result = libc.prctl(PR_SET_SECCOMP, ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.c_ulong(ctypes.addressof(fprog)), ctypes.c_ulong(0), ctypes.c_ulong(0))
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"seccomp: {os.strerror(err)}")
    return True
