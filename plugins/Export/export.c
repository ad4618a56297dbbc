/* The ABI symbol every SwiftPM-built plugin exports (Swift cannot export a C data symbol). */
#include "esplua_plugin.h"

__attribute__((visibility("default"))) const uint32_t esplua_plugin_abi = ESPLUA_PLUGIN_ABI;
