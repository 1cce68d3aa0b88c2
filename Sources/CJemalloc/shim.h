#ifndef MERIDIAN_CJEMALLOC_SHIM_H
#define MERIDIAN_CJEMALLOC_SHIM_H
#include <jemalloc/jemalloc.h>
#endif
