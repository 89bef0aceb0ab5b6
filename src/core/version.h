#ifndef LX_CORE_VERSION_H
#define LX_CORE_VERSION_H
#define LX_VERSION "0.1.0"
#endif
