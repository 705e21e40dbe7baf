/* SPDX-License-Identifier: MIT */
/* <stdbool.h> for the hvshim core inside Xen (no libc headers): see
 * hvshim-xen-compat.h. */
#include "../hvshim-xen-compat.h"
