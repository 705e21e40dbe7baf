/* SPDX-License-Identifier: MIT */
/*
 * --hv-echo: a loopback service that lets a guest test HvPostMessage and
 * HvSignalEvent end to end without VMBus (docs/kvm-host.md, "Echo
 * service"). It answers on the calling vCPU's thread, inside the hypercall,
 * so the result the guest sees is the delivery status:
 *
 *   HvPostMessage to VMM_ECHO_MSG_CONNECTION, payload {u32 vp; u32 sint;
 *   data...} (at least 8 bytes): the same message (type and all payload
 *   bytes) is posted to (vp, sint). SUCCESS when written or queued;
 *   INSUFFICIENT_BUFFERS when that SINT's queue is full (retry after an
 *   EOM); INVALID_PARAMETER for a payload under 8 bytes, a VP that does not
 *   exist or a SINT above 15.
 *
 *   HvSignalEvent to VMM_ECHO_EVENT_CONNECTION with flag f: flag f of the
 *   caller's SINT VMM_ECHO_EVENT_SINT is set (the SINT is raised only if the
 *   flag went 0 -> 1). Always SUCCESS: like a real port, the signaller is
 *   not told whether the target could take it.
 */
#include <string.h>

#include "kvm-glue/vmm.h"

int vmm_echo_init(struct vmm *vm)
{
    if (hv_partition_register_connection(&vm->part, VMM_ECHO_MSG_CONNECTION,
                                         HV_CONNECTION_MESSAGE) != HV_OK ||
        hv_partition_register_connection(&vm->part, VMM_ECHO_EVENT_CONNECTION,
                                         HV_CONNECTION_EVENT) != HV_OK)
        return -1;
    return 0;
}

uint16_t vmm_echo_post(struct vmm *vm, uint32_t type, const void *payload, uint32_t size)
{
    uint32_t head[2];
    if (size < sizeof(head))
        return HV_STATUS_INVALID_PARAMETER;
    memcpy(head, payload, sizeof(head));
    int r = hv_synic_post_message(&vm->part, head[0], head[1], type, 0, payload, size);
    switch (r) {
    case HV_OK:
        return HV_STATUS_SUCCESS;
    case HV_ERR_BUSY:
        return HV_STATUS_INSUFFICIENT_BUFFERS;
    default:
        return HV_STATUS_INVALID_PARAMETER;
    }
}

uint16_t vmm_echo_signal(struct vmm *vm, uint32_t vp, uint16_t flag)
{
    (void)hv_synic_signal_event(&vm->part, vp, VMM_ECHO_EVENT_SINT, flag);
    return HV_STATUS_SUCCESS;
}
