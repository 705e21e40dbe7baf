/* SPDX-License-Identifier: MIT */
/*
 * isa-debug-exit at port 0xF4 (QEMU's test-kernel convention): a write of
 * value v ends the VMM with exit status (v << 1) | 1.
 */
#include <stdio.h>

#include "kvm-glue/vmm.h"

#define DEBUG_EXIT_PORT 0xF4u

static void debug_exit_pio(void *opaque, uint16_t port, bool is_write, uint8_t *data,
                           uint32_t size)
{
    struct vmm *vm = opaque;
    (void)port;
    if (!is_write) {
        for (uint32_t i = 0; i < size; i++)
            data[i] = 0xFF;
        return;
    }
    uint32_t v = 0;
    for (uint32_t i = 0; i < size && i < 4; i++)
        v |= (uint32_t)data[i] << (8 * i);
    /* A shell exit status keeps 8 bits, as with QEMU. */
    vmm_request_stop(vm, VMM_STOP_DEBUG_EXIT, (int)(((v << 1) | 1) & 0xFF));
}

void debug_exit_init(struct vmm *vm)
{
    vmm_pio_register(vm, DEBUG_EXIT_PORT, 4, debug_exit_pio, vm, "isa-debug-exit");
}
