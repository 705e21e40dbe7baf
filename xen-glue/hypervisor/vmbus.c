/* SPDX-License-Identifier: MIT */
/*
 * VMBus forwarding between a guest and its dom0 daemon (public/hvm/hvshim.h
 * is the ABI): the guest's HvPostMessage/HvSignalEvent on registered
 * connection ids go into shared frames the daemon maps; the daemon answers
 * through XEN_DMOP_hvshim_* operations.
 *
 * The guest is never blocked and never waits for the daemon: a full ring,
 * an exhausted rate budget or a daemon that is not bound to the event
 * channel (dead, restarting) all give HV_STATUS_INSUFFICIENT_BUFFERS, which
 * the guest retries with back-off. Everything the daemon writes into the
 * shared frames (only msg_cons and the bits it clears) is treated as
 * untrusted: Xen keeps its own producer index and connection table.
 */

#include <xen/domain_page.h>
#include <xen/event.h>
#include <xen/lib.h>
#include <xen/mm.h>
#include <xen/sched.h>
#include <xen/spinlock.h>
#include <xen/time.h>
#include <xen/xmalloc.h>

#include <asm/hvm/viridian.h>
#include <public/hvm/dm_op.h>
#include <public/hvm/hvshim.h>
#include <public/hvm/params.h>

#include "private.h"

/* Rate budget for forwarded posts: a burst of RATE_BURST, refilled at one
 * per RATE_PERIOD_NS. VMBus control traffic is far below this; a guest
 * looping on PostMessage is held to it. */
#define RATE_BURST 256u
#define RATE_PERIOD_NS 20000

#define SLOTS_PER_FRAME (PAGE_SIZE / HVSHIM_VMBUS_SLOT_SIZE)

struct hvshim_vmbus {
    struct page_info *page[HVSHIM_VMBUS_FRAMES];
    void *va[HVSHIM_VMBUS_FRAMES];
    struct hvshim_vmbus_control *ctl;

    spinlock_t lock;             /* ring producer, rate budget */
    bool attached;
    domid_t daemon;
    int port;                    /* Xen-consumer port in the guest's domain */
    uint32_t prod;               /* our producer index (never read back) */
    uint32_t tokens;
    s_time_t refill_at;

    /* Connections the daemon registered (id 0 = free), and the signal bit
     * of each event connection. */
    uint32_t conn_ids[HV_MAX_CONNECTIONS];
    uint32_t event_ids[HVSHIM_VMBUS_MAX_EVENTS];
};

static void __init __maybe_unused build_assertions(void)
{
    BUILD_BUG_ON(sizeof(struct hvshim_vmbus_control) > HVSHIM_VMBUS_RING_OFFSET);
    BUILD_BUG_ON(HVSHIM_VMBUS_RING_OFFSET != PAGE_SIZE);
    BUILD_BUG_ON(sizeof(struct hvshim_vmbus_entry) != HVSHIM_VMBUS_SLOT_SIZE);
    BUILD_BUG_ON(HVSHIM_VMBUS_RING_SLOTS !=
                 (HVSHIM_VMBUS_FRAMES - 1) * SLOTS_PER_FRAME);
    BUILD_BUG_ON(HVSHIM_VMBUS_RING_SLOTS & (HVSHIM_VMBUS_RING_SLOTS - 1));
    BUILD_BUG_ON(HVSHIM_VMBUS_PAYLOAD_MAX != HV_MESSAGE_PAYLOAD_MAX);
}

static struct hvshim_vmbus_entry *slot(struct hvshim_vmbus *vm, uint32_t index)
{
    uint32_t i = index & (HVSHIM_VMBUS_RING_SLOTS - 1);

    return (struct hvshim_vmbus_entry *)
        ((uint8_t *)vm->va[1 + i / SLOTS_PER_FRAME] +
         (i % SLOTS_PER_FRAME) * HVSHIM_VMBUS_SLOT_SIZE);
}

/* Whether the daemon's end of the event channel is bound: its process
 * closing /dev/xen/evtchn (exit, crash) unbinds it. */
static bool daemon_alive(const struct domain *d, const struct hvshim_vmbus *vm)
{
    const struct evtchn *chn;

    if ( !vm->attached || vm->port < 0 || !port_is_valid(d, vm->port) )
        return false;
    chn = evtchn_from_port(d, vm->port);
    return ACCESS_ONCE(chn->state) == ECS_INTERDOMAIN;
}

static void notify(struct domain *d, struct hvshim_vmbus *vm)
{
    if ( vm->port >= 0 )
        notify_via_xen_event_channel(d, vm->port);
}

/* ------------------------------------------------- guest -> daemon */

static bool take_token(struct hvshim_vmbus *vm)
{
    s_time_t now = NOW();

    if ( now >= vm->refill_at )
    {
        uint64_t add = (now - vm->refill_at) / RATE_PERIOD_NS + 1;

        vm->tokens = min_t(uint64_t, RATE_BURST, vm->tokens + add);
        vm->refill_at = now + RATE_PERIOD_NS;
    }
    if ( !vm->tokens )
        return false;
    vm->tokens--;
    return true;
}

uint16_t hvshim_vmbus_post_message(struct viridian_domain *vd, uint32_t vp,
                                   uint32_t connection_id, uint32_t message_type,
                                   const void *payload, uint32_t size)
{
    struct hvshim_vmbus *vm = ACCESS_ONCE(vd->vmbus);
    struct hvshim_vmbus_control *ctl;
    struct hvshim_vmbus_entry *e;
    uint32_t before, cons;
    bool wake;

    if ( !vm || size > HVSHIM_VMBUS_PAYLOAD_MAX )
        return HV_STATUS_INSUFFICIENT_BUFFERS;
    ctl = vm->ctl;

    spin_lock(&vm->lock);
    if ( !daemon_alive(vd->d, vm) )
    {
        ctl->msg_full++;
        spin_unlock(&vm->lock);
        return HV_STATUS_INSUFFICIENT_BUFFERS;
    }
    if ( !take_token(vm) )
    {
        ctl->msg_throttled++;
        spin_unlock(&vm->lock);
        return HV_STATUS_INSUFFICIENT_BUFFERS;
    }
    before = vm->prod;
    cons = ACCESS_ONCE(ctl->msg_cons);
    /* A daemon index ahead of ours is nonsense: treat the ring as full. */
    if ( before - cons >= HVSHIM_VMBUS_RING_SLOTS )
    {
        ctl->msg_full++;
        spin_unlock(&vm->lock);
        return HV_STATUS_INSUFFICIENT_BUFFERS;
    }

    e = slot(vm, before);
    e->vp = vp;
    e->connection_id = connection_id;
    e->message_type = message_type;
    e->payload_size = size;
    memcpy(e->payload, payload, size);
    memset(e->payload + size, 0, HVSHIM_VMBUS_PAYLOAD_MAX - size);

    smp_wmb();                       /* entry before index */
    vm->prod = before + 1;
    ACCESS_ONCE(ctl->msg_prod) = vm->prod;
    smp_mb();                        /* index before reading cons again */
    /* The daemon re-checks msg_prod after publishing msg_cons, so it only
     * needs waking if it had caught up with everything before this. */
    wake = ACCESS_ONCE(ctl->msg_cons) == before;
    spin_unlock(&vm->lock);

    if ( wake )
        notify(vd->d, vm);
    return HV_STATUS_SUCCESS;
}

uint16_t hvshim_vmbus_signal_event(struct viridian_domain *vd, uint32_t vp,
                                   uint32_t connection_id, uint16_t flag)
{
    struct hvshim_vmbus *vm = ACCESS_ONCE(vd->vmbus);
    unsigned int bit;
    uint64_t old;

    (void)vp;
    (void)flag;   /* VMBus signals carry only the connection */
    if ( !vm || !daemon_alive(vd->d, vm) )
        return HV_STATUS_INSUFFICIENT_BUFFERS;

    for ( bit = 0; bit < HVSHIM_VMBUS_MAX_EVENTS; bit++ )
        if ( ACCESS_ONCE(vm->event_ids[bit]) == connection_id )
            break;
    if ( bit == HVSHIM_VMBUS_MAX_EVENTS )
        return HV_STATUS_INVALID_CONNECTION_ID;

    /* Signals coalesce: one bit per connection, one event per batch. */
    old = __atomic_fetch_or(&vm->ctl->signal_pending, 1ULL << bit,
                            __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&vm->ctl->signals, 1, __ATOMIC_RELAXED);
    if ( !old )
        notify(vd->d, vm);
    return HV_STATUS_SUCCESS;
}

void hvshim_vmbus_slot_freed(struct viridian_domain *vd, uint32_t vp,
                             uint32_t sint)
{
    struct hvshim_vmbus *vm = ACCESS_ONCE(vd->vmbus);
    uint32_t old;

    if ( !vm || !vm->attached || vp >= HVSHIM_VMBUS_MAX_VPS ||
         sint >= HV_SINT_COUNT )
        return;
    old = __atomic_fetch_or(&vm->ctl->slot_freed[vp], 1U << sint,
                            __ATOMIC_SEQ_CST);
    if ( !old )
        notify(vd->d, vm);
}

/* ------------------------------------------------------ shared frames */

static void free_frames(struct hvshim_vmbus *vm)
{
    unsigned int i;

    for ( i = 0; i < HVSHIM_VMBUS_FRAMES; i++ )
    {
        if ( !vm->page[i] )
            continue;
        unmap_domain_page_global(vm->va[i]);
        put_page_alloc_ref(vm->page[i]);
        put_page_and_type(vm->page[i]);
        vm->page[i] = NULL;
        vm->va[i] = NULL;
    }
}

/* Frames belong to the guest's domain (so dom0 can map them as that
 * domain's) but are outside its physmap: the guest cannot reach them. */
static int alloc_frames(struct domain *d, struct hvshim_vmbus *vm)
{
    unsigned int i;

    for ( i = 0; i < HVSHIM_VMBUS_FRAMES; i++ )
    {
        struct page_info *page = alloc_domheap_page(d, MEMF_no_refcount);

        if ( !page )
            goto fail;
        if ( !get_page_and_type(page, d, PGT_writable_page) )
        {
            /* Nobody can know this page yet. */
            domain_crash(d);
            goto fail;
        }
        vm->va[i] = __map_domain_page_global(page);
        if ( !vm->va[i] )
        {
            put_page_alloc_ref(page);
            put_page_and_type(page);
            goto fail;
        }
        vm->page[i] = page;
        clear_page(vm->va[i]);
    }
    vm->ctl = vm->va[0];
    return 0;

 fail:
    free_frames(vm);
    return -ENOMEM;
}

static struct hvshim_vmbus *vmbus_get(struct viridian_domain *vd)
{
    struct hvshim_vmbus *vm = vd->vmbus, *fresh;

    if ( vm )
        return vm;

    fresh = xzalloc(struct hvshim_vmbus);
    if ( !fresh )
        return NULL;
    spin_lock_init(&fresh->lock);
    fresh->port = -1;
    if ( alloc_frames(vd->d, fresh) )
    {
        xfree(fresh);
        return NULL;
    }
    vd->vmbus = fresh;
    return fresh;
}

/* Forget every connection the daemon registered (vd->lock held). */
static void drop_connections(struct viridian_domain *vd, struct hvshim_vmbus *vm)
{
    unsigned int i;

    for ( i = 0; i < HV_MAX_CONNECTIONS; i++ )
        if ( vm->conn_ids[i] )
        {
            hv_partition_unregister_connection(&vd->part, vm->conn_ids[i]);
            vm->conn_ids[i] = 0;
        }
    for ( i = 0; i < HVSHIM_VMBUS_MAX_EVENTS; i++ )
        ACCESS_ONCE(vm->event_ids[i]) = 0;
}

static void reset_ring(struct hvshim_vmbus *vm)
{
    struct hvshim_vmbus_control *ctl = vm->ctl;

    spin_lock(&vm->lock);
    memset(ctl, 0, sizeof(*ctl));
    ctl->magic = HVSHIM_VMBUS_MAGIC;
    ctl->version = HVSHIM_VMBUS_ABI_VERSION;
    ctl->ring_slots = HVSHIM_VMBUS_RING_SLOTS;
    ctl->ring_offset = HVSHIM_VMBUS_RING_OFFSET;
    memcpy(ctl->event_ids, vm->event_ids, sizeof(ctl->event_ids));
    vm->prod = 0;
    vm->tokens = RATE_BURST;
    vm->refill_at = NOW() + RATE_PERIOD_NS;
    spin_unlock(&vm->lock);
}

void hvshim_vmbus_destroy(struct viridian_domain *vd)
{
    struct hvshim_vmbus *vm = vd->vmbus;

    if ( !vm )
        return;
    vd->vmbus = NULL;
    if ( vm->port >= 0 )
        free_xen_event_channel(vd->d, vm->port);
    /* A daemon mapping holds its own references: the frames stay valid
     * for it until it unmaps. */
    free_frames(vm);
    xfree(vm);
}

/* ------------------------------------------------------ DM operations */

static int op_attach(struct viridian_domain *vd, struct xen_dm_op_hvshim_attach *a)
{
    struct domain *d = vd->d;
    domid_t daemon = current->domain->domain_id;
    struct hvshim_vmbus *vm;
    int port;

    if ( a->abi_version != HVSHIM_VMBUS_ABI_VERSION )
        return -EOPNOTSUPP;
    if ( (a->flags & ~HVSHIM_ATTACH_RESUME) || a->pad )
        return -EINVAL;

    spin_lock(&vd->lock);
    vm = vmbus_get(vd);
    if ( !vm )
    {
        spin_unlock(&vd->lock);
        return -ENOMEM;
    }

    /* A new daemon starts from an empty ring and its own channel; unless
     * it resumes its predecessor's bus, from no connections either. */
    vm->attached = false;
    if ( !(a->flags & HVSHIM_ATTACH_RESUME) )
        drop_connections(vd, vm);
    if ( vm->port >= 0 )
    {
        free_xen_event_channel(d, vm->port);
        vm->port = -1;
    }
    reset_ring(vm);

    port = alloc_unbound_xen_event_channel(d, 0, daemon, NULL);
    if ( port < 0 )
    {
        spin_unlock(&vd->lock);
        return port;
    }
    vm->port = port;
    vm->daemon = daemon;
    smp_wmb();
    vm->attached = true;
    spin_unlock(&vd->lock);

    a->port = port;
    a->nr_frames = HVSHIM_VMBUS_FRAMES;
    a->nr_vps = d->max_vcpus;
    printk(XENLOG_G_INFO "%pd: hvshim: VMBus daemon in d%u attached, port %d\n",
           d, daemon, port);
    return 0;
}

static int op_detach(struct viridian_domain *vd)
{
    struct hvshim_vmbus *vm;

    spin_lock(&vd->lock);
    vm = vd->vmbus;
    if ( vm )
    {
        vm->attached = false;
        drop_connections(vd, vm);
        if ( vm->port >= 0 )
        {
            free_xen_event_channel(vd->d, vm->port);
            vm->port = -1;
        }
        reset_ring(vm);
    }
    spin_unlock(&vd->lock);
    return 0;
}

static int op_connection(struct viridian_domain *vd,
                         struct xen_dm_op_hvshim_connection *c)
{
    struct hvshim_vmbus *vm;
    unsigned int i, slot_free = HV_MAX_CONNECTIONS, bit_free = HVSHIM_VMBUS_MAX_EVENTS;
    unsigned int bit = HVSHIM_VMBUS_MAX_EVENTS;
    int rc = 0;

    if ( !c->connection_id || (c->connection_id & ~HV_CONNECTION_ID_MASK) ||
         (c->kinds & ~(HVSHIM_CONN_MESSAGE | HVSHIM_CONN_EVENT)) || c->pad )
        return -EINVAL;

    spin_lock(&vd->lock);
    vm = vd->vmbus;
    if ( !vm || !vm->attached )
    {
        spin_unlock(&vd->lock);
        return -ENOENT;
    }

    for ( i = 0; i < HV_MAX_CONNECTIONS; i++ )
        if ( vm->conn_ids[i] == c->connection_id )
            break;
        else if ( !vm->conn_ids[i] && slot_free == HV_MAX_CONNECTIONS )
            slot_free = i;
    for ( bit = 0; bit < HVSHIM_VMBUS_MAX_EVENTS; bit++ )
        if ( vm->event_ids[bit] == c->connection_id )
            break;
        else if ( !vm->event_ids[bit] && bit_free == HVSHIM_VMBUS_MAX_EVENTS )
            bit_free = bit;

    if ( !c->kinds )
    {
        /* Remove. */
        if ( i < HV_MAX_CONNECTIONS )
        {
            hv_partition_unregister_connection(&vd->part, c->connection_id);
            vm->conn_ids[i] = 0;
        }
        if ( bit < HVSHIM_VMBUS_MAX_EVENTS )
        {
            ACCESS_ONCE(vm->event_ids[bit]) = 0;
            vm->ctl->event_ids[bit] = 0;
        }
        goto out;
    }

    if ( i == HV_MAX_CONNECTIONS && slot_free == HV_MAX_CONNECTIONS )
    {
        rc = -ENOSPC;
        goto out;
    }
    if ( (c->kinds & HVSHIM_CONN_EVENT) && bit == HVSHIM_VMBUS_MAX_EVENTS )
    {
        if ( bit_free == HVSHIM_VMBUS_MAX_EVENTS )
        {
            rc = -ENOSPC;
            goto out;
        }
        bit = bit_free;
    }

    /* Re-registering replaces the kinds. */
    hv_partition_unregister_connection(&vd->part, c->connection_id);
    if ( hv_partition_register_connection(&vd->part, c->connection_id,
                                          (enum hv_connection_kind)c->kinds) != HV_OK )
    {
        if ( i < HV_MAX_CONNECTIONS )
            vm->conn_ids[i] = 0;
        rc = -ENOSPC;
        goto out;
    }
    if ( i == HV_MAX_CONNECTIONS )
        i = slot_free;
    vm->conn_ids[i] = c->connection_id;

    if ( c->kinds & HVSHIM_CONN_EVENT )
    {
        ACCESS_ONCE(vm->event_ids[bit]) = c->connection_id;
        vm->ctl->event_ids[bit] = c->connection_id;
        c->event_bit = bit;
    }
    else if ( bit < HVSHIM_VMBUS_MAX_EVENTS )
    {
        ACCESS_ONCE(vm->event_ids[bit]) = 0;
        vm->ctl->event_ids[bit] = 0;
    }

 out:
    spin_unlock(&vd->lock);
    return rc;
}

static int core_errno(int rc)
{
    switch ( rc )
    {
    case HV_OK:
        return 0;
    case HV_ERR_BUSY:
        return -EBUSY;
    case HV_ERR_DISABLED:
        return -ENXIO;
    default:
        return -EINVAL;
    }
}

int hvshim_dm_op(struct domain *d, unsigned int op, void *u,
                 const void *payload, uint32_t payload_size, bool *const_op)
{
    struct viridian_domain *vd = d->arch.hvm.viridian;
    struct hv_partition *p = hvshim_partition(d);
    int rc;

    if ( !p || !vd )
        return -ENODEV;

    switch ( op )
    {
    case XEN_DMOP_hvshim_attach:
        *const_op = false;
        return op_attach(vd, u);

    case XEN_DMOP_hvshim_detach:
    {
        const struct xen_dm_op_hvshim_detach *dt = u;

        if ( dt->pad[0] || dt->pad[1] )
            return -EINVAL;
        return op_detach(vd);
    }

    case XEN_DMOP_hvshim_connection:
        *const_op = false;
        return op_connection(vd, u);

    case XEN_DMOP_hvshim_post:
    {
        const struct xen_dm_op_hvshim_post *m = u;

        if ( m->payload_size != payload_size ||
             payload_size > HVSHIM_VMBUS_PAYLOAD_MAX )
            return -EINVAL;
        if ( !m->message_type || (m->message_type & HVMSG_HYPERVISOR_MASK) )
            return -EINVAL;
        rc = hv_synic_post_message(p, m->vp, m->sint, m->message_type,
                                   m->sender, payload, payload_size);
        return core_errno(rc);
    }

    case XEN_DMOP_hvshim_signal:
    {
        struct xen_dm_op_hvshim_signal *s = u;

        rc = hv_synic_signal_event(p, s->vp, s->sint, s->flag);
        if ( rc < 0 )
            return core_errno(rc);
        s->newly_set = rc;
        *const_op = false;
        return 0;
    }

    case XEN_DMOP_hvshim_time:
    {
        struct xen_dm_op_hvshim_time *t = u;

        if ( t->pad )
            return -EINVAL;
        t->ref_time = hv_time_ref_now(p);
        *const_op = false;
        return 0;
    }
    }

    return -EOPNOTSUPP;
}

/* --------------------------------------------------- acquire_resource */

unsigned int hvshim_vmbus_resource_max_frames(const struct domain *d,
                                              unsigned int id)
{
    const struct viridian_domain *vd = is_hvm_domain(d) ? d->arch.hvm.viridian : NULL;
    const struct hvshim_vmbus *vm = vd ? ACCESS_ONCE(vd->vmbus) : NULL;

    return (vm && id == 0) ? HVSHIM_VMBUS_FRAMES : 0;
}

int hvshim_vmbus_acquire_resource(struct domain *d, unsigned int id,
                                  unsigned int frame, unsigned int nr_frames,
                                  xen_pfn_t mfn_list[])
{
    struct viridian_domain *vd = is_hvm_domain(d) ? d->arch.hvm.viridian : NULL;
    struct hvshim_vmbus *vm;
    unsigned int i;
    int rc = -ENOENT;

    if ( !vd || id != 0 )
        return -EINVAL;

    spin_lock(&vd->lock);
    vm = vd->vmbus;
    /* Only the daemon that attached may map the frames. */
    if ( vm && vm->attached )
    {
        rc = -EPERM;
        if ( vm->daemon == current->domain->domain_id )
        {
            rc = -EINVAL;
            if ( frame < HVSHIM_VMBUS_FRAMES &&
                 nr_frames <= HVSHIM_VMBUS_FRAMES - frame )
            {
                for ( i = 0; i < nr_frames; i++ )
                    mfn_list[i] = mfn_x(page_to_mfn(vm->page[frame + i]));
                rc = nr_frames;
            }
        }
    }
    spin_unlock(&vd->lock);
    return rc;
}

/*
 * Local variables:
 * mode: C
 * c-file-style: "BSD"
 * c-basic-offset: 4
 * tab-width: 4
 * indent-tabs-mode: nil
 * End:
 */
