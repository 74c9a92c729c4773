"""Run genuine i386 code on glcoherent's mappings: the ctypes side of libcompat32.so.

Test support and demo code (tests/test_wow64.py, `python -m glcoherent demo wow64`); not part of
glcoherent itself. The thunk (demos/compat32_thunk.S) switches the CPU to compatibility mode - the
32-bit user code segment, selector 0x23, as Wine's WoW64 mode does - and calls hand-assembled
cdecl i386 functions on a stack below 2 GiB. Every argument is a 32-bit value, so a pointer
reaches 32-bit code only if it lies below 4 GiB: Compat32 refuses (OutOfReach) any pointer range
that does not, and records every pointer it hands over (`pointers`) so tests can check them
against --limit.

    c32 = Compat32()                  # Compat32Unavailable: the kernel has no IA-32 emulation
    c32.fill(ptr, count, stride, value)     # ptr[i * stride] = value + i      (uint32 words)
    c32.verify(ptr, count, stride, value)   # how many ptr[i * stride] != value + i
    c32.echo(x)                       # x as the 32-bit code received it
    c32.particles(dst, src, n, frame, sx, ox, sy, oy)   # the wow64 demo's vertex update
"""

from __future__ import annotations

import ctypes
import os
import platform
import struct
import threading
from typing import List, Optional, Tuple

import numpy as np

LIBRARY = "libcompat32.so"
LIMIT_32 = 1 << 32


class Compat32Unavailable(RuntimeError):
    """This machine cannot run 32-bit code in a 64-bit process (no IA-32 emulation, or not
    x86-64). The message says which; tests skip with it."""


class OutOfReach(ValueError):
    """A pointer that does not fit in 32 bits: 32-bit code cannot be given it."""


def library_path() -> str:
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), LIBRARY)


_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None


def _load() -> ctypes.CDLL:
    """The library, initialised (once per process)."""
    global _lib
    with _lock:
        if _lib is not None:
            return _lib
        if platform.machine() not in ("x86_64", "AMD64"):
            raise Compat32Unavailable(f"compatibility mode needs an x86-64 machine, this is "
                                      f"{platform.machine()}")
        path = library_path()
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path} is missing: build it with "
                                    "python setup.py build_ext --inplace")
        lib = ctypes.CDLL(path)
        lib.compat32_init.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
        lib.compat32_init.restype = ctypes.c_int
        lib.compat32_function.argtypes = [ctypes.c_char_p]
        lib.compat32_function.restype = ctypes.c_uint32
        lib.compat32_call.argtypes = [ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint32),
                                      ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint32)]
        lib.compat32_call.restype = ctypes.c_int
        lib.compat32_regs_check.argtypes = [ctypes.POINTER(ctypes.c_uint32)]
        lib.compat32_regs_check.restype = ctypes.c_int
        lib.compat32_layout.argtypes = [ctypes.POINTER(ctypes.c_uint64)] * 3
        lib.compat32_layout.restype = None
        lib.compat32_alloc.argtypes = [ctypes.c_uint64]
        lib.compat32_alloc.restype = ctypes.c_uint64
        lib.compat32_free.argtypes = [ctypes.c_uint64, ctypes.c_uint64]
        lib.compat32_free.restype = None
        err = ctypes.create_string_buffer(512)
        if lib.compat32_init(err, len(err)) != 0:
            raise Compat32Unavailable(err.value.decode(errors="replace"))
        _lib = lib
        return lib


def unavailable_reason() -> Optional[str]:
    """None when 32-bit code can run here, else why not (a missing library is an error)."""
    try:
        _load()
    except Compat32Unavailable as exc:
        return str(exc)
    return None


def f32(x: float) -> int:
    """A float argument of a cdecl function: its IEEE single bits in one 32-bit slot."""
    return struct.unpack("<I", struct.pack("<f", x))[0]


class Compat32:
    """Calls into the i386 functions of compat32_thunk.S."""

    def __init__(self) -> None:
        self.lib = _load()
        self.pointers: List[int] = []      # every pointer handed to 32-bit code, in order
        self.calls = 0
        self._fn = {}

    # -- plumbing --
    def function(self, name: str) -> int:
        if name not in self._fn:
            address = self.lib.compat32_function(name.encode())
            if not address:
                raise KeyError(f"no 32-bit function {name}")
            self._fn[name] = address
        return self._fn[name]

    def pointer(self, address: int, size: int) -> int:
        """address as a 32-bit pointer to size bytes, or OutOfReach."""
        address = int(address)
        if address <= 0 or address + size > LIMIT_32:
            raise OutOfReach(f"0x{address:x} .. 0x{address + size:x} is out of reach of 32-bit "
                             f"code: a 32-bit pointer ends at 0x{LIMIT_32 - 1:x}")
        self.pointers.append(address)
        return address

    def call(self, name: str, *args: int) -> int:
        """fn(*args) in compatibility mode (cdecl, each argument one 32-bit slot); its eax."""
        words = [int(a) for a in args]
        for a in words:
            if not 0 <= a < LIMIT_32:
                raise OutOfReach(f"argument 0x{a:x} does not fit in 32 bits")
        arr = (ctypes.c_uint32 * 16)(*words)
        out = ctypes.c_uint32()
        if self.lib.compat32_call(self.function(name), arr, len(words), ctypes.byref(out)):
            raise RuntimeError(f"compat32_call({name}) refused its arguments")
        self.calls += 1
        return out.value

    # -- the i386 functions --
    def echo(self, value: int) -> int:
        return self.call("c32_echo", value)

    def fill(self, address: int, count: int, stride: int, value: int) -> int:
        span = ((count - 1) * stride + 1) * 4 if count else 4
        return self.call("c32_fill", self.pointer(address, span), count, stride,
                         value & 0xFFFFFFFF)

    def verify(self, address: int, count: int, stride: int, value: int) -> int:
        span = ((count - 1) * stride + 1) * 4 if count else 4
        return self.call("c32_verify", self.pointer(address, span), count, stride,
                         value & 0xFFFFFFFF)

    def particles(self, dst: int, src: int, n: int, frame: int,
                  sx: float, ox: float, sy: float, oy: float) -> int:
        return self.call("c32_particles", self.pointer(dst, 16 * n), self.pointer(src, 12 * n),
                         n, frame, f32(sx), f32(ox), f32(sy), f32(oy))

    def regs_lost(self) -> int:
        """Bit mask of 64-bit callee-saved registers (rbx rbp r12 r13 r14 r15) that a round
        trip through c32_scramble lost; 0 when the thunk preserved them all."""
        lost = ctypes.c_uint32()
        if self.lib.compat32_regs_check(ctypes.byref(lost)):
            raise RuntimeError("compat32_regs_check failed")
        return lost.value

    def layout(self) -> Tuple[int, int, int]:
        """(code address, stack low, stack high) of the low mapping."""
        vals = [ctypes.c_uint64() for _ in range(3)]
        self.lib.compat32_layout(*[ctypes.byref(v) for v in vals])
        return tuple(v.value for v in vals)

    def alloc(self, size: int, dtype=np.uint8) -> Tuple[int, np.ndarray]:
        """Zeroed memory below 2 GiB for data of the 32-bit code: (address, numpy view).
        Lives as long as the process (small, test and demo use only)."""
        address = self.lib.compat32_alloc(size)
        if not address:
            raise MemoryError(f"no {size} bytes below 2 GiB")
        buf = (ctypes.c_uint8 * size).from_address(address)
        return address, np.frombuffer(buf, dtype=np.uint8).view(dtype)
