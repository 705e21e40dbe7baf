/* SPDX-License-Identifier: MIT */
/* Transfer-page and GPA-direct packet decoders. */
#include <string.h>

#include "vmbus/packet.h"

/* The header area: descriptor up to offset8 * 8. */
static uint32_t header_len(const struct vmbus_packet *pkt)
{
    return pkt->raw_len - pkt->data_len;
}

bool vmbus_packet_xfer_pages(const struct vmbus_packet *pkt, uint16_t *pageset_id,
                             uint32_t *range_count,
                             const struct vmbus_xfer_page_range **ranges)
{
    const uint32_t fixed = sizeof(struct vmbus_packet_desc) +
                           sizeof(struct vmbus_xfer_page_header);
    uint32_t hlen = header_len(pkt);
    if (pkt->type != VMBUS_PKT_DATA_USING_XFER_PAGES || hlen < fixed)
        return false;
    struct vmbus_xfer_page_header h;
    memcpy(&h, pkt->raw + sizeof(struct vmbus_packet_desc), sizeof(h));
    if (h.range_count > (hlen - fixed) / sizeof(struct vmbus_xfer_page_range))
        return false;
    *pageset_id = h.pageset_id;
    *range_count = h.range_count;
    *ranges = (const struct vmbus_xfer_page_range *)(const void *)(pkt->raw + fixed);
    return true;
}

bool vmbus_packet_gpa_direct_begin(const struct vmbus_packet *pkt,
                                   struct vmbus_gpa_direct_iter *it, uint32_t *range_count)
{
    const uint32_t fixed = sizeof(struct vmbus_packet_desc) +
                           sizeof(struct vmbus_gpa_direct_header);
    uint32_t hlen = header_len(pkt);
    if (pkt->type != VMBUS_PKT_DATA_USING_GPA_DIRECT || hlen < fixed)
        return false;
    struct vmbus_gpa_direct_header h;
    memcpy(&h, pkt->raw + sizeof(struct vmbus_packet_desc), sizeof(h));
    /* Each range takes at least 16 bytes (len, offset, one frame). */
    if (h.range_count > (hlen - fixed) / 16u)
        return false;
    it->pos = pkt->raw + fixed;
    it->end = pkt->raw + hlen;
    it->left = h.range_count;
    *range_count = h.range_count;
    return true;
}

int vmbus_packet_gpa_direct_next(struct vmbus_gpa_direct_iter *it,
                                 struct vmbus_gpa_direct_range *out)
{
    if (!it->left)
        return 0;
    if (it->end - it->pos < 8)
        return -1;
    uint32_t len, offset;
    memcpy(&len, it->pos, 4);
    memcpy(&offset, it->pos + 4, 4);
    if (len == 0 || offset >= HV_PAGE_SIZE)
        return -1;
    uint64_t pages = ((uint64_t)offset + len + HV_PAGE_SIZE - 1) / HV_PAGE_SIZE;
    if (pages > (uint64_t)(it->end - it->pos - 8) / 8u)
        return -1;
    out->len = len;
    out->offset = offset;
    out->pfns = it->pos + 8;
    out->nr_pfns = (uint32_t)pages;
    it->pos += 8 + pages * 8;
    it->left--;
    return 1;
}

uint64_t vmbus_gpa_direct_pfn(const struct vmbus_gpa_direct_range *r, uint32_t i)
{
    uint64_t v;
    memcpy(&v, r->pfns + (uint64_t)i * 8, 8);
    return v;
}
