# benchmarks
include $(srcdir)/bench/state.mk
