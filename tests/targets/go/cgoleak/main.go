// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

// cgoleak: a program that mixes Go and C (cgo), for leaktrace's malloc
// tracker and Go views together. After SIGUSR1 it leaks, per tick, 1000
// bytes with C's malloc from leak_c (never freed) and one goroutine
// blocked on a channel (leakGo), frees balanced C blocks, then prints
// DONE.
//
//	cgoleak [-ticks N]
package main

/*
#cgo CFLAGS: -O2 -g -fno-omit-frame-pointer
#include <stdlib.h>
#include <string.h>

void *volatile kept[1024];	// not static, volatile: the blocks stay reachable
int nkept;

__attribute__((noinline)) void leak_c(void)
{
	void *p = malloc(1000); // LINE:leak-c
	memset(p, 1, 1000);
	if (nkept < 1024)
		kept[nkept++] = p;
}

__attribute__((noinline)) void balanced_c(void)
{
	void *p = malloc(777);
	memset(p, 2, 777);
	free(p);
}
*/
import "C"

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

var block = make(chan struct{})

//go:noinline
func leakGo() {
	go func() { // LINE:cgo-leak-go
		<-block
	}()
}

func main() {
	ticks := flag.Int("ticks", 20, "ticks to run after SIGUSR1")
	flag.Parse()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1)
	fmt.Printf("READY %d\n", os.Getpid())
	<-sigs
	for i := 0; i < *ticks; i++ {
		C.leak_c()
		C.balanced_c()
		leakGo()
	}
	fmt.Println("DONE")
	select {}
}
