# tests/local.mk — Check test programs run by `make check`.
