/* SPDX-License-Identifier: MIT */
/* GUID text <-> wire form ("f8615163-df3e-46c5-913f-f2d2f965ed0e"). */
#ifndef HVSHIM_VMBUS_GUID_H
#define HVSHIM_VMBUS_GUID_H

#include <stdbool.h>

#include "vmbus/protocol.h"

#define VMBUS_GUID_STR_LEN 37   /* 36 characters and a NUL */

/* Parses the canonical 8-4-4-4-12 form (either case); false if malformed. */
bool vmbus_guid_parse(const char *s, struct vmbus_guid *out);
/* Writes the canonical lower-case form into buf[VMBUS_GUID_STR_LEN]. */
void vmbus_guid_format(const struct vmbus_guid *g, char *buf);
bool vmbus_guid_equal(const struct vmbus_guid *a, const struct vmbus_guid *b);

#endif /* HVSHIM_VMBUS_GUID_H */
