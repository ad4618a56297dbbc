/*
 * demo.c - an esplua plugin in plain C: a push button, an LED bar, and a tiny
 * Lua module. It is the example of the README and the ABI test of the suite,
 * written against plugin ABI 1.2 (ESPLUA_PLUGIN_EXPORT, arg_error, named levels; its
 * controls' kinds and ranges).
 *
 *   cc -shared -fPIC -std=c11 -I<esplua>/Sources/CPluginABI/include demo.c -o libesplua-demo.so
 *   esplua run sketch.lua --plugin-path .
 *
 * Wiring:  { "parts": [ { "name": "btn", "part": "button", "pin": 0 },
 *                       { "name": "bar", "part": "ledbar", "first": 12, "count": 4 } ] }
 * Lua:     local Demo = require("Demo"); Demo.add(2, 3); local c = Counter(10); c:inc(); c:value()
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "esplua_plugin.h"

#ifndef DEMO_ABI
#define DEMO_ABI ESPLUA_PLUGIN_ABI   /* the test builds a copy with another ABI to see it refused */
#endif

ESPLUA_PLUGIN_EXPORT const uint32_t esplua_plugin_abi = DEMO_ABI;

typedef struct demo { const esplua_host *host; esplua_board *board; } demo;

/* ---- button: pressed pulls its pin LOW (wire it to an INPUT_PULLUP pin) ---- */

typedef struct button { demo *d; int pin; int pressed; } button;

static void *button_create(void *state, esplua_board *board, const esplua_config *config) {
    demo *d = state;
    int64_t pin;
    if (d->host->config_integer(config, "pin", &pin) != 0 || pin < 0 || pin > 16) {
        d->host->log(board, ESPLUA_LOG_ERROR, "button: \"pin\" (0-16) is missing");
        return NULL;
    }
    button *b = calloc(1, sizeof *b);
    b->d = d;
    b->pin = (int)pin;
    d->host->pin_drive(board, b->pin, ESPLUA_RELEASE);
    return b;
}

static void button_destroy(void *state, void *part) { (void)state; free(part); }

static int button_set(void *state, void *part, const char *control, double value) {
    demo *d = state;
    button *b = part;
    if (strcmp(control, "pressed") != 0) return -1;
    b->pressed = value != 0;
    d->host->pin_drive(d->board, b->pin, b->pressed ? ESPLUA_LOW : ESPLUA_RELEASE);
    return 0;
}

static int button_get(void *state, void *part, const char *control, double *value) {
    (void)state;
    if (strcmp(control, "pressed") != 0) return -1;
    *value = ((button *)part)->pressed;
    return 0;
}

/* ---- LED bar: `count` LEDs on consecutive pins from `first`; "value" = the lit ones as bits ---- */

typedef struct ledbar { demo *d; int first, count; unsigned value; } ledbar;

static void ledbar_edge(void *ctx, int pin, int level, uint64_t at_us) {
    (void)at_us;
    ledbar *l = ctx;
    unsigned bit = 1u << (pin - l->first);
    l->value = level ? (l->value | bit) : (l->value & ~bit);
}

static void *ledbar_create(void *state, esplua_board *board, const esplua_config *config) {
    demo *d = state;
    int64_t first, count = 8;
    if (d->host->config_integer(config, "first", &first) != 0) {
        d->host->log(board, ESPLUA_LOG_ERROR, "ledbar: \"first\" pin is missing");
        return NULL;
    }
    d->host->config_integer(config, "count", &count);
    ledbar *l = calloc(1, sizeof *l);
    l->d = d;
    l->first = (int)first;
    l->count = (int)count;
    for (int i = 0; i < l->count; i++) d->host->pin_listen(board, l->first + i, ledbar_edge, l);
    return l;
}

static void ledbar_destroy(void *state, void *part) { (void)state; free(part); }

static int ledbar_get(void *state, void *part, const char *control, double *value) {
    (void)state;
    if (strcmp(control, "value") != 0) return -1;
    *value = ((ledbar *)part)->value;
    return 0;
}

static int ledbar_set(void *state, void *part, const char *control, double value) {
    (void)state; (void)part; (void)control; (void)value;
    return -1;   /* an output: nothing to set from outside */
}

/* ---- the Lua module: Demo.version(), Demo.add(a, b), Counter(start) ---- */

static int demo_version(void *state, void *self, esplua_call *call) {
    demo *d = state;
    (void)self;
    d->host->ret_string(call, "demo 1.1", 8);
    return 1;
}

static int demo_add(void *state, void *self, esplua_call *call) {
    demo *d = state;
    int64_t a, b;
    (void)self;
    /* arg_error (1.1) raises "bad argument #n to 'add' (...)", as Lua's own functions do */
    if (d->host->arg_integer(call, 1, &a)) return d->host->arg_error(call, 1, "integer expected");
    if (d->host->arg_integer(call, 2, &b)) return d->host->arg_error(call, 2, "integer expected");
    d->host->ret_integer(call, a + b);
    return 1;
}

typedef struct counter { int64_t value; esplua_handle charge; } counter;

static void *counter_new(void *state, esplua_call *call) {
    demo *d = state;
    int64_t start = 0;
    if (d->host->arg_count(call) >= 1 && d->host->arg_integer(call, 1, &start)) {
        d->host->arg_error(call, 1, "integer expected");
        return NULL;
    }
    counter *c = calloc(1, sizeof *c);
    c->value = start;
    c->charge = d->host->heap_charge(d->board, 16);   /* what it would cost on the board */
    return c;
}

static void counter_free(void *state, void *self) {
    demo *d = state;
    counter *c = self;
    d->host->heap_release(d->board, c->charge);
    free(c);
}

static int counter_inc(void *state, void *self, esplua_call *call) {
    (void)state; (void)call;
    ((counter *)self)->value++;
    return 0;
}

static int counter_value(void *state, void *self, esplua_call *call) {
    demo *d = state;
    d->host->ret_integer(call, ((counter *)self)->value);
    return 1;
}

static const esplua_method demo_functions[] = { { "version", demo_version }, { "add", demo_add }, { NULL, NULL } };
static const esplua_method counter_methods[] = { { "inc", counter_inc }, { "value", counter_value }, { NULL, NULL } };
static const esplua_class demo_classes[] = { { "Counter", counter_new, counter_free, counter_methods, { 0 } }, { NULL, NULL, NULL, NULL, { 0 } } };
static const esplua_constant demo_constants[] = { { "DEMO_ANSWER", 42 }, { NULL, 0 } };
static const esplua_module demo_modules[] = {
    { "Demo", demo_functions, demo_constants, demo_classes, { 0 } },
    { NULL, NULL, NULL, NULL, { 0 } } };

static const char *const button_controls[] = { "pressed", NULL };
static const char *const ledbar_controls[] = { "value", NULL };
/* 1.2: what each control is (the page draws a button to hold, and a read-out of the
   LEDs lit: the sketch drives them, nothing outside sets them) */
static const esplua_control_info button_info[] = {
    { "pressed", NULL, 0, 1, ESPLUA_CONTROL_BUTTON, 0, { 0 } }, { NULL, NULL, 0, 0, 0, 0, { 0 } } };
static const esplua_control_info ledbar_info[] = {
    { "value", NULL, 0, 0, ESPLUA_CONTROL_OUTPUT, 0, { 0 } }, { NULL, NULL, 0, 0, 0, 0, { 0 } } };
static const esplua_part_type demo_parts[] = {
    { "button", "a push button that pulls its pin LOW while pressed", button_controls,
      button_create, button_destroy, button_set, button_get, button_info, { 0 } },
    { "ledbar", "LEDs on consecutive pins; value = the lit ones as bits", ledbar_controls,
      ledbar_create, ledbar_destroy, ledbar_set, ledbar_get, ledbar_info, { 0 } },
    { NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, { 0 } } };

static const esplua_plugin_info info = {
    "Demo", "1.1.0", "a button, an LED bar and a small Lua module, in plain C", demo_modules, demo_parts, { 0 } };

ESPLUA_PLUGIN_EXPORT const esplua_plugin_info *esplua_plugin_describe(void) { return &info; }

ESPLUA_PLUGIN_EXPORT int esplua_plugin_init(const esplua_host *host, esplua_board *board, void **state) {
    /* arg_error is 1.1's: refuse a 1.0 host rather than call past its table */
    if (host->size < sizeof(esplua_host) || !ESPLUA_HOST_HAS(host, 1, 1)) return -1;
    demo *d = calloc(1, sizeof *d);
    d->host = host;
    d->board = board;
    *state = d;
    return 0;
}

ESPLUA_PLUGIN_EXPORT void esplua_plugin_destroy(void *state) { free(state); }
