/* Lua's string library (lstrlib.c of the lua5.4 we link, fetched by .ci/setup.sh
   into upstream/, never committed), compiled here with two of its configuration
   macros pointed at the board's watchdog.

   A pattern match runs in C: `("a"):rep(30):find(("a?"):rep(30) .. ("a"):rep(30))`
   backtracks 2^30 times without one VM instruction, so the instruction hook that
   charges the sketch's CPU time (and lets the watchdog bite) never runs. On a board
   the same match keeps the CPU past the soft watchdog: a "Soft WDT reset" dump.
   Here every step of the matcher (each call of its `match`, where it checks its
   recursion depth with `l_unlikely`) is counted, and every 1024 steps charged to
   the sketch as 1024 VM instructions through the hook's own function; when that
   says stop (the watchdog bit, the run ended), the check reports its error path,
   so the match ends in a Lua error on the running thread (as lstrlib raises
   "pattern too complex") and the runner shows the crash the stop was for.

   luai_unlikely wraps every error-path test of lstrlib (that is what l_unlikely
   marks); outside a match the count only moves a little sooner. */
#if __has_include("upstream/lstrlib.c.in")
/* before luaconf.h is read: lstrlib is a library (l_unlikely), and its checks are ours */
#define LUA_LIB
int clua_strlib_tick(void);
static unsigned clua_match_steps;
static inline int clua_match_guard(int failed) {
    if (failed) return 1;
    if ((++clua_match_steps & 1023u) != 0) return 0;
    return clua_strlib_tick();
}
#define luai_likely(x) (__builtin_expect(((x) != 0), 1))
#define luai_unlikely(x) clua_match_guard((x) != 0)
#include "upstream/lprefix.h"  /* lstrlib's own first header */
#include "clua_shim.h"
/* ours, not liblua's: the state opens it in place of luaopen_string */
#define luaopen_string clua_luaopen_string_guarded
#include "upstream/lstrlib.c.in"
#undef luaopen_string

int clua_has_guarded_strlib(void) { return 1; }
int clua_luaopen_string(lua_State *L) { return clua_luaopen_string_guarded(L); }

#else  /* set-up has not fetched lstrlib.c: liblua's own, unguarded */
#include "clua_shim.h"

int clua_has_guarded_strlib(void) { return 0; }
int clua_luaopen_string(lua_State *L) { return luaopen_string(L); }

#endif
