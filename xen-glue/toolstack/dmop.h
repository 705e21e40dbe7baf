/* SPDX-License-Identifier: MIT */
/*
 * hvshim's device-model operations (xen-glue/abi/hvshim.h) issued from
 * dom0. libxendevicemodel has no generic entry point for operations it does
 * not know, so these go through libxencall's raw hypercall with the DM-op
 * buffers in hypercall-safe memory, as libxendevicemodel does internally.
 */
#ifndef HVSHIM_XEN_DMOP_H
#define HVSHIM_XEN_DMOP_H

#include <stddef.h>
#include <stdint.h>

struct xencall_handle;

struct hvx_dm {
    struct xencall_handle *xcall;
};

int hvx_dm_open(struct hvx_dm *dm);
void hvx_dm_close(struct hvx_dm *dm);

/* Run operation op on domid: arg (arg_len bytes, the op's structure) is
 * copied in and back; payload, if any, is the second buffer. Returns 0 or
 * -errno. */
int hvx_dm_op(struct hvx_dm *dm, uint32_t domid, uint32_t op, void *arg, size_t arg_len,
              const void *payload, size_t payload_len);

#endif /* HVSHIM_XEN_DMOP_H */
