/* SPDX-License-Identifier: MIT */
/*
 * Guest physical memory: RAM is [0, low_size) and, above 4 GiB,
 * [4 GiB, 4 GiB + high_size), both backed by one host mapping. Every
 * access from the core or a device goes through these bounds checks.
 */
#include <string.h>

#include "kvm-glue/vmm.h"

/* Host pointer for [gpa, gpa + len) if all of it is RAM in one region. */
void *vmm_gpa_ptr(struct vmm *vm, uint64_t gpa, uint64_t len)
{
    if (gpa < vm->low_size) {
        if (len > vm->low_size - gpa)
            return NULL;
        return vm->ram + gpa;
    }
    if (gpa >= VMM_HIGH_RAM_BASE && vm->high_size) {
        uint64_t off = gpa - VMM_HIGH_RAM_BASE;
        if (off >= vm->high_size || len > vm->high_size - off)
            return NULL;
        return vm->ram + vm->low_size + off;
    }
    return NULL;
}

bool vmm_gpa_is_ram(const struct vmm *vm, uint64_t gpa, uint64_t len)
{
    return vmm_gpa_ptr((struct vmm *)vm, gpa, len) != NULL;
}

/* The two regions are not adjacent in GPA space, so an access that
 * straddles the 4 GiB hole is refused as a whole. */
int vmm_gpa_read(struct vmm *vm, uint64_t gpa, void *buf, size_t len)
{
    void *p = vmm_gpa_ptr(vm, gpa, len);
    if (!p)
        return -1;
    memcpy(buf, p, len);
    return 0;
}

int vmm_gpa_write(struct vmm *vm, uint64_t gpa, const void *buf, size_t len)
{
    void *p = vmm_gpa_ptr(vm, gpa, len);
    if (!p)
        return -1;
    memcpy(p, buf, len);
    return 0;
}
