/* SPDX-License-Identifier: MIT */
/*
 * The port-I/O bus: devices register a port range and a handler. Ports no
 * device claims read as all ones and ignore writes, like an ISA bus with
 * nothing on it.
 */
#include <string.h>

#include "kvm-glue/vmm.h"

void vmm_pio_register(struct vmm *vm, uint16_t base, uint16_t len, vmm_pio_fn fn,
                      void *opaque, const char *name)
{
    if (vm->nr_pio >= VMM_MAX_PIO_DEVS)
        vmm_die(VMM_EXIT_FATAL, "too many port-I/O devices (%s)", name);
    for (uint32_t i = 0; i < vm->nr_pio; i++) {
        const struct vmm_pio_dev *d = &vm->pio[i];
        if ((uint32_t)base < (uint32_t)d->base + d->len && (uint32_t)d->base < (uint32_t)base + len)
            vmm_die(VMM_EXIT_FATAL, "port range of %s overlaps %s", name, d->name);
    }
    vm->pio[vm->nr_pio++] = (struct vmm_pio_dev){ base, len, fn, opaque, name };
}

void vmm_pio_dispatch(struct vmm *vm, uint16_t port, bool is_write, uint8_t *data, uint32_t size)
{
    for (uint32_t i = 0; i < vm->nr_pio; i++) {
        const struct vmm_pio_dev *d = &vm->pio[i];
        if (port >= d->base && (uint32_t)port - d->base < d->len) {
            d->fn(d->opaque, port, is_write, data, size);
            return;
        }
    }
    atomic_fetch_add_explicit(&vm->pio_unclaimed, 1, memory_order_relaxed);
    if (!is_write)
        memset(data, 0xFF, size);
}
