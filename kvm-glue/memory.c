/* SPDX-License-Identifier: MIT */
/*
 * Guest physical memory: RAM is [0, low_size) and, above 4 GiB,
 * [4 GiB, 4 GiB + high_size), both backed by one host mapping. Every
 * access from the core or a device goes through these bounds checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm-glue/vmm.h"

/* Guest RAM is anonymous memory unless --shared-ram asks for a memfd.
 *
 * Shared memory with a file behind it lets VMBus map guest pages that are
 * scattered in RAM (Linux's vmalloc'ed NIC buffers) as one host range, by
 * mapping the same file pages again (vmbus/memview.h). It is not the
 * default because shmem is usually not backed by huge pages: in the nested
 * rig (kvm-amd under QEMU TCG) 4 KiB shmem pages made Linux's AP bring-up
 * triple-fault in 3 of 6 boots, while anonymous memory (transparent huge
 * pages) never did in 9; with shmem huge pages allowed the problem did not
 * show either. So the file mapping asks for huge pages, which the kernel
 * grants when /sys/kernel/mm/transparent_hugepage/shmem_enabled allows. */
int vmm_ram_alloc(struct vmm *vm)
{
    vm->ram_fd = -1;
    if (vm->opt.shared_ram) {
        vm->ram_fd = memfd_create("hvshim-guest-ram", MFD_CLOEXEC);
        if (vm->ram_fd < 0)
            return -1;
        if (ftruncate(vm->ram_fd, (off_t)vm->ram_size) < 0)
            return -1;
        vm->ram = mmap(NULL, vm->ram_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                       vm->ram_fd, 0);
        if (vm->ram != MAP_FAILED)
            madvise(vm->ram, vm->ram_size, MADV_HUGEPAGE);
    } else {
        vm->ram = mmap(NULL, vm->ram_size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    }
    return vm->ram == MAP_FAILED ? -1 : 0;
}

/* All of RAM back to zero pages (reboot). Punching the file's pages out
 * also clears them for any second mapping of the file (VMBus ones are gone
 * by now: the bus was reset first). */
void vmm_ram_clear(struct vmm *vm)
{
    if (vm->ram_fd < 0) {
        madvise(vm->ram, vm->ram_size, MADV_DONTNEED);
        return;
    }
    if (fallocate(vm->ram_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
                  (off_t)vm->ram_size) < 0)
        vmm_die(VMM_EXIT_FATAL, "reboot: clearing guest RAM: %s", strerror(errno));
}

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
