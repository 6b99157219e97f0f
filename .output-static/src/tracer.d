.output-static/src/tracer.o: src/tracer.c .output-static/leaktrace.skel.h \
 src/elfsym.h src/syms.h src/tracer.h src/opts.h src/plan.h \
 bpf/leaktrace.h src/probeoff.h src/report.h src/trend.h src/umulti.h \
 src/util.h
.output-static/leaktrace.skel.h:
src/elfsym.h:
src/syms.h:
src/tracer.h:
src/opts.h:
src/plan.h:
bpf/leaktrace.h:
src/probeoff.h:
src/report.h:
src/trend.h:
src/umulti.h:
src/util.h:
