.output-static/src/sink.o: src/sink.c src/pprof.h src/report.h \
 bpf/leaktrace.h src/opts.h src/sink.h
src/pprof.h:
src/report.h:
bpf/leaktrace.h:
src/opts.h:
src/sink.h:
