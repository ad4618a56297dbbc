/* Compiler/platform glue for lwIP on the host (x86-64/arm64 Linux). */
#ifndef ESPLUA_ARCH_CC_H
#define ESPLUA_ARCH_CC_H
#include <stdio.h>
#include <stdlib.h>
#define LWIP_PLATFORM_DIAG(x)   do { (void)0; } while (0)
#ifdef ESPLUA_LWIP_ASSERT
/* make fuzz: a violated invariant is a finding */
#define LWIP_PLATFORM_ASSERT(x) do { fprintf(stderr, "esplua: lwIP assertion: %s\n", x); abort(); } while (0)
#else
/* Never abort the host process: LWIP_NOASSERT is set, this is the fallback. */
#define LWIP_PLATFORM_ASSERT(x) do { fprintf(stderr, "esplua: lwIP assertion: %s\n", x); } while (0)
#endif
#define LWIP_NO_CTYPE_H 0
#endif
