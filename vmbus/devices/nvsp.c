/* SPDX-License-Identifier: MIT */
/* NVSP decoder and helpers (pure). */
#include <string.h>

#include "vmbus/devices/nvsp.h"

static const uint32_t host_versions[] = {
    NVSP_VERSION_61, NVSP_VERSION_6, NVSP_VERSION_5, NVSP_VERSION_4, NVSP_VERSION_2,
    NVSP_VERSION_1,
};

bool nvsp_decode(const void *data, uint32_t len, struct nvsp_msg *out)
{
    memset(out, 0, sizeof(*out));
    if (len < sizeof(out->type))
        return false;
    memcpy(out, data, len < sizeof(*out) ? len : sizeof(*out));
    return true;
}

bool nvsp_version_ok(uint32_t v, uint32_t max)
{
    for (size_t i = 0; i < sizeof(host_versions) / sizeof(host_versions[0]); i++)
        if (host_versions[i] == v)
            return v <= max;
    return false;
}

uint32_t nvsp_negotiate(uint32_t min, uint32_t max, uint32_t host_max)
{
    for (size_t i = 0; i < sizeof(host_versions) / sizeof(host_versions[0]); i++) {
        uint32_t v = host_versions[i];
        if (v <= host_max && v >= min && v <= max)
            return v;
    }
    return 0;
}

bool nvsp_recv_layout(uint32_t bytes, uint32_t sub_alloc, uint32_t max_subs,
                      struct nvsp_recv_section *out)
{
    if (sub_alloc == 0)
        return false;
    uint32_t n = bytes / sub_alloc;
    if (n > max_subs)
        n = max_subs;
    if (n == 0)
        return false;
    out->offset = 0;
    out->sub_alloc_size = sub_alloc;
    out->num_sub_allocs = n;
    out->end_offset = n * sub_alloc;
    return true;
}
