# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# leaktrace build. `make V=1` shows full commands; `make STATIC=1` links statically.

OUTPUT ?= .output
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc
CXX ?= g++
PKG_CONFIG ?= pkg-config
ARCH ?= x86
prefix ?= /usr/local
DESTDIR ?=

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-9s %s\n' "$(1)" "$(2)";
endif

PKGS := libbpf libelf libdw zlib capstone libmicrohttpd
WARN := -Wall -Wextra -Wno-missing-field-initializers
ifeq ($(CI),true)
WARN += -Werror
endif
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=gnu11 -D_GNU_SOURCE $(CFLAGS) $(WARN) -I$(OUTPUT) -Isrc -Ibpf -Isampler -MMD -MP \
	$(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
ifeq ($(STATIC),1)
# libdw.a/libelf.a need liblzma, libbz2 and (elfutils >= 0.189) libzstd; an
# archive only adds what is used. libstdc++ gives __cxa_demangle.
# libmicrohttpd.a is linked without its TLS library: Debian's libgnutls.a
# needs libp11-kit, which Debian ships only as a .so. leaktrace never asks
# libmicrohttpd for TLS; src/static/notls.c defines the gnutls functions its
# archive refers to, each failing (see there).
STATIC_OBJS := $(OUTPUT)/src/static/notls.o
LIBS := -static $(shell $(PKG_CONFIG) --static --libs $(filter-out libmicrohttpd,$(PKGS)) 2>/dev/null) \
	-lmicrohttpd -llzma -lbz2 \
	$(if $(wildcard /usr/lib/*/libzstd.a /usr/lib/libzstd.a),-lzstd) -lstdc++ -lm -lpthread
else
STATIC_OBJS :=
LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lstdc++ -lm -lpthread
endif
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ivmlinux/$(ARCH) -Ibpf -Wall \
	-Wno-unused-function -MMD -MP

BPF_SRCS := $(wildcard bpf/*.bpf.c)
# common.bpf.o first: it defines the maps the others declare extern
BPF_OBJS := $(OUTPUT)/bpf/common.bpf.o $(filter-out %/common.bpf.o,$(patsubst bpf/%.bpf.c,$(OUTPUT)/bpf/%.bpf.o,$(BPF_SRCS)))
LIB_SRCS := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJS := $(patsubst src/%.c,$(OUTPUT)/src/%.o,$(LIB_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))

# Test targets: frame pointers, no builtins, no sibling calls, noinline helpers.
TGT_CFLAGS := -O2 -g -fno-omit-frame-pointer -fno-builtin -fno-optimize-sibling-calls
TGT_C := $(filter-out tests/targets/leaker_static.c,$(wildcard tests/targets/*.c))
TGT_CXX := $(wildcard tests/targets/*.cc)
TGT_BINS := $(patsubst %.c,%,$(TGT_C)) $(patsubst %.cc,%,$(TGT_CXX)) \
	tests/targets/leaker_static tests/targets/leaker_nopvalloc tests/targets/leaker_nofp \
	tests/targets/fdleak_nofp examples/demo

.DELETE_ON_ERROR:
.PHONY: all deps demo check test unit integration bench vmlinux install clean targets vmtest go-targets

all: leaktrace

deps:
	$(Q)scripts/install-deps.sh --if-missing

$(OUTPUT) $(OUTPUT)/bpf $(OUTPUT)/src $(OUTPUT)/tests:
	$(Q)mkdir -p $@

$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MF $(@:.o=.d) -c $< -o $@

$(OUTPUT)/leaktrace.bpf.o: $(BPF_OBJS)
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(OUTPUT)/leaktrace.skel.h: $(OUTPUT)/leaktrace.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name leaktrace_bpf > $@

# The in-process sampler (--inject): freestanding PIC text, no libc, no
# loader (sampler/), as a flat file embedded in leaktrace, which writes it
# to /run/leaktrace/ when it injects.
SMP_CFLAGS := -O2 -ffreestanding -fno-builtin -nostdlib -fPIE -fvisibility=hidden -fno-stack-protector \
	-fcf-protection=none -fno-omit-frame-pointer -fno-asynchronous-unwind-tables -fno-jump-tables \
	-mno-red-zone -Wall -Wextra -Isampler
$(OUTPUT)/sampler/%.o: sampler/%.c sampler/sampler_abi.h
	$(call msg,SAMPLER,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(SMP_CFLAGS) -c $< -o $@

$(OUTPUT)/sampler/%.o: sampler/%.S sampler/sampler_abi.h
	$(call msg,SAMPLER,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(SMP_CFLAGS) -c $< -o $@

$(OUTPUT)/sampler/sampler.elf: $(OUTPUT)/sampler/hooks.o $(OUTPUT)/sampler/sampler.o sampler/sampler.ld
	$(call msg,LD,$@)
	$(Q)ld -static -nostdlib -T sampler/sampler.ld $(filter %.o,$^) -o $@

$(OUTPUT)/sampler_blob.h: $(OUTPUT)/sampler/sampler.elf sampler/genblob.sh
	$(call msg,GEN,$@)
	$(Q)sampler/genblob.sh $< $(OUTPUT)/sampler/sampler.bin $@

$(OUTPUT)/src/inject_map.o $(OUTPUT)/src/inject.o $(OUTPUT)/src/inject_tracer.o: $(OUTPUT)/sampler_blob.h

$(OUTPUT)/src/%.o: src/%.c $(OUTPUT)/leaktrace.skel.h | $(OUTPUT)/src
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(OUTPUT)/src/static/%.o: src/static/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(ALL_CFLAGS) -c $< -o $@

$(OUTPUT)/libleaktrace.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# Relink when STATIC changes: $(OUTPUT)/link.mode holds the last link's mode.
LINK_MODE := $(if $(filter 1,$(STATIC)),static,dynamic)
$(OUTPUT)/link.mode: FORCE | $(OUTPUT)
	$(Q)[ "$$(cat $@ 2>/dev/null)" = $(LINK_MODE) ] || echo $(LINK_MODE) > $@

LEAKTRACE_BIN ?= leaktrace
$(LEAKTRACE_BIN): $(OUTPUT)/src/main.o $(OUTPUT)/libleaktrace.a $(STATIC_OBJS) $(OUTPUT)/link.mode
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $(filter-out %/link.mode,$^) $(LIBS) -o $@ 2> $(OUTPUT)/link.log \
		|| { cat $(OUTPUT)/link.log; exit 1; }
	$(Q)grep -v -i -e 'dlopen' -e 'statically linked' -e 'in function' $(OUTPUT)/link.log >&2 || true

# ./leaktrace-static: the static binary beside the dynamic one, from objects
# of its own in $(STATIC_OUTPUT), so that neither build clobbers the other.
# The static serve_fixture too: the static suite's test_serve.py runs it.
STATIC_OUTPUT ?= .output-static
ifneq ($(LEAKTRACE_BIN),leaktrace-static)
leaktrace-static: FORCE
	$(Q)$(MAKE) --no-print-directory STATIC=1 OUTPUT=$(STATIC_OUTPUT) \
		LEAKTRACE_BIN=leaktrace-static leaktrace-static $(STATIC_OUTPUT)/tests/serve_fixture
endif

FORCE:

$(OUTPUT)/tests/test.o: tests/unit/test.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit -c $< -o $@

$(OUTPUT)/tests/test_%: tests/unit/test_%.c $(OUTPUT)/tests/test.o $(OUTPUT)/libleaktrace.a $(STATIC_OBJS)
	$(call msg,TEST,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit $< $(OUTPUT)/tests/test.o $(OUTPUT)/libleaktrace.a \
		$(STATIC_OBJS) $(LIBS) -ldl -o $@

# A server of a fixed report for the real clients of tests/integration/test_serve.py
# (promtool, prometheus, go tool pprof). Not a test itself: no test_ prefix.
$(OUTPUT)/tests/serve_fixture: tests/unit/serve_fixture.c $(OUTPUT)/libleaktrace.a $(STATIC_OBJS) \
		| $(OUTPUT)/tests
	$(call msg,FIXTURE,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< $(OUTPUT)/libleaktrace.a $(STATIC_OBJS) $(LIBS) -o $@ \
		2> $(OUTPUT)/fixture-link.log || { cat $(OUTPUT)/fixture-link.log; exit 1; }
	$(Q)grep -v -i -e 'dlopen' -e 'statically linked' -e 'in function' $(OUTPUT)/fixture-link.log >&2 || true

tests/targets/%: tests/targets/%.c
	$(call msg,TARGET,$@)
	$(Q)$(CC) $(TGT_CFLAGS) -pthread $< -o $@

tests/targets/%: tests/targets/%.cc
	$(call msg,TARGET,$@)
	$(Q)$(CXX) $(TGT_CFLAGS) -pthread $< -o $@

tests/targets/leaker_static: tests/targets/leaker.c
	$(call msg,TARGET,$@)
	$(Q)$(CC) $(TGT_CFLAGS) -pthread -static $< -o $@

tests/targets/leaker_nopvalloc: tests/targets/leaker.c
	$(call msg,TARGET,$@)
	$(Q)$(CC) $(TGT_CFLAGS) -pthread -DNO_PVALLOC $< -o $@

# The -O2 build most binaries get: no frame pointers (stacks need .eh_frame).
tests/targets/leaker_nofp: tests/targets/leaker.c
	$(call msg,TARGET,$@)
	$(Q)$(CC) $(filter-out -fno-omit-frame-pointer,$(TGT_CFLAGS)) -fomit-frame-pointer -pthread $< -o $@

tests/targets/fdleak_nofp: tests/targets/fdleak.c
	$(call msg,TARGET,$@)
	$(Q)$(CC) $(filter-out -fno-omit-frame-pointer,$(TGT_CFLAGS)) -fomit-frame-pointer -pthread $< -o $@

examples/demo: examples/demo.c
	$(call msg,TARGET,$@)
	$(Q)$(CC) $(TGT_CFLAGS) $< -o $@

# Go test targets (tests/targets/go/<name>/main.go, Debian's Go 1.19), each
# as a plain, a -ldflags='-s -w' stripped and a -buildmode=pie build, in
# tests/targets/go/bin/. Skipped without a go toolchain (the Go tests then
# report skipped).
GO ?= go
GO_TGT := tests/targets/go
GO_NAMES := $(patsubst $(GO_TGT)/%/main.go,%,$(wildcard $(GO_TGT)/*/main.go))
GO_BINS := $(foreach n,$(GO_NAMES),$(GO_TGT)/bin/$(n) $(GO_TGT)/bin/$(n)_stripped $(GO_TGT)/bin/$(n)_pie)
GO_ENV := GOCACHE=$(abspath $(OUTPUT))/go/cache GOPATH=$(abspath $(OUTPUT))/go/path \
	GOFLAGS="-mod=mod -buildvcs=false" GOPROXY=off GO111MODULE=on GOTOOLCHAIN=local
HAVE_GO := $(shell command -v $(GO) 2>/dev/null)

$(GO_TGT)/bin/%_stripped: $(GO_TGT)/%/main.go $(GO_TGT)/go.mod
	$(call msg,GO,$@)
	$(Q)cd $(GO_TGT) && $(GO_ENV) $(GO) build -ldflags='-s -w' -o bin/$*_stripped ./$*

$(GO_TGT)/bin/%_pie: $(GO_TGT)/%/main.go $(GO_TGT)/go.mod
	$(call msg,GO,$@)
	$(Q)cd $(GO_TGT) && $(GO_ENV) $(GO) build -buildmode=pie -o bin/$*_pie ./$*

$(GO_TGT)/bin/%: $(GO_TGT)/%/main.go $(GO_TGT)/go.mod
	$(call msg,GO,$@)
	$(Q)cd $(GO_TGT) && $(GO_ENV) $(GO) build -o bin/$* ./$*

go-targets: $(if $(HAVE_GO),$(GO_BINS))

targets: $(TGT_BINS) go-targets

unit: $(UNIT_BINS) $(OUTPUT)/tests/serve_fixture

test: leaktrace unit targets
	$(Q)tests/run.sh

check: deps
	$(Q)$(MAKE) --no-print-directory all leaktrace-static unit targets
	$(Q)tests/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory leaktrace examples/demo
	$(Q)scripts/demo.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory leaktrace
	$(Q)bench/run.sh

# Boot Debian's 6.1 cloud kernel under qemu (TCG) and run tests/vm there.
vmtest: deps
	$(Q)$(MAKE) --no-print-directory leaktrace-static targets
	$(Q)tests/vm/run.sh

vmlinux:
	$(call msg,GEN,vmlinux/$(ARCH)/vmlinux.h)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h

install: leaktrace
	install -D -m 0755 leaktrace $(DESTDIR)$(prefix)/sbin/leaktrace
	install -D -m 0644 leaktrace.8 $(DESTDIR)$(prefix)/share/man/man8/leaktrace.8

clean:
	$(call msg,CLEAN,)
	$(Q)rm -rf $(OUTPUT) $(STATIC_OUTPUT) leaktrace leaktrace-static $(TGT_BINS) $(GO_TGT)/bin

# ---- fuzzing (not part of `make check`) ----------------------------------
# `make fuzz [FUZZ_SECONDS=60]`: libFuzzer harnesses of tests/fuzz/ built with
# clang -fsanitize=fuzzer,address,undefined into $(OUTPUT)/fuzz, each run for
# FUZZ_SECONDS from tests/fuzz/corpus/<name>/ (read only; new inputs go to
# $(OUTPUT)/fuzz/corpus/<name>/, crashes to $(OUTPUT)/fuzz/crashes/<name>/).
# Copy a crash to tests/fuzz/corpus/<name>/: test_fuzz_regress replays it.
FUZZ_SECONDS ?= 60
FUZZ_OUT := $(OUTPUT)/fuzz
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -std=gnu11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
	-Isrc -Ibpf -Itests/fuzz $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
# the parsers and writers the harnesses reach (pure modules: no libbpf)
FUZZ_UNITS := procmaps elfsym elftab elfplt pprof sink output report view_mem view_threads view_timers util log \
	gobin gopcln godata golayout goproc gosnap gotimers goheap procfd
FUZZ_LIB_OBJS := $(patsubst %,$(FUZZ_OUT)/obj/%.o,$(FUZZ_UNITS))
.PHONY: fuzz fuzz-build

FUZZ_HDRS := $(wildcard src/*.h bpf/leaktrace.h tests/fuzz/*.h)

$(FUZZ_OUT)/obj/%.o: src/%.c $(FUZZ_HDRS)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D) && $(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_OUT)/libfuzzlt.a: $(FUZZ_LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_HDRS) $(FUZZ_OUT)/libfuzzlt.a
	$(call msg,FUZZER,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_OUT)/libfuzzlt.a $(LIBS) -o $@

fuzz-build: $(patsubst %,$(FUZZ_OUT)/fuzz_%,$(FUZZ_NAMES))

fuzz: fuzz-build
	$(Q)for n in $(FUZZ_NAMES); do \
		mkdir -p $(FUZZ_OUT)/corpus/$$n $(FUZZ_OUT)/crashes/$$n tests/fuzz/corpus/$$n; \
		echo "  FUZZ      $$n, $(FUZZ_SECONDS) s"; \
		$(FUZZ_OUT)/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_OUT)/crashes/$$n/ $(FUZZ_OUT)/corpus/$$n tests/fuzz/corpus/$$n \
			> $(FUZZ_OUT)/$$n.log 2>&1 || { tail -n 40 $(FUZZ_OUT)/$$n.log; \
			echo "fuzz_$$n: crash saved in $(FUZZ_OUT)/crashes/$$n/"; exit 1; }; \
		grep -E '^stat::number_of_executed_units|^Done' $(FUZZ_OUT)/$$n.log | tr '\n' ' '; echo; \
	done

# The unit test that replays tests/fuzz/corpus/ (in `make check`): the
# harness sources included, the parsers and writers compiled in with ASan and
# UBSan, so that a crash found by `make fuzz` and fixed stays fixed.
FUZZ_REGRESS_SRCS := $(patsubst %,src/%.c,$(FUZZ_UNITS))
$(OUTPUT)/tests/test_fuzz_regress: tests/unit/test_fuzz_regress.c $(OUTPUT)/tests/test.o \
		$(FUZZ_REGRESS_SRCS) $(wildcard tests/fuzz/*.c) $(FUZZ_HDRS) | $(OUTPUT)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(filter-out -MMD -MP,$(ALL_CFLAGS)) -fsanitize=address,undefined \
		-fno-sanitize-recover=all -Itests/unit -Itests/fuzz $< $(OUTPUT)/tests/test.o \
		$(FUZZ_REGRESS_SRCS) $(LIBS) -o $@

-include $(wildcard $(OUTPUT)/bpf/*.d $(OUTPUT)/src/*.d $(OUTPUT)/src/static/*.d)
