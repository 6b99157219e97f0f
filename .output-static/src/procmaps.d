.output-static/src/procmaps.o: src/procmaps.c src/procmaps.h
src/procmaps.h:
