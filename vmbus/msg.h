/* SPDX-License-Identifier: MIT */
/*
 * Decoding of guest-to-host channel messages: a pure function from the
 * HvPostMessage payload to a checked, host-aligned copy. Messages may be
 * longer than their fixed part (some guests always post 240 bytes); only
 * the fixed part is required. Host-to-guest types are refused.
 */
#ifndef HVSHIM_VMBUS_MSG_H
#define HVSHIM_VMBUS_MSG_H

#include <stdint.h>

#include "vmbus/protocol.h"

enum vmbus_msg_decode_result {
    VMBUS_MSG_OK = 0,
    VMBUS_MSG_E_SHORT = -1,     /* shorter than the type's fixed part */
    VMBUS_MSG_E_TYPE = -2,      /* not a guest-to-host message we take */
    VMBUS_MSG_E_SIZE = -3,      /* more than a SynIC payload */
};

struct vmbus_msg {
    uint32_t type;              /* enum vmbus_msg_type */
    union {
        struct vmbus_msg_initiate_contact initiate;
        struct vmbus_msg_open_channel open;
        struct vmbus_msg_close_channel close;
        struct {
            struct vmbus_msg_gpadl_header fixed;
            const uint8_t *ranges;      /* points into the decoded payload */
            uint32_t ranges_len;
        } gpadl_header;
        struct {
            struct vmbus_msg_gpadl_body fixed;
            const uint8_t *pfns;
            uint32_t pfns_len;
        } gpadl_body;
        struct vmbus_msg_gpadl_teardown gpadl_teardown;
        struct vmbus_msg_relid_released relid_released;
        struct vmbus_msg_modify_channel modify;
        struct vmbus_msg_tl_connect_request tl_connect;
    } u;
};

/* The variable parts (GPADL ranges/PFNs) point into payload, which must
 * outlive *out. */
int vmbus_msg_decode(const void *payload, uint32_t size, struct vmbus_msg *out);

/* Fixed size of a guest-to-host message type, 0 if not one. */
uint32_t vmbus_msg_min_size(uint32_t type);

const char *vmbus_msg_type_name(uint32_t type);

#endif /* HVSHIM_VMBUS_MSG_H */
