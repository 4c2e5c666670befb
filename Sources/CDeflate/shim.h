#ifndef CTD_CDEFLATE_SHIM_H
#define CTD_CDEFLATE_SHIM_H
// libdeflate imports as is; the shim only gives the module one header to point at.
#include <libdeflate.h>
#endif
