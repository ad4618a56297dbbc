/* The ABI esplua was built with (the header is the contract; this is its one symbol). */
#include "esplua_plugin.h"

uint32_t esplua_host_abi(void) { return ESPLUA_PLUGIN_ABI; }
