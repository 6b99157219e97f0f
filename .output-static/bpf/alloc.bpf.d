.output-static/bpf/alloc.bpf.o: bpf/alloc.bpf.c vmlinux/x86/vmlinux.h \
  bpf/leaktrace.h bpf/common.bpf.h

vmlinux/x86/vmlinux.h:

bpf/leaktrace.h:

bpf/common.bpf.h:
