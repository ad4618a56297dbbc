/* Shared between port.c and the charged_* wrappers; not visible to Swift. */
#ifndef ESPLUA_PORT_PRIVATE_H
#define ESPLUA_PORT_PRIVATE_H
#include <stdint.h>
/** The ESP8266 size of the next mem_malloc, set right before it (0 = use the host size). */
extern uint32_t clwip_next_charge;
#define CLWIP_ESP_ALIGN(n) (((uint32_t)(n) + 3u) & ~3u)   /* ESP8266 MEM_ALIGNMENT is 4 */
#endif
