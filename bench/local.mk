# bench/local.mk — benchmarks (built by `make bench`, never run by `make check`).
