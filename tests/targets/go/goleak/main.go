// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

// goleak: goroutine and ticker leaks with exactly known counts, for
// leaktrace's Go runtime reader (tests/unit/test_goproc.c).
//
// Per tick: one goroutine leaked blocked on a channel receive (leakOne),
// one time.Ticker never stopped (leakTicker), one time.AfterFunc due in
// 5 hours (leakAfterFunc), BALANCED goroutines started
// and finished and BALANCED tickers created and stopped.
//
//	goleak [-ticks N] [-churn] [-out FILE]
//
// Protocol: prints "READY <pid>", waits for SIGUSR1, runs N ticks, waits
// for the balanced goroutines to end, prints "DONE". Every SIGUSR2 then
// writes FILE (runtime.NumGoroutine(), then the goroutine profile at
// debug=1 and at debug=2, all taken while nothing else changes) and
// prints "DUMPED". -churn starts 10,000 short goroutines a second beside
// the leaks (from churnLoop) once the ticks are done. Lines the tests
// look for carry a "// LINE:name" marker.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"
)

const balanced = 3

// TickerPeriod is distinctive so that tests can recognise the leaked tickers.
const TickerPeriod = 3*time.Hour + 7*time.Millisecond

var (
	block   = make(chan struct{})
	tickers []*time.Ticker
	sink    int
)

//go:noinline
func leakOne() {
	go func() { // LINE:leak-go
		<-block // LINE:leak-block
	}()
}

//go:noinline
func leakTicker() {
	t := time.NewTicker(TickerPeriod) // LINE:leak-ticker
	tickers = append(tickers, t)
}

//go:noinline
func leakAfterFunc() {
	time.AfterFunc(5*time.Hour, func() { // LINE:leak-afterfunc
		sink++
	})
}

//go:noinline
func balancedWork(wg *sync.WaitGroup) {
	for i := 0; i < balanced; i++ {
		wg.Add(1)
		go func(i int) { // LINE:balanced-go
			sink += i
			wg.Done()
		}(i)
		t := time.NewTicker(time.Hour) // LINE:balanced-ticker
		t.Stop() // LINE:balanced-stop
	}
}

//go:noinline
func churnOne() {
	go func() { // LINE:churn-go
		time.Sleep(2 * time.Millisecond)
	}()
}

// churnLoop: 10 goroutines every millisecond, each ending 2 ms later.
func churnLoop() {
	for {
		for i := 0; i < 10; i++ {
			churnOne()
		}
		time.Sleep(time.Millisecond)
	}
}

func dump(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "numgoroutine %d\n", runtime.NumGoroutine())
	if err := pprof.Lookup("goroutine").WriteTo(w, 1); err != nil {
		return err
	}
	fmt.Fprintf(w, "==== debug=2\n")
	if err := pprof.Lookup("goroutine").WriteTo(w, 2); err != nil {
		return err
	}
	return w.Flush()
}

func main() {
	ticks := flag.Int("ticks", 30, "ticks to run after SIGUSR1")
	churn := flag.Bool("churn", false, "10,000 short goroutines a second")
	out := flag.String("out", "goleak.dump", "file written at SIGUSR2")
	flag.Parse()

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2)
	fmt.Printf("READY %d\n", os.Getpid())
	for s := <-sigs; s != syscall.SIGUSR1; s = <-sigs {
	}
	var wg sync.WaitGroup
	for i := 0; i < *ticks; i++ {
		leakOne()
		leakTicker()
		leakAfterFunc()
		balancedWork(&wg)
	}
	wg.Wait()
	if *churn {
		go churnLoop()
	}
	fmt.Println("DONE")
	for s := range sigs {
		if s != syscall.SIGUSR2 {
			continue
		}
		if err := dump(*out); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			os.Exit(1)
		}
		fmt.Println("DUMPED")
	}
}
