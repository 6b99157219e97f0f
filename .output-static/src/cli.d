.output-static/src/cli.o: src/cli.c src/opts.h src/version.h
src/opts.h:
src/version.h:
