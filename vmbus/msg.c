/* SPDX-License-Identifier: MIT */
/* Guest-to-host channel message decoder. */
#include <string.h>

#include "vmbus/msg.h"

uint32_t vmbus_msg_min_size(uint32_t type)
{
    switch (type) {
    case VMBUS_MSG_REQUESTOFFERS:
    case VMBUS_MSG_UNLOAD:
        return sizeof(struct vmbus_msg_header);
    case VMBUS_MSG_OPENCHANNEL:
        return sizeof(struct vmbus_msg_open_channel);
    case VMBUS_MSG_CLOSECHANNEL:
        return sizeof(struct vmbus_msg_close_channel);
    case VMBUS_MSG_GPADL_HEADER:
        return sizeof(struct vmbus_msg_gpadl_header);
    case VMBUS_MSG_GPADL_BODY:
        return sizeof(struct vmbus_msg_gpadl_body);
    case VMBUS_MSG_GPADL_TEARDOWN:
        return sizeof(struct vmbus_msg_gpadl_teardown);
    case VMBUS_MSG_RELID_RELEASED:
        return sizeof(struct vmbus_msg_relid_released);
    case VMBUS_MSG_INITIATE_CONTACT:
        return sizeof(struct vmbus_msg_initiate_contact);
    case VMBUS_MSG_TL_CONNECT_REQUEST:
        return sizeof(struct vmbus_msg_tl_connect_request);
    case VMBUS_MSG_MODIFYCHANNEL:
        return sizeof(struct vmbus_msg_modify_channel);
    default:
        return 0;
    }
}

int vmbus_msg_decode(const void *payload, uint32_t size, struct vmbus_msg *out)
{
    const uint8_t *p = payload;
    memset(out, 0, sizeof(*out));
    if (size > HV_MESSAGE_PAYLOAD_MAX)
        return VMBUS_MSG_E_SIZE;
    if (size < sizeof(struct vmbus_msg_header))
        return VMBUS_MSG_E_SHORT;
    memcpy(&out->type, p, sizeof(out->type));

    uint32_t min = vmbus_msg_min_size(out->type);
    if (!min)
        return VMBUS_MSG_E_TYPE;
    if (size < min)
        return VMBUS_MSG_E_SHORT;

    switch (out->type) {
    case VMBUS_MSG_GPADL_HEADER:
        memcpy(&out->u.gpadl_header.fixed, p, min);
        out->u.gpadl_header.ranges = p + min;
        out->u.gpadl_header.ranges_len = size - min;
        break;
    case VMBUS_MSG_GPADL_BODY:
        memcpy(&out->u.gpadl_body.fixed, p, min);
        out->u.gpadl_body.pfns = p + min;
        out->u.gpadl_body.pfns_len = size - min;
        break;
    default:
        /* Every other member starts with the header: copy the fixed part. */
        memcpy(&out->u, p, min);
        break;
    }
    return VMBUS_MSG_OK;
}

const char *vmbus_msg_type_name(uint32_t type)
{
    static const char *const names[VMBUS_MSG_COUNT] = {
        [VMBUS_MSG_INVALID] = "INVALID",
        [VMBUS_MSG_OFFERCHANNEL] = "OFFERCHANNEL",
        [VMBUS_MSG_RESCIND_CHANNELOFFER] = "RESCIND_CHANNELOFFER",
        [VMBUS_MSG_REQUESTOFFERS] = "REQUESTOFFERS",
        [VMBUS_MSG_ALLOFFERS_DELIVERED] = "ALLOFFERS_DELIVERED",
        [VMBUS_MSG_OPENCHANNEL] = "OPENCHANNEL",
        [VMBUS_MSG_OPENCHANNEL_RESULT] = "OPENCHANNEL_RESULT",
        [VMBUS_MSG_CLOSECHANNEL] = "CLOSECHANNEL",
        [VMBUS_MSG_GPADL_HEADER] = "GPADL_HEADER",
        [VMBUS_MSG_GPADL_BODY] = "GPADL_BODY",
        [VMBUS_MSG_GPADL_CREATED] = "GPADL_CREATED",
        [VMBUS_MSG_GPADL_TEARDOWN] = "GPADL_TEARDOWN",
        [VMBUS_MSG_GPADL_TORNDOWN] = "GPADL_TORNDOWN",
        [VMBUS_MSG_RELID_RELEASED] = "RELID_RELEASED",
        [VMBUS_MSG_INITIATE_CONTACT] = "INITIATE_CONTACT",
        [VMBUS_MSG_VERSION_RESPONSE] = "VERSION_RESPONSE",
        [VMBUS_MSG_UNLOAD] = "UNLOAD",
        [VMBUS_MSG_UNLOAD_RESPONSE] = "UNLOAD_RESPONSE",
        [VMBUS_MSG_OPEN_RESERVED] = "OPEN_RESERVED",
        [VMBUS_MSG_CLOSE_RESERVED] = "CLOSE_RESERVED",
        [VMBUS_MSG_CLOSE_RESERVED_RESPONSE] = "CLOSE_RESERVED_RESPONSE",
        [VMBUS_MSG_TL_CONNECT_REQUEST] = "TL_CONNECT_REQUEST",
        [VMBUS_MSG_MODIFYCHANNEL] = "MODIFYCHANNEL",
        [VMBUS_MSG_TL_CONNECT_RESULT] = "TL_CONNECT_RESULT",
        [VMBUS_MSG_MODIFYCHANNEL_RESPONSE] = "MODIFYCHANNEL_RESPONSE",
    };
    return type < VMBUS_MSG_COUNT ? names[type] : "unknown";
}
