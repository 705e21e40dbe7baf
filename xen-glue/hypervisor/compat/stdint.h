/* SPDX-License-Identifier: MIT */
/* <stdint.h> for the hvshim core inside Xen (no libc headers): see
 * hvshim-xen-compat.h. */
#include "../hvshim-xen-compat.h"
