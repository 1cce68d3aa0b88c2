// The process allocates through jemalloc: importing its module links the library (autolink), and the dynamic
// linker then resolves `malloc` and `free` to it instead of glibc's, whose arena locks and consolidation cost
// a busy server about a fifth of its cycles (docs/benchmarks.md). To see it in use:
// `MALLOC_CONF=stats_print:true meridian --version` prints jemalloc's statistics at exit.
import CJemalloc
