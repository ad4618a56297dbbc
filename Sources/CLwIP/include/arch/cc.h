/* Compiler/platform glue for lwIP on the host (x86-64/arm64 Linux). */
#ifndef ESPLUA_ARCH_CC_H
#define ESPLUA_ARCH_CC_H
#include <stdio.h>
#include <stdlib.h>
#define LWIP_PLATFORM_DIAG(x)   do { (void)0; } while (0)
/* Never abort the host process: LWIP_NOASSERT is set, this is the fallback. */
#define LWIP_PLATFORM_ASSERT(x) do { fprintf(stderr, "esplua: lwIP assertion: %s\n", x); } while (0)
#define LWIP_NO_CTYPE_H 0
#endif
