# bench/server.mk — fickled against redis-server under redis-benchmark (make bench-server).
