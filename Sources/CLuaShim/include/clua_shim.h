/*
 * clua_shim.h - the C side of esplua's Lua boundary.
 *
 * Lua errors and yields are longjmps; they must never cross a Swift frame.
 * Swift functions are reached through one trampoline (clua_push_function);
 * Swift returns a code and the trampoline, in C, raises or yields.
 * Also: the capped allocator, the instruction-count hook, and static-inline
 * versions of the Lua macros Swift cannot import. Prefix: clua_.
 */
#ifndef ESPLUA_CLUA_SHIM_H
#define ESPLUA_CLUA_SHIM_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stddef.h>
#include <stdint.h>

/* ---- results a Swift function returns to the trampoline ---- */
/** >= 0: number of results pushed. */
#define CLUA_RET_ERROR     (-1)   /* message on top: raise it with file:line of the caller */
#define CLUA_RET_YIELD     (-2)   /* lua_yield(L, 0) */
#define CLUA_RET_ARGERROR_BASE (-1000) /* -(1000 + arg): luaL_argerror(arg, message on top) */

/* ---- memory ---- */
typedef struct clua_memory {
    size_t used;
    size_t limit;        /* bytes the sketch's VM may hold */
    size_t peak;
    size_t failed_size;  /* the request that finally failed */
    int oom;             /* set when an allocation failed even after Lua's emergency GC */
    int grace;           /* >0 while host code runs: never refuse (the host must not fail mid-call) */
    void *fail_ptr;
    size_t fail_nsize;
    int fail_pending;
    size_t allocations;  /* allocations that grew a block, ever (the run loop's "did the sketch do something") */
} clua_memory;

/* ---- activity: what the sketch did since the host last looked ---- */
#define CLUA_ACTIVE        1u   /* an active binding ran (anything but a poll or a clock read) */
#define CLUA_READ_MILLIS   2u   /* millis() was read */
#define CLUA_READ_MICROS   4u   /* micros() was read */

/** A class of userdata the host defined: its metatable, known by address. */
typedef struct clua_class {
    const void *metatable;  /* kept alive by the registry (registry[name] and `ref`) */
    int ref;                /* registry reference of the metatable */
} clua_class;

struct clua_pins;
struct clua_object;

/** What the host keeps per state, reachable from every thread of it through the
    state's extra space (lua_newthread copies it), so a call needs no lookup.
    Owned by the Swift LuaState; lives as long as the lua_State. */
typedef struct clua_host {
    clua_memory memory;     /* the allocator's counters (its ud) */
    uint32_t *activity;     /* CLUA_ACTIVE etc. are OR-ed into *activity; never NULL */
    lua_State *thread;      /* the thread of the innermost Swift call running now, or NULL */
    void *state;            /* the Swift LuaState (unretained) */
    uint32_t own_activity;  /* where `activity` points until the host moves it */
    clua_class *classes;    /* clua_define_class; few, scanned by metatable address */
    int class_count;
    void *class_names;      /* the host's names of the classes, by number (Swift Strings) */
    struct clua_object *checked; /* the block clua_toobject checked last */
    /* the board the C fast paths work on (one per state) */
    struct clua_pins *pins; /* digitalWrite/digitalRead */
    void *pins_slow_box;    /* the Swift digitalWrite (clua_push_function's box) */
    uint64_t *clock;        /* millis/micros: BoardClock.words */
} clua_host;

/** A new state whose allocations are counted and capped by `host->memory`, and
    whose extra space points at `host`. */
lua_State *clua_newstate(clua_host *host);
static inline clua_host *clua_host_of(lua_State *L) { return *(clua_host **)lua_getextraspace(L); }

/* ---- Swift functions ---- */
/** The Swift dispatcher every trampoline calls with its function's box; set once. */
typedef int (*clua_dispatch_fn)(lua_State *L, void *box);
void clua_set_dispatch(clua_dispatch_fn fn);

/** Function kinds: an active function ORs CLUA_ACTIVE into the activity word on
    every call; a poll does not (it reports activity itself when it finds some). */
#define CLUA_KIND_ACTIVE 0
#define CLUA_KIND_POLL   1
/** Pushes a C closure that dispatches to the Swift function in `box` (its only
    upvalue, a light userdata; the box must live as long as the state). */
void clua_push_function(lua_State *L, void *box, int kind);

/* ---- objects: userdata blocks that hold a Swift object ---- */
/** The block of every userdata the host makes: the object (unretained; the host
    keeps it alive until the block is cleared), its type, and a serial number for __tostring.
    `object` is NULL once the Lua value was closed or collected. */
typedef struct clua_object {
    void *object;
    const void *type;   /* the object's class (Swift metadata), for a cast-free check */
    lua_Integer serial;
    int cls;            /* its class number */
} clua_object;

/** Creates metatable `name` (luaL_newmetatable), leaves it on the stack, and records
    it as class number `clua_host_of(L)->class_count - 1`, which it returns; a class
    defined again keeps its metatable and number. */
int clua_define_class(lua_State *L, const char *name);
/** Forgets the classes (the state is closing). */
void clua_free_classes(clua_host *host);

/** The block of userdata `i` if its metatable is that of a class, and the class
    number (`*cls`); NULL and -1 otherwise. No strings.
    The block checked last is remembered and not checked again until it is released
    (clua_forget_object), which saves three API calls per method call: a full
    userdata's metatable cannot change (no debug library), and its memory is not
    reused before its __gc has run, which releases it. (Should a sketch delete __gc
    from a class's metatable, the address could be reused unreleased, but only by
    another full userdata, and every one in the VM is a clua_object that carries its
    own class number.) */
clua_object *clua_checkobject(lua_State *L, int i, int *cls, clua_object *o);
static inline clua_object *clua_toobject(lua_State *L, int i, int *cls) {
    clua_object *o = (clua_object *)lua_touserdata(L, i);
    if (o != NULL && o == clua_host_of(L)->checked) {   /* a method called again on the same object */
        *cls = o->cls;
        return o;
    }
    return clua_checkobject(L, i, cls, o);
}
/** The object in `block` was released: check that address again next time. */
static inline void clua_forget_object(lua_State *L, clua_object *block) {
    clua_host *h = clua_host_of(L);
    if (h->checked == block) h->checked = NULL;
}
/** Pushes a new userdata holding `object`, of class number `cls`; returns its block. */
clua_object *clua_newobject(lua_State *L, void *object, const void *type, lua_Integer serial, int cls);

/* ---- hook: called every `count` VM instructions ---- */
/** Returns 0 to continue, 1 to stop the sketch (yield out, or raise if it cannot yield). */
typedef int (*clua_hook_fn)(lua_State *L, int instructions);
void clua_set_hook(lua_State *L, clua_hook_fn fn, int count);
/** The hook fires on thread `L` before its next instruction (an interrupt came in
    during a C call), then every `count` again. */
void clua_hook_soon(lua_State *L);
/** `L` is closing: the hook no longer charges it (clua_strlib.c's matcher). */
void clua_forget_hook(lua_State *L);

/* ---- the string library (clua_strlib.c) ---- */
/** Lua's string library with its pattern matcher's steps charged to the hooked
    state as instructions (so the watchdog bites a backtracking match). */
int clua_luaopen_string(lua_State *L);
/** 1 when clua_luaopen_string is the guarded copy (set-up fetched lstrlib.c). */
int clua_has_guarded_strlib(void);

/* ---- protected calls ---- */
/** lua_pcall with a traceback message handler. On error the message (with
    traceback) is on top. */
int clua_pcall_traceback(lua_State *L, int nargs, int nresults);
/** Loads text only (binary chunks can crash the VM). */
int clua_load_text(lua_State *L, const char *buf, size_t len, const char *chunkname);
/** Sandboxed standard libraries: base, package, coroutine, table, string, math, utf8. */
void clua_open_safe_libs(lua_State *L);

/* ---- macro shims ---- */
static inline void clua_pop(lua_State *L, int n) { lua_pop(L, n); }
/** How the running C function was called: 1 with a colon (`obj:f()`), 2 as a
    field (`obj.f()`), else 0; the name the caller used for it in *name (NULL if
    unknown). For error messages. */
int clua_called_as_method(lua_State *L, const char **name);
static inline void clua_newtable(lua_State *L) { lua_newtable(L); }
static inline int clua_registryindex(void) { return LUA_REGISTRYINDEX; }
static inline int clua_upvalueindex(int i) { return lua_upvalueindex(i); }
static inline void **clua_extraspace(lua_State *L) { return (void **)lua_getextraspace(L); }
static inline int clua_isinteger(lua_State *L, int i) { return lua_isinteger(L, i); }
static inline lua_Integer clua_tointeger(lua_State *L, int i, int *isnum) { return lua_tointegerx(L, i, isnum); }
static inline lua_Number clua_tonumber(lua_State *L, int i, int *isnum) { return lua_tonumberx(L, i, isnum); }
static inline void clua_pushglobaltable(lua_State *L) { lua_pushglobaltable(L); }
static inline int clua_gc_count_bytes(lua_State *L) { return lua_gc(L, LUA_GCCOUNT) * 1024 + lua_gc(L, LUA_GCCOUNTB); }
static inline void clua_gc_collect(lua_State *L) { lua_gc(L, LUA_GCCOLLECT); }
static inline int clua_resume(lua_State *co, lua_State *from, int nargs, int *nres) { return lua_resume(co, from, nargs, nres); }
static inline const char *clua_typename_at(lua_State *L, int i) { return luaL_typename(L, i); }
static inline void clua_insert(lua_State *L, int i) { lua_insert(L, i); }
static inline void clua_remove(lua_State *L, int i) { lua_remove(L, i); }
static inline void *clua_newuserdata(lua_State *L, size_t size) { return lua_newuserdatauv(L, size, 0); }

/* ---- C fast paths: the hottest pure bindings, with no Swift on their way ---- */
/** The pin block `Pins` (BoardCore/Pins.swift) keeps its state in: one row of
    CLUA_PIN_COUNT bytes per field, indexed by GPIO number. Both sides document it. */
#define CLUA_PIN_COUNT 17
typedef struct clua_pins {
    uint8_t mode[CLUA_PIN_COUNT];      /* Pins.Mode raw value: 0 INPUT, 1 OUTPUT, 2 INPUT_PULLUP,
                                          3 OUTPUT_OPEN_DRAIN, 4 INPUT_PULLDOWN_16 */
    uint8_t output[CLUA_PIN_COUNT];    /* the level the sketch drives: 0 or 1 */
    uint8_t external[CLUA_PIN_COUNT];  /* the level a part drives: 0 LOW, 1 HIGH, 2 nobody */
    uint8_t slow[CLUA_PIN_COUNT];      /* CLUA_PIN_* bits: why a write must go through Swift */
} clua_pins;
#define CLUA_PIN_LISTENED 1u   /* someone hears this pin's changes (Pins.onChange or a listener) */
#define CLUA_PIN_PWM      2u   /* PWM runs on this pin */

/** digitalWrite(pin, level): checks its arguments as the Swift binding does, then
    stores the level in `pins`. Through `slow_box` (a Swift function, see
    clua_push_function) only when PWM runs on the pin, or the visible level changes and
    someone listens. Active: ORs CLUA_ACTIVE into the activity word. The state's
    fast paths share one pin block (the last one given). */
void clua_push_digital_write(lua_State *L, struct clua_pins *pins, void *slow_box);
/** digitalRead(pin) -> 0|1. A poll: no activity bit. */
void clua_push_digital_read(lua_State *L, struct clua_pins *pins);
/** millis() and micros() over BoardClock.words (BoardCore/BoardClock.swift): [0] board
    time µs as last read, [1] wall origin ns (CLOCK_MONOTONIC), [2] 1 real / 0 virtual,
    [3] boot time µs. millis() reads the stored time and ORs CLUA_READ_MILLIS; micros()
    first refreshes it in real time (never backwards) and ORs CLUA_READ_MICROS. The
    state's fast paths share one clock (the last one given). */
void clua_push_millis(lua_State *L, uint64_t *clock_words);
void clua_push_micros(lua_State *L, uint64_t *clock_words);

/** Registers global `name`: a bare C function reading two integers (benchmarks' baseline). */
void clua_register_bare(lua_State *L, const char *name);

#endif
