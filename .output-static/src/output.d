.output-static/src/output.o: src/output.c src/report.h bpf/leaktrace.h \
 src/opts.h
src/report.h:
bpf/leaktrace.h:
src/opts.h:
