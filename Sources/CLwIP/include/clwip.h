/*
 * clwip.h - the one header Swift imports for lwIP.
 *
 * It pulls in the lwIP raw API (compiled from Debian's lwip source package with
 * esplua's lwipopts.h) and declares esplua's port layer: the board hooks
 * (clock, emulated heap, frame output), the ESP8266 core's TIME_WAIT limit,
 * and static-inline versions of lwIP macros Swift cannot import.
 * Everything here is single-threaded: call it from the device's thread only.
 */
#ifndef ESPLUA_CLWIP_H
#define ESPLUA_CLWIP_H

#include "lwip/opt.h"
#include "lwip/init.h"
#include "lwip/err.h"
#include "lwip/pbuf.h"
#include "lwip/netif.h"
#include "lwip/ip_addr.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"
#include "lwip/dns.h"
#include "lwip/dhcp.h"
#include "lwip/apps/sntp.h"
#include "lwip/igmp.h"
#include "lwip/etharp.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"
#include "lwip/priv/tcp_priv.h"

#include <stdint.h>
#include <stddef.h>

/* ---- board hooks ---------------------------------------------------------- */

/** What the port needs from the board. Set once with clwip_set_hooks. */
typedef struct clwip_hooks {
    void *ctx;
    /** The board clock in milliseconds (lwIP's sys_now). */
    uint32_t (*now_ms)(void *ctx);
    /** Charge `esp_bytes` (the ESP8266 request size) to the emulated heap.
        Returns a handle >= 0, or -1 when the heap cannot satisfy it. */
    int32_t (*heap_alloc)(void *ctx, uint32_t esp_bytes);
    /** Give back a charge made by heap_alloc. */
    void (*heap_free)(void *ctx, int32_t handle);
    /** A frame leaves the device. Must not re-enter lwIP. */
    void (*link_output)(void *ctx, const uint8_t *frame, uint16_t len);
    /** A frame leaves the soft-AP interface (NULL: it reaches no one, counted).
        Must not re-enter lwIP. */
    void (*ap_output)(void *ctx, const uint8_t *frame, uint16_t len);
} clwip_hooks;

void clwip_set_hooks(const clwip_hooks *hooks);
/** Seeds LWIP_RAND (initial sequence numbers, ephemeral ports, DHCP xid). */
void clwip_seed(uint32_t seed);

/** Live lwIP allocations (count and ESP8266 bytes requested), for leak checks. */
uint32_t clwip_live_allocations(void);
uint32_t clwip_live_bytes(void);
/** Charges every live lwIP allocation to the board whose hooks are set now
    (a new board in the same process takes over lwIP's standing allocations). */
void clwip_recharge_all(void);

/* ---- netif -------------------------------------------------------------------- */

/** Adds an Ethernet-like netif (the ESP8266 station interface) with `mac`,
    address 0.0.0.0, whose frames go to hooks.link_output. */
err_t clwip_netif_add(struct netif *nif, const uint8_t mac[6], const char name[2]);
/** Adds the soft-AP netif ("ap") with a static address (network byte order), up.
    Its frames are counted (clwip_ap_frames) and go to hooks.ap_output (a lab's
    soft-AP cell), or nowhere without it. */
err_t clwip_netif_add_ap(struct netif *nif, const uint8_t mac[6], uint32_t ip, uint32_t mask);
uint32_t clwip_ap_frames(void);
void clwip_netif_remove(struct netif *nif);
/** Feeds one received Ethernet frame to lwIP, copied into a PBUF_RAM pbuf
    charged to the heap as the core's glue does; dropped if the heap is full.
    Then enforces the TIME_WAIT limit. Returns 0 if delivered, -1 if dropped. */
int clwip_netif_input(struct netif *nif, const uint8_t *frame, uint16_t len);

/* ---- TIME_WAIT, as in the ESP8266 core's lwip2 ------------------------------ */

/** The most TIME_WAIT pcbs kept (core 3.x: 5); 0 means unlimited. */
void clwip_set_timewait_limit(uint32_t limit);
uint32_t clwip_timewait_limit(void);
/** Frees the oldest TIME_WAIT pcb without RST (the core's exported
    tcp_kill_timewait). Returns 1 if one was freed. */
int clwip_kill_timewait(void);
/** Frees every TIME_WAIT pcb (the core FAQ's tcpCleanup). Returns how many. */
int clwip_tcp_cleanup(void);
void clwip_enforce_timewait_limit(void);

/* ---- timers ------------------------------------------------------------------- */

/** Milliseconds until the next lwIP timeout that has work to do (0: due now;
    UINT32_MAX: none): sys_timeouts_sleeptime() without the ticks of igmp_tmr
    (100 ms) and dhcp_fine_tmr (500 ms) while no IGMP report and no DHCP request
    is pending on any netif, when those ticks change nothing, and with the TCP
    timer's ticks up to the first at which a TIME_WAIT pcb can leave while no pcb
    is active (port/timers.c). */
uint32_t clwip_timeouts_sleeptime(void);
/** First in a pass, before anything reaches lwIP: the TCP timer's ticks that came
    due while no pcb was active run (tcp_tmr() once each, on their grid); the idle
    cyclic timers that came due move on to their next tick on their own grid
    (boot + k x interval), as if their no-op ticks had run. */
void clwip_skip_idle_ticks(void);
/** 1 (the default): the above; 0: every lwIP timer wakes the board at each of its
    ticks, as lwIP schedules them (for tests that compare the two). */
void clwip_set_sleep_through_idle_ticks(int on);
int clwip_sleep_through_idle_ticks(void);
/** A new board in this process: lwIP's cyclic timers start one interval from now
    (as lwip_init places them), the TCP timer off and its tick phase at zero when
    no pcb is left; other timeouts move with the clock (sys_restart_timeouts). */
void clwip_timers_boot(void);
/** tcp.c's tick phase (tcp_timer, tcp_timer_ctr) as at boot (port/tcp_unit.c). */
void clwip_tcp_boot_ticks(void);

/* ---- connection table ------------------------------------------------------- */

typedef struct clwip_pcb_info {
    const void *pcb;
    uint8_t state;           /* enum tcp_state */
    uint8_t prio;
    uint32_t local_ip;       /* network byte order */
    uint16_t local_port;
    uint32_t remote_ip;      /* network byte order */
    uint16_t remote_port;
    uint32_t unacked;        /* bytes sent and not yet acknowledged */
    uint32_t unsent;         /* bytes queued, not yet sent */
    uint32_t unread;         /* bytes received, not yet tcp_recved (TCP_WND - rcv_wnd) */
    uint32_t timewait_ms_left;
    uint32_t heap;           /* bytes of the emulated heap it holds: the pcb, its queued
                                segments and their pbufs, refused and out-of-order data */
} clwip_pcb_info;

/** Fills up to `max` rows (listen, bound, active, TIME_WAIT lists); returns
    the number of pcbs that exist (may exceed max). */
int clwip_pcb_table(clwip_pcb_info *out, int max);
int clwip_count_state(enum tcp_state state);
/** Bytes of the emulated heap a pbuf chain holds (umm_malloc's cost of each pbuf). */
uint32_t clwip_chain_heap(const struct pbuf *p);

/** Resets lwIP after a board reboot: every pcb is dropped without a segment on
    the wire (the board just stops answering), then the netif is removed. */
void clwip_forget_all(struct netif *nif);

/* ---- macro shims ------------------------------------------------------------ */

static inline uint16_t clwip_tcp_sndbuf(const struct tcp_pcb *pcb) { return tcp_sndbuf(pcb); }
static inline uint16_t clwip_tcp_sndqueuelen(const struct tcp_pcb *pcb) { return tcp_sndqueuelen(pcb); }
static inline void clwip_tcp_nagle_disable(struct tcp_pcb *pcb) { tcp_nagle_disable(pcb); }
static inline void clwip_tcp_nagle_enable(struct tcp_pcb *pcb) { tcp_nagle_enable(pcb); }
static inline int clwip_tcp_nagle_disabled(const struct tcp_pcb *pcb) { return tcp_nagle_disabled(pcb) ? 1 : 0; }
static inline int clwip_dhcp_bound(struct netif *nif) { return dhcp_supplied_address(nif); }
static inline uint32_t clwip_netif_ip(const struct netif *nif) { return ip4_addr_get_u32(netif_ip4_addr(nif)); }
static inline uint32_t clwip_netif_mask(const struct netif *nif) { return ip4_addr_get_u32(netif_ip4_netmask(nif)); }
static inline uint32_t clwip_netif_gw(const struct netif *nif) { return ip4_addr_get_u32(netif_ip4_gw(nif)); }
static inline uint32_t clwip_ip_u32(const ip_addr_t *addr) { return ip4_addr_get_u32(addr); }
/* The destination address of the IP packet lwIP is handing up (valid in a receive callback). */
static inline uint32_t clwip_current_dest(void) { return ip4_addr_get_u32(ip4_current_dest_addr()); }
static inline void clwip_ip_set_u32(ip_addr_t *addr, uint32_t v) { ip4_addr_set_u32(addr, v); }
static inline uint32_t clwip_pcb_remote_ip(const struct tcp_pcb *pcb) { return ip4_addr_get_u32(&pcb->remote_ip); }
static inline uint32_t clwip_pcb_local_ip(const struct tcp_pcb *pcb) { return ip4_addr_get_u32(&pcb->local_ip); }
static inline int clwip_tcp_mss(void) { return TCP_MSS; }
static inline int clwip_tcp_wnd(void) { return TCP_WND; }
static inline int clwip_tcp_snd_buf(void) { return TCP_SND_BUF; }
static inline int clwip_tcp_msl_ms(void) { return TCP_MSL; }
static inline uint8_t clwip_tcp_prio_min(void) { return TCP_PRIO_MIN; }
static inline uint8_t clwip_sof_reuseaddr(void) { return SOF_REUSEADDR; }
static inline void clwip_set_reuseaddr(struct tcp_pcb *pcb) { ip_set_option(pcb, SOF_REUSEADDR); }
static inline const char *clwip_version_string(void) { return LWIP_VERSION_STRING; }
static inline uint32_t clwip_dns_server(uint8_t i) { return ip4_addr_get_u32(dns_getserver(i)); }
static inline uint32_t clwip_tcp_keepalive_enabled(const struct tcp_pcb *pcb) { return ip_get_option(pcb, SOF_KEEPALIVE) ? 1 : 0; }
static inline void clwip_tcp_keepalive(struct tcp_pcb *pcb, int on, uint32_t idle_ms, uint32_t intvl_ms, uint32_t count) {
    if (on) { ip_set_option(pcb, SOF_KEEPALIVE); } else { ip_reset_option(pcb, SOF_KEEPALIVE); }
    pcb->keep_idle = idle_ms; pcb->keep_intvl = intvl_ms; pcb->keep_cnt = count;
}
static inline uint32_t clwip_tcp_keep_idle(const struct tcp_pcb *pcb) { return pcb->keep_idle; }
static inline uint32_t clwip_tcp_keep_intvl(const struct tcp_pcb *pcb) { return pcb->keep_intvl; }
static inline uint32_t clwip_tcp_keep_cnt(const struct tcp_pcb *pcb) { return pcb->keep_cnt; }
static inline uint32_t clwip_pbuf_ip_src(const ip_addr_t *a) { return ip4_addr_get_u32(a); }
static inline uint16_t clwip_udp_local_port(const struct udp_pcb *pcb) { return pcb->local_port; }

/* ---- SNTP (lwIP's apps/sntp, port/sntp_glue.c) ------------------------------ */

/** Longest server name configTime keeps (the core keeps any length; 64 covers pool names). */
#define CLWIP_SNTP_NAME_MAX 63
/** Where SNTP_SET_SYSTEM_TIME_US delivers a received time (seconds and µs since 1970). */
void clwip_sntp_set_handler(void *ctx, void (*set_time)(void *ctx, uint32_t sec, uint32_t us));
/** SNTP_UPDATE_DELAY and SNTP_STARTUP_DELAY_FUNC, in ms (read at each use). */
void clwip_sntp_set_delays(uint32_t update_ms, uint32_t startup_ms);
/** sntp_setservername with a copy of `name` (NULL or "" clears the slot). */
void clwip_sntp_set_server_name(uint8_t idx, const char *name);
/** sntp_getserver(idx) as an IPv4 address in network byte order, 0 if unset. */
uint32_t clwip_sntp_server_address(uint8_t idx);

#endif
