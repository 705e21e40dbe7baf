/* SPDX-License-Identifier: MIT */
/*
 * What the hvshim core expects from <stdint.h>, <stdbool.h> and <stddef.h>,
 * for builds where those headers do not exist: the Xen hypervisor compiles
 * with -nostdinc. The wrappers in compat/ carry the standard names and
 * include this file; the Makefile puts compat/ on the include path of the
 * hvshim directory only, so the rest of Xen never sees them.
 *
 * Inside a Xen tree the types come from <xen/types.h>, so the core and the
 * glue (which includes Xen headers too) agree on every typedef. Outside a
 * Xen tree (the CI check with Xen's flags) the compiler's predefined type
 * macros give the same types. memcpy/memset/memcmp are declared by the
 * core itself (hvshim/internal.h) and provided by Xen's lib; this header
 * must not pull in <xen/string.h>, whose function-like macros of the same
 * names would break those declarations.
 */
#ifndef HVSHIM_XEN_COMPAT_H
#define HVSHIM_XEN_COMPAT_H

#if defined(__has_include)
# if __has_include(<xen/types.h>)
#  define HVSHIM_XEN_TREE 1
# endif
#endif

#ifdef HVSHIM_XEN_TREE

#include <xen/types.h>      /* uint*_t, int*_t, size_t, bool, NULL */

#else /* no Xen tree: the same types from the compiler's own macros */

typedef __INT8_TYPE__ int8_t;
typedef __INT16_TYPE__ int16_t;
typedef __INT32_TYPE__ int32_t;
typedef __INT64_TYPE__ int64_t;
typedef __UINT8_TYPE__ uint8_t;
typedef __UINT16_TYPE__ uint16_t;
typedef __UINT32_TYPE__ uint32_t;
typedef __UINT64_TYPE__ uint64_t;
typedef __UINTPTR_TYPE__ uintptr_t;
typedef __SIZE_TYPE__ size_t;

#ifndef __cplusplus
# define bool _Bool
# define true 1
# define false 0
#endif

#ifndef NULL
# define NULL ((void *)0)
#endif

#define UINT8_MAX  __UINT8_MAX__
#define UINT16_MAX __UINT16_MAX__
#define UINT32_MAX __UINT32_MAX__

#endif /* HVSHIM_XEN_TREE */

/* Limits Xen's headers do not define but <stdint.h> would. */
#ifndef UINT64_MAX
# define UINT64_MAX __UINT64_MAX__
#endif
#ifndef INT64_MAX
# define INT64_MAX __INT64_MAX__
#endif
#ifndef INT64_MIN
# define INT64_MIN (-INT64_MAX - 1)
#endif
#ifndef SIZE_MAX
# define SIZE_MAX __SIZE_MAX__
#endif

#ifndef offsetof
# define offsetof(type, member) __builtin_offsetof(type, member)
#endif

#endif /* HVSHIM_XEN_COMPAT_H */
