/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: what an hvshim Xen does with an HVM context it is asked
 * to restore (a save stream is not trusted), and with HVM_PARAM_VIRIDIAN.
 *
 * Input: u64 viridian mask, then Xen's VIRIDIAN_DOMAIN record (32 bytes),
 * two VIRIDIAN_VCPU records (216 bytes each), then the rest as one
 * HVSHIM_VP blob for VP 1. Missing bytes are zero. The harness builds the
 * partition the hypervisor would for the mask (if Xen accepts it), loads
 * the records through xen-glue/common exactly as save.c does, then the
 * blob, and exercises the result.
 *
 * Invariants (abort = finding): a mask Xen accepts converts to features
 * whose mask converts back to the same features; a converted record never
 * overruns its buffer; the host sees only existing VPs, timers and RAM
 * frames; every mapped page is unmapped at destroy; time never goes back.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hvshim/hvshim.h"
#include "xen-glue/common/legacy_records.h"
#include "xen-glue/common/viridian_mask.h"

#define RAM_PAGES 32u
#define NR_VPS 2u
#define CHECK(c) do { if (!(c)) abort(); } while (0)

static struct {
    uint8_t ram[RAM_PAGES * HV_PAGE_SIZE];
    int maps;
    uint64_t ns, tsc;
} host;

static int h_read(void *c, uint64_t gpa, void *b, size_t n)
{
    (void)c;
    if (gpa >= sizeof(host.ram) || n > sizeof(host.ram) - gpa)
        return -1;
    memcpy(b, host.ram + gpa, n);
    return 0;
}

static int h_write(void *c, uint64_t gpa, const void *b, size_t n)
{
    (void)c;
    if (gpa >= sizeof(host.ram) || n > sizeof(host.ram) - gpa)
        return -1;
    memcpy(host.ram + gpa, b, n);
    return 0;
}

static void *h_map(void *c, uint64_t gfn)
{
    (void)c;
    if (gfn >= RAM_PAGES)
        return NULL;
    host.maps++;
    return host.ram + gfn * HV_PAGE_SIZE;
}

static void h_unmap(void *c, void *p)
{
    (void)c;
    CHECK(p >= (void *)host.ram && p < (void *)(host.ram + sizeof(host.ram)));
    host.maps--;
}

static int h_fill(void *c, uint64_t gpa)
{
    static const uint8_t page_start[] = { 0x0f, 0x01, 0xd9, 0xc3 };
    return h_write(c, gpa, page_start, sizeof(page_start));
}

static void h_irq(void *c, uint32_t vp, uint8_t v, bool a)
{
    (void)c, (void)v, (void)a;
    CHECK(vp < NR_VPS);
}

static void h_kick(void *c, uint32_t vp)
{
    (void)c;
    CHECK(vp < NR_VPS);
}

static uint64_t h_tsc(void *c)
{
    (void)c;
    return host.tsc;
}

static uint64_t h_now(void *c)
{
    (void)c;
    return host.ns;
}

static void h_arm(void *c, uint32_t vp, uint32_t t, uint64_t d)
{
    (void)c, (void)d;
    CHECK(vp < NR_VPS && t < HV_STIMER_COUNT);
}

static void h_cancel(void *c, uint32_t vp, uint32_t t)
{
    (void)c;
    CHECK(vp < NR_VPS && t < HV_STIMER_COUNT);
}

static void h_eoi(void *c, uint32_t vp) { (void)c; CHECK(vp < NR_VPS); }
static uint64_t h_icr_read(void *c, uint32_t vp) { (void)c; CHECK(vp < NR_VPS); return 0; }
static void h_icr_write(void *c, uint32_t vp, uint64_t v) { (void)c, (void)v; CHECK(vp < NR_VPS); }
static uint8_t h_tpr_read(void *c, uint32_t vp) { (void)c; CHECK(vp < NR_VPS); return 0; }
static void h_tpr_write(void *c, uint32_t vp, uint8_t v) { (void)c, (void)v; CHECK(vp < NR_VPS); }

static const struct hv_host_ops ops = {
    .gpa_read = h_read, .gpa_write = h_write, .page_map = h_map, .page_unmap = h_unmap,
    .hypercall_page_fill = h_fill, .irq_inject = h_irq, .vp_kick = h_kick,
    .guest_tsc = h_tsc, .now_ns = h_now, .timer_arm = h_arm, .timer_cancel = h_cancel,
    .apic_eoi = h_eoi, .apic_icr_read = h_icr_read, .apic_icr_write = h_icr_write,
    .apic_tpr_read = h_tpr_read, .apic_tpr_write = h_tpr_write,
};

static void take(const uint8_t **d, size_t *n, void *out, size_t len)
{
    size_t k = *n < len ? *n : len;

    memset(out, 0, len);
    memcpy(out, *d, k);
    *d += k;
    *n -= k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct hv_partition p;
    static struct hv_vp vps[NR_VPS];
    struct hvshim_legacy_domain dom;
    struct hvshim_legacy_vcpu vcpu[NR_VPS];
    uint8_t blob[HVSHIM_LEGACY_VP_BLOB_SIZE + 8];
    struct hv_config cfg;
    hv_features_t f, back, unsup, forced;
    uint64_t mask, mask2, t0, t1, v;

    take(&data, &size, &mask, sizeof(mask));
    take(&data, &size, &dom, sizeof(dom));
    for (unsigned i = 0; i < NR_VPS; i++)
        take(&data, &size, &vcpu[i], sizeof(vcpu[i]));

    /* HVM_PARAM_VIRIDIAN as hvm.c and the glue take it. */
    mask &= 0x3FFFFF;
    if (hvshim_xen_mask_to_features(mask, &f) != 0 || f == 0)
        return 0;
    CHECK(hvshim_xen_features_to_mask(f, &mask2, &unsup, &forced) == 0);
    CHECK(hvshim_xen_mask_to_features(mask2, &back) == 0 && back == f);

    memset(&host, 0, sizeof(host));
    host.tsc = 1000000;
    hv_config_defaults(&cfg, NR_VPS, 2500000000ull);
    cfg.features = f;
    CHECK(hv_partition_init(&p, &ops, NULL, &cfg, vps) == HV_OK);

    /* VIRIDIAN_DOMAIN, then VIRIDIAN_VCPU per VP, as save.c loads them. */
    {
        uint8_t pblob[HVSHIM_LEGACY_PARTITION_BLOB_SIZE + 8];
        long n = hvshim_legacy_domain_to_blob(&p, &dom, pblob, sizeof(pblob));
        CHECK(n == HVSHIM_LEGACY_PARTITION_BLOB_SIZE || (n < 0 && (dom.time_ref_count >> 62)));
        if (n > 0)
            (void)hv_partition_load(&p, pblob, (size_t)n);
    }
    for (unsigned i = 0; i < NR_VPS; i++) {
        long n = hvshim_legacy_vcpu_to_blob(&vps[i], &vcpu[i], blob, sizeof(blob));
        CHECK(n < 0 || n == HVSHIM_LEGACY_VP_BLOB_SIZE);
        if (n > 0)
            (void)hv_vp_load(&vps[i], blob, (size_t)n);
    }
    /* HVSHIM_VP: the rest, as a blob of up to 4096 bytes. */
    if (size && size <= 4096)
        (void)hv_vp_load(&vps[1], data, size);

    /* Use what was restored. */
    t0 = hv_time_ref_now(&p);
    for (unsigned i = 0; i < NR_VPS; i++) {
        struct hvshim_legacy_vcpu out;
        struct hvshim_legacy_domain dout;
        hvshim_legacy_vcpu_from_core(&vps[i], &out);
        hvshim_legacy_domain_from_core(&p, &dout);
        for (uint32_t msr = HV_MSR_SINT0; msr <= HV_MSR_STIMER3_COUNT; msr++)
            (void)hv_msr_read(&vps[i], msr, &v);
        hv_vp_poll(&vps[i]);
    }
    host.tsc += 250000000;
    host.ns += 100000000;
    for (unsigned i = 0; i < NR_VPS; i++) {
        for (unsigned t = 0; t < HV_STIMER_COUNT; t++)
            hv_stimer_expired(&vps[i], t);
        hv_vp_poll(&vps[i]);
    }
    t1 = hv_time_ref_now(&p);
    CHECK(t1 >= t0);

    hv_partition_destroy(&p);
    CHECK(host.maps == 0);
    return 0;
}
