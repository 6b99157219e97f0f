// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

// gospawn: the cost of a goroutine creation, for make bench (--go-ancestry
// puts two entry probes on that path). Prints "READY <pid>", waits for
// SIGUSR1, then starts N goroutines that each end at once (in batches of
// 1000, waited for), and prints "NS <nanoseconds per goroutine>".
//
//	gospawn [-n N]
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

//go:noinline
func spawn(wg *sync.WaitGroup) {
	go func() {
		wg.Done()
	}()
}

func main() {
	n := flag.Int("n", 200000, "goroutines")
	flag.Parse()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1)
	fmt.Printf("READY %d\n", os.Getpid())
	<-sigs
	var wg sync.WaitGroup
	start := time.Now()
	for done := 0; done < *n; done += 1000 {
		wg.Add(1000)
		for i := 0; i < 1000; i++ {
			spawn(&wg)
		}
		wg.Wait()
	}
	fmt.Printf("NS %.1f\n", float64(time.Since(start).Nanoseconds())/float64(*n))
}
