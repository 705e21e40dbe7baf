/* SPDX-License-Identifier: MIT */
/* Guest low-memory layout used while booting, and loader internals. */
#ifndef HVSHIM_KVM_BOOT_H
#define HVSHIM_KVM_BOOT_H

#include "kvm-glue/vmm.h"

#define BOOT_GDT        0x0500ull
#define BOOT_PML4       0x1000ull
#define BOOT_PDPT       0x2000ull
#define BOOT_PD         0x3000ull   /* four pages, up to 0x6FFF */
#define BOOT_ZERO_PAGE  0x7000ull
#define BOOT_STACK_TOP  0x8FF0ull
#define BOOT_CMDLINE    0x20000ull
#define BOOT_CMDLINE_MAX 0x10000ull
#define BOOT_EBDA       0x9FC00ull  /* reserved from here to 1 MiB */
#define BOOT_ACPI       0xE0000ull  /* RSDP and tables, up to 0xFFFFF */
#define BOOT_ACPI_END   0x100000ull

void boot_write_gdt(struct vmm *vm, bool long_mode);
/* Offset of the multiboot header in the first 8 KiB, or -1. */
long multiboot_find_header(const struct vmm_image *k);

#endif /* HVSHIM_KVM_BOOT_H */
