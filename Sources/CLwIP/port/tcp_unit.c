/*
 * lwIP's tcp.c, compiled here so that a new board can start the TCP timer's
 * tick count where a booting board has it (tcp.c's statics tcp_timer, which
 * makes every other tick a slow one, and tcp_timer_ctr). tcp.c itself is
 * unchanged.
 */
#include "../upstream/core/tcp.c"

#include "clwip.h"

void clwip_tcp_boot_ticks(void) {
    tcp_timer = 0;
    tcp_timer_ctr = 0;
}
