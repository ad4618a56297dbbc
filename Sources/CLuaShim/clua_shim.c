#include "clua_shim.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

static clua_dispatch_fn g_dispatch;
void clua_set_dispatch(clua_dispatch_fn fn) { g_dispatch = fn; }

/* Raises or yields for a negative dispatch result (kept out of the hot path). */
static int __attribute__((noinline)) finish_result(lua_State *L, int r) {
    if (r == CLUA_RET_YIELD) return lua_yield(L, 0);
    if (r == CLUA_RET_ERROR) {
        luaL_where(L, 1);          /* "file:line:" of the Lua caller */
        lua_insert(L, -2);
        lua_concat(L, 2);
        return lua_error(L);
    }
    if (r <= CLUA_RET_ARGERROR_BASE) {
        int arg = CLUA_RET_ARGERROR_BASE - r;
        const char *msg = lua_tostring(L, -1);
        return luaL_argerror(L, arg, msg ? msg : "?");
    }
    return luaL_error(L, "internal error: bad dispatch result %d", r);
}

/* Calls the Swift function in `box`: the host's allocations are never refused while
   it runs (grace), and `thread` names L for the host until it returns. */
static inline int call_swift(lua_State *L, clua_host *h, void *box) {
    lua_State *outer = h->thread;
    h->thread = L;
    h->memory.grace++;
    int r = g_dispatch(L, box);
    h->memory.grace--;
    h->thread = outer;
    if (r >= 0) return r;
    return finish_result(L, r);
}

static int trampoline_active(lua_State *L) {
    clua_host *h = clua_host_of(L);
    *h->activity |= CLUA_ACTIVE;
    return call_swift(L, h, lua_touserdata(L, lua_upvalueindex(1)));
}

static int trampoline_poll(lua_State *L) {
    return call_swift(L, clua_host_of(L), lua_touserdata(L, lua_upvalueindex(1)));
}

void clua_push_function(lua_State *L, void *box, int kind) {
    lua_pushlightuserdata(L, box);
    lua_pushcclosure(L, kind == CLUA_KIND_POLL ? trampoline_poll : trampoline_active, 1);
}

/* ---- classes and objects ---- */
int clua_define_class(lua_State *L, const char *name) {
    clua_host *h = clua_host_of(L);
    if (!luaL_newmetatable(L, name)) {   /* defined again: the same class, new methods */
        const void *mt = lua_topointer(L, -1);
        for (int k = 0; k < h->class_count; k++)
            if (h->classes[k].metatable == mt) return k;
    }
    clua_class *grown = (clua_class *)realloc(h->classes, (size_t)(h->class_count + 1) * sizeof(clua_class));
    if (grown == NULL) return luaL_error(L, "out of memory defining class %s", name);
    h->classes = grown;
    clua_class *c = &h->classes[h->class_count];
    c->metatable = lua_topointer(L, -1);
    lua_pushvalue(L, -1);
    c->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return h->class_count++;
}

void clua_free_classes(clua_host *h) {
    free(h->classes);
    h->classes = NULL;
    h->class_count = 0;
}

/* clua_toobject's full check of `o`, the userdata at `i` (or NULL) */
clua_object *clua_checkobject(lua_State *L, int i, int *cls, clua_object *o) {
    clua_host *h = clua_host_of(L);
    *cls = -1;
    /* a light userdata has no metatable of its own (and Lua code cannot make one) */
    if (o == NULL || !lua_getmetatable(L, i)) return NULL;
    const void *mt = lua_topointer(L, -1);
    lua_pop(L, 1);
    for (int k = 0; k < h->class_count; k++) {
        if (h->classes[k].metatable == mt) {
            *cls = k;
            h->checked = o;
            return o;
        }
    }
    return NULL;
}

clua_object *clua_newobject(lua_State *L, void *object, const void *type, lua_Integer serial, int cls) {
    clua_object *o = (clua_object *)lua_newuserdatauv(L, sizeof(clua_object), 0);
    o->object = object;
    o->type = type;
    o->serial = serial;
    o->cls = cls;
    lua_rawgeti(L, LUA_REGISTRYINDEX, clua_host_of(L)->classes[cls].ref);
    lua_setmetatable(L, -2);
    return o;
}

static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    clua_memory *m = (clua_memory *)ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        m->used -= old;
        return NULL;
    }
    if (nsize > old && m->used - old + nsize > m->limit && m->grace == 0) {
        /* Refused: the sketch is out of memory, unless Lua's emergency GC frees
           enough and the very same request then succeeds (cleared below). */
        m->oom = 1;
        m->failed_size = nsize;
        m->fail_pending = 1;
        m->fail_ptr = ptr;
        m->fail_nsize = nsize;
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (p == NULL) {
        if (nsize <= old) return ptr; /* shrinking never fails for Lua */
        m->oom = 1;
        m->failed_size = nsize;
        return NULL;
    }
    if (nsize > old && m->fail_pending) {
        if (m->fail_ptr == ptr && m->fail_nsize == nsize) m->oom = 0;   /* the retry worked */
        m->fail_pending = 0;
    }
    m->used = m->used - old + nsize;
    if (m->used > m->peak) m->peak = m->used;
    if (nsize > old) m->allocations++;
    return p;
}

static int panic_handler(lua_State *L) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "esplua: unprotected Lua error: %s\n", msg ? msg : "?");
    return 0; /* Lua aborts after this; every entry point is protected, so this is a bug */
}

static void warn_handler(void *ud, const char *msg, int tocont) {
    (void)ud; (void)tocont;
    fprintf(stderr, "%s", msg);
    if (!tocont) fputc('\n', stderr);
}

lua_State *clua_newstate(clua_host *host) {
    lua_State *L = lua_newstate(capped_alloc, &host->memory);
    if (!L) return NULL;
    *(clua_host **)lua_getextraspace(L) = host;   /* copied into every new thread */
    lua_atpanic(L, panic_handler);
    lua_setwarnf(L, warn_handler, NULL);
    return L;
}

/* ---- hook ---- */
static clua_hook_fn g_hook;
static int g_hook_count;
static lua_State *g_hook_L;   /* the state the hook was installed on (the sketch's) */

static void count_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    int n = g_hook_count;
    if (lua_gethookcount(L) != g_hook_count) {
        /* asked to fire soon (or unwinding): back to the usual count; the
           instructions since the last firing are not known, count one */
        lua_sethook(L, count_hook, LUA_MASKCOUNT, g_hook_count);
        n = 1;
    }
    if (!g_hook(L, n)) return;
    if (lua_isyieldable(L)) {
        lua_yield(L, 0);   /* allowed from count hooks with no values */
        return;
    }
    /* Not yieldable (inside a metamethod or a C callback): raise; the hook fires
       again on the next instructions until the sketch is back where it can yield. */
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    luaL_error(L, "sketch stopped by the board");
}

void clua_hook_soon(lua_State *L) {
    if (g_hook) lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
}

void clua_set_hook(lua_State *L, clua_hook_fn fn, int count) {
    g_hook = fn;
    g_hook_count = count;
    g_hook_L = L;
    lua_sethook(L, count_hook, LUA_MASKCOUNT, count);
}

void clua_forget_hook(lua_State *L) {
    if (g_hook_L == L) g_hook_L = NULL;
}

/* clua_strlib.c's matcher, every 1024 steps: the steps are charged as instructions
   of the hooked state (one sketch per process); 1 = stop */
int clua_strlib_tick(void) {
    if (g_hook == NULL || g_hook_L == NULL) return 0;
    return g_hook(g_hook_L, 1024);
}

/* ---- protected calls ---- */
static int traceback_handler(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

int clua_pcall_traceback(lua_State *L, int nargs, int nresults) {
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, traceback_handler);
    lua_insert(L, base);
    int status = lua_pcall(L, nargs, nresults, base);
    lua_remove(L, base);
    return status;
}

int clua_load_text(lua_State *L, const char *buf, size_t len, const char *chunkname) {
    return luaL_loadbufferx(L, buf, len, chunkname, "t");
}

void clua_open_safe_libs(lua_State *L) {
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},
        {LUA_LOADLIBNAME, luaopen_package},
        {LUA_COLIBNAME, luaopen_coroutine},
        {LUA_TABLIBNAME, luaopen_table},
        {LUA_STRLIBNAME, clua_luaopen_string},   /* clua_strlib.c: the watchdog sees matches */
        {LUA_MATHLIBNAME, luaopen_math},
        {LUA_UTF8LIBNAME, luaopen_utf8},
        {NULL, NULL}
    };
    /* no LUA_PATH/LUA_CPATH from the host's environment */
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
    for (const luaL_Reg *lib = libs; lib->func; lib++) {
        luaL_requiref(L, lib->name, lib->func, 1);
        lua_pop(L, 1);
    }
}

/* ---- benchmarks: the physical limit of a Lua -> native call ------------------
   A plain lua_CFunction that reads two integers and stores them: what a binding
   costs with no Swift, no trampoline, no table lookups beyond the global. */
static volatile lua_Integer g_bare_a, g_bare_b;
static int clua_bare(lua_State *L) {
    g_bare_a = luaL_checkinteger(L, 1);
    g_bare_b = luaL_checkinteger(L, 2);
    return 0;
}
void clua_register_bare(lua_State *L, const char *name) {
    lua_pushcfunction(L, clua_bare);
    lua_setglobal(L, name);
}

/* ---- C fast paths ------------------------------------------------------------
   Each does what its Swift binding did, with the same argument checks and the same
   messages (LuaCall.integer, Pins.PinError), so a sketch cannot tell them apart. */

/* LuaCall.integer: an integer, a float with an exact integer value or a numeric
   string; a boolean counts as 1/0; anything else is Lua's "number expected". */
static lua_Integer arg_integer(lua_State *L, int i) {
    int ok;
    lua_Integer v = lua_tointegerx(L, i, &ok);
    if (ok) return v;
    switch (lua_type(L, i)) {
    case LUA_TNUMBER: luaL_argerror(L, i, "number has no integer representation"); return 0;
    case LUA_TBOOLEAN: return lua_toboolean(L, i);
    default:
        luaL_argerror(L, i, lua_pushfstring(L, "number expected, got %s", luaL_typename(L, i)));
        return 0;
    }
}

/* Pins.check: 0-16, not the flash pins 6-11 (argument 1). */
static int arg_pin(lua_State *L, lua_Integer pin) {
    if (pin < 0 || pin >= CLUA_PIN_COUNT)
        luaL_argerror(L, 1, lua_pushfstring(L, "GPIO%I does not exist (valid pins are 0-16)", (LUAI_UACINT)pin));
    if (pin >= 6 && pin <= 11)
        luaL_argerror(L, 1, lua_pushfstring(L, "GPIO%I is wired to the flash chip (GPIO6-11 cannot be used)", (LUAI_UACINT)pin));
    return (int)pin;
}

/* Pins.level with the output level `out`: what the pin shows. */
static inline int pin_level(const clua_pins *p, int pin, int out) {
    int ext = p->external[pin];
    switch (p->mode[pin]) {
    case 1: return out;                                  /* OUTPUT */
    case 3: return out && (ext == 2 ? 1 : ext);          /* OUTPUT_OPEN_DRAIN */
    case 2: return ext == 2 ? 1 : ext;                   /* INPUT_PULLUP */
    default: return ext == 2 ? 0 : ext;                  /* INPUT, INPUT_PULLDOWN_16 */
    }
}

static int digital_write(lua_State *L) {
    clua_host *h = clua_host_of(L);
    *h->activity |= CLUA_ACTIVE;
    clua_pins *p = h->pins;
    lua_Integer pin = arg_integer(L, 1);
    int high = arg_integer(L, 2) != 0;
    int i = arg_pin(L, pin);
    uint8_t slow = p->slow[i];
    if (slow) {
        /* PWM to stop, or a change someone hears: the Swift binding does it all */
        if ((slow & CLUA_PIN_PWM) || pin_level(p, i, high) != pin_level(p, i, p->output[i]))
            return call_swift(L, h, h->pins_slow_box);
    }
    p->output[i] = (uint8_t)high;
    return 0;
}

static int digital_read(lua_State *L) {
    const clua_pins *p = clua_host_of(L)->pins;
    int i = arg_pin(L, arg_integer(L, 1));
    lua_pushinteger(L, pin_level(p, i, p->output[i]));
    return 1;
}

/* The block and the slow path live in the host (no upvalues: light C functions, as
   the bare baseline is). */
void clua_push_digital_write(lua_State *L, clua_pins *pins, void *slow_box) {
    clua_host *h = clua_host_of(L);
    h->pins = pins;
    h->pins_slow_box = slow_box;
    lua_pushcfunction(L, digital_write);
}

void clua_push_digital_read(lua_State *L, clua_pins *pins) {
    clua_host_of(L)->pins = pins;
    lua_pushcfunction(L, digital_read);
}

/* BoardClock.words: 0 board time µs, 1 wall origin ns, 2 real (1) / virtual (0), 3 boot µs */
static int millis(lua_State *L) {
    clua_host *h = clua_host_of(L);
    const uint64_t *w = h->clock;
    *h->activity |= CLUA_READ_MILLIS;
    lua_pushinteger(L, (lua_Integer)(uint32_t)((w[0] - w[3]) / 1000));
    return 1;
}

static int micros(lua_State *L) {
    clua_host *h = clua_host_of(L);
    uint64_t *w = h->clock;
    *h->activity |= CLUA_READ_MICROS;
    if (w[2]) {   /* BoardClock.refresh() */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        uint64_t t = (ns - w[1]) / 1000;
        if (t > w[0]) w[0] = t;
    }
    lua_pushinteger(L, (lua_Integer)(uint32_t)(w[0] - w[3]));
    return 1;
}

void clua_push_millis(lua_State *L, uint64_t *clock_words) {
    clua_host_of(L)->clock = clock_words;
    lua_pushcfunction(L, millis);
}

void clua_push_micros(lua_State *L, uint64_t *clock_words) {
    clua_host_of(L)->clock = clock_words;
    lua_pushcfunction(L, micros);
}

int clua_called_as_method(lua_State *L, const char **name) {
    lua_Debug ar;
    *name = NULL;
    if (!lua_getstack(L, 0, &ar)) return 0;
    lua_getinfo(L, "n", &ar);
    *name = ar.name;
    if (ar.namewhat == NULL) return 0;
    if (strcmp(ar.namewhat, "method") == 0) return 1;
    return strcmp(ar.namewhat, "field") == 0 ? 2 : 0;
}
