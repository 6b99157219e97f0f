// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

// gonoprof: a program that never references runtime.MemProfile (no
// runtime/pprof, no testing), so the linker sets
// runtime.disableMemoryProfiling, runtime.MemProfileRate is 0 and no
// allocation is ever sampled; for the opt-in rate write of leaktrace's Go
// heap reader (tests/unit/test_goheap.c).
//
// Protocol: prints "READY <pid>", waits for SIGUSR1, keeps 25 objects of
// 64 KiB from before (LINE:before), prints "BEFORE"; waits for SIGUSR1
// again, keeps 25 objects of 64 KiB from after (LINE:after), runs
// runtime.GC() twice and prints "AFTER". SIGTERM ends it.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

var kept [][]byte

//go:noinline
func before() {
	for i := 0; i < 25; i++ {
		kept = append(kept, make([]byte, 64<<10)) // LINE:before
	}
}

//go:noinline
func after() {
	for i := 0; i < 25; i++ {
		kept = append(kept, make([]byte, 64<<10)) // LINE:after
	}
}

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR1)
	fmt.Printf("READY %d\n", os.Getpid())
	<-sigs
	before()
	runtime.GC()
	fmt.Println("BEFORE")
	<-sigs
	after()
	runtime.GC()
	runtime.GC()
	fmt.Println("AFTER")
	for range sigs {
	}
}
