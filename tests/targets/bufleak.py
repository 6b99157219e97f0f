# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""bufleak: a Python program that leaks through a C-implemented type.

Run as `PYTHONMALLOC=malloc python3 bufleak.py` (every object from malloc).
Protocol: print "READY <pid>", wait for SIGUSR1, keep N_BUFS bytearrays of
SZ_BUF bytes (each one malloc(SZ_BUF + 1) in bytearray's C code), print
"DONE", then block. Keep in sync with tests/integration/test_stacks.py.
"""
import os
import signal

N_BUFS = 200
SZ_BUF = 4096

keep = []


def leak_buffers():
    for _ in range(N_BUFS):
        keep.append(bytearray(SZ_BUF))


def main():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    print(f"READY {os.getpid()}", flush=True)
    signal.sigwait({signal.SIGUSR1})
    leak_buffers()
    print("DONE", flush=True)
    while True:
        signal.sigwait({signal.SIGUSR1})


main()
