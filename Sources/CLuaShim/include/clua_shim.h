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

/* ---- results a Swift function returns to the trampoline ---- */
/** >= 0: number of results pushed. */
#define CLUA_RET_ERROR     (-1)   /* message on top: raise it with file:line of the caller */
#define CLUA_RET_YIELD     (-2)   /* lua_yield(L, 0) */
#define CLUA_RET_ARGERROR_BASE (-1000) /* -(1000 + arg): luaL_argerror(arg, message on top) */

typedef int (*clua_dispatch_fn)(lua_State *L, int id);
/** The Swift dispatcher every trampoline calls; set once. */
void clua_set_dispatch(clua_dispatch_fn fn);
/** Pushes a C closure that dispatches to Swift function `id`. */
void clua_push_function(lua_State *L, int id);

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

/** A new state whose allocations are counted and capped by `mem`. */
lua_State *clua_newstate(clua_memory *mem);

/* ---- hook: called every `count` VM instructions ---- */
/** Returns 0 to continue, 1 to stop the sketch (yield out, or raise if it cannot yield). */
typedef int (*clua_hook_fn)(lua_State *L, int instructions);
void clua_set_hook(lua_State *L, clua_hook_fn fn, int count);

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

/** Registers global `name`: a bare C function reading two integers (benchmarks' baseline). */
void clua_register_bare(lua_State *L, const char *name);

#endif
