.output-static/src/plan.o: src/plan.c src/elfsym.h src/opts.h src/plan.h \
 bpf/leaktrace.h src/probeoff.h src/procmaps.h src/util.h
src/elfsym.h:
src/opts.h:
src/plan.h:
bpf/leaktrace.h:
src/probeoff.h:
src/procmaps.h:
src/util.h:
