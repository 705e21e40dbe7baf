/* SPDX-License-Identifier: MIT */
/* hvshim's DM operations over libxencall (see dmop.h). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <xencall.h>
#include <xen/xen.h>
#include <xen/hvm/dm_op.h>

#include "xen-glue/toolstack/dmop.h"

/* struct xen_dm_op: u32 op, u32 pad, then the operation's structure. */
#define DMOP_HEADER 8u
#define DMOP_ARG_MAX 64u

int hvx_dm_open(struct hvx_dm *dm)
{
    dm->xcall = xencall_open(NULL, 0);
    return dm->xcall ? 0 : -errno;
}

void hvx_dm_close(struct hvx_dm *dm)
{
    if (dm->xcall)
        xencall_close(dm->xcall);
    dm->xcall = NULL;
}

int hvx_dm_op(struct hvx_dm *dm, uint32_t domid, uint32_t op, void *arg, size_t arg_len,
              const void *payload, size_t payload_len)
{
    xen_dm_op_buf_t *bufs;
    uint8_t *head, *data = NULL;
    unsigned nr = payload_len ? 2 : 1;
    int rc;

    if (arg_len > DMOP_ARG_MAX)
        return -EINVAL;
    bufs = xencall_alloc_buffer(dm->xcall, 2 * sizeof(*bufs));
    head = xencall_alloc_buffer(dm->xcall, DMOP_HEADER + DMOP_ARG_MAX);
    if (payload_len)
        data = xencall_alloc_buffer(dm->xcall, payload_len);
    if (!bufs || !head || (payload_len && !data)) {
        rc = -ENOMEM;
        goto out;
    }

    memset(head, 0, DMOP_HEADER + DMOP_ARG_MAX);
    memcpy(head, &op, sizeof(op));
    memcpy(head + DMOP_HEADER, arg, arg_len);
    memset(bufs, 0, 2 * sizeof(*bufs));
    set_xen_guest_handle(bufs[0].h, head);
    bufs[0].size = DMOP_HEADER + arg_len;
    if (payload_len) {
        memcpy(data, payload, payload_len);
        set_xen_guest_handle(bufs[1].h, data);
        bufs[1].size = payload_len;
    }

    rc = xencall3(dm->xcall, __HYPERVISOR_dm_op, domid, nr, (uint64_t)(uintptr_t)bufs);
    if (rc < 0)
        rc = -errno;
    else {
        memcpy(arg, head + DMOP_HEADER, arg_len);
        rc = 0;
    }

out:
    if (data)
        xencall_free_buffer(dm->xcall, data);
    if (head)
        xencall_free_buffer(dm->xcall, head);
    if (bufs)
        xencall_free_buffer(dm->xcall, bufs);
    return rc;
}
