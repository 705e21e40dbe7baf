/* SPDX-License-Identifier: MIT */
/*
 * Kernel loading shared by both boot paths: reading files, telling a
 * bzImage from a multiboot kernel (as qemu -kernel does), the boot GDT and
 * the BSP's initial register state.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm-glue/boot/boot.h"
#include "kvm-glue/vmm.h"

#define MAX_IMAGE_SIZE (1ull << 31)

int vmm_read_file(const char *path, struct vmm_image *img, char *err, size_t err_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_len, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, err_len, "cannot read %s: not a regular file", path);
        close(fd);
        return -1;
    }
    if ((unsigned long long)st.st_size > MAX_IMAGE_SIZE) {
        snprintf(err, err_len, "cannot read %s: larger than 2 GiB", path);
        close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) {
        snprintf(err, err_len, "cannot read %s: out of memory", path);
        close(fd);
        return -1;
    }
    size_t done = 0;
    while (done < size) {
        ssize_t n = read(fd, buf + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, err_len, "cannot read %s: %s", path, n < 0 ? strerror(errno) : "short read");
            free(buf);
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    close(fd);
    img->data = buf;
    img->size = size;
    return 0;
}

int vmm_kernel_probe(const struct vmm_image *k, enum vmm_kernel_kind *kind, char *err,
                     size_t err_len)
{
    /* Linux boot protocol: "HdrS" at 0x202 (like qemu, checked first). */
    if (k->size >= 0x210 && memcmp(k->data + 0x202, "HdrS", 4) == 0) {
        *kind = VMM_KERNEL_BZIMAGE;
        return 0;
    }
    if (multiboot_find_header(k) >= 0) {
        *kind = VMM_KERNEL_MULTIBOOT;
        return 0;
    }
    snprintf(err, err_len, "--kernel: neither a Linux bzImage nor a multiboot kernel");
    return -1;
}

/* A GDT at BOOT_GDT: 0x10 code, 0x18 data (the selectors Linux's 64-bit
 * boot protocol names); the code descriptor is 64-bit or 32-bit. */
void boot_write_gdt(struct vmm *vm, bool long_mode)
{
    uint64_t gdt[4] = {
        0,
        0,
        long_mode ? 0x00AF9B000000FFFFull : 0x00CF9B000000FFFFull,
        0x00CF93000000FFFFull,
    };
    vmm_gpa_write(vm, BOOT_GDT, gdt, sizeof(gdt));
}

static struct kvm_segment flat_seg(uint16_t sel, uint8_t type, bool code64)
{
    return (struct kvm_segment){
        .base = 0,
        .limit = 0xFFFFFFFF,
        .selector = sel,
        .type = type,
        .present = 1,
        .dpl = 0,
        .db = code64 ? 0 : 1,
        .s = 1,
        .l = code64 ? 1 : 0,
        .g = 1,
    };
}

static void set_state(struct vmm *vm, struct kvm_sregs *s, struct kvm_regs *r)
{
    struct vcpu *bsp = &vm->vcpus[0];
    if (ioctl(bsp->fd, KVM_SET_SREGS, s) < 0)
        vmm_die(VMM_EXIT_FATAL, "KVM_SET_SREGS (boot): %s", strerror(errno));
    if (ioctl(bsp->fd, KVM_SET_REGS, r) < 0)
        vmm_die(VMM_EXIT_FATAL, "KVM_SET_REGS (boot): %s", strerror(errno));
}

static void base_sregs(struct vmm *vm, struct kvm_sregs *s)
{
    if (ioctl(vm->vcpus[0].fd, KVM_GET_SREGS, s) < 0)
        vmm_die(VMM_EXIT_FATAL, "KVM_GET_SREGS (boot): %s", strerror(errno));
    s->gdt.base = BOOT_GDT;
    s->gdt.limit = 4 * 8 - 1;
    s->idt.base = 0;
    s->idt.limit = 0;
    /* A usable (if empty) LDT and TSS keep VMX entry checks happy. */
    s->ldt = (struct kvm_segment){ .selector = 0, .type = 2, .present = 1, .limit = 0xFFFF };
    s->tr = (struct kvm_segment){ .selector = 0, .type = 11, .present = 1, .limit = 0xFFFF };
}

/* Multiboot: 32-bit protected mode, paging off, flat segments. */
void vmm_set_bsp_flat32(struct vmm *vm, uint32_t eip, uint32_t eax, uint32_t ebx)
{
    struct kvm_sregs s;
    base_sregs(vm, &s);
    boot_write_gdt(vm, false);
    s.cs = flat_seg(0x10, 0xB, false);
    s.ds = s.es = s.fs = s.gs = s.ss = flat_seg(0x18, 0x3, false);
    s.cr0 = 0x11;            /* PE | ET */
    s.cr3 = 0;
    s.cr4 = 0;
    s.efer = 0;
    struct kvm_regs r = { .rip = eip, .rax = eax, .rbx = ebx, .rflags = 2 };
    set_state(vm, &s, &r);
}

/* Linux 64-bit boot protocol: long mode, identity-mapped 4 GiB. */
void vmm_set_bsp_long64(struct vmm *vm, uint64_t rip, uint64_t rsi)
{
    /* 2 MiB pages: PML4 -> one PDPT -> four page directories. */
    uint64_t e = BOOT_PDPT | 0x3;
    vmm_gpa_write(vm, BOOT_PML4, &e, 8);
    for (uint64_t i = 0; i < 4; i++) {
        uint64_t pd = (BOOT_PD + i * 0x1000) | 0x3;
        vmm_gpa_write(vm, BOOT_PDPT + i * 8, &pd, 8);
        for (uint64_t j = 0; j < 512; j++) {
            uint64_t pde = ((i << 30) | (j << 21)) | 0x83; /* present, rw, 2M */
            vmm_gpa_write(vm, BOOT_PD + i * 0x1000 + j * 8, &pde, 8);
        }
    }
    struct kvm_sregs s;
    base_sregs(vm, &s);
    boot_write_gdt(vm, true);
    s.cs = flat_seg(0x10, 0xB, true);
    s.ds = s.es = s.fs = s.gs = s.ss = flat_seg(0x18, 0x3, false);
    s.cr0 = 0x80050033;      /* PG | AM | WP | NE | ET | MP | PE */
    s.cr3 = BOOT_PML4;
    s.cr4 = 0x20;            /* PAE */
    s.efer = 0x500;          /* LME | LMA */
    struct kvm_regs r = { .rip = rip, .rsi = rsi, .rflags = 2, .rsp = BOOT_STACK_TOP };
    set_state(vm, &s, &r);
}
