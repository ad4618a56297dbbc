/*
 * parts.c - classroom parts in plain C against esplua_plugin.h 1.2:
 *
 *   button         a push button on a pin: pressed from the wiring's controls, the
 *                  page, or its own press schedule ("presses"); bounce optional
 *   buzzer         a piezo buzzer on a pin: hears the square wave tone() makes and
 *                  reports its frequency
 *   potentiometer  a pot (or any voltage divider) on A0: its position moves
 *                  analogRead(A0)
 *   ldr            a light-dependent resistor in a divider on A0: lux moves analogRead(A0)
 *   uart-echo      a device on Serial's TX/RX that answers every line it receives
 *   gps            a GPS module on Serial's RX: an NMEA $GPRMC/$GPGGA pair each second
 *   jumper         a wire from one pin to another: the second follows the first
 *
 * Every part's timers are the host's (board time, even while the sketch computes).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "esplua_parts.h"

ESPLUA_PLUGIN_EXPORT const uint32_t esplua_plugin_abi = ESPLUA_PLUGIN_ABI;

typedef struct parts { const esplua_host *host; esplua_board *board; } parts;

/* "250ms", "1.5s", "800us" or a bare number of ms -> µs; -1 if it is none of those */
static int64_t duration_us(const char *s, char **end) {
    char *e;
    double v = strtod(s, &e);
    if (e == s || v < 0) return -1;
    double scale = 1000;
    if (strncmp(e, "us", 2) == 0) { scale = 1; e += 2; }
    else if (strncmp(e, "ms", 2) == 0) { e += 2; }
    else if (*e == 's') { scale = 1e6; e += 1; }
    if (end) *end = e;
    return (int64_t)llround(v * scale);
}

static int pin_setting(parts *p, esplua_board *board, const esplua_config *config, const char *part, int64_t *pin) {
    if (p->host->config_integer(config, "pin", pin) != 0 || *pin < 0 || *pin > 16 || (*pin >= 6 && *pin <= 11)) {
        char why[96];
        snprintf(why, sizeof why, "%s: \"pin\" (a GPIO 0-5, 12-16) is missing or wrong", part);
        p->host->log(board, ESPLUA_LOG_ERROR, why);
        return -1;
    }
    return 0;
}

/* ---- button ------------------------------------------------------------------
   Pressed, it connects its pin to GND ("active": "low", the default: wire it to an
   INPUT_PULLUP pin) or to 3.3 V ("active": "high"); released, it lets go of the pin.
   "presses": "1s 2.5s 4s" presses it at those board times for "hold" (100ms);
   "bounce": n adds n extra make/break flickers 200 µs apart at each press and
   release, as a mechanical contact does for a millisecond or two. */

#define MAX_PRESSES 64

typedef struct button {
    parts *p;
    int pin, active_high, pressed, bounce, flicker;
    int64_t hold;
    int count;                       /* presses so far */
    int64_t at[MAX_PRESSES];
    int npresses, next;
    esplua_handle timer;
} button;

static void button_level(button *b, int pressed) {
    b->p->host->pin_drive(b->p->board, b->pin, pressed ? (b->active_high ? ESPLUA_HIGH : ESPLUA_LOW) : ESPLUA_RELEASE);
}

static void button_set_pressed(button *b, int pressed) {
    if (pressed && !b->pressed) b->count++;
    b->pressed = pressed;
    button_level(b, pressed);
}

static void button_flicker(void *ctx);

/* a change with its bounce: the contact flickers, then settles on `pressed` */
static void button_change(button *b, int pressed) {
    button_set_pressed(b, pressed);
    if (b->bounce > 0) {
        b->flicker = 2 * b->bounce;
        b->timer = b->p->host->timer_start(b->p->board, 200, button_flicker, b);
    }
}

static void button_schedule(button *b);

static void button_flicker(void *ctx) {
    button *b = ctx;
    b->timer = 0;
    if (b->flicker > 0) {
        b->flicker--;
        /* odd flickers open the contact again, the last one settles */
        button_level(b, (b->flicker % 2 == 0) ? b->pressed : !b->pressed);
        b->timer = b->p->host->timer_start(b->p->board, 200, button_flicker, b);
        return;
    }
    button_schedule(b);
}

static void button_release(void *ctx) {
    button *b = ctx;
    b->timer = 0;
    button_change(b, 0);
    if (b->bounce == 0) button_schedule(b);
}

static void button_press(void *ctx) {
    button *b = ctx;
    b->timer = 0;
    button_change(b, 1);
    /* the release comes `hold` after the press (bounce included) */
    esplua_handle t = b->p->host->timer_start(b->p->board, (uint64_t)b->hold, button_release, b);
    if (b->bounce == 0) b->timer = t;
}

/* the next scheduled press, if any */
static void button_schedule(button *b) {
    if (b->next >= b->npresses || b->pressed) return;
    uint64_t now = b->p->host->micros(b->p->board);
    int64_t at = b->at[b->next++];
    b->timer = b->p->host->timer_start(b->p->board, at > (int64_t)now ? (uint64_t)(at - (int64_t)now) : 0, button_press, b);
}

static void *button_create(void *state, esplua_board *board, const esplua_config *config) {
    parts *p = state;
    int64_t pin, bounce = 0;
    if (pin_setting(p, board, config, "button", &pin) != 0) return NULL;
    button *b = calloc(1, sizeof *b);
    b->p = p;
    b->pin = (int)pin;
    b->hold = 100000;
    const char *s;
    if (p->host->config_string(config, "active", &s) == 0) b->active_high = strcmp(s, "high") == 0;
    if (p->host->config_integer(config, "bounce", &bounce) == 0) b->bounce = bounce < 0 ? 0 : bounce > 20 ? 20 : (int)bounce;
    if (p->host->config_string(config, "hold", &s) == 0) {
        int64_t h = duration_us(s, NULL);
        if (h <= 0) { p->host->log(board, ESPLUA_LOG_ERROR, "button: \"hold\" must be a duration like \"100ms\""); free(b); return NULL; }
        b->hold = h;
    }
    if (p->host->config_string(config, "presses", &s) == 0) {
        while (*s) {
            while (*s == ' ' || *s == ',') s++;
            if (!*s) break;
            char *e;
            int64_t at = duration_us(s, &e);
            if (at < 0 || b->npresses == MAX_PRESSES) {
                p->host->log(board, ESPLUA_LOG_ERROR, "button: \"presses\" must be up to 64 board times like \"1s 2.5s 4000ms\"");
                free(b);
                return NULL;
            }
            b->at[b->npresses++] = at;
            s = e;
        }
    }
    button_level(b, 0);
    button_schedule(b);
    return b;
}

static void button_destroy(void *state, void *part) {
    parts *p = state;
    button *b = part;
    if (b->timer) p->host->timer_cancel(p->board, b->timer);
    free(b);
}

static int button_set(void *state, void *part, const char *control, double value) {
    (void)state;
    if (strcmp(control, "pressed") != 0) return -1;
    button_change(part, value != 0);
    return 0;
}

static int button_get(void *state, void *part, const char *control, double *value) {
    (void)state;
    button *b = part;
    if (strcmp(control, "pressed") == 0) *value = b->pressed;
    else if (strcmp(control, "presses") == 0) *value = b->count;
    else return -1;
    return 0;
}

/* ---- buzzer ------------------------------------------------------------------
   A piezo between its pin and GND: it sounds at the frequency of the square wave
   on the pin (tone()). "frequency" is measured from the wave's rising edges, in
   Hz, averaged over up to 16 periods; 0 once the pin has been still for longer
   than two periods. */

#define WINDOW 16

typedef struct buzzer {
    parts *p;
    int pin;
    uint64_t rises[WINDOW];
    int n;                           /* rising edges kept (the newest last) */
    uint64_t last_edge;              /* the last edge, rising or falling */
    esplua_handle listener;
} buzzer;

static void buzzer_edge(void *ctx, int pin, int level, uint64_t at_us) {
    (void)pin;
    buzzer *z = ctx;
    z->last_edge = at_us;
    if (!level) return;
    if (z->n > 0) {
        uint64_t last = z->rises[z->n - 1];
        uint64_t period = z->n > 1 ? last - z->rises[z->n - 2] : 0;
        /* a gap much longer than the period: a new tone starts */
        if (at_us - last > 100000 || (period && at_us - last > 2 * period + 50)) z->n = 0;
    }
    if (z->n == WINDOW) { memmove(z->rises, z->rises + 1, sizeof z->rises[0] * (WINDOW - 1)); z->n--; }
    z->rises[z->n++] = at_us;
}

static double buzzer_frequency(buzzer *z) {
    if (z->n < 2) return 0;
    uint64_t now = z->p->host->micros(z->p->board);
    double period = (double)(z->rises[z->n - 1] - z->rises[0]) / (z->n - 1);
    if ((double)(now - z->last_edge) > 2 * period + 50) return 0;   /* the pin went still */
    return 1e6 / period;
}

static void *buzzer_create(void *state, esplua_board *board, const esplua_config *config) {
    parts *p = state;
    int64_t pin;
    if (pin_setting(p, board, config, "buzzer", &pin) != 0) return NULL;
    buzzer *z = calloc(1, sizeof *z);
    z->p = p;
    z->pin = (int)pin;
    z->listener = p->host->pin_listen(board, z->pin, buzzer_edge, z);
    return z;
}

static void buzzer_destroy(void *state, void *part) {
    parts *p = state;
    buzzer *z = part;
    p->host->pin_unlisten(p->board, z->listener);
    free(z);
}

static int buzzer_set(void *state, void *part, const char *control, double value) {
    (void)state; (void)part; (void)control; (void)value;
    return -1;   /* it only listens */
}

static int buzzer_get(void *state, void *part, const char *control, double *value) {
    (void)state;
    if (strcmp(control, "frequency") != 0) return -1;
    *value = buzzer_frequency(part);
    return 0;
}

/* ---- potentiometer -----------------------------------------------------------
   Its wiper on A0: "position" 0..1 (0 at one end, 1 at the other) gives
   analogRead(A0) = round(position * 1023), as a NodeMCU's divider maps 0-3.3 V. */

typedef struct pot { parts *p; double position; } pot;

static void pot_apply(pot *k) { k->p->host->adc_set(k->p->board, (int)lround(k->position * 1023)); }

static void *pot_create(void *state, esplua_board *board, const esplua_config *config) {
    parts *p = state;
    (void)config;
    if (!ESPLUA_HOST_HAS(p->host, 1, 1)) {
        p->host->log(board, ESPLUA_LOG_ERROR, "potentiometer: this esplua has no ADC for parts (plugin ABI 1.1)");
        return NULL;
    }
    pot *k = calloc(1, sizeof *k);
    k->p = p;
    pot_apply(k);
    return k;
}

static void pot_destroy(void *state, void *part) { (void)state; free(part); }

static int pot_set(void *state, void *part, const char *control, double value) {
    (void)state;
    pot *k = part;
    if (strcmp(control, "position") != 0) return -1;
    k->position = value < 0 ? 0 : value > 1 ? 1 : value;
    pot_apply(k);
    return 0;
}

static int pot_get(void *state, void *part, const char *control, double *value) {
    (void)state;
    if (strcmp(control, "position") != 0) return -1;
    *value = ((pot *)part)->position;
    return 0;
}

/* ---- ldr ---------------------------------------------------------------------
   A photoresistor from 3.3 V to A0 and a fixed "resistor" (10 kΩ) from A0 to GND,
   on a NodeMCU (its divider maps 0-3.3 V to 0-1023). The LDR's resistance follows
   the usual power law of a CdS cell: R = "r10" (its resistance at 10 lux, 10 kΩ
   for a GL5528) * (lux / 10) ^ -"gamma" (0.7), so
   analogRead(A0) = round(1023 * resistor / (resistor + R)). Control "lux". */

typedef struct ldr { parts *p; double lux, resistor, r10, gamma; } ldr;

static void ldr_apply(ldr *l) {
    double r = l->lux <= 0 ? INFINITY : l->r10 * pow(l->lux / 10, -l->gamma);
    double v = isinf(r) ? 0 : l->resistor / (l->resistor + r);
    l->p->host->adc_set(l->p->board, (int)lround(v * 1023));
}

static void *ldr_create(void *state, esplua_board *board, const esplua_config *config) {
    parts *p = state;
    if (!ESPLUA_HOST_HAS(p->host, 1, 1)) {
        p->host->log(board, ESPLUA_LOG_ERROR, "ldr: this esplua has no ADC for parts (plugin ABI 1.1)");
        return NULL;
    }
    ldr *l = calloc(1, sizeof *l);
    l->p = p;
    l->resistor = 10000;
    l->r10 = 10000;
    l->gamma = 0.7;
    p->host->config_number(config, "resistor", &l->resistor);
    p->host->config_number(config, "r10", &l->r10);
    p->host->config_number(config, "gamma", &l->gamma);
    if (l->resistor <= 0 || l->r10 <= 0 || l->gamma <= 0) {
        p->host->log(board, ESPLUA_LOG_ERROR, "ldr: \"resistor\", \"r10\" and \"gamma\" must be positive");
        free(l);
        return NULL;
    }
    ldr_apply(l);
    return l;
}

static void ldr_destroy(void *state, void *part) { (void)state; free(part); }

static int ldr_set(void *state, void *part, const char *control, double value) {
    (void)state;
    ldr *l = part;
    if (strcmp(control, "lux") != 0) return -1;
    l->lux = value < 0 ? 0 : value;
    ldr_apply(l);
    return 0;
}

static int ldr_get(void *state, void *part, const char *control, double *value) {
    (void)state;
    if (strcmp(control, "lux") != 0) return -1;
    *value = ((ldr *)part)->lux;
    return 0;
}

/* ---- uart-echo ---------------------------------------------------------------
   A device on UART0 (its RX on the board's TX, its TX on the board's RX) that
   answers each line it receives with "prefix" + the line (default "echo: "),
   "delay" (10ms) later; "lines" counts the lines it answered. */

typedef struct echo {
    parts *p;
    char prefix[32];
    char line[256];
    size_t len;
    int64_t delay;
    int lines;
    esplua_handle listener;
    struct reply { struct echo *e; char text[300]; size_t len; esplua_handle timer; } replies[8];
} echo;

static void echo_send(void *ctx) {
    struct reply *r = ctx;
    r->e->p->host->uart_write(r->e->p->board, ESPLUA_UART0, (const uint8_t *)r->text, r->len);
    r->e->lines++;
    r->timer = 0;
}

static void echo_heard(void *ctx, const uint8_t *data, size_t length, uint64_t at_us) {
    (void)at_us;
    echo *e = ctx;
    for (size_t i = 0; i < length; i++) {
        char c = (char)data[i];
        if (c == '\r') continue;
        if (c != '\n') { if (e->len < sizeof e->line - 1) e->line[e->len++] = c; continue; }
        struct reply *r = NULL;
        for (size_t k = 0; k < sizeof e->replies / sizeof e->replies[0]; k++)
            if (!e->replies[k].timer) { r = &e->replies[k]; break; }
        if (r) {
            r->e = e;
            r->len = (size_t)snprintf(r->text, sizeof r->text, "%s%.*s\r\n", e->prefix, (int)e->len, e->line);
            if (r->len >= sizeof r->text) r->len = sizeof r->text - 1;
            r->timer = e->p->host->timer_start(e->p->board, (uint64_t)e->delay, echo_send, r);
        }
        e->len = 0;
    }
}

static void *echo_create(void *state, esplua_board *board, const esplua_config *config) {
    parts *p = state;
    if (!ESPLUA_HOST_HAS(p->host, 1, 1)) {
        p->host->log(board, ESPLUA_LOG_ERROR, "uart-echo: this esplua has no UART for parts (plugin ABI 1.1)");
        return NULL;
    }
    echo *e = calloc(1, sizeof *e);
    e->p = p;
    e->delay = 10000;
    const char *s;
    snprintf(e->prefix, sizeof e->prefix, "%s", p->host->config_string(config, "prefix", &s) == 0 ? s : "echo: ");
    if (p->host->config_string(config, "delay", &s) == 0) {
        int64_t d = duration_us(s, NULL);
        if (d < 0) { p->host->log(board, ESPLUA_LOG_ERROR, "uart-echo: \"delay\" must be a duration like \"10ms\""); free(e); return NULL; }
        e->delay = d;
    }
    e->listener = p->host->uart_listen(board, ESPLUA_UART0, echo_heard, e);
    return e;
}

static void echo_destroy(void *state, void *part) {
    parts *p = state;
    echo *e = part;
    p->host->uart_unlisten(p->board, e->listener);
    for (size_t k = 0; k < sizeof e->replies / sizeof e->replies[0]; k++)
        if (e->replies[k].timer) p->host->timer_cancel(p->board, e->replies[k].timer);
    free(e);
}

static int echo_set(void *state, void *part, const char *control, double value) {
    (void)state; (void)part; (void)control; (void)value;
    return -1;
}

static int echo_get(void *state, void *part, const char *control, double *value) {
    (void)state;
    if (strcmp(control, "lines") != 0) return -1;
    *value = ((echo *)part)->lines;
    return 0;
}

/* ---- gps ---------------------------------------------------------------------
   A GPS module's TX on the board's RX (UART0, 9600 baud on a real one): once a
   second a $GPRMC and a $GPGGA sentence for "latitude"/"longitude" (controls,
   degrees), with their NMEA checksums; the time is board time since power-on. */

typedef struct gps { parts *p; double lat, lon; esplua_handle timer; int sentences; } gps;

static size_t nmea(char *out, size_t size, const char *body) {
    unsigned sum = 0;
    for (const char *c = body; *c; c++) sum ^= (unsigned char)*c;
    return (size_t)snprintf(out, size, "$%s*%02X\r\n", body, sum);
}

static void angle(char *out, size_t size, double deg, int lat) {
    double a = fabs(deg);
    int d = (int)a;
    double m = (a - d) * 60;
    if (lat) snprintf(out, size, "%02d%07.4f,%c", d, m, deg < 0 ? 'S' : 'N');
    else snprintf(out, size, "%03d%07.4f,%c", d, m, deg < 0 ? 'W' : 'E');
}

static void gps_fix(void *ctx) {
    gps *g = ctx;
    uint64_t s = g->p->host->micros(g->p->board) / 1000000;
    char t[16], la[24], lo[24], body[128], out[160];
    snprintf(t, sizeof t, "%02u%02u%02u.00", (unsigned)(s / 3600 % 24), (unsigned)(s / 60 % 60), (unsigned)(s % 60));
    angle(la, sizeof la, g->lat, 1);
    angle(lo, sizeof lo, g->lon, 0);
    snprintf(body, sizeof body, "GPRMC,%s,A,%s,%s,0.00,0.00,010126,,,A", t, la, lo);
    size_t n = nmea(out, sizeof out, body);
    g->p->host->uart_write(g->p->board, ESPLUA_UART0, (const uint8_t *)out, n);
    snprintf(body, sizeof body, "GPGGA,%s,%s,%s,1,08,0.9,12.0,M,46.9,M,,", t, la, lo);
    n = nmea(out, sizeof out, body);
    g->p->host->uart_write(g->p->board, ESPLUA_UART0, (const uint8_t *)out, n);
    g->sentences += 2;
    g->timer = g->p->host->timer_start(g->p->board, 1000000, gps_fix, g);
}

static void *gps_create(void *state, esplua_board *board, const esplua_config *config) {
    parts *p = state;
    (void)config;
    if (!ESPLUA_HOST_HAS(p->host, 1, 1)) {
        p->host->log(board, ESPLUA_LOG_ERROR, "gps: this esplua has no UART for parts (plugin ABI 1.1)");
        return NULL;
    }
    gps *g = calloc(1, sizeof *g);
    g->p = p;
    g->timer = p->host->timer_start(board, 1000000, gps_fix, g);
    return g;
}

static void gps_destroy(void *state, void *part) {
    parts *p = state;
    gps *g = part;
    if (g->timer) p->host->timer_cancel(p->board, g->timer);
    free(g);
}

static int gps_set(void *state, void *part, const char *control, double value) {
    (void)state;
    gps *g = part;
    if (strcmp(control, "latitude") == 0 && value >= -90 && value <= 90) g->lat = value;
    else if (strcmp(control, "longitude") == 0 && value >= -180 && value <= 180) g->lon = value;
    else return -1;
    return 0;
}

static int gps_get(void *state, void *part, const char *control, double *value) {
    (void)state;
    gps *g = part;
    if (strcmp(control, "latitude") == 0) *value = g->lat;
    else if (strcmp(control, "longitude") == 0) *value = g->lon;
    else if (strcmp(control, "sentences") == 0) *value = g->sentences;
    else return -1;
    return 0;
}

/* ---- jumper ------------------------------------------------------------------
   A wire from pin "from" to pin "to": "to" follows the level "from" shows (the
   sketch driving it, or a part), so an output can drive an input's interrupt. */

typedef struct jumper { parts *p; int from, to; esplua_handle listener; } jumper;

static void jumper_edge(void *ctx, int pin, int level, uint64_t at_us) {
    (void)pin; (void)at_us;
    jumper *j = ctx;
    j->p->host->pin_drive(j->p->board, j->to, level ? ESPLUA_HIGH : ESPLUA_LOW);
}

static void *jumper_create(void *state, esplua_board *board, const esplua_config *config) {
    parts *p = state;
    int64_t from, to;
    if (p->host->config_integer(config, "from", &from) != 0 || p->host->config_integer(config, "to", &to) != 0
        || from < 0 || from > 16 || to < 0 || to > 16 || from == to) {
        p->host->log(board, ESPLUA_LOG_ERROR, "jumper: \"from\" and \"to\" (two GPIOs 0-16) are needed");
        return NULL;
    }
    jumper *j = calloc(1, sizeof *j);
    j->p = p;
    j->from = (int)from;
    j->to = (int)to;
    j->listener = p->host->pin_listen(board, j->from, jumper_edge, j);
    p->host->pin_drive(board, j->to, p->host->pin_level(board, j->from));
    return j;
}

static void jumper_destroy(void *state, void *part) {
    parts *p = state;
    jumper *j = part;
    p->host->pin_unlisten(p->board, j->listener);
    free(j);
}

static int jumper_set(void *state, void *part, const char *control, double value) {
    (void)state; (void)part; (void)control; (void)value;
    return -1;
}

static int jumper_get(void *state, void *part, const char *control, double *value) {
    (void)state; (void)part; (void)control; (void)value;
    return -1;
}

/* ---- the plugin --------------------------------------------------------------- */

static const char *const button_controls[] = { "pressed", "presses", NULL };
static const char *const buzzer_controls[] = { "frequency", NULL };
static const char *const pot_controls[] = { "position", NULL };
static const char *const echo_controls[] = { "lines", NULL };
static const char *const ldr_controls[] = { "lux", NULL };
static const char *const gps_controls[] = { "latitude", "longitude", "sentences", NULL };

/* 1.2: kinds, units and ranges for the page (a button to hold, sliders, read-outs) */
#define END_INFO { NULL, NULL, 0, 0, 0, 0, { 0 } }
static const esplua_control_info button_info[] = {
    { "pressed", NULL, 0, 1, ESPLUA_CONTROL_BUTTON, 0, { 0 } },
    { "presses", NULL, 0, 0, ESPLUA_CONTROL_OUTPUT, 0, { 0 } }, END_INFO };
/* a piezo's useful band, about 100 Hz to 10 kHz (tone() itself goes higher) */
static const esplua_control_info buzzer_info[] = {
    { "frequency", "Hz", 0, 10000, ESPLUA_CONTROL_OUTPUT, 0, { 0 } }, END_INFO };
static const esplua_control_info pot_info[] = {
    { "position", NULL, 0, 1, ESPLUA_CONTROL_VALUE, 0, { 0 } }, END_INFO };
/* moonlight (0.1 lx) to direct sunlight (100,000 lx); the divider saturates long before */
static const esplua_control_info ldr_info[] = {
    { "lux", "lx", 0.1, 100000, ESPLUA_CONTROL_VALUE, ESPLUA_CONTROL_LOG, { 0 } }, END_INFO };
static const esplua_control_info echo_info[] = {
    { "lines", NULL, 0, 0, ESPLUA_CONTROL_OUTPUT, 0, { 0 } }, END_INFO };
static const esplua_control_info gps_info[] = {
    { "latitude", "°", -90, 90, ESPLUA_CONTROL_VALUE, 0, { 0 } },
    { "longitude", "°", -180, 180, ESPLUA_CONTROL_VALUE, 0, { 0 } },
    { "sentences", NULL, 0, 0, ESPLUA_CONTROL_OUTPUT, 0, { 0 } }, END_INFO };

static const esplua_part_type part_types[] = {
    { "button", "a push button: pressed from the wiring, the page or its \"presses\" schedule; bounce optional",
      button_controls, button_create, button_destroy, button_set, button_get, button_info, { 0 } },
    { "buzzer", "a piezo buzzer: the frequency of the tone() on its pin", buzzer_controls,
      buzzer_create, buzzer_destroy, buzzer_set, buzzer_get, buzzer_info, { 0 } },
    { "potentiometer", "a potentiometer on A0: position 0..1 moves analogRead(A0)", pot_controls,
      pot_create, pot_destroy, pot_set, pot_get, pot_info, { 0 } },
    { "ldr", "a photoresistor in a divider on A0: lux moves analogRead(A0)", ldr_controls,
      ldr_create, ldr_destroy, ldr_set, ldr_get, ldr_info, { 0 } },
    { "uart-echo", "a device on Serial that answers each line it receives", echo_controls,
      echo_create, echo_destroy, echo_set, echo_get, echo_info, { 0 } },
    { "gps", "a GPS module on Serial's RX: NMEA sentences once a second", gps_controls,
      gps_create, gps_destroy, gps_set, gps_get, gps_info, { 0 } },
    { "jumper", "a wire from pin \"from\" to pin \"to\"", NULL,
      jumper_create, jumper_destroy, jumper_set, jumper_get, NULL, { 0 } },
    { NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, { 0 } } };

static const esplua_plugin_info info = {
    "Parts", "1.0.0", "a button, a buzzer, a potentiometer, an LDR, UART devices and a jumper wire", NULL, part_types, { 0 } };

ESPLUA_PLUGIN_EXPORT const esplua_plugin_info *esplua_plugin_describe(void) { return &info; }

ESPLUA_PLUGIN_EXPORT int esplua_plugin_init(const esplua_host *host, esplua_board *board, void **state) {
    if (host->size < sizeof(esplua_host)) return -1;
    parts *p = calloc(1, sizeof *p);
    p->host = host;
    p->board = board;
    *state = p;
    return 0;
}

ESPLUA_PLUGIN_EXPORT void esplua_plugin_destroy(void *state) { free(state); }
