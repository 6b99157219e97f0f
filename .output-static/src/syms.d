.output-static/src/syms.o: src/syms.c src/procmaps.h src/syms.h
src/procmaps.h:
src/syms.h:
