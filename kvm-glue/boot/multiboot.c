/* SPDX-License-Identifier: MIT */
/*
 * Multiboot (v1) kernels, loaded the way qemu -kernel loads them: an ELF32
 * image (or the a.out kludge) placed at its physical addresses, modules
 * from --initrd "a,b", an info structure with memory map and command line,
 * then a 32-bit protected-mode entry with EAX = 0x2BADB002, EBX = info.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm-glue/boot/boot.h"
#include "kvm-glue/vmm.h"

#define MB_MAGIC            0x1BADB002u
#define MB_BOOT_MAGIC       0x2BADB002u
#define MB_SEARCH           8192u
#define MB_FLAG_PAGE_ALIGN  (1u << 0)
#define MB_FLAG_MEMINFO     (1u << 1)
#define MB_FLAG_VIDEO       (1u << 2)
#define MB_FLAG_AOUT        (1u << 16)
#define MB_KNOWN_LOW        (MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMINFO | MB_FLAG_VIDEO)

#define MBI_MEM             (1u << 0)
#define MBI_CMDLINE         (1u << 2)
#define MBI_MODS            (1u << 3)
#define MBI_MMAP            (1u << 6)
#define MBI_LOADER_NAME     (1u << 9)

#define MB_MAX_MODULES      32u
#define LOAD_MIN            0x100000ull  /* below: our boot structures */

struct mb_header {
    uint32_t magic, flags, checksum;
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

struct mb_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr, drives_length, drives_addr, config_table;
    uint32_t boot_loader_name, apm_table;
    uint32_t vbe[6];
};

struct mb_module {
    uint32_t mod_start, mod_end, string, reserved;
};

struct mb_mmap {
    uint32_t size;
    uint64_t addr, len;
    uint32_t type;
} __attribute__((packed));

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

long multiboot_find_header(const struct vmm_image *k)
{
    size_t lim = k->size < MB_SEARCH ? k->size : MB_SEARCH;
    for (size_t off = 0; off + 12 <= lim; off += 4) {
        const uint8_t *p = k->data + off;
        if (rd32(p) == MB_MAGIC && (uint32_t)(rd32(p) + rd32(p + 4) + rd32(p + 8)) == 0)
            return (long)off;
    }
    return -1;
}

/* A load destination must be RAM below 4 GiB, above our boot area. */
static int check_dest(struct vmm *vm, uint64_t addr, uint64_t len, char *err, size_t err_len)
{
    if (addr < LOAD_MIN || !vmm_gpa_is_ram(vm, addr, len) || addr + len > vm->low_size) {
        snprintf(err, err_len, "--kernel: multiboot segment %#llx+%#llx outside guest RAM (%llu MiB)",
                 (unsigned long long)addr, (unsigned long long)len,
                 (unsigned long long)(vm->ram_size >> 20));
        return -1;
    }
    return 0;
}

static int load_elf32(struct vmm *vm, const struct vmm_image *k, uint32_t *entry, uint64_t *end,
                      char *err, size_t err_len)
{
    const uint8_t *d = k->data;
    if (k->size < 52 || memcmp(d, "\177ELF", 4) != 0 || d[4] != 1 /* ELFCLASS32 */ ||
        d[5] != 1 /* little-endian */) {
        snprintf(err, err_len, "--kernel: multiboot kernel is not ELF32 and has no a.out kludge");
        return -1;
    }
    uint16_t machine = rd16(d + 18);
    if (machine != 3 /* EM_386 */ && machine != 62 /* EM_X86_64 in an ELF32 file */) {
        snprintf(err, err_len, "--kernel: multiboot ELF is not for x86");
        return -1;
    }
    uint32_t phoff = rd32(d + 28);
    uint16_t phentsize = rd16(d + 42), phnum = rd16(d + 44);
    if (phentsize < 32 || phnum == 0 || phoff > k->size ||
        (uint64_t)phentsize * phnum > k->size - phoff) {
        snprintf(err, err_len, "--kernel: malformed ELF program headers");
        return -1;
    }
    *entry = rd32(d + 24);
    *end = 0;
    for (uint16_t i = 0; i < phnum; i++) {
        const uint8_t *ph = d + phoff + (size_t)i * phentsize;
        if (rd32(ph) != 1 /* PT_LOAD */)
            continue;
        uint64_t off = rd32(ph + 4), paddr = rd32(ph + 12);
        uint64_t filesz = rd32(ph + 16), memsz = rd32(ph + 20);
        if (memsz == 0)
            continue;
        if (filesz > memsz || off > k->size || filesz > k->size - off) {
            snprintf(err, err_len, "--kernel: malformed ELF segment %u", i);
            return -1;
        }
        if (check_dest(vm, paddr, memsz, err, err_len) < 0)
            return -1;
        vmm_gpa_write(vm, paddr, d + off, filesz);
        if (memsz > filesz)
            memset(vmm_gpa_ptr(vm, paddr + filesz, memsz - filesz), 0, memsz - filesz);
        if (paddr + memsz > *end)
            *end = paddr + memsz;
    }
    if (*end == 0) {
        snprintf(err, err_len, "--kernel: multiboot ELF has no loadable segment");
        return -1;
    }
    return 0;
}

static int load_aout(struct vmm *vm, const struct vmm_image *k, long hdr_off,
                     const struct mb_header *h, uint32_t *entry, uint64_t *end, char *err,
                     size_t err_len)
{
    /* The header's own address tells where the file offset lands. */
    if (h->header_addr < h->load_addr || (uint64_t)(h->header_addr - h->load_addr) > (uint64_t)hdr_off) {
        snprintf(err, err_len, "--kernel: inconsistent multiboot a.out addresses");
        return -1;
    }
    uint64_t file_off = (uint64_t)hdr_off - (h->header_addr - h->load_addr);
    uint64_t load_len = h->load_end_addr ? (uint64_t)h->load_end_addr - h->load_addr
                                         : k->size - file_off;
    if (h->load_end_addr && h->load_end_addr < h->load_addr) {
        snprintf(err, err_len, "--kernel: inconsistent multiboot a.out addresses");
        return -1;
    }
    if (file_off > k->size || load_len > k->size - file_off) {
        snprintf(err, err_len, "--kernel: multiboot a.out image shorter than its header says");
        return -1;
    }
    uint64_t mem_end = h->load_addr + load_len;
    if (h->bss_end_addr && h->bss_end_addr > mem_end)
        mem_end = h->bss_end_addr;
    if (check_dest(vm, h->load_addr, mem_end - h->load_addr, err, err_len) < 0)
        return -1;
    vmm_gpa_write(vm, h->load_addr, k->data + file_off, load_len);
    *entry = h->entry_addr;
    *end = mem_end;
    return 0;
}

/* A bump allocator over low RAM after the kernel, for the info structures
 * and modules. */
struct mb_alloc {
    struct vmm *vm;
    uint64_t next;
};

static uint64_t mb_place(struct mb_alloc *a, const void *src, uint64_t len, uint64_t align,
                         char *err, size_t err_len)
{
    uint64_t at = (a->next + align - 1) & ~(align - 1);
    if (at + len > a->vm->low_size || at + len < at) {
        snprintf(err, err_len, "guest RAM too small for the multiboot kernel and its modules");
        return 0;
    }
    if (src)
        vmm_gpa_write(a->vm, at, src, len);
    a->next = at + len;
    return at;
}

int vmm_load_multiboot(struct vmm *vm, const struct vmm_image *k, char *err, size_t err_len)
{
    long off = multiboot_find_header(k);
    struct mb_header h;
    memset(&h, 0, sizeof(h));
    memcpy(&h, k->data + off, k->size - (size_t)off < sizeof(h) ? k->size - (size_t)off : sizeof(h));
    if ((h.flags & 0xFFFFu) & ~MB_KNOWN_LOW) {
        snprintf(err, err_len, "--kernel: multiboot header asks for unsupported features %#x",
                 h.flags & 0xFFFFu);
        return -1;
    }
    uint32_t entry;
    uint64_t end;
    int r = (h.flags & MB_FLAG_AOUT) ? load_aout(vm, k, off, &h, &entry, &end, err, err_len)
                                     : load_elf32(vm, k, &entry, &end, err, err_len);
    if (r < 0)
        return -1;

    struct mb_alloc a = { vm, (end + 0xFFF) & ~0xFFFull };
    struct mb_info info;
    memset(&info, 0, sizeof(info));
    uint64_t info_gpa = mb_place(&a, NULL, sizeof(info), 16, err, err_len);
    if (!info_gpa)
        return -1;

    /* Command line: kernel path, then --append (as qemu builds it). */
    size_t cl_len = strlen(vm->opt.kernel) + 1 + (vm->opt.append ? strlen(vm->opt.append) : 0) + 1;
    char *cl = malloc(cl_len);
    if (!cl)
        vmm_die(VMM_EXIT_FATAL, "out of memory");
    snprintf(cl, cl_len, "%s%s%s", vm->opt.kernel, vm->opt.append ? " " : "",
             vm->opt.append ? vm->opt.append : "");
    info.cmdline = (uint32_t)mb_place(&a, cl, strlen(cl) + 1, 1, err, err_len);
    free(cl);
    if (!info.cmdline)
        return -1;
    static const char loader[] = "hvshim-kvm";
    info.boot_loader_name = (uint32_t)mb_place(&a, loader, sizeof(loader), 1, err, err_len);
    if (!info.boot_loader_name)
        return -1;

    struct vmm_e820 map[8];
    uint32_t n = vmm_e820_map(vm, map, 8);
    struct mb_mmap mm[8];
    for (uint32_t i = 0; i < n; i++)
        mm[i] = (struct mb_mmap){ 20, map[i].addr, map[i].size, map[i].type };
    info.mmap_addr = (uint32_t)mb_place(&a, mm, n * sizeof(mm[0]), 8, err, err_len);
    if (!info.mmap_addr)
        return -1;
    info.mmap_length = n * (uint32_t)sizeof(mm[0]);
    info.mem_lower = (uint32_t)(BOOT_EBDA >> 10);
    info.mem_upper = (uint32_t)((vm->low_size - 0x100000) >> 10);
    info.flags = MBI_MEM | MBI_CMDLINE | MBI_MMAP | MBI_LOADER_NAME;

    /* Modules: "path args,path args"; each lands page aligned. */
    if (vm->opt.initrd && *vm->opt.initrd) {
        struct mb_module mods[MB_MAX_MODULES];
        uint32_t nm = 0;
        char *list = strdup(vm->opt.initrd);
        if (!list)
            vmm_die(VMM_EXIT_FATAL, "out of memory");
        char *save = NULL;
        for (char *spec = strtok_r(list, ",", &save); spec; spec = strtok_r(NULL, ",", &save)) {
            if (nm == MB_MAX_MODULES) {
                snprintf(err, err_len, "--initrd: more than %u multiboot modules", MB_MAX_MODULES);
                free(list);
                return -1;
            }
            char path[4096];
            size_t plen = strcspn(spec, " ");
            if (plen == 0 || plen >= sizeof(path)) {
                snprintf(err, err_len, "--initrd: bad module specification '%s'", spec);
                free(list);
                return -1;
            }
            memcpy(path, spec, plen);
            path[plen] = 0;
            struct vmm_image m;
            if (vmm_read_file(path, &m, err, err_len) < 0) {
                free(list);
                return -1;
            }
            uint64_t at = mb_place(&a, m.data, m.size, 4096, err, err_len);
            free(m.data);
            if (!at) {
                free(list);
                return -1;
            }
            mods[nm].mod_start = (uint32_t)at;
            mods[nm].mod_end = (uint32_t)(at + m.size);
            mods[nm].reserved = 0;
            mods[nm].string = (uint32_t)mb_place(&a, spec, strlen(spec) + 1, 1, err, err_len);
            if (!mods[nm].string) {
                free(list);
                return -1;
            }
            nm++;
        }
        free(list);
        info.mods_addr = (uint32_t)mb_place(&a, mods, nm * sizeof(mods[0]), 16, err, err_len);
        if (nm && !info.mods_addr)
            return -1;
        info.mods_count = nm;
        info.flags |= MBI_MODS;
    }
    vmm_gpa_write(vm, info_gpa, &info, sizeof(info));
    vmm_set_bsp_flat32(vm, entry, MB_BOOT_MAGIC, (uint32_t)info_gpa);
    return 0;
}
