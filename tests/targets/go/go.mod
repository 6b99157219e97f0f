module leaktrace/targets

go 1.19
