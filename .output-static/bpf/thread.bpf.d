.output-static/bpf/thread.bpf.o: bpf/thread.bpf.c vmlinux/x86/vmlinux.h \
  bpf/leaktrace.h bpf/common.bpf.h

vmlinux/x86/vmlinux.h:

bpf/leaktrace.h:

bpf/common.bpf.h:
