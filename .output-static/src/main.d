.output-static/src/main.o: src/main.c src/opts.h src/plan.h \
 bpf/leaktrace.h src/probeoff.h src/report.h src/sink.h src/tracer.h \
 src/util.h
src/opts.h:
src/plan.h:
bpf/leaktrace.h:
src/probeoff.h:
src/report.h:
src/sink.h:
src/tracer.h:
src/util.h:
