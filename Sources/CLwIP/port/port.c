/*
 * esplua's lwIP port: sys_now, LWIP_RAND, heap routing and the netif driver.
 * Mechanical glue only; decisions live in BoardNet (Swift).
 */
#include "clwip.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/dhcp.h"
#include "lwip/igmp.h"
#include "lwip/timeouts.h"
#include "port_private.h"
#include <string.h>

static clwip_hooks g_hooks;
static int g_have_hooks;
static uint32_t g_rand_state = 0x12345678u;
static uint32_t g_live_allocs, g_live_bytes;
static uint32_t g_timewait_limit = MEMP_NUM_TCP_PCB_TIME_WAIT;

/* Set by the charged_* wrappers just before they call mem_malloc. */
uint32_t clwip_next_charge;

void clwip_set_hooks(const clwip_hooks *hooks) {
    g_hooks = *hooks;
    g_have_hooks = 1;
}

void clwip_seed(uint32_t seed) { g_rand_state = seed ? seed : 0x12345678u; }

uint32_t clwip_rand(void) {
    /* xorshift32: deterministic for a given seed, good enough for ISNs. */
    uint32_t x = g_rand_state;
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    g_rand_state = x;
    return x;
}

u32_t sys_now(void) {
    return g_have_hooks ? g_hooks.now_ms(g_hooks.ctx) : 0;
}

uint32_t clwip_live_allocations(void) { return g_live_allocs; }
uint32_t clwip_live_bytes(void) { return g_live_bytes; }

/* Each host block carries a 32-byte prefix (keeps MEM_ALIGNMENT 8) and sits in
   a list of live allocations, so a new board can take over what lwIP holds. */
typedef struct alloc_prefix {
    int32_t handle;
    uint32_t charged;
    struct alloc_prefix *prev, *next;
    uint64_t magic; /* PREFIX_MAGIC: the connection table reads a block's charge only from its own */
} alloc_prefix;

#define PREFIX_MAGIC 0x6573706c75614d4dull

static alloc_prefix *g_live;

void *clwip_heap_malloc(size_t size) {
    uint32_t charge = clwip_next_charge ? clwip_next_charge : (uint32_t)size;
    clwip_next_charge = 0;
    int32_t handle = -2;
    if (g_have_hooks) {
        handle = g_hooks.heap_alloc(g_hooks.ctx, charge);
        if (handle < 0) return NULL;
    }
    alloc_prefix *p = malloc(sizeof(alloc_prefix) + size);
    if (!p) {
        if (handle >= 0) g_hooks.heap_free(g_hooks.ctx, handle);
        return NULL;
    }
    p->handle = handle;
    p->charged = charge;
    p->magic = PREFIX_MAGIC;
    p->prev = NULL;
    p->next = g_live;
    if (g_live) g_live->prev = p;
    g_live = p;
    g_live_allocs++;
    g_live_bytes += charge;
    return p + 1;
}

void *clwip_heap_calloc(size_t count, size_t size) {
    void *p = clwip_heap_malloc(count * size);
    if (p) memset(p, 0, count * size);
    return p;
}

void clwip_heap_free(void *ptr) {
    if (!ptr) return;
    alloc_prefix *p = ((alloc_prefix *)ptr) - 1;
    if (p->handle >= 0 && g_have_hooks) g_hooks.heap_free(g_hooks.ctx, p->handle);
    if (p->prev) p->prev->next = p->next; else g_live = p->next;
    if (p->next) p->next->prev = p->prev;
    g_live_allocs--;
    g_live_bytes -= p->charged;
    p->magic = 0;
    free(p);
}

void clwip_recharge_all(void) {
    /* lwIP is process-wide; its boot-time allocations (timers, the DNS pcb)
       outlive a board. A new board's heap takes them over. */
    for (alloc_prefix *p = g_live; p; p = p->next)
        p->handle = g_have_hooks ? g_hooks.heap_alloc(g_hooks.ctx, p->charged) : -2;
}

/* ---- netif ---- */

static int g_muted; /* set while a reboot forgets everything: a board says nothing */

static err_t port_linkoutput(struct netif *nif, struct pbuf *p) {
    (void)nif;
    if (g_muted) return ERR_OK;
    uint8_t frame[1600];
    u16_t len = pbuf_copy_partial(p, frame, sizeof frame, 0);
    if (g_have_hooks && g_hooks.link_output) g_hooks.link_output(g_hooks.ctx, frame, len);
    return ERR_OK;
}

/* The soft-AP interface: its frames are counted (a test can see the interface
   is alive) and go to the stations of a lab's cell through hooks.ap_output;
   alone, no station ever joins and they reach no one. */
static uint32_t g_ap_frames;
static err_t port_ap_linkoutput(struct netif *nif, struct pbuf *p) {
    (void)nif;
    g_ap_frames++;
    if (g_muted || !g_have_hooks || !g_hooks.ap_output) return ERR_OK;
    uint8_t frame[1600];
    u16_t len = pbuf_copy_partial(p, frame, sizeof frame, 0);
    g_hooks.ap_output(g_hooks.ctx, frame, len);
    return ERR_OK;
}
uint32_t clwip_ap_frames(void) { return g_ap_frames; }

typedef struct netif_setup { uint8_t mac[6]; char name[2]; int ap; } netif_setup;

static err_t port_netif_init(struct netif *nif) {
    const netif_setup *s = (const netif_setup *)nif->state;
    nif->name[0] = s->name[0];
    nif->name[1] = s->name[1];
    nif->mtu = 1500;
    nif->hwaddr_len = 6;
    memcpy(nif->hwaddr, s->mac, 6);
    nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_IGMP;
    nif->output = etharp_output;
    nif->linkoutput = s->ap ? port_ap_linkoutput : port_linkoutput;
    nif->state = NULL;
    return ERR_OK;
}

err_t clwip_netif_add(struct netif *nif, const uint8_t mac[6], const char name[2]) {
    netif_setup s;
    memcpy(s.mac, mac, 6);
    s.name[0] = name[0];
    s.name[1] = name[1];
    s.ap = 0;
    ip4_addr_t zero;
    ip4_addr_set_zero(&zero);
    return netif_add(nif, &zero, &zero, &zero, &s, port_netif_init, ethernet_input) ? ERR_OK : ERR_IF;
}

err_t clwip_netif_add_ap(struct netif *nif, const uint8_t mac[6], uint32_t ip, uint32_t mask) {
    netif_setup s;
    memcpy(s.mac, mac, 6);
    s.name[0] = 'a';
    s.name[1] = 'p';
    s.ap = 1;
    ip4_addr_t a, m, gw;
    ip4_addr_set_u32(&a, ip);
    ip4_addr_set_u32(&m, mask);
    ip4_addr_set_u32(&gw, ip);
    if (!netif_add(nif, &a, &m, &gw, &s, port_netif_init, ethernet_input)) return ERR_IF;
    netif_set_up(nif);
    netif_set_link_up(nif);
    return ERR_OK;
}

void clwip_netif_remove(struct netif *nif) { netif_remove(nif); }

int clwip_netif_input(struct netif *nif, const uint8_t *frame, uint16_t len) {
    /* A frame shorter than Ethernet's minimum (60 bytes before the FCS) arrives
       padded with zeros, as a MAC delivers it: ip4_input reads the IP header's
       length field before it checks the pbuf's (ip4.c "Trim pbuf. This is
       especially required for packets < 60 bytes"), so a runt was read past its
       end (make fuzz, ASan). slirp's own ARP frames are 42 bytes. */
    uint16_t size = len < 60 ? 60 : len;
    struct pbuf *p = pbuf_alloc(PBUF_RAW, size, PBUF_RAM);
    if (!p) return -1;
    pbuf_take(p, frame, len);
    if (size > len) memset((uint8_t *)p->payload + len, 0, size - len);
    if (nif->input(p, nif) != ERR_OK) pbuf_free(p);
    clwip_enforce_timewait_limit();
    return 0;
}

/* ---- TIME_WAIT ---- */

void clwip_set_timewait_limit(uint32_t limit) { g_timewait_limit = limit; }
uint32_t clwip_timewait_limit(void) { return g_timewait_limit; }

int clwip_kill_timewait(void) {
    /* Same choice as lwIP's own tcp_kill_timewait: the largest tcp_ticks - tmr. */
    struct tcp_pcb *pcb, *oldest = NULL;
    u32_t inactivity = 0;
    for (pcb = tcp_tw_pcbs; pcb != NULL; pcb = pcb->next) {
        if ((u32_t)(tcp_ticks - pcb->tmr) >= inactivity) {
            inactivity = tcp_ticks - pcb->tmr;
            oldest = pcb;
        }
    }
    if (!oldest) return 0;
    tcp_abort(oldest); /* TIME_WAIT: removed and freed, no RST */
    return 1;
}

int clwip_tcp_cleanup(void) {
    int n = 0;
    while (tcp_tw_pcbs != NULL) { tcp_abort(tcp_tw_pcbs); n++; }
    return n;
}

void clwip_enforce_timewait_limit(void) {
    if (g_timewait_limit == 0) return;
    while ((uint32_t)clwip_count_state(TIME_WAIT) > g_timewait_limit) {
        if (!clwip_kill_timewait()) break;
    }
}

/* ---- timers ---- */

/* ---- connection table ---- */

/* What the emulated heap charged for the block lwIP got at `mem`: umm_malloc's
   cost of its ESP8266 size (a 4-byte header shares the first of its 8-byte
   blocks: BoardCore's Heap.blocks(for:)). 0 for memory lwIP did not allocate. */
static uint32_t heap_cost(const void *mem) {
    if (!mem) return 0;
    const alloc_prefix *p = ((const alloc_prefix *)mem) - 1;
    if (p->magic != PREFIX_MAGIC || p->handle == -1) return 0;
    uint32_t n = p->charged;
    return (n <= 4 ? 1 : 1 + (n - 4 + 7) / 8) * 8;
}

static uint32_t chain_cost(const struct pbuf *p) {
    uint32_t n = 0;
    for (; p; p = p->next) n += heap_cost(p);
    return n;
}

uint32_t clwip_chain_heap(const struct pbuf *p) { return chain_cost(p); }

static uint32_t segments_cost(const struct tcp_seg *s) {
    uint32_t n = 0;
    for (; s; s = s->next) n += heap_cost(s) + chain_cost(s->p);
    return n;
}

static void fill_row(clwip_pcb_info *r, struct tcp_pcb *pcb) {
    memset(r, 0, sizeof *r);
    r->pcb = pcb;
    r->state = (uint8_t)pcb->state;
    r->prio = pcb->prio;
    r->local_ip = ip4_addr_get_u32(&pcb->local_ip);
    r->local_port = pcb->local_port;
    r->heap = heap_cost(pcb);
    if (pcb->state == LISTEN) return; /* a tcp_pcb_listen has no more fields */
    r->remote_ip = ip4_addr_get_u32(&pcb->remote_ip);
    r->remote_port = pcb->remote_port;
    if (pcb->state == CLOSED) return;
    for (struct tcp_seg *s = pcb->unacked; s; s = s->next) r->unacked += s->len;
    for (struct tcp_seg *s = pcb->unsent; s; s = s->next) r->unsent += s->len;
    r->unread = (uint32_t)(TCP_WND - pcb->rcv_wnd);
    r->heap += segments_cost(pcb->unsent) + segments_cost(pcb->unacked) + chain_cost(pcb->refused_data);
#if TCP_QUEUE_OOSEQ
    r->heap += segments_cost(pcb->ooseq);
#endif
    if (pcb->state == TIME_WAIT) {
        u32_t elapsed = (u32_t)(tcp_ticks - pcb->tmr) * TCP_SLOW_INTERVAL;
        r->timewait_ms_left = elapsed >= 2 * TCP_MSL ? 0 : 2 * TCP_MSL - elapsed;
    }
}

int clwip_pcb_table(clwip_pcb_info *out, int max) {
    int n = 0;
    struct tcp_pcb *lists[] = {
        (struct tcp_pcb *)tcp_listen_pcbs.listen_pcbs, tcp_bound_pcbs, tcp_active_pcbs, tcp_tw_pcbs };
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        for (struct tcp_pcb *pcb = lists[i]; pcb; pcb = pcb->next) {
            if (n < max) fill_row(&out[n], pcb);
            n++;
        }
    }
    return n;
}

int clwip_count_state(enum tcp_state state) {
    int n = 0;
    struct tcp_pcb *lists[] = {
        (struct tcp_pcb *)tcp_listen_pcbs.listen_pcbs, tcp_bound_pcbs, tcp_active_pcbs, tcp_tw_pcbs };
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        for (struct tcp_pcb *pcb = lists[i]; pcb; pcb = pcb->next)
            if (pcb->state == state) n++;
    return n;
}

void clwip_forget_all(struct netif *nif) {
    /* A rebooting board sends nothing: mute the link while lwIP lets go.
       tcp_abandon(pcb, 0) unlinks and frees without a segment. Owners (the
       Swift contexts) have already dropped their pcb pointers; UDP pcbs are
       removed by their owners (lwIP's own DNS pcb stays). */
    g_muted = 1;
    while (tcp_active_pcbs) {
        tcp_arg(tcp_active_pcbs, NULL);
        tcp_err(tcp_active_pcbs, NULL);
        tcp_abandon(tcp_active_pcbs, 0);
    }
    while (tcp_tw_pcbs) tcp_abandon(tcp_tw_pcbs, 0);
    while (tcp_bound_pcbs) tcp_close(tcp_bound_pcbs);
    while (tcp_listen_pcbs.listen_pcbs) tcp_close((struct tcp_pcb *)tcp_listen_pcbs.listen_pcbs);
    if (nif) {
        dhcp_release_and_stop(nif);   /* muted: no DHCPRELEASE leaves */
        dhcp_cleanup(nif);
        netif_remove(nif);
    }
    g_muted = 0;
}
