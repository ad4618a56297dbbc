/*
 * esplua's lwIP configuration: the options of the ESP8266 Arduino core's lwip2
 * build ("v2 Lower Memory", the IDE default: TCP_MSS=536, LWIP_FEATURES=1,
 * LWIP_IPV6=0), as listed in shared/reference/esp8266-core.md section 1.
 * Where the host forces a difference it is said next to the option.
 */
#ifndef ESPLUA_LWIPOPTS_H
#define ESPLUA_LWIPOPTS_H

#include <stddef.h>
#include <stdint.h>

/* ---- system ---- */
#define NO_SYS                      1
#define LWIP_SOCKET                 0
#define LWIP_NETCONN                0
#define LWIP_CALLBACK_API           1
#define SYS_LIGHTWEIGHT_PROT        0
#define LWIP_TIMERS                 1
#ifndef ESPLUA_LWIP_ASSERT
#define LWIP_NOASSERT               1   /* the core compiles LWIP_ASSERT out too */
#endif                                  /* (make fuzz turns the assertions on) */

/* ---- memory: every allocation goes to the emulated ESP8266 heap ---- */
#define MEM_LIBC_MALLOC             1
#define MEMP_MEM_MALLOC             1
/* Host pointers are 8 bytes; the ESP8266 uses 4. Charges to the emulated heap
   are computed at ESP8266 sizes and alignment (see port/charged_*.c). */
#define MEM_ALIGNMENT               8
#define MEM_SIZE                    1600
void *clwip_heap_malloc(size_t size);
void  clwip_heap_free(void *ptr);
void *clwip_heap_calloc(size_t count, size_t size);
#define mem_clib_malloc             clwip_heap_malloc
#define mem_clib_free               clwip_heap_free
#define mem_clib_calloc             clwip_heap_calloc

/* Pool counts are not limits with MEMP_MEM_MALLOC (only the heap bounds them). */
#define MEMP_NUM_TCP_PCB            5
#define MEMP_NUM_TCP_PCB_LISTEN     2
#define MEMP_NUM_TCP_SEG            10
#define MEMP_NUM_UDP_PCB            4
#define MEMP_NUM_PBUF               10
#define PBUF_POOL_SIZE              10
/* Enforced by esplua's port (clwip_enforce_timewait_limit), as the core's
   time-wait patch does; the limit is settable at run time. */
#define MEMP_NUM_TCP_PCB_TIME_WAIT  5

/* ---- protocols ---- */
#define LWIP_ARP                    1
#define ARP_TABLE_SIZE              10
#define ARP_QUEUEING                1
#define LWIP_ETHERNET               1
#define LWIP_IPV4                   1
#define LWIP_IPV6                   0
#define LWIP_ICMP                   1
#define LWIP_RAW                    1
#define LWIP_DHCP                   1
#define LWIP_IGMP                   1
#define LWIP_DNS                    1
#define DNS_TABLE_SIZE              3
#define DNS_MAX_SERVERS             2
#define DNS_MAX_NAME_LENGTH         128
#define LWIP_UDP                    1
#define LWIP_TCP                    1
#define IP_REASSEMBLY               1
#define IP_FRAG                     1
#define IP_FORWARD                  0   /* core: LWIP_FEATURES (used only for NAPT) */
#define SO_REUSE                    1
#define LWIP_NETIF_STATUS_CALLBACK  1
#define LWIP_NETIF_LINK_CALLBACK    1
#define LWIP_NETIF_HOSTNAME         1
#define LWIP_NETIF_TX_SINGLE_PBUF   1
#define LWIP_ALTCP                  0
#define LWIP_STATS                  0

/* ---- TCP: the numbers that make an ESP8266 an ESP8266 ---- */
#ifndef TCP_MSS
#define TCP_MSS                     536
/* ---- SNTP: the core's options (tools/sdk/lwip2/include/lwipopts.h:3618-3653) ---- */
/* A received time goes to the board's time of day (the core's settimeofday with
   its 0xFeedC0de marker, time.cpp:278-305); the update and startup delays are
   the core's weak functions' values (1 hour, 0 ms: NTP-TZ-DST.ino:71-87), both
   settable by the board (port/sntp_glue.c). */
#define SNTP_SERVER_DNS             1
#define SNTP_MAX_SERVERS            3
void clwip_sntp_set_system_time(uint32_t sec, uint32_t us);
uint32_t clwip_sntp_update_delay(void);
uint32_t clwip_sntp_startup_delay(void);
#define SNTP_SET_SYSTEM_TIME_US(t, us) clwip_sntp_set_system_time((uint32_t)(t), (uint32_t)(us))
#define SNTP_SUPPRESS_DELAY_CHECK   1
#define SNTP_UPDATE_DELAY           clwip_sntp_update_delay()
#define SNTP_STARTUP_DELAY          1
#define SNTP_STARTUP_DELAY_FUNC     clwip_sntp_startup_delay()
/* The core's LWIP_DHCP_GET_NTP_SRV is 1 (lwipopts.h:957): DHCP asks for option 42.
   esplua keeps it 0 for now (slirp's DHCP offers no NTP server; the wire of the
   DHCP lesson stays as recorded), so servers come from configTime only. */

#endif
#define TCP_WND                     (4 * TCP_MSS)
#define TCP_SND_BUF                 (2 * TCP_MSS)
#define TCP_SND_QUEUELEN            ((4 * (TCP_SND_BUF) + (TCP_MSS - 1)) / (TCP_MSS))
#define TCP_SNDQUEUELOWAT           LWIP_MAX(((TCP_SND_QUEUELEN) / 2), 5)
#define TCP_OVERSIZE                TCP_MSS
#define TCP_WND_UPDATE_THRESHOLD    LWIP_MIN((TCP_WND / 4), (TCP_MSS * 4))
#define LWIP_WND_SCALE              0
#define TCP_RCV_SCALE               0
#define TCP_MAXRTX                  12
#define TCP_SYNMAXRTX               6
#define TCP_TTL                     255
#define IP_DEFAULT_TTL              255
#define LWIP_TCP_SACK_OUT           1
#define LWIP_TCP_MAX_SACK_NUM       2
#define TCP_QUEUE_OOSEQ             1
#define TCP_OOSEQ_MAX_BYTES         TCP_MSS
#define TCP_OOSEQ_MAX_PBUFS         1
#define TCP_LISTEN_BACKLOG          1
#define TCP_DEFAULT_LISTEN_BACKLOG  0xff
#define LWIP_TCP_KEEPALIVE          1
#define LWIP_TCP_TIMESTAMPS         0
#define TCP_CALCULATE_EFF_SEND_MSS  1
/* TCP_MSL stays lwIP's 60000 ms: TIME_WAIT lasts 2*MSL = 120 s, as on the board. */

/* ---- determinism: ISNs and ephemeral ports come from a seeded generator ---- */
uint32_t clwip_rand(void);
#define LWIP_RAND()                 clwip_rand()

#endif
