.output-static/src/umulti.o: src/umulti.c src/umulti.h
src/umulti.h:
