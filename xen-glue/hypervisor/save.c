/* SPDX-License-Identifier: MIT */
/*
 * HVM save records of an hvshim domain.
 *
 *  - VIRIDIAN_DOMAIN (15) and VIRIDIAN_VCPU (17): Xen's own records, same
 *    layout, filled from the core. Loading them is how a domain saved by a
 *    Xen with its own viridian comes back (xen-glue/common/legacy_records).
 *  - HVSHIM_PARTITION (35) and HVSHIM_VP (36): the core's complete,
 *    versioned, checksummed blobs (hv_partition_save / hv_vp_save): SCONTROL,
 *    SIEFP, crash MSRs, queued messages and timer state, which the old
 *    records lack. They follow the old ones in the stream (records go out
 *    in typecode order), so when both are present the complete state wins.
 *
 * Every load goes through the core's checks, which change nothing on
 * error; a bad record fails the restore with -EINVAL.
 */

#include <xen/lib.h>
#include <xen/sched.h>
#include <xen/xmalloc.h>

#include <asm/hvm/hvm.h>
#include <asm/hvm/save.h>
#include <public/hvm/params.h>
#include <public/hvm/save.h>

#include "private.h"
#include "xen-glue/common/legacy_records.h"

/* HVSHIM_PARTITION_CODE and HVSHIM_VP_CODE: public/arch-x86/hvm/save.h. */
/* Room for a blob; the core's are far smaller (checked when saving). */
#define HVSHIM_BLOB_MAX 4096u

static void __init __maybe_unused build_assertions(void)
{
    BUILD_BUG_ON(sizeof(struct hvm_viridian_domain_context) !=
                 sizeof(struct hvshim_legacy_domain));
    BUILD_BUG_ON(sizeof(struct hvm_viridian_vcpu_context) !=
                 sizeof(struct hvshim_legacy_vcpu));
    BUILD_BUG_ON(offsetof(struct hvm_viridian_vcpu_context, stimer_count_msr) !=
                 offsetof(struct hvshim_legacy_vcpu, stimer_count_msr));
    BUILD_BUG_ON(HVSHIM_PARTITION_CODE > HVM_SAVE_CODE_MAX ||
                 HVSHIM_VP_CODE > HVM_SAVE_CODE_MAX);
}

/* ------------------------------------------------------ Xen's records */

static int cf_check save_legacy_domain(struct vcpu *v, hvm_domain_context_t *h)
{
    struct domain *d = v->domain;
    struct hvm_viridian_domain_context ctxt;
    struct hvshim_legacy_domain rec;
    struct hv_partition *p;

    if ( !is_viridian_domain(d) || !(p = hvshim_partition(d)) )
        return 0;

    hvshim_legacy_domain_from_core(p, &rec);
    memcpy(&ctxt, &rec, sizeof(ctxt));
    return hvm_save_entry(VIRIDIAN_DOMAIN, 0, h, &ctxt) != 0;
}

static int load_blob(struct domain *d, bool partition, unsigned int vcpuid,
                     const void *blob, size_t len)
{
    struct hv_partition *p = hvshim_partition(d);
    struct hv_vp *vp;
    int rc;

    if ( !p )
    {
        printk(XENLOG_G_ERR "%pd: hvshim: restore without a viridian mask\n", d);
        return -EINVAL;
    }
    if ( partition )
        rc = hv_partition_load(p, blob, len);
    else if ( (vp = hv_partition_vp(p, vcpuid)) == NULL )
        rc = HV_ERR_NOENT;
    else
        rc = hv_vp_load(vp, blob, len);

    if ( rc != HV_OK )
    {
        printk(XENLOG_G_ERR "%pd: hvshim: restore of %s %u failed: %s\n", d,
               partition ? "partition" : "VP", vcpuid, hv_strerror(rc));
        return -EINVAL;
    }
    return 0;
}

static int cf_check load_legacy_domain(struct domain *d, hvm_domain_context_t *h)
{
    struct hvm_viridian_domain_context ctxt;
    struct hvshim_legacy_domain rec;
    struct hv_partition *p;
    uint8_t blob[HVSHIM_LEGACY_PARTITION_BLOB_SIZE];
    long len;

    if ( hvm_load_entry_zeroextend(VIRIDIAN_DOMAIN, h, &ctxt) != 0 )
        return -EINVAL;
    memcpy(&rec, &ctxt, sizeof(rec));

    if ( !(p = hvshim_partition(d)) )
        return -EINVAL;
    len = hvshim_legacy_domain_to_blob(p, &rec, blob, sizeof(blob));
    if ( len < 0 )
        return -EINVAL;
    return load_blob(d, true, 0, blob, len);
}

static int cf_check save_legacy_vcpu(struct vcpu *v, hvm_domain_context_t *h)
{
    struct hvm_viridian_vcpu_context ctxt;
    struct hvshim_legacy_vcpu rec;
    struct hv_vp *vp;

    if ( !is_viridian_vcpu(v) || !(vp = hvshim_vp(v)) )
        return 0;

    hvshim_legacy_vcpu_from_core(vp, &rec);
    memcpy(&ctxt, &rec, sizeof(ctxt));
    return hvm_save_entry(VIRIDIAN_VCPU, v->vcpu_id, h, &ctxt);
}

static int cf_check load_legacy_vcpu(struct domain *d, hvm_domain_context_t *h)
{
    unsigned int vcpuid = hvm_load_instance(h);
    struct hvm_viridian_vcpu_context ctxt;
    struct hvshim_legacy_vcpu rec;
    struct hv_partition *p;
    struct hv_vp *vp;
    uint8_t blob[HVSHIM_LEGACY_VP_BLOB_SIZE];
    long len;

    if ( !domain_vcpu(d, vcpuid) )
        return -EINVAL;
    if ( hvm_load_entry_zeroextend(VIRIDIAN_VCPU, h, &ctxt) != 0 )
        return -EINVAL;
    memcpy(&rec, &ctxt, sizeof(rec));

    if ( !(p = hvshim_partition(d)) || !(vp = hv_partition_vp(p, vcpuid)) )
        return -EINVAL;
    len = hvshim_legacy_vcpu_to_blob(vp, &rec, blob, sizeof(blob));
    if ( len < 0 )
        return -EINVAL;
    return load_blob(d, false, vcpuid, blob, len);
}

HVM_REGISTER_SAVE_RESTORE(VIRIDIAN_DOMAIN, save_legacy_domain,
                          load_legacy_domain, 1, HVMSR_PER_DOM);
HVM_REGISTER_SAVE_RESTORE(VIRIDIAN_VCPU, save_legacy_vcpu,
                          load_legacy_vcpu, 1, HVMSR_PER_VCPU);

/* ----------------------------------------------------- hvshim records */

static int save_blob(hvm_domain_context_t *h, uint16_t code, uint16_t inst,
                     struct hv_partition *p, struct hv_vp *vp)
{
    void *buf = xmalloc_bytes(HVSHIM_BLOB_MAX);
    long len;
    int rc = -ENOMEM;

    if ( !buf )
        return rc;
    len = vp ? hv_vp_save(vp, buf, HVSHIM_BLOB_MAX)
             : hv_partition_save(p, buf, HVSHIM_BLOB_MAX);
    rc = -EINVAL;
    if ( len > 0 && len <= HVSHIM_BLOB_MAX &&
         _hvm_init_entry(h, code, inst, len) == 0 )
    {
        _hvm_write_entry(h, buf, len);
        rc = 0;
    }
    xfree(buf);
    return rc;
}

static int cf_check save_partition(struct vcpu *v, hvm_domain_context_t *h)
{
    struct domain *d = v->domain;
    struct hv_partition *p;

    if ( !is_viridian_domain(d) || !(p = hvshim_partition(d)) )
        return 0;
    return save_blob(h, HVSHIM_PARTITION_CODE, 0, p, NULL);
}

static int cf_check save_vp(struct vcpu *v, hvm_domain_context_t *h)
{
    struct hv_vp *vp;

    if ( !is_viridian_vcpu(v) || !(vp = hvshim_vp(v)) )
        return 0;
    return save_blob(h, HVSHIM_VP_CODE, v->vcpu_id, NULL, vp);
}

/* A variable-length record: take its length from its own descriptor. */
static int load_record(struct domain *d, hvm_domain_context_t *h, uint16_t code,
                       bool partition)
{
    const struct hvm_save_descriptor *desc;
    unsigned int vcpuid;
    uint32_t len;
    void *buf;
    int rc;

    if ( h->size - h->cur < sizeof(*desc) )
        return -ENODATA;
    desc = (const void *)&h->data[h->cur];
    vcpuid = desc->instance;
    len = desc->length;
    if ( len == 0 || len > HVSHIM_BLOB_MAX )
        return -EINVAL;
    if ( _hvm_check_entry(h, code, len, true) )
        return -EINVAL;

    buf = xmalloc_bytes(len);
    if ( !buf )
        return -ENOMEM;
    _hvm_read_entry(h, buf, len);
    rc = load_blob(d, partition, vcpuid, buf, len);
    xfree(buf);
    return rc;
}

static int cf_check load_partition(struct domain *d, hvm_domain_context_t *h)
{
    return load_record(d, h, HVSHIM_PARTITION_CODE, true);
}

static int cf_check load_vp(struct domain *d, hvm_domain_context_t *h)
{
    return load_record(d, h, HVSHIM_VP_CODE, false);
}

static int __init cf_check register_records(void)
{
    hvm_register_savevm(HVSHIM_PARTITION_CODE, "HVSHIM_PARTITION",
                        save_partition, load_partition,
                        HVSHIM_BLOB_MAX + sizeof(struct hvm_save_descriptor),
                        HVMSR_PER_DOM);
    hvm_register_savevm(HVSHIM_VP_CODE, "HVSHIM_VP", save_vp, load_vp,
                        HVSHIM_BLOB_MAX + sizeof(struct hvm_save_descriptor),
                        HVMSR_PER_VCPU);
    return 0;
}
__initcall(register_records);

/*
 * Local variables:
 * mode: C
 * c-file-style: "BSD"
 * c-basic-offset: 4
 * tab-width: 4
 * indent-tabs-mode: nil
 * End:
 */
