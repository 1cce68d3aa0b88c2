#ifndef MERIDIAN_CSQLITE_SHIM_H
#define MERIDIAN_CSQLITE_SHIM_H
#include <sqlite3.h>
#endif
