/*
 * lwIP's timeouts.c, compiled here so that esplua's run loop can sleep through
 * the ticks of lwIP's timers that have nothing to do, and make up for them when
 * it wakes, as if they had run on time. timeouts.c itself is unchanged; this
 * file sees its statics (the timeout list, the TCP timer's handler and flag,
 * sys_timeout_abs).
 *
 * A board's lwIP ticks whether or not there is work; an emulated board that
 * woke for every tick would cost the host a wake-up each time. Three timers
 * are left out of the sleep while they are idle:
 *  - igmp_tmr (every 100 ms) counts down group timers that are > 0
 *    (igmp.c l.641-658) and dhcp_fine_tmr (every 500 ms) counts down a
 *    request_timeout that is > 0 (dhcp.c l.473-493): with none running a tick
 *    changes nothing, and a missed tick is simply skipped along the timer's
 *    grid (boot + k x interval).
 *  - the TCP timer (tcpip_tcp_timer, every 250 ms while any pcb is active or in
 *    TIME_WAIT) with only TIME_WAIT pcbs: tcp_fasttmr walks only the active
 *    pcbs, tcp_slowtmr counts tcp_ticks and removes a TIME_WAIT pcb once
 *    tcp_ticks - tmr > 2 x TCP_MSL / TCP_SLOW_INTERVAL (tcp.c l.1437-1472).
 *    Its ticks change counters that later reads depend on (a new pcb's tmr, a
 *    TIME_WAIT countdown, tcp_kill_timewait's choice), so the missed ticks are
 *    run, not skipped: clwip_skip_idle_ticks calls tcp_tmr() once for each tick
 *    that came due, in order, before anything else of the pass reaches lwIP
 *    (a frame, the sketch). The sleep ends at the earliest tick at which a
 *    TIME_WAIT pcb can leave, so its heap comes back at the tick it would.
 */
#include "../upstream/core/timeouts.c"

#include "clwip.h"
#include "lwip/dhcp.h"
#include "lwip/igmp.h"

/* 0: every timer wakes the board at each of its ticks, as lwIP schedules them
   (tests compare the two). */
static int g_sleep_through_idle_ticks = 1;
void clwip_set_sleep_through_idle_ticks(int on) { g_sleep_through_idle_ticks = on; }
int clwip_sleep_through_idle_ticks(void) { return g_sleep_through_idle_ticks; }

static int igmp_pending(void) {
    struct netif *netif;
    NETIF_FOREACH(netif) {
        for (struct igmp_group *g = netif_igmp_data(netif); g != NULL; g = g->next)
            if (g->timer > 0) return 1;
    }
    return 0;
}

static int dhcp_pending(void) {
    struct netif *netif;
    NETIF_FOREACH(netif) {
        struct dhcp *d = netif_dhcp_data(netif);
        if (d != NULL && d->request_timeout > 0) return 1;
    }
    return 0;
}

/* The cyclic timer entry `t` has nothing to do now. */
static int idle_cyclic(const struct sys_timeo *t) {
    if (!g_sleep_through_idle_ticks || t->h != lwip_cyclic_timer) return 0;
    const struct lwip_cyclic_timer *c = (const struct lwip_cyclic_timer *)t->arg;
    if (c->handler == igmp_tmr) return !igmp_pending();
    if (c->handler == dhcp_fine_tmr) return !dhcp_pending();
    return 0;
}

/* The TCP timer's ticks only count while no pcb is active (TIME_WAIT ones only). */
static int tcp_idle(const struct sys_timeo *t) {
    return g_sleep_through_idle_ticks && t->h == tcpip_tcp_timer && tcp_active_pcbs == NULL;
}

/* Ticks of the TCP timer (from its next one) until the first slow tick at which a
   TIME_WAIT pcb can leave: tcp_slowtmr runs on every other tick (tcp.c l.239),
   so the s-th slow tick from now is the (2s-1)-th or 2s-th tick; the earlier one
   is taken (at worst one tick early, which then runs and sleeps again). */
static u32_t ticks_until_timewait_leaves(void) {
    const u32_t limit = 2 * TCP_MSL / TCP_SLOW_INTERVAL;
    u32_t best = UINT32_MAX;
    for (struct tcp_pcb *pcb = tcp_tw_pcbs; pcb != NULL; pcb = pcb->next) {
        /* leaves at the slow tick after which tcp_ticks - tmr > limit */
        u32_t age = tcp_ticks - pcb->tmr;
        u32_t slow = age > limit ? 1 : limit + 1 - age;
        u32_t ticks = 2 * (slow - 1);
        if (ticks < best) best = ticks;
    }
    return best;
}

uint32_t clwip_timeouts_sleeptime(void) {
    u32_t now = sys_now();
    u32_t next = UINT32_MAX;
    for (struct sys_timeo *t = next_timeout; t != NULL; t = t->next) {
        if (idle_cyclic(t)) continue;
        u32_t due = t->time;
        if (tcp_idle(t)) {
            u32_t ticks = ticks_until_timewait_leaves();
            if (ticks == UINT32_MAX) continue;
            due = t->time + ticks * TCP_TMR_INTERVAL;
        }
        s32_t left = (s32_t)(due - now);
        u32_t wait = left <= 0 ? 0 : (u32_t)left;
        if (wait < next) next = wait;
        /* the list is sorted by due time: nothing later can come sooner */
        if ((s32_t)(t->time - now) >= (s32_t)next) break;
    }
    return next;
}

/* The TCP timer's ticks that came due while no pcb was active, run now in order
   (each as tcpip_tcp_timer would, on its grid), then the timer goes on at its
   next tick, or stops as lwIP's does when no pcb is left. */
static void run_missed_tcp_ticks(u32_t now) {
    if (!g_sleep_through_idle_ticks || tcp_active_pcbs != NULL) return;
    struct sys_timeo *t = next_timeout;
    while (t != NULL && t->h != tcpip_tcp_timer) t = t->next;
    if (t == NULL || !tcp_idle(t) || TIME_LESS_THAN(now, t->time)) return;
    u32_t due = t->time;
    sys_untimeout(tcpip_tcp_timer, NULL);
    while (!TIME_LESS_THAN(now, due)) {
        tcp_tmr();
        if (tcp_active_pcbs == NULL && tcp_tw_pcbs == NULL) {
            tcpip_tcp_timer_active = 0;
            return;
        }
        due += TCP_TMR_INTERVAL;
    }
#if LWIP_DEBUG_TIMERNAMES
    sys_timeout_abs(due, tcpip_tcp_timer, NULL, "tcpip_tcp_timer");
#else
    sys_timeout_abs(due, tcpip_tcp_timer, NULL);
#endif
}

void clwip_skip_idle_ticks(void) {
    u32_t now = sys_now();
    /* (every pass comes here: with nothing due, the sorted list's head says so) */
    if (next_timeout == NULL || TIME_LESS_THAN(now, next_timeout->time)) return;
    run_missed_tcp_ticks(now);
    int moved;
    do {
        moved = 0;
        for (struct sys_timeo *t = next_timeout; t != NULL; t = t->next) {
            if ((s32_t)(t->time - now) > 0) break;
            if (!idle_cyclic(t)) continue;
            void *arg = t->arg;
            u32_t interval = ((const struct lwip_cyclic_timer *)arg)->interval_ms;
            u32_t next = t->time + ((now - t->time) / interval + 1) * interval;
            sys_untimeout(lwip_cyclic_timer, arg);
            sys_timeout(next - now, lwip_cyclic_timer, arg);
            moved = 1;
            break; /* the list changed under us */
        }
    } while (moved);
}

/* A new board in this process (tests run many) starts lwIP's timers as a board
   boots with them: each cyclic timer's first tick one interval from now (as
   sys_timeouts_init places them at lwip_init), the TCP timer off when no pcb is
   left and its tick count at zero (clwip_tcp_boot_ticks, tcp_unit.c). Other
   timeouts (an SNTP request) move with the clock, as sys_restart_timeouts does.
   Without this the phases of the timers, and which TCP tick is a slow one,
   depended on the boards run before. */
void clwip_timers_boot(void) {
    sys_restart_timeouts();
    for (size_t i = 0; i < LWIP_ARRAYSIZE(lwip_cyclic_timers); i++)
        sys_untimeout(lwip_cyclic_timer, LWIP_CONST_CAST(void *, &lwip_cyclic_timers[i]));
    if (tcp_active_pcbs == NULL && tcp_tw_pcbs == NULL) {
        sys_untimeout(tcpip_tcp_timer, NULL);
        tcpip_tcp_timer_active = 0;
        clwip_tcp_boot_ticks();
    }
    sys_timeouts_init();
}
