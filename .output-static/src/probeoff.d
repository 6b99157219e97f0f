.output-static/src/probeoff.o: src/probeoff.c src/probeoff.h
src/probeoff.h:
