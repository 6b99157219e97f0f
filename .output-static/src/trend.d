.output-static/src/trend.o: src/trend.c src/trend.h src/report.h \
 bpf/leaktrace.h src/opts.h
src/trend.h:
src/report.h:
bpf/leaktrace.h:
src/opts.h:
