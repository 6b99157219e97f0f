// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

// goparked: N goroutines (default 100,000) parked on one channel, for the
// snapshot-time measurement. Prints "READY <pid>" once all are parked,
// then blocks until SIGTERM.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

var block = make(chan struct{})

//go:noinline
func park() {
	go func() { // LINE:park-go
		<-block
	}()
}

func main() {
	n := flag.Int("n", 100000, "goroutines to park")
	flag.Parse()
	for i := 0; i < *n; i++ {
		park()
	}
	for runtime.NumGoroutine() < *n+1 {
		time.Sleep(time.Millisecond)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	fmt.Printf("READY %d\n", os.Getpid())
	<-sigs
}
