/* SPDX-License-Identifier: MIT */
/*
 * Linux bzImage through the 64-bit boot protocol (Documentation/x86/
 * boot.rst): the protected-mode kernel at pref_address (or 1 MiB), a zero
 * page with the setup header, e820 map, command line, initrd and RSDP
 * address, then startup_64 = load address + 0x200 in long mode with an
 * identity map and RSI = zero page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm-glue/boot/boot.h"
#include "kvm-glue/vmm.h"

/* Offsets in the zero page (struct boot_params) and its setup header. */
#define BP_ACPI_RSDP        0x070
#define BP_EXT_RAMDISK_IMG  0x0C0
#define BP_EXT_RAMDISK_SIZE 0x0C4
#define BP_EXT_CMDLINE      0x0C8
#define BP_E820_ENTRIES     0x1E8
#define BP_HDR              0x1F1
#define BP_SETUP_SECTS      0x1F1
#define BP_JUMP_END         0x201   /* header length is 0x202 + this byte */
#define BP_VERSION          0x206
#define BP_TYPE_OF_LOADER   0x210
#define BP_LOADFLAGS        0x211
#define BP_RAMDISK_IMAGE    0x218
#define BP_RAMDISK_SIZE     0x21C
#define BP_CMD_LINE_PTR     0x228
#define BP_INITRD_ADDR_MAX  0x22C
#define BP_KERNEL_ALIGN     0x230
#define BP_RELOCATABLE      0x234
#define BP_XLOADFLAGS       0x236
#define BP_CMDLINE_SIZE     0x238
#define BP_PREF_ADDRESS     0x258
#define BP_INIT_SIZE        0x260
#define BP_E820_TABLE       0x2D0
#define BP_E820_MAX         128u

#define XLF_KERNEL_64       (1u << 0)
#define LOADED_HIGH         (1u << 0)

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t v)
{
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

int vmm_load_bzimage(struct vmm *vm, const struct vmm_image *k, char *err, size_t err_len)
{
    const uint8_t *d = k->data;
    uint16_t version = (uint16_t)(d[BP_VERSION] | d[BP_VERSION + 1] << 8);
    if (version < 0x20C || !(d[BP_XLOADFLAGS] & XLF_KERNEL_64)) {
        snprintf(err, err_len, "--kernel: bzImage (boot protocol %u.%02u) has no 64-bit entry point",
                 version >> 8, version & 0xFF);
        return -1;
    }
    uint32_t setup_sects = d[BP_SETUP_SECTS] ? d[BP_SETUP_SECTS] : 4;
    size_t pm_off = (size_t)(setup_sects + 1) * 512;
    size_t hdr_end = 0x202 + d[BP_JUMP_END];
    if (pm_off >= k->size || hdr_end > 0x1000 || hdr_end > k->size) {
        snprintf(err, err_len, "--kernel: truncated bzImage");
        return -1;
    }
    size_t pm_size = k->size - pm_off;

    uint64_t align = rd32(d + BP_KERNEL_ALIGN);
    uint64_t pref = version >= 0x20A ? rd64(d + BP_PREF_ADDRESS) : 0x100000;
    uint64_t init_size = version >= 0x20A ? rd32(d + BP_INIT_SIZE) : pm_size;
    if (init_size < pm_size)
        init_size = pm_size;
    uint64_t load = pref >= 0x100000 ? pref : 0x100000;
    if (align && (load & (align - 1)) && d[BP_RELOCATABLE])
        load = (load + align - 1) & ~(align - 1);
    if (load + init_size > vm->low_size) {
        snprintf(err, err_len, "--mem too small: the kernel needs %llu MiB below 3 GiB",
                 (unsigned long long)((load + init_size + (1 << 20) - 1) >> 20));
        return -1;
    }
    vmm_gpa_write(vm, load, d + pm_off, pm_size);

    /* Zero page: the setup header as the image carries it, then our fields. */
    uint8_t *zp = vmm_gpa_ptr(vm, BOOT_ZERO_PAGE, 4096);
    memset(zp, 0, 4096);
    memcpy(zp + BP_HDR, d + BP_HDR, hdr_end - BP_HDR);
    zp[BP_TYPE_OF_LOADER] = 0xFF;
    zp[BP_LOADFLAGS] |= LOADED_HIGH;

    /* Command line */
    uint32_t cl_max = version >= 0x206 ? rd32(d + BP_CMDLINE_SIZE) : 255;
    const char *append = vm->opt.append ? vm->opt.append : "";
    size_t cl_len = strlen(append);
    if (cl_len > cl_max || cl_len >= BOOT_CMDLINE_MAX) {
        snprintf(err, err_len, "--append: command line longer than the kernel's limit of %u bytes",
                 cl_max);
        return -1;
    }
    vmm_gpa_write(vm, BOOT_CMDLINE, append, cl_len + 1);
    wr32(zp + BP_CMD_LINE_PTR, (uint32_t)BOOT_CMDLINE);
    wr32(zp + BP_EXT_CMDLINE, 0);

    /* Initrd: as high as the kernel allows, above the kernel's footprint. */
    if (vm->opt.initrd && *vm->opt.initrd) {
        struct vmm_image rd;
        if (vmm_read_file(vm->opt.initrd, &rd, err, err_len) < 0)
            return -1;
        uint64_t max = rd32(d + BP_INITRD_ADDR_MAX);
        if (max == 0)
            max = 0x37FFFFFF;
        uint64_t top = vm->low_size < max + 1 ? vm->low_size : max + 1;
        uint64_t at = top > rd.size ? (top - rd.size) & ~0xFFFull : 0;
        if (at < load + init_size) {
            snprintf(err, err_len, "--mem too small for the kernel plus a %zu KiB initrd", rd.size >> 10);
            free(rd.data);
            return -1;
        }
        vmm_gpa_write(vm, at, rd.data, rd.size);
        wr32(zp + BP_RAMDISK_IMAGE, (uint32_t)at);
        wr32(zp + BP_RAMDISK_SIZE, (uint32_t)rd.size);
        wr32(zp + BP_EXT_RAMDISK_IMG, (uint32_t)(at >> 32));
        wr32(zp + BP_EXT_RAMDISK_SIZE, (uint32_t)((uint64_t)rd.size >> 32));
        free(rd.data);
    }

    /* Memory map */
    struct vmm_e820 map[BP_E820_MAX];
    uint32_t n = vmm_e820_map(vm, map, BP_E820_MAX);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = zp + BP_E820_TABLE + i * 20;
        wr64(e, map[i].addr);
        wr64(e + 8, map[i].size);
        wr32(e + 16, map[i].type);
    }
    zp[BP_E820_ENTRIES] = (uint8_t)n;

    wr64(zp + BP_ACPI_RSDP, vm->rsdp_gpa);

    vmm_set_bsp_long64(vm, load + 0x200, BOOT_ZERO_PAGE);
    return 0;
}
