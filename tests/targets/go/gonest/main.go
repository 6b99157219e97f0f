// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

// gonest: goroutines started by goroutines, for --go-ancestry. After
// SIGUSR1, N times: spawner starts a worker goroutine, which starts a leaf
// goroutine that blocks forever; the worker then ends. The leaves' own
// creation PC is in worker; their whole ancestry goes worker <- spawner <-
// main.main. Each leaf also starts a time.Ticker it never stops, so that the
// ticker's creation stack continues through the same ancestry. Prints DONE
// once every leaf is blocked.
//
//	gonest [-n N]
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

var block = make(chan struct{})

// NestTickerPeriod is distinctive so that tests can recognise the leaves' tickers.
const NestTickerPeriod = 5*time.Hour + 3*time.Millisecond

var tickers = make(chan *time.Ticker, 1<<16)

//go:noinline
func leaf(wg *sync.WaitGroup) {
	tickers <- time.NewTicker(NestTickerPeriod) // LINE:nest-ticker
	wg.Done()
	<-block // LINE:nest-block
}

//go:noinline
func worker(wg *sync.WaitGroup) {
	go leaf(wg) // LINE:nest-leaf-go
}

//go:noinline
func spawner(wg *sync.WaitGroup) {
	go worker(wg) // LINE:nest-worker-go
}

func main() {
	n := flag.Int("n", 12, "leaves")
	flag.Parse()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1)
	fmt.Printf("READY %d\n", os.Getpid())
	<-sigs
	var wg sync.WaitGroup
	for i := 0; i < *n; i++ {
		wg.Add(1)
		spawner(&wg) // LINE:nest-spawner-call
	}
	wg.Wait()
	fmt.Println("DONE")
	select {}
}
