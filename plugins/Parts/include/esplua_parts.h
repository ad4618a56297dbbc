/* The Parts plugin (libesplua-parts.so): classroom parts for the pins, the ADC and
   the UART, written against esplua_plugin.h 1.2. Nothing to include: it exports
   only the plugin's four symbols. */
#ifndef ESPLUA_PARTS_H
#define ESPLUA_PARTS_H
#include "esplua_plugin.h"
#endif
