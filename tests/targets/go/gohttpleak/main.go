// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

// gohttpleak: the Go incident of a response body never closed. An
// in-process HTTP server (net/http on 127.0.0.1, keep-alive) and a client
// that makes N requests and keeps every response without closing its
// body: each request pins a client connection (a socket dialed in a
// goroutine net/http starts inside Client.Get, plus its readLoop and
// writeLoop goroutines) and a server connection (an accepted socket and
// its conn.serve goroutine).
//
//	gohttpleak [-n N]
//
// Prints "READY <pid>", waits for SIGUSR1, makes the N requests from
// fetchAll (LINE:get), prints "DONE", then waits (SIGTERM ends it).
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

var kept []*http.Response

//go:noinline
func fetchAll(url string, n int) error {
	for i := 0; i < n; i++ {
		resp, err := http.Get(url) // LINE:get
		if err != nil {
			return err
		}
		kept = append(kept, resp) // the body is never closed
	}
	return nil
}

func main() {
	n := flag.Int("n", 10, "requests whose bodies are never closed")
	flag.Parse()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "gohttpleak:", err)
		os.Exit(1)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello\n")
	}))
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1)
	fmt.Printf("READY %d\n", os.Getpid())
	<-sigs
	if err := fetchAll("http://"+ln.Addr().String()+"/", *n); err != nil {
		fmt.Fprintln(os.Stderr, "gohttpleak:", err)
		os.Exit(1)
	}
	fmt.Println("DONE")
	select {}
}
