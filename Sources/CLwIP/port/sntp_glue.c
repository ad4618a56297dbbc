/*
 * The SNTP app's connection to the board: where a received time goes
 * (SNTP_SET_SYSTEM_TIME_US, as the core's settimeofday(tv, 0xFeedC0de)), the
 * update and startup delays (SNTP_UPDATE_DELAY, SNTP_STARTUP_DELAY_FUNC), and
 * server names kept in our own buffers (sntp_setservername keeps the pointer;
 * the core keeps its Strings in statics, time.cpp:211-222).
 */
#include "clwip.h"
#include <string.h>

static void *g_sntp_ctx;
static void (*g_sntp_set_time)(void *ctx, uint32_t sec, uint32_t us);
static uint32_t g_update_delay_ms = 3600000; /* SNTP_UPDATE_DELAY_DEFAULT (lwipopts.h:3633) */
static uint32_t g_startup_delay_ms = 0;      /* SNTP_STARTUP_DELAY_FUNC_DEFAULT (l.3651) */
static char g_names[SNTP_MAX_SERVERS][CLWIP_SNTP_NAME_MAX + 1];

void clwip_sntp_set_handler(void *ctx, void (*set_time)(void *ctx, uint32_t sec, uint32_t us)) {
    g_sntp_ctx = ctx;
    g_sntp_set_time = set_time;
}

void clwip_sntp_set_system_time(uint32_t sec, uint32_t us) {
    if (g_sntp_set_time) g_sntp_set_time(g_sntp_ctx, sec, us);
}

uint32_t clwip_sntp_update_delay(void) { return g_update_delay_ms; }
uint32_t clwip_sntp_startup_delay(void) { return g_startup_delay_ms; }

void clwip_sntp_set_delays(uint32_t update_ms, uint32_t startup_ms) {
    g_update_delay_ms = update_ms;
    g_startup_delay_ms = startup_ms;
}

void clwip_sntp_set_server_name(uint8_t idx, const char *name) {
    if (idx >= SNTP_MAX_SERVERS) return;
    if (name == NULL || name[0] == 0) {
        g_names[idx][0] = 0;
        sntp_setservername(idx, NULL);
        return;
    }
    strncpy(g_names[idx], name, CLWIP_SNTP_NAME_MAX);
    g_names[idx][CLWIP_SNTP_NAME_MAX] = 0;
    sntp_setservername(idx, g_names[idx]);
}

uint32_t clwip_sntp_server_address(uint8_t idx) {
    const ip_addr_t *a = sntp_getserver(idx);
    return a ? ip4_addr_get_u32(ip_2_ip4(a)) : 0;
}
