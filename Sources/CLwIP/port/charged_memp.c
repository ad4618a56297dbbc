/*
 * lwIP's memp.c, compiled so that each pool allocation is charged to the
 * emulated heap at its ESP8266 size (the sizes the core's Xtensa build uses,
 * shared/reference/esp8266-core.md "Struct sizes"), not at the host's size.
 * memp.c itself is unchanged: mem_malloc is wrapped by a macro that records
 * the ESP8266 size of the pool `desc` before calling the real mem_malloc.
 */
#include "lwip/opt.h"
#include "lwip/mem.h"
#include "lwip/memp.h"
#include "port_private.h"

static uint32_t esp8266_pool_size(const struct memp_desc *desc);

#define mem_malloc(size) (clwip_next_charge = esp8266_pool_size(desc), mem_malloc(size))
#include "../upstream/core/memp.c"
#undef mem_malloc

/* ESP8266 (32-bit, LWIP_FEATURES=1) sizes of the pool elements. */
static uint32_t esp8266_pool_size(const struct memp_desc *desc) {
    for (int i = 0; i < MEMP_MAX; i++) {
        if (memp_pools[i] != desc) continue;
        switch ((memp_t)i) {
        case MEMP_TCP_PCB:        return 184;
        case MEMP_TCP_PCB_LISTEN: return 36;
        case MEMP_TCP_SEG:        return 16;
        case MEMP_UDP_PCB:        return 40;
        case MEMP_PBUF:           return 16;
        case MEMP_PBUF_POOL:      return TCP_MSS == 536 ? 644 : 1568;
        /* The rest are computed from the 32-bit layouts of lwIP 2.1.3's structs. */
#if LWIP_RAW
        case MEMP_RAW_PCB:        return 28;
#endif
#if IP_REASSEMBLY
        case MEMP_REASSDATA:      return 32;
#endif
#if IP_FRAG && !LWIP_NETIF_TX_SINGLE_PBUF && !IP_FRAG_USES_STATIC_BUF
        case MEMP_FRAG_PBUF:      return 24;
#endif
#if ARP_QUEUEING
        case MEMP_ARP_QUEUE:      return 8;
#endif
#if LWIP_IGMP
        case MEMP_IGMP_GROUP:     return 16;
#endif
        case MEMP_SYS_TIMEOUT:    return 16;
        default:                  return CLWIP_ESP_ALIGN(desc->size);
        }
    }
    return CLWIP_ESP_ALIGN(desc->size);
}
