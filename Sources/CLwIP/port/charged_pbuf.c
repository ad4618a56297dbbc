/*
 * lwIP's pbuf.c, compiled so that a PBUF_RAM allocation is charged at the
 * ESP8266 size: a 16-byte struct pbuf plus the 4-aligned header room and
 * payload. pbuf.c itself is unchanged; `offset` and `length` are pbuf_alloc's
 * own locals at its only mem_malloc call.
 */
#include "lwip/opt.h"
#include "lwip/mem.h"
#include "lwip/pbuf.h"
#include "port_private.h"

#define mem_malloc(size) \
    (clwip_next_charge = 16u + CLWIP_ESP_ALIGN(offset) + CLWIP_ESP_ALIGN(length), mem_malloc(size))
#include "../upstream/core/pbuf.c"
#undef mem_malloc
