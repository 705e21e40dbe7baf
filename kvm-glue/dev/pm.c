/* SPDX-License-Identifier: MIT */
/*
 * Power and reset: the ACPI hardware-reduced sleep control/status and
 * reset registers the FADT points at (acpi.c), plus the legacy reset paths
 * guests try (0xCF9 reset control, the 8042 pulse-reset command).
 */
#include <stdio.h>

#include "kvm-glue/vmm.h"

#define SLP_EN          0x20u
#define SLP_TYP_SHIFT   2
#define SLP_TYP_MASK    0x07u
#define S5_SLP_TYP      5u   /* matches _S5 in dsdt.asl */

#define PORT_CF9        0xCF9u
#define CF9_RESET       0x04u
#define PORT_KBD_CMD    0x64u
#define KBD_PULSE_RESET 0xFEu

static void pm_pio(void *opaque, uint16_t port, bool is_write, uint8_t *data, uint32_t size)
{
    struct vmm *vm = opaque;
    if (!is_write) {
        for (uint32_t i = 0; i < size; i++)
            data[i] = 0;
        return;
    }
    uint8_t v = data[0];
    switch (port) {
    case VMM_PM_SLEEP_CTL:
        if ((v & SLP_EN) && ((v >> SLP_TYP_SHIFT) & SLP_TYP_MASK) == S5_SLP_TYP)
            vmm_request_stop(vm, VMM_STOP_POWEROFF, VMM_EXIT_POWEROFF);
        break;
    case VMM_PM_RESET_REG:
        if (v == VMM_PM_RESET_VALUE)
            vmm_request_stop(vm, VMM_STOP_RESET, VMM_EXIT_POWEROFF);
        break;
    default:
        break;
    }
}

static void cf9_pio(void *opaque, uint16_t port, bool is_write, uint8_t *data, uint32_t size)
{
    (void)port;
    if (!is_write) {
        for (uint32_t i = 0; i < size; i++)
            data[i] = 0;
        return;
    }
    if (data[0] & CF9_RESET)
        vmm_request_stop(opaque, VMM_STOP_RESET, VMM_EXIT_POWEROFF);
}

/* Only the reset command of the 8042: there is no keyboard controller, so
 * the status register reads "input buffer empty" and nothing else. */
static void kbd_pio(void *opaque, uint16_t port, bool is_write, uint8_t *data, uint32_t size)
{
    (void)port;
    if (!is_write) {
        for (uint32_t i = 0; i < size; i++)
            data[i] = 0;
        return;
    }
    if (data[0] == KBD_PULSE_RESET)
        vmm_request_stop(opaque, VMM_STOP_RESET, VMM_EXIT_POWEROFF);
}

void pm_init(struct vmm *vm)
{
    vmm_pio_register(vm, VMM_PM_SLEEP_CTL, 3, pm_pio, vm, "acpi-pm");
    vmm_pio_register(vm, PORT_CF9, 1, cf9_pio, vm, "reset-cf9");
    vmm_pio_register(vm, PORT_KBD_CMD, 1, kbd_pio, vm, "i8042-reset");
}
