#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Seeds for tests/fuzz/fuzz_gobin.c and fuzz_gomem.c (small, synthetic).

gobin: a minimal x86-64 ELF shaped like a Go executable: .text with small
"runtime" functions whose RIP-relative references name data variables,
.gopclntab (1.19 format: magic 0xfffffff0, 40-byte _func, 20-byte inline
tree entries; or 1.20+: 0xfffffff1, 44-byte _func, 16-byte entries,
textStart 0 and a .go.module section), pc tables with an inlined call,
moduledata, .go.buildinfo or a runtime.buildVersion string, and the code
gobin finds runtime.memstats and its stride in.

gomem: a fake memory image for fuzz_gomem.c's fixed map (see there):
allglen, allgptr, three gs (1.19 offsets), their stacks with a frame
chain, allp with one P whose timers slice holds two timers; seed-heap adds
the heap profile (mProfCycle, MemProfileRate, three buckets with their
hashes, a tiny one freed as 16 bytes) and memstats (go1.19 layout).

Usage: mkseed_go.py OUTDIR_GOBIN OUTDIR_GOMEM
"""
import struct
import sys

TEXT = 0x401000
RODATA = 0x402000
DATA = 0x404000
MEMSTATS = DATA + 0x1000   # in the data segment's .bss (memsz = filesz + 0x3000)


def uv(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def zz(v):
    return (v << 1) ^ (v >> 31) if v >= 0 else ((-v) << 1) - 1


def pctable(pairs):
    """pairs: (value, length) runs from the entry; returns the encoded table."""
    out, prev = b"", -1
    for val, ln in pairs:
        out += uv(zz(val - prev)) + uv(ln)
        prev = val
    return out + b"\x00"


def rip_mov(insn_addr, target, reg=1):
    # mov reg, [rip+disp32]: 48 8b modrm(00 reg 101) disp32 (7 bytes)
    disp = target - (insn_addr + 7)
    return b"\x48\x8b" + bytes([0x05 | (reg << 3)]) + struct.pack("<i", disp)


def build(new):
    # data variables
    allglen, allgptr, allgs, allp = DATA + 0x100, DATA + 0x108, DATA + 0x110, DATA + 0x130
    mbuckets, mprofcycle, rate, buckhash = DATA + 0x150, DATA + 0x158, DATA + 0x160, DATA + 0x168
    wrs, fing, bv = DATA + 0x200, DATA + 0x170, DATA + 0x180
    md = DATA + 0x400
    # functions: name -> code
    funcs = []

    def f(name, refs, extra=b""):
        funcs.append((name, refs, extra))

    f("runtime.forEachGRace", [allglen, allgptr])
    f("runtime.allgadd", [allgs + 8, allgs, allgs + 16])
    f("runtime.gcMarkTinyAllocs", [allp, allp + 8])
    f("runtime.mProf_FlushLocked", [mbuckets])
    f("runtime.mProf_Flush", [mprofcycle])
    f("runtime.profilealloc", [DATA + 0x190, rate])
    f("runtime.stkbucket", [buckhash])
    f("runtime.isSystemGoroutine", [fing])
    f("runtime.waitReason.String", [wrs], b"\x3c\x03")  # cmp al, 3
    # memstats (in .bss): gcMarkTermination's references to last_gc_unix,
    # pause_total_ns, pause_ns, pause_end, numgc; acquire's IMUL by the
    # heapStatsDelta stride (1176 in 1.19, 1168 from 1.25)
    stride = 1168 if new else 1176
    o = 3 * stride + 16
    f("runtime.gcMarkTermination", [MEMSTATS + o + 48, MEMSTATS + o + 56, MEMSTATS + o + 64,
                                     MEMSTATS + o + 64 + 2048, MEMSTATS + o + 64 + 4096])
    f("runtime.(*consistentHeapStats).acquire", [], b"\x48\x69\xca" + struct.pack("<i", stride))
    f("main.main", [], b"\x90" * 32)
    f("time.sendTime", [])
    text = b""
    entries = []
    for name, refs, extra in funcs:
        start = len(text)
        code = extra
        for r in refs:
            code += rip_mov(TEXT + start + len(code), r)
        code += b"\xc3"
        code += b"\xcc" * (-len(code) % 32)
        text += code
        entries.append((name, start, len(code)))
    end_off = len(text)

    # pclntab
    names = b""
    nameoff = {}
    for name, _, _ in funcs + [("runtime.inlined", [], b"")]:
        nameoff[name] = len(names)
        names += name.encode() + b"\x00"
    filetab = b"main.go\x00runtime/x.go\x00"
    cutab = struct.pack("<II", 0, 8)
    pctab = b"\x00"
    fsz = 40 if not new else 44
    gofunc = RODATA + 0x1800
    inltree_off = 0
    if new:
        inl = struct.pack("<B3xiii", 0, nameoff["runtime.inlined"], 4, 10)
    else:
        inl = struct.pack("<hBxiiii", -1, 0, 1, 7, nameoff["runtime.inlined"], 4)
    funcrecs = b""
    ftab = b""
    nf = len(entries)
    base_rec = (nf + 1) * 8
    for i, (name, start, ln) in enumerate(entries):
        pcfile_off = len(pctab)
        pctab += pctable([(0, ln)])
        pcln_off = len(pctab)
        pctab += pctable([(10 + i, ln // 2), (11 + i, ln - ln // 2)])
        npcdata, nfuncdata, pcd, fds = 0, 0, b"", b""
        if name == "main.main":
            inl_off = len(pctab)
            pctab += pctable([(-1, 8), (0, 8), (-1, ln - 16)])
            npcdata = 3
            pcd = struct.pack("<III", 0, 0, inl_off)
            nfuncdata = 4
            fds = struct.pack("<IIII", 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, inltree_off)
        rec = struct.pack("<IiiIIIIII", start, nameoff[name], 0, 0, 0, pcfile_off, pcln_off,
                          npcdata, 0)
        if new:
            rec += struct.pack("<iBBxB", 10, 0, 0, nfuncdata)
        else:
            rec += struct.pack("<BBxB", 0, 0, nfuncdata)
        assert len(rec) == fsz
        ftab += struct.pack("<II", start, base_rec + len(funcrecs))
        funcrecs += rec + pcd + fds
    ftab += struct.pack("<II", end_off, 0)
    pclnt = ftab + funcrecs
    hdr_len = 72
    offs = [hdr_len]
    for t in (names, cutab, filetab, pctab):
        offs.append(offs[-1] + len(t))
    magic = 0xFFFFFFF1 if new else 0xFFFFFFF0
    text_start = 0 if new else TEXT
    hdr = struct.pack("<IBBBBQQQQQQQQ", magic, 0, 0, 1, 8, nf, 2, text_start, *offs)
    pcln = hdr + names + cutab + filetab + pctab + pclnt
    pcln_addr = RODATA
    rodata = bytearray(pcln + b"\x00" * (0x1800 - len(pcln)))
    assert len(pcln) < 0x1800
    rodata += inl
    wr_strs = RODATA + len(rodata)
    rodata += b"chan receive\x00select\x00sleep\x00"
    ver = b"go1.26.5" if new else b"go1.19.8"
    ver_addr = RODATA + len(rodata)
    rodata += ver

    # data: variables, waitReasonStrings, moduledata
    data = bytearray(0x800)
    struct.pack_into("<Q", data, rate - DATA, 512 * 1024)
    for k, (o, n) in enumerate([(0, 12), (13, 6), (20, 5)]):
        struct.pack_into("<QQ", data, wrs - DATA + 16 * k, wr_strs + o, n)
    struct.pack_into("<QQ", data, bv - DATA, ver_addr, len(ver))
    m = md - DATA
    struct.pack_into("<QQQQ", data, m, pcln_addr, pcln_addr + offs[0], len(names), len(names))
    struct.pack_into("<QQ", data, m + 160, TEXT, TEXT + end_off)
    struct.pack_into("<QQ", data, m + 176, TEXT, TEXT + end_off)
    struct.pack_into("<Q", data, m + (320 if new else 304), gofunc)
    binfo = b""
    if not new:
        binfo = b"\xff Go buildinf:" + bytes([8, 2]) + b"\x00" * 16
        binfo += uv(len(ver)) + ver
        mod = b"path\tseed\nbuild\tDefaultGODEBUG=asynctimerchan=1\n"
        mod = b"0" * 16 + mod + b"1" * 16
        mod = mod[:len(mod) - 17] + b"\n" + mod[len(mod) - 16:] if False else mod
        binfo += uv(len(mod)) + mod
        binfo += b"\x00" * (-len(binfo) % 16)

    # ELF
    secs = []  # (name, type, flags, addr, off, size)
    out = bytearray(0x1000)
    text_off = len(out)
    out += text + b"\x00" * (-len(text) % 0x1000)
    ro_off = len(out)
    out += rodata + b"\x00" * (-len(rodata) % 0x1000)
    data_off = len(out)
    data_img = bytes(data)
    if binfo:
        data_img = bytes(data) + binfo
    out += data_img
    secs.append((".text", 1, 6, TEXT, text_off, len(text)))
    secs.append((".gopclntab", 1, 2, pcln_addr, ro_off, len(pcln)))
    secs.append((".noptrdata", 1, 3, DATA, data_off, 0x800))
    if new:
        secs.append((".go.module", 1, 3, md, data_off + m, 0x250))
    if binfo:
        secs.append((".go.buildinfo", 1, 3, DATA + 0x800, data_off + 0x800, len(binfo)))
    shstr = b"\x00"
    name_idx = []
    for s in secs:
        name_idx.append(len(shstr))
        shstr += s[0].encode() + b"\x00"
    shstr_idx = len(shstr)
    shstr += b".shstrtab\x00"
    shstr_off = len(out)
    out += shstr
    out += b"\x00" * (-len(out) % 8)
    shoff = len(out)
    sh = struct.pack("<IIQQQQIIQQ", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    for i, s in enumerate(secs):
        sh += struct.pack("<IIQQQQIIQQ", name_idx[i], s[1], s[2], s[3], s[4], s[5], 0, 0, 16, 0)
    sh += struct.pack("<IIQQQQIIQQ", shstr_idx, 3, 0, 0, shstr_off, len(shstr), 0, 0, 1, 0)
    out += sh
    nsec = len(secs) + 2
    phs = [(1, 5, text_off, TEXT, len(text)), (1, 4, ro_off, RODATA, len(rodata)),
           (1, 6, data_off, DATA, len(data_img))]
    eh = b"\x7fELF\x02\x01\x01" + b"\x00" * 9
    eh += struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, TEXT, 64, shoff, 0, 64, 56, len(phs), 64,
                      nsec, nsec - 1)
    ph = b""
    for t, fl, off, va, sz in phs:
        memsz = sz + (0x3000 if fl == 6 else 0)
        ph += struct.pack("<IIQQQQQQ", t, fl, off, va, va, sz, memsz, 0x1000)
    out[0:len(eh)] = eh
    out[64:64 + len(ph)] = ph
    return bytes(out)


def gomem():
    """Fake memory for fuzz_gomem.c: BASE 0x10000, text [0x400000, 0x500000)."""
    base = 0x10000
    img = bytearray(0x4000)

    def w64(addr, v):
        struct.pack_into("<Q", img, addr - base, v)

    def w32(addr, v):
        struct.pack_into("<I", img, addr - base, v)

    gs = [base + 0x400, base + 0x600, base + 0x800]
    w64(base + 0, len(gs))          # allglen
    w64(base + 8, base + 0x100)     # allgptr
    w64(base + 16, base + 0x180)    # allp ptr
    w64(base + 24, 1)
    w64(base + 32, 1)
    for i, g in enumerate(gs):
        w64(base + 0x100 + 8 * i, g)
        lo, hi = base + 0x1000 + 0x400 * i, base + 0x1400 + 0x400 * i
        w64(g + 0, lo)
        w64(g + 8, hi)
        sp = hi - 0x100
        w64(g + 56, sp)                     # sched.sp
        w64(g + 64, 0x400123 + 0x10 * i)    # sched.pc
        w64(g + 72, g)                      # sched.g
        w64(g + 104, sp + 0x20)             # sched.bp
        w32(g + 144, 4 if i else 4)         # waiting
        w64(g + 152, i + 1)                 # goid
        img[g + 176 - base] = 1 + i         # waitreason
        w64(g + 296, 0x400400 + 0x33 * i)   # gopc
        w64(g + 312, 0x400800 + 0x40 * i)   # startpc
        # a frame chain: [bp] = next bp, [bp+8] = return address
        w64(sp + 0x20, sp + 0x60)
        w64(sp + 0x28, 0x400555)
        w64(sp + 0x60, sp + 0xa0)
        w64(sp + 0x68, 0x400666)
        w64(sp + 0xa0, 0)
        w64(sp + 0xa8, 0x400777)
    p = base + 0x200
    w64(base + 0x180, base + 0x2000 - 8840)  # the P (its timers slice lands at 0x2000)
    w64(base + 0x2000, base + 0x2100)        # timers slice
    w64(base + 0x2008, 2)
    w64(base + 0x2010, 2)
    for k in range(2):
        t = base + 0x2200 + 0x80 * k
        w64(base + 0x2100 + 8 * k, t)
        w64(t + 8, 1000 + k)                 # when
        w64(t + 16, 5000 if k == 0 else 0)   # period
        w64(t + 24, base + 0x2400)           # f: funcval
        w64(t + 40, base + 0x2410)           # arg data
        w32(t + 64, 1)                       # status waiting
    w64(base + 0x2400, 0x400900)             # sendTime-like entry
    w64(base + 0x2410, 0x400a00)
    del p
    return bytes(img)


M64 = (1 << 64) - 1


def bucket_hash(stk, size):
    """stkbucket's hash (runtime/mprof.go), 64-bit."""
    h = 0
    for pc in stk:
        h = (h + pc) & M64
        h = (h + (h << 10)) & M64
        h ^= h >> 6
    h = (h + size) & M64
    h = (h + (h << 10)) & M64
    h ^= h >> 6
    h = (h + (h << 3)) & M64
    h ^= h >> 11
    return h


def gomem_heap():
    """gomem() plus, for fuzz_gomem.c's heap part: mProfCycle at +0x28,
    mbuckets at +0x30, MemProfileRate at +0x38, memstats (go1.19 layout)
    at +0x4000, three buckets from +0x6000."""
    base = 0x10000
    img = bytearray(gomem()) + bytearray(0x8000 - 0x4000)

    def w64(addr, v):
        struct.pack_into("<Q", img, addr - base, v & M64)

    struct.pack_into("<I", img, 0x28, 7 << 1 | 1)   # cycle 7 (C % 3 = 1), flushed
    w64(base + 0x38, 512 * 1024)
    # buckets: (stack, size, [active, f0, f1, f2] as (allocs, frees), free size)
    specs = [
        ([0x400110, 0x400220, 0x400330], 65536, [(10, 3), (0, 0), (5, 1), (7, 0)], 65536),
        ([0x400440, 0x400330], 8, [(100, 40), (3, 0), (2, 1), (9, 0)], 16),   # tiny: freed as 16
        ([0x400550], 48, [(0, 0), (2, 0), (0, 0), (0, 0)], 48),
    ]
    addrs = []
    a = base + 0x6000
    for stk, size, cyc, fsz in specs:
        addrs.append(a)
        a += 48 + 8 * len(stk) + 128
        a = (a + 7) & ~7
    for i, (stk, size, cyc, fsz) in enumerate(specs):
        b = addrs[i]
        w64(b + 8, addrs[i - 1] if i else 0)   # allnext: the older one
        w64(b + 16, 1)
        w64(b + 24, bucket_hash(stk, size))
        w64(b + 32, size)
        w64(b + 40, len(stk))
        for k, pc in enumerate(stk):
            w64(b + 48 + 8 * k, pc)
        r = b + 48 + 8 * len(stk)
        for c, (al, fr) in enumerate(cyc):
            w64(r + 32 * c, al)
            w64(r + 32 * c + 8, fr)
            w64(r + 32 * c + 16, al * size)
            w64(r + 32 * c + 24, fr * fsz)
    w64(base + 0x30, addrs[-1])   # newest first
    # memstats: stats[0] of heapStats, the sys stats, 3 GCs
    ms = base + 0x4000
    for off, v in ((0, 0x400000), (8, 0x100000), (16, 0x200000), (24, 0x40000), (32, 0x10000)):
        w64(ms + off, v)
    o = 3 * 1176 + 16
    for k, v in enumerate((0x8000, 0x20000, 0x4000, 0x16f000, 0x80000, 0x70000)):
        w64(ms + o + 8 * k, v)
    last = 1796187279436370383
    w64(ms + o + 48, last)            # last_gc_unix
    w64(ms + o + 56, 312966)          # pause_total_ns
    w64(ms + o + 64 + 2048 + 8 * 2, last)   # pause_end[(3-1) % 256]
    struct.pack_into("<II", img, ms - base + o + 64 + 4096, 3, 1)   # numgc, numforcedgc
    return bytes(img)


def main():
    gb, gm = sys.argv[1], sys.argv[2]
    open(f"{gb}/seed-go119", "wb").write(build(False))
    open(f"{gb}/seed-go126", "wb").write(build(True))
    open(f"{gm}/seed-3g", "wb").write(gomem())
    open(f"{gm}/seed-heap", "wb").write(gomem_heap())


if __name__ == "__main__":
    main()
