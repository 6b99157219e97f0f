// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

// goheap: a heap with exactly known live allocation sites, and the
// program's own heap profile of it, for leaktrace's Go heap reader
// (tests/unit/test_goheap.c).
//
//	goheap [-rate N] [-stacks N] [-nogc] [-churn] [-grow] [-out PREFIX]
//
// runtime.MemProfileRate is set to N (default 1; 0 keeps the runtime's
// default of 512 KiB) first thing in main. Protocol: prints "READY <pid>",
// waits for SIGUSR1, then
//   - keepBig keeps 30 objects of 64 KiB (LINE:keep-big);
//   - capped stores 1000 values of 1000 bytes in a map, keeping at most 20
//     (LINE:map-value);
//   - temporaries allocates 2000 blocks of 4 KiB and drops them (LINE:temp);
//   - with -stacks N, N objects of 48 bytes, each from its own call stack
//     (the binary digits of i pick one of two call sites at 15 levels,
//     LINE:stack-a, LINE:stack-b);
//
// then runtime.GC() twice (with -nogc instead: prints "ALLOCATED" and
// waits for another SIGUSR1; GOGC=off should be in the environment so
// that no GC ever completes), debug.SetGCPercent(-1) so
// that no later GC moves the profile, and writes PREFIX.txt (the heap
// profile at debug=1) and PREFIX.pb.gz (the proto), and prints "DONE".
// With -churn it then allocates and drops 4 KiB blocks all the time and
// forces a GC every 20 ms (churnLoop). With -grow it then keeps another
// 64 KiB every 100 ms (LINE:grow), forcing a GC each time so that the
// profile shows it: a Go heap leak. Every SIGUSR2 takes
// runtime.ReadMemStats, stops itself with
// SIGSTOP, and once continued writes them to PREFIX.stats and prints
// "STATS".
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"
)

var (
	kept  [][]byte
	cache = map[int][]byte{}
	sink  []byte
	many  [][]byte
)

//go:noinline
func keepBig() {
	for i := 0; i < 30; i++ {
		b := make([]byte, 64<<10) // LINE:keep-big
		kept = append(kept, b)
	}
}

//go:noinline
func capped(n int) {
	for i := 0; i < n; i++ {
		cache[i] = make([]byte, 1000) // LINE:map-value
		if len(cache) > 20 {
			delete(cache, i-20)
		}
	}
}

//go:noinline
func temporaries(n int) {
	for i := 0; i < n; i++ {
		sink = make([]byte, 4096) // LINE:temp
		sink[i%4096] = byte(i)
	}
	sink = nil
}

// step descends D levels, choosing one of two call sites by the low bit
// of I at each level: every I < 2^D gets its own stack.
//
//go:noinline
func step(i, d int) []byte {
	if d == 0 {
		return make([]byte, 48) // LINE:stack-leaf
	}
	if i&1 != 0 {
		b := step(i>>1, d-1) // LINE:stack-a
		return b
	}
	b := step(i>>1, d-1) // LINE:stack-b
	b[0]++
	return b
}

//go:noinline
func manyStacks(n int) {
	many = make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		many = append(many, step(i, 15))
	}
}

// growing keeps 64 KiB more at every call.
//
//go:noinline
func growing() {
	kept = append(kept, make([]byte, 64<<10)) // LINE:grow
}

func growLoop() {
	for {
		growing()
		runtime.GC()
		time.Sleep(100 * time.Millisecond)
	}
}

// churnLoop moves the profile all the time: temporaries (LINE:temp) and a
// forced GC (mark termination, flush, PostSweep) every 20 ms.
func churnLoop() {
	for i := 0; ; i++ {
		temporaries(200)
		time.Sleep(time.Millisecond)
		if i%20 == 0 {
			runtime.GC()
		}
	}
}

func writeProfiles(prefix string) error {
	f, err := os.Create(prefix + ".txt")
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 1); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	f, err = os.Create(prefix + ".pb.gz")
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		return err
	}
	return f.Close()
}

// writeStats takes runtime.ReadMemStats, stops itself (SIGSTOP: the test
// reads memstats while nothing can change them, then sends SIGCONT) and
// writes what it took.
func writeStats(path string) error {
	var s runtime.MemStats

	runtime.ReadMemStats(&s)
	syscall.Kill(syscall.Getpid(), syscall.SIGSTOP)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "Sys %d\nHeapSys %d\nHeapIdle %d\nHeapInuse %d\nHeapReleased %d\n",
		s.Sys, s.HeapSys, s.HeapIdle, s.HeapInuse, s.HeapReleased)
	fmt.Fprintf(w, "StackInuse %d\nStackSys %d\nMSpanSys %d\nMCacheSys %d\nBuckHashSys %d\n",
		s.StackInuse, s.StackSys, s.MSpanSys, s.MCacheSys, s.BuckHashSys)
	fmt.Fprintf(w, "GCSys %d\nOtherSys %d\nNumGC %d\nNumForcedGC %d\nLastGC %d\nPauseTotalNs %d\n",
		s.GCSys, s.OtherSys, s.NumGC, s.NumForcedGC, s.LastGC, s.PauseTotalNs)
	fmt.Fprintf(w, "MemProfileRate %d\n", runtime.MemProfileRate)
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func main() {
	rate := flag.Int("rate", 1, "runtime.MemProfileRate (0: the runtime's default)")
	stacks := flag.Int("stacks", 0, "objects of 48 bytes, each from its own call stack")
	nogc := flag.Bool("nogc", false, "no runtime.GC() (run with GOGC=off)")
	out := flag.String("out", "goheap", "prefix of the files written")
	churn := flag.Bool("churn", false, "after DONE, allocate and drop all the time and force a GC every 20 ms")
	grow := flag.Bool("grow", false, "after DONE, keep another 64 KiB every 100 ms (a leak)")
	flag.Parse()
	if *rate > 0 {
		runtime.MemProfileRate = *rate
	}

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2)
	fmt.Printf("READY %d\n", os.Getpid())
	for s := <-sigs; s != syscall.SIGUSR1; s = <-sigs {
	}
	keepBig()
	capped(1000)
	temporaries(2000)
	if *stacks > 0 {
		manyStacks(*stacks)
	}
	if !*nogc {
		runtime.GC()
		runtime.GC()
	} else {
		// before its own profile, which moves the futures into active
		fmt.Println("ALLOCATED")
		for s := <-sigs; s != syscall.SIGUSR1; s = <-sigs {
		}
	}
	debug.SetGCPercent(-1)
	if err := writeProfiles(*out); err != nil {
		fmt.Fprintln(os.Stderr, "goheap:", err)
		os.Exit(1)
	}
	fmt.Println("DONE")
	if *churn {
		go churnLoop()
	}
	if *grow {
		go growLoop()
	}
	for s := range sigs {
		if s != syscall.SIGUSR2 {
			continue
		}
		if err := writeStats(*out + ".stats"); err != nil {
			fmt.Fprintln(os.Stderr, "goheap:", err)
			os.Exit(1)
		}
		fmt.Println("STATS")
	}
	runtime.KeepAlive(kept)
}
