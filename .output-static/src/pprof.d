.output-static/src/pprof.o: src/pprof.c src/pprof.h src/report.h \
 bpf/leaktrace.h src/opts.h src/sink.h src/version.h
src/pprof.h:
src/report.h:
bpf/leaktrace.h:
src/opts.h:
src/sink.h:
src/version.h:
