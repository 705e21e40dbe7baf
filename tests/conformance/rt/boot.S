/* SPDX-License-Identifier: MIT */
/*
 * hvconf entry: multiboot v1 (32-bit protected mode, paging off) -> identity
 * map of the low 4 GiB with 2 MiB pages -> long mode -> kmain().
 * Also holds the AP trampoline that smp.c copies below 1 MiB.
 */
#include "layout.h"

#define MB_MAGIC  0x1BADB002
#define MB_FLAGS  0x00000003        /* page-aligned modules, memory info */

    .section .multiboot, "a"
    .balign 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

/* ------------------------------------------------------------------ 32-bit */
    .section .text.boot, "ax"
    .code32
    .globl _start
_start:
    cli
    cld
    movl %eax, %esi                 /* keep the loader's magic and info */
    movl %ebx, %ebp

    /* Zero .bss ourselves: not every loader promises it, and the page
     * tables and stacks live there. */
    movl $__bss_start, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    shrl $2, %ecx
    xorl %eax, %eax
    rep stosl

    movl %esi, boot_mb_magic
    movl %ebp, boot_mb_info

    /* PML4[0] -> PDPT; PDPT[0..3] -> four PDs of 2 MiB pages (0-4 GiB).
     * User bit everywhere so the CPL3 checks can run the kernel's code. */
    movl $boot_pdpt, %eax
    orl $(PTE_P | PTE_W | PTE_U), %eax
    movl %eax, boot_pml4

    movl $boot_pd, %eax
    orl $(PTE_P | PTE_W | PTE_U), %eax
    movl $boot_pdpt, %edi
    movl $4, %ecx
1:  movl %eax, (%edi)
    addl $4096, %eax
    addl $8, %edi
    loop 1b

    /* 2048 large-page entries; the top GiB (MMIO: LAPIC, IOAPIC, BARs)
     * is mapped uncacheable. */
    movl $boot_pd, %edi
    xorl %ebx, %ebx                 /* entry index */
2:  movl %ebx, %eax
    shll $21, %eax
    orl $(PTE_P | PTE_W | PTE_U | PTE_PS), %eax
    cmpl $1536, %ebx
    jb 3f
    orl $(PTE_PCD | PTE_PWT), %eax
3:  movl %eax, (%edi)
    movl %ebx, %edx                 /* high half: bits 32+ of the address */
    shrl $11, %edx
    movl %edx, 4(%edi)
    addl $8, %edi
    incl %ebx
    cmpl $2048, %ebx
    jb 2b

    movl $boot_pml4, %eax
    movl %eax, %cr3

    movl %cr4, %eax
    orl $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
    movl %eax, %cr4

    movl $0xC0000080, %ecx          /* EFER.LME */
    rdmsr
    orl $0x100, %eax
    wrmsr

    movl %cr0, %eax
    andl $~(CR0_EM | CR0_TS), %eax
    orl $(CR0_PG | CR0_PE | CR0_MP | CR0_NE | CR0_WP), %eax
    movl %eax, %cr0

    lgdt boot_gdt_ptr
    ljmp $KCODE, $long_entry

/* ------------------------------------------------------------------ 64-bit */
    .code64
long_entry:
    movl $KDATA, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    xorl %eax, %eax
    movl %eax, %fs
    movl %eax, %gs
    leaq cpu_stacks + CPU_STACK_SIZE(%rip), %rsp
    xorl %ebp, %ebp
    call kmain
4:  cli
    hlt
    jmp 4b

/* An AP lands here from the trampoline, already in long mode on the kernel
 * page tables. It takes the next CPU number and that CPU's stack. */
    .globl ap_entry64
ap_entry64:
    movl $KDATA, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    xorl %eax, %eax
    movl %eax, %fs
    movl %eax, %gs
    movl $1, %eax
    lock xaddl %eax, ap_next_index(%rip)
    cmpl $MAX_CPUS, %eax
    jae 6f
    movl %eax, %edi
    movq %rdi, %rax
    incq %rax
    shlq $CPU_STACK_SHIFT, %rax
    leaq cpu_stacks(%rip), %rsp
    addq %rax, %rsp
    xorl %ebp, %ebp
    call ap_main
6:  cli
    hlt
    jmp 6b

/* ------------------------------------------------------------ boot GDT */
    .section .rodata
    .balign 16
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF        /* 0x08: 64-bit code, DPL0 */
    .quad 0x00CF92000000FFFF        /* 0x10: data, DPL0 */
boot_gdt_end:
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt

/* ------------------------------------------------------ AP trampoline */
/* Copied to TRAMP_BASE; runs there in real mode, so every address inside
 * is rebased by hand. smp.c patches tramp_cr3 and tramp_target. */
#define TR(sym) (TRAMP_BASE + ((sym) - ap_tramp_start))

    .section .data.tramp, "aw"
    .code16
    .globl ap_tramp_start, ap_tramp_end, tramp_cr3, tramp_target
ap_tramp_start:
    cli
    cld
    xorw %ax, %ax
    movw %ax, %ds
    lgdtl TR(tramp_gdt_ptr)
    movl %cr4, %eax
    orl $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
    movl %eax, %cr4
    movl TR(tramp_cr3), %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx
    rdmsr
    orl $0x100, %eax
    wrmsr
    movl %cr0, %eax
    andl $~(CR0_EM | CR0_TS), %eax
    orl $(CR0_PG | CR0_PE | CR0_MP | CR0_NE | CR0_WP), %eax
    movl %eax, %cr0
    ljmpl $KCODE, $TR(tramp_long)

    .code64
tramp_long:
    movq TR(tramp_target), %rax
    jmp *%rax

    .balign 8
tramp_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF
    .quad 0x00CF92000000FFFF
tramp_gdt_ptr:
    .word 23
    .long TR(tramp_gdt)
    .balign 8
tramp_cr3:
    .quad 0
tramp_target:
    .quad 0
ap_tramp_end:

/* ------------------------------------------------------------- memory */
    .section .bss.pages, "aw", @nobits
    .balign 4096
    .globl boot_pml4, boot_pdpt, boot_pd
boot_pml4:  .skip 4096
boot_pdpt:  .skip 4096
boot_pd:    .skip 4 * 4096

    .section .bss
    .balign 16
    .globl boot_mb_magic, boot_mb_info
boot_mb_magic: .skip 4
boot_mb_info:  .skip 4
