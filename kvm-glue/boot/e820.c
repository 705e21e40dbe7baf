/* SPDX-License-Identifier: MIT */
/* The guest's physical memory map, shared by the multiboot mmap, the Linux
 * zero page and fw_cfg's RAM size. */
#include "kvm-glue/boot/boot.h"
#include "kvm-glue/vmm.h"

uint32_t vmm_e820_map(const struct vmm *vm, struct vmm_e820 *out, uint32_t max)
{
    struct vmm_e820 m[5];
    uint32_t n = 0;
    m[n++] = (struct vmm_e820){ 0, BOOT_EBDA, 1 };
    m[n++] = (struct vmm_e820){ BOOT_EBDA, 0xA0000 - BOOT_EBDA, 2 };
    /* ACPI tables and the (absent) BIOS area */
    m[n++] = (struct vmm_e820){ BOOT_ACPI, BOOT_ACPI_END - BOOT_ACPI, 2 };
    m[n++] = (struct vmm_e820){ 0x100000, vm->low_size - 0x100000, 1 };
    if (vm->high_size)
        m[n++] = (struct vmm_e820){ VMM_HIGH_RAM_BASE, vm->high_size, 1 };
    uint32_t i;
    for (i = 0; i < n && i < max; i++)
        out[i] = m[i];
    return i;
}
