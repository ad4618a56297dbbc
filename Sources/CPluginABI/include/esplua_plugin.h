/*
 * esplua_plugin.h - the one contract between esplua and its peripheral plugins.
 *
 * A plugin is a shared library (built with SwiftPM, or with `cc -shared` from
 * plain C) that adds parts (a sensor, an actuator, a memory chip) and Lua
 * modules (`Wire`, `Servo`, ...) to the emulated ESP8266. Nothing of Lua or lwIP
 * crosses this header: the host hands the plugin a table of functions, the
 * plugin hands back static descriptions, and everything else is an opaque handle.
 *
 * A plugin exports exactly the four symbols declared at the end of this header
 * under ESPLUA_PLUGIN_EXPORT (extern "C", default visibility): its ABI, describe,
 * init and destroy. Defining them in a file that includes this header lets the
 * compiler check their types.
 *
 * Versioning: the host loads a plugin whose ABI has the host's major version and
 * a minor version not above the host's. Minor versions only append: new host
 * functions take `reserved` slots at the end of esplua_host (a plugin that uses
 * one checks `host->abi` first: ESPLUA_HOST_HAS(host, 1, 1)), new fields of the
 * plugin's structs take their `reserved` slots. A plugin must never write to host
 * memory it did not get from the host.
 *   1.0  the first contract
 *   1.1  arg_error; adc_set; uart_write, uart_listen, uart_unlisten; the pin
 *        modes and levels as constants; ESPLUA_PLUGIN_EXPORT prototypes
 *   1.2  esplua_part_type.control_info: each control's kind, unit and range
 *        (the page's sliders, buttons and read-outs; `esplua plugins`)
 *
 * Lifetimes (what a pointer or handle is good for):
 *   - esplua_host *host: valid from init until destroy returns; keep it.
 *   - esplua_board *board: the same; pass it back to host functions.
 *   - esplua_call *call: valid only during the call of the esplua_function or
 *     constructor it was passed to; so are the bytes arg_string returns.
 *   - esplua_config *config: valid only during esplua_part_type.create; so are
 *     the strings config_string returns (copy what you keep).
 *   - What the plugin describes (esplua_plugin_info and everything it points
 *     to: names, methods, part types) must stay valid and unchanged until the
 *     library is unloaded: make it static.
 *   - The plugin state from init lives until destroy; a part's state from
 *     create until its type's destroy; an object's from its constructor until
 *     its class's destroy (the sketch dropped it, or the board rebooted).
 *   - Handles (timers, listeners, heap charges) are valid until cancelled or
 *     released, or until the timer has fired; cancelling a spent one is harmless.
 *   - Data passed to a listener (uart_listen's bytes) is valid only during it.
 * Which calls when:
 *   - register_module: during init (a module a sketch requires is registered
 *     then); log, micros and the config_* calls: any time they have their arguments.
 *   - arg_*, ret_*, set_field_*, error, arg_error: only inside a call, on its `call`.
 *   - Everything else (pins, buses, timers, flash, heap, adc, uart): from init on,
 *     including inside timers, listeners and calls.
 *
 * Threading: one board is one thread. Every call into a plugin happens on the
 * board's thread, inside the board's event loop; a plugin must not block and
 * must not call the host from another thread.
 *
 * Time: every time is board time in microseconds (`micros`), which is virtual
 * (deterministic, faster than real) or real depending on how esplua runs.
 */
#ifndef ESPLUA_PLUGIN_H
#define ESPLUA_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ESPLUA_PLUGIN_ABI_MAJOR 1u
#define ESPLUA_PLUGIN_ABI_MINOR 2u
#define ESPLUA_PLUGIN_ABI ((ESPLUA_PLUGIN_ABI_MAJOR << 16) | ESPLUA_PLUGIN_ABI_MINOR)
/* Whether a host offers what ABI major.minor added (1.1: host->arg_error, ...). */
#define ESPLUA_HOST_HAS(host, major, minor) \
    ((host)->abi >> 16 == (major) && ((host)->abi & 0xffffu) >= (minor))

/* What a plugin exports: default visibility, C linkage (see the end of this header).
   ESPLUA_PLUGIN_EXPORT_DATA declares the data symbol without defining it (C++'s
   linkage specification makes it a declaration, C needs `extern`). */
#ifdef __cplusplus
#define ESPLUA_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))
#define ESPLUA_PLUGIN_EXPORT_DATA ESPLUA_PLUGIN_EXPORT
#else
#define ESPLUA_PLUGIN_EXPORT __attribute__((visibility("default")))
#define ESPLUA_PLUGIN_EXPORT_DATA extern ESPLUA_PLUGIN_EXPORT
#endif

/* ---- opaque handles ------------------------------------------------------ */

typedef struct esplua_board esplua_board;       /* the board a plugin is loaded into */
typedef struct esplua_call esplua_call;         /* one call from the sketch into a plugin function */
typedef struct esplua_config esplua_config;     /* a part's settings from the wiring file */
typedef uint64_t esplua_handle;                 /* timers, pin listeners, heap charges; 0 = none */

/* ---- Lua-visible modules (described by the plugin, registered by the host) ---- */

/* A function or method called from the sketch. `self` is the object for methods
   (NULL for module functions). Read arguments and push results through the host's
   arg_* / ret_* functions; return the number of results pushed, or the value of
   host->error(call, "message") to raise a Lua error. Arguments are numbered from 1,
   not counting the object of a method call. */
typedef int (*esplua_function)(void *state, void *self, esplua_call *call);

typedef struct esplua_method {
    const char *name;
    esplua_function fn;
} esplua_method;

typedef struct esplua_constant {
    const char *name;
    int64_t value;
} esplua_constant;

/* A class of objects made by calling it from Lua (`local s = Servo()`). The
   constructor returns the new object's state, or NULL after host->error(). The
   destructor runs when the sketch drops the object or the board reboots. */
typedef struct esplua_class {
    const char *name;
    void *(*construct)(void *state, esplua_call *call);
    void (*destroy)(void *state, void *self);
    const esplua_method *methods;       /* terminated by a {NULL, NULL} entry */
    void *reserved[4];
} esplua_class;

/* A module a sketch gets with `require("Name")` (also set as a global of that name). */
typedef struct esplua_module {
    const char *name;
    const esplua_method *functions;     /* dot calls: Wire.begin(); {NULL, NULL}-terminated */
    const esplua_constant *constants;   /* {NULL, 0}-terminated, may be NULL */
    const esplua_class *classes;        /* {NULL}-terminated, may be NULL; each also a global */
    void *reserved[4];
} esplua_module;

/* ---- parts (placed by the wiring file) ----------------------------------- */

/* A part type: a BMP280, a servo, an LED bar. `create` reads its settings with
   host->config_*, attaches to pins or buses, and returns the part's state (NULL
   after host->log(..., ESPLUA_LOG_ERROR, why) if the settings are wrong).
   Controls are named numbers the world sets (a temperature, a button) and the
   part reports (a servo's angle). */

/* 1.2: what a control is, for the page and `esplua plugins` (the host reads it only
   from a plugin built for 1.2 or later). */
#define ESPLUA_CONTROL_VALUE   0   /* a number the world sets: a slider over [min, max] and a field */
#define ESPLUA_CONTROL_BUTTON  1   /* 1 while held, 0 when let go: a button to press */
#define ESPLUA_CONTROL_OUTPUT  2   /* the part reports it; the world cannot set it (a servo's angle) */
#define ESPLUA_CONTROL_LOG     1   /* flags: the slider is logarithmic (min > 0): lux, resistance */

typedef struct esplua_control_info {
    const char *name;                   /* one of the type's `controls` */
    const char *unit;                   /* "°C", "hPa", "lx", "V" (UTF-8); NULL or "" for none */
    double min, max;                    /* the range it takes (a slider's ends); min == max: unknown */
    int kind;                           /* ESPLUA_CONTROL_VALUE, _BUTTON or _OUTPUT */
    int flags;                          /* ESPLUA_CONTROL_LOG */
    void *reserved[2];
} esplua_control_info;

typedef struct esplua_part_type {
    const char *name;
    const char *summary;                /* one line for `esplua plugins` */
    const char *const *controls;        /* NULL-terminated names, may be NULL */
    void *(*create)(void *state, esplua_board *board, const esplua_config *config);
    void (*destroy)(void *state, void *part);
    /* 0 on success, -1 for an unknown control */
    int (*set_control)(void *state, void *part, const char *control, double value);
    int (*get_control)(void *state, void *part, const char *control, double *value);
    /* 1.2: {NULL}-terminated, may be NULL or name only some controls (the rest are
       plain numbers to the page) */
    const esplua_control_info *control_info;
    void *reserved[3];
} esplua_part_type;

typedef struct esplua_plugin_info {
    const char *name;                   /* e.g. "Wire" */
    const char *version;                /* the plugin's own version, e.g. "1.0.0" */
    const char *summary;
    const esplua_module *modules;       /* {NULL}-terminated, may be NULL */
    const esplua_part_type *parts;      /* {NULL}-terminated, may be NULL */
    void *reserved[4];
} esplua_plugin_info;

/* ---- buses: devices attach, masters transfer ------------------------------ */

/* An I2C device at a 7-bit address. `start` begins a transfer (read = 1 for a
   read): return 0 to ACK the address, -1 to NACK. `write` gets each byte the
   master sends (return 0 = ACK, -1 = NACK); `read` supplies each byte the master
   reads; `stop` ends the transfer. */
typedef struct esplua_i2c_device {
    int (*start)(void *part, int read);
    int (*write)(void *part, uint8_t byte);
    uint8_t (*read)(void *part);
    void (*stop)(void *part);
    void *reserved[4];
} esplua_i2c_device;

/* An SPI device selected by its chip-select pin (active LOW): `select` when CS
   falls, `transfer` exchanges one byte (full duplex), `deselect` when CS rises. */
typedef struct esplua_spi_device {
    void (*select)(void *part);
    uint8_t (*transfer)(void *part, uint8_t mosi);
    void (*deselect)(void *part);
    void *reserved[4];
} esplua_spi_device;

/* Results of host->i2c_write, as Wire.endTransmission() reports them. */
#define ESPLUA_I2C_OK            0
#define ESPLUA_I2C_ADDRESS_NACK  2
#define ESPLUA_I2C_DATA_NACK     3
#define ESPLUA_I2C_OTHER         4

#define ESPLUA_LOG_INFO   0
#define ESPLUA_LOG_WARN   1
#define ESPLUA_LOG_ERROR  2

/* Pin modes as pin_mode reports them: the Arduino values (Arduino.h). */
#define ESPLUA_PIN_INPUT              0x00
#define ESPLUA_PIN_OUTPUT             0x01
#define ESPLUA_PIN_INPUT_PULLUP       0x02
#define ESPLUA_PIN_OUTPUT_OPEN_DRAIN  0x03   /* 1.1 */
#define ESPLUA_PIN_INPUT_PULLDOWN_16  0x04   /* 1.1: GPIO16 only */
/* Levels (pin_level, pin_drive, pin_write) and pin_drive's "let go". 1.1 */
#define ESPLUA_LOW      0
#define ESPLUA_HIGH     1
#define ESPLUA_RELEASE  (-1)
/* GPIO numbers of note. 1.1 */
#define ESPLUA_PIN_COUNT  17                 /* GPIO 0-16; 6-11 are the flash's */
#define ESPLUA_A0         17                 /* the ADC: analogRead(A0), see adc_set */
/* UARTs for uart_write / uart_listen. 1.1 */
#define ESPLUA_UART0  0                      /* Serial: RX GPIO3, TX GPIO1 */

/* ---- the host ------------------------------------------------------------- */

typedef struct esplua_host {
    uint32_t size;                      /* sizeof(esplua_host) in the host */
    uint32_t abi;                       /* the host's ESPLUA_PLUGIN_ABI */

    /* messages: on esplua's stderr, prefixed with the plugin's name */
    void (*log)(esplua_board *board, int level, const char *message);

    /* board time and timers: `fn` runs once, in the board's loop, at board time now + after_us */
    uint64_t (*micros)(esplua_board *board);
    esplua_handle (*timer_start)(esplua_board *board, uint64_t after_us, void (*fn)(void *ctx), void *ctx);
    void (*timer_cancel)(esplua_board *board, esplua_handle timer);

    /* pins (GPIO numbers): the level the sketch drives or the input reads;
       a part drives an input (a button) with pin_drive (-1 releases it); listeners
       hear every level change (PWM edges included) with its board time */
    int (*pin_level)(esplua_board *board, int pin);
    int (*pin_mode)(esplua_board *board, int pin);
    void (*pin_drive)(esplua_board *board, int pin, int level);
    esplua_handle (*pin_listen)(esplua_board *board, int pin,
                                void (*fn)(void *ctx, int pin, int level, uint64_t at_us), void *ctx);
    void (*pin_unlisten)(esplua_board *board, esplua_handle listener);
    /* the MCU drives an output pin, as the core's waveform generator does (Servo,
       tone): the pin becomes an OUTPUT if it is not one */
    void (*pin_write)(esplua_board *board, int pin, int level);

    /* buses: parts attach devices; the Wire/SPI modules act as the masters */
    int (*i2c_attach)(esplua_board *board, uint8_t address, const esplua_i2c_device *device, void *part);
    int (*i2c_write)(esplua_board *board, uint8_t address, const uint8_t *data, size_t length, int send_stop);
    /* returns the bytes read (all of `length`), or -1 if no device ACKed the address */
    int (*i2c_read)(esplua_board *board, uint8_t address, uint8_t *data, size_t length, int send_stop);
    int (*spi_attach)(esplua_board *board, int cs_pin, const esplua_spi_device *device, void *part);
    /* exchanges `length` bytes in place with the selected device; 0xFF when none is selected */
    void (*spi_transfer)(esplua_board *board, uint8_t *data, size_t length);

    /* the flash chip (NOR: erase sets 0xFF in 4 KiB sectors, program only clears bits);
       0 on success, -1 outside the chip or on a power cut */
    uint32_t (*flash_size)(esplua_board *board);
    int (*flash_read)(esplua_board *board, uint32_t address, void *data, size_t length);
    int (*flash_program)(esplua_board *board, uint32_t address, const void *data, size_t length);
    int (*flash_erase_sector)(esplua_board *board, uint32_t address);

    /* the emulated heap (ESP.getFreeHeap() moves): 0 when it is exhausted */
    esplua_handle (*heap_charge)(esplua_board *board, uint32_t bytes);
    void (*heap_release)(esplua_board *board, esplua_handle charge);

    /* Lua-visible modules: usually all of the plugin's modules at init */
    int (*register_module)(esplua_board *board, const esplua_module *module, void *state);

    /* arguments of a call (index from 1); each returns 0 or -1 if the argument is
       missing or of another type (then call error() with a message) */
    int (*arg_count)(esplua_call *call);
    int (*arg_integer)(esplua_call *call, int index, int64_t *value);
    int (*arg_number)(esplua_call *call, int index, double *value);
    int (*arg_boolean)(esplua_call *call, int index, int *value);
    /* the bytes stay valid until the function returns */
    int (*arg_string)(esplua_call *call, int index, const char **bytes, size_t *length);
    int (*arg_is_nil)(esplua_call *call, int index);
    /* an object of one of this plugin's classes (its `self`), NULL if the argument is not one */
    void *(*arg_object)(esplua_call *call, int index, const char *class_name);

    /* results, in order */
    void (*ret_integer)(esplua_call *call, int64_t value);
    void (*ret_number)(esplua_call *call, double value);
    void (*ret_boolean)(esplua_call *call, int value);
    void (*ret_string)(esplua_call *call, const char *bytes, size_t length);
    void (*ret_nil)(esplua_call *call);
    /* a new object of one of this plugin's classes, owning `self` */
    void (*ret_object)(esplua_call *call, const char *class_name, void *self);

    /* a new table as the next result; the set_field_* calls fill the last one pushed */
    void (*ret_table)(esplua_call *call);
    void (*set_field_integer)(esplua_call *call, const char *key, int64_t value);
    void (*set_field_number)(esplua_call *call, const char *key, double value);
    void (*set_field_string)(esplua_call *call, const char *key, const char *bytes, size_t length);
    void (*set_field_boolean)(esplua_call *call, const char *key, int value);

    /* raises a Lua error "bad argument"-style or plain; return its value from the function */
    int (*error)(esplua_call *call, const char *message);

    /* a part's settings from the wiring file; 0 if present and of the right type */
    int (*config_integer)(const esplua_config *config, const char *key, int64_t *value);
    int (*config_number)(const esplua_config *config, const char *key, double *value);
    int (*config_string)(const esplua_config *config, const char *key, const char **value);

    /* ---- 1.1 (check ESPLUA_HOST_HAS(host, 1, 1) before using these) ---- */

    /* raises "bad argument #index to 'name' (message)", as Lua's luaL_argerror
       names the function the sketch called; return its value from the function */
    int (*arg_error)(esplua_call *call, int index, const char *message);
    /* what analogRead(A0) reads from now on: 0..1023 (0-1.0 V at the chip's ADC
       pin; a NodeMCU's divider makes that 0-3.3 V at its A0); clamped */
    void (*adc_set)(esplua_board *board, int value);
    /* bytes a part sends to the board's UART `port`: they arrive in the sketch's
       RX buffer (Serial.read); returns how many fit (the rest is lost, as on the chip) */
    int (*uart_write)(esplua_board *board, int port, const uint8_t *data, size_t length);
    /* hears what the sketch transmits on UART `port` (Serial.print ...) */
    esplua_handle (*uart_listen)(esplua_board *board, int port,
                                 void (*fn)(void *ctx, const uint8_t *data, size_t length, uint64_t at_us), void *ctx);
    void (*uart_unlisten)(esplua_board *board, esplua_handle listener);

    void *reserved[11];
} esplua_host;

/* ---- what a plugin exports -------------------------------------------------- */

/* The plugin's ABI: define it as ESPLUA_PLUGIN_ABI (the header it was built with). */
ESPLUA_PLUGIN_EXPORT_DATA const uint32_t esplua_plugin_abi;
/* Static descriptions of the plugin's modules and parts (see Lifetimes). */
ESPLUA_PLUGIN_EXPORT const esplua_plugin_info *esplua_plugin_describe(void);
/* Starts the plugin on a board: keep host and board, set *state, return 0 (or
   non-zero to refuse: the host reports it). Register modules here. */
ESPLUA_PLUGIN_EXPORT int esplua_plugin_init(const esplua_host *host, esplua_board *board, void **state);
/* The board is done with the plugin: its parts and objects are destroyed already. */
ESPLUA_PLUGIN_EXPORT void esplua_plugin_destroy(void *state);

/* The host's own ABI (esplua's side only). */
uint32_t esplua_host_abi(void);

typedef const esplua_plugin_info *(*esplua_plugin_describe_fn)(void);
typedef int (*esplua_plugin_init_fn)(const esplua_host *host, esplua_board *board, void **state);
typedef void (*esplua_plugin_destroy_fn)(void *state);

#ifdef __cplusplus
}
#endif

#endif /* ESPLUA_PLUGIN_H */
