/* SPDX-License-Identifier: MIT */
/* Guest buffers as host iovecs (see sg.h). */
#include <string.h>

#include "vmbus/devices/sg.h"

/* Frames looked at per map call: bounds the stack copy of page numbers. */
#define RUN_MAX 64u

void dev_sg_init(struct dev_sg *s, const struct vmbus_memview *mem, struct iovec *iov,
                 uint32_t max_iov, struct dev_sg_map *maps, uint32_t max_maps)
{
    memset(s, 0, sizeof(*s));
    s->mem = mem;
    s->iov = iov;
    s->max_iov = max_iov;
    s->maps = maps;
    s->max_maps = max_maps;
}

static int push_iov(struct dev_sg *s, void *p, size_t len)
{
    if (len == 0)
        return 0;
    /* Runs that continue the previous piece in host memory merge. */
    if (s->niov) {
        struct iovec *last = &s->iov[s->niov - 1];
        if ((uint8_t *)last->iov_base + last->iov_len == (uint8_t *)p) {
            last->iov_len += len;
            s->bytes += len;
            return 0;
        }
    }
    if (s->niov == s->max_iov)
        return -1;
    s->iov[s->niov].iov_base = p;
    s->iov[s->niov].iov_len = len;
    s->niov++;
    s->bytes += len;
    return 0;
}

int dev_sg_add_range(struct dev_sg *s, const struct vmbus_gpa_direct_range *r)
{
    uint64_t run[RUN_MAX];
    uint32_t i = 0;
    uint64_t skip = r->offset, left = r->len;
    while (i < r->nr_pfns && left) {
        /* Collect a run of consecutive frames. */
        uint32_t k = 0;
        run[k++] = vmbus_gpa_direct_pfn(r, i);
        while (k < RUN_MAX && i + k < r->nr_pfns &&
               vmbus_gpa_direct_pfn(r, i + k) == run[0] + k) {
            run[k] = run[0] + k;
            k++;
        }
        if (s->nmaps == s->max_maps || run[0] > VMBUS_MAX_PFN ||
            run[0] + k - 1 > VMBUS_MAX_PFN)
            return -1;
        uint8_t *p = vmbus_mem_map(s->mem, run, k);
        if (!p)
            return -1;
        s->maps[s->nmaps].addr = p;
        s->maps[s->nmaps].pages = k;
        s->nmaps++;
        uint64_t avail = (uint64_t)k * HV_PAGE_SIZE - skip;
        uint64_t take = avail < left ? avail : left;
        if (push_iov(s, p + skip, (size_t)take))
            return -1;
        left -= take;
        skip = 0;
        i += k;
    }
    /* The decoder sized nr_pfns from offset + len, so nothing is left. */
    return left ? -1 : 0;
}

int dev_sg_add_packet(struct dev_sg *s, const struct vmbus_packet *pkt)
{
    struct vmbus_gpa_direct_iter it;
    uint32_t count;
    if (!vmbus_packet_gpa_direct_begin(pkt, &it, &count))
        return -1;
    struct vmbus_gpa_direct_range r;
    int rc;
    while ((rc = vmbus_packet_gpa_direct_next(&it, &r)) == 1)
        if (dev_sg_add_range(s, &r))
            return -1;
    return rc;
}

int dev_sg_add_host(struct dev_sg *s, void *p, size_t len)
{
    return push_iov(s, p, len);
}

void dev_sg_truncate(struct dev_sg *s, uint64_t len)
{
    if (len >= s->bytes)
        return;
    uint64_t kept = 0;
    uint32_t i = 0;
    for (; i < s->niov && kept < len; i++) {
        if (s->iov[i].iov_len > len - kept)
            s->iov[i].iov_len = (size_t)(len - kept);
        kept += s->iov[i].iov_len;
    }
    s->niov = i;
    s->bytes = kept;
}

void dev_sg_release(struct dev_sg *s)
{
    for (uint32_t i = 0; i < s->nmaps; i++)
        vmbus_mem_unmap(s->mem, s->maps[i].addr, s->maps[i].pages);
    s->nmaps = 0;
    s->niov = 0;
    s->bytes = 0;
}

/* Find the piece holding byte `off`: index and offset inside it. */
static bool seek(const struct dev_sg *s, uint64_t off, uint32_t *idx, size_t *in)
{
    for (uint32_t i = 0; i < s->niov; i++) {
        if (off < s->iov[i].iov_len) {
            *idx = i;
            *in = (size_t)off;
            return true;
        }
        off -= s->iov[i].iov_len;
    }
    return false;
}

static size_t copy(const struct dev_sg *s, uint64_t off, uint8_t *buf, size_t len, bool to_sg)
{
    uint32_t i;
    size_t in, done = 0;
    if (!len || !seek(s, off, &i, &in))
        return 0;
    for (; i < s->niov && done < len; i++, in = 0) {
        size_t n = s->iov[i].iov_len - in;
        if (n > len - done)
            n = len - done;
        uint8_t *p = (uint8_t *)s->iov[i].iov_base + in;
        if (to_sg)
            memcpy(p, buf + done, n);
        else
            memcpy(buf + done, p, n);
        done += n;
    }
    return done;
}

size_t dev_sg_copy_to(const struct dev_sg *s, uint64_t off, const void *src, size_t len)
{
    return copy(s, off, (uint8_t *)src, len, true);
}

size_t dev_sg_copy_from(const struct dev_sg *s, uint64_t off, void *dst, size_t len)
{
    return copy(s, off, dst, len, false);
}

int dev_sg_slice(const struct dev_sg *s, uint64_t off, uint64_t len, struct iovec *out,
                 uint32_t max)
{
    if (off > s->bytes || len > s->bytes - off)
        return -1;
    if (len == 0)
        return 0;
    uint32_t i, n = 0;
    size_t in;
    if (!seek(s, off, &i, &in))
        return -1;
    for (; i < s->niov && len; i++, in = 0) {
        if (n == max)
            return -1;
        size_t take = s->iov[i].iov_len - in;
        if (take > len)
            take = (size_t)len;
        out[n].iov_base = (uint8_t *)s->iov[i].iov_base + in;
        out[n].iov_len = take;
        n++;
        len -= take;
    }
    return (int)n;
}
