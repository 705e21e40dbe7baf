/* SPDX-License-Identifier: MIT */
/*
 * Smoke guest entry: a multiboot (v1) header, the 32-bit entry that
 * switches to long mode with an identity map of the first 4 GiB, the AP
 * trampoline (copied below 1 MiB and started by INIT/SIPI), and the
 * interrupt stubs.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003          /* page-aligned modules, memory info */

#define SEL_CODE64 0x08
#define SEL_DATA   0x10
#define SEL_CODE32 0x18

#define STACK_SIZE 16384
#define MAX_CPUS   16

    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

/* ------------------------------------------------------------ BSP entry */
    .section .text32, "ax"
    .code32
    .globl _start
_start:
    cli
    movl %eax, mb_magic
    movl %ebx, mb_info
    movl $pml4, %eax
    movl %eax, %cr3
    movl %cr4, %eax
    orl $0x20, %eax                  /* PAE */
    movl %eax, %cr4
    movl $0xC0000080, %ecx           /* EFER.LME */
    rdmsr
    orl $0x100, %eax
    wrmsr
    movl %cr0, %eax
    orl $0x80000001, %eax            /* PG | PE */
    movl %eax, %cr0
    lgdt gdt_ptr
    ljmp $SEL_CODE64, $bsp_long

    .text
    .code64
bsp_long:
    movw $SEL_DATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    leaq bsp_stack_top(%rip), %rsp
    movl mb_magic(%rip), %edi
    movl mb_info(%rip), %esi
    call smoke_main
1:  cli
    hlt
    jmp 1b

/* ----------------------------------------------------- AP trampoline */
/* Runs at AP_TRAMPOLINE (0x8000) in real mode: addresses inside it are
 * computed relative to tramp_start. */
#define AP_TRAMPOLINE 0x8000
#define T(x) ((x) - tramp_start + AP_TRAMPOLINE)
    .globl tramp_start, tramp_end
    .code16
tramp_start:
    cli
    xorw %ax, %ax
    movw %ax, %ds
    lgdtl T(tramp_gdt_ptr)
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $SEL_CODE32, $T(tramp32)
    .code32
tramp32:
    movw $SEL_DATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl $pml4, %eax
    movl %eax, %cr3
    movl %cr4, %eax
    orl $0x20, %eax
    movl %eax, %cr4
    movl $0xC0000080, %ecx
    rdmsr
    orl $0x100, %eax
    wrmsr
    movl %cr0, %eax
    orl $0x80000001, %eax
    movl %eax, %cr0
    ljmp $SEL_CODE64, $ap_long
    .align 8
tramp_gdt_ptr:
    .word gdt_end - gdt - 1
    .long gdt
tramp_end:

    .code64
ap_long:
    movw $SEL_DATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movl $1, %eax
    lock xaddl %eax, ap_next(%rip)   /* eax = this AP's slot (1, 2, ...) */
    cmpl $MAX_CPUS, %eax
    jae 2f
    movl %eax, %edi
    incl %eax
    imull $STACK_SIZE, %eax
    leaq ap_stacks(%rip), %rsp
    addq %rax, %rsp
    call ap_main
2:  cli
    hlt
    jmp 2b

/* ------------------------------------------------------ interrupt stubs */
    .globl isr_table
    .align 16
isr_table:
    .set vec, 0
    .rept 256
    .align 16
    .if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    pushq $0
    .endif
    pushq $vec
    jmp isr_common
    .set vec, vec + 1
    .endr

isr_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi
    cld
    call trap
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp
    iretq

/* ------------------------------------------------------------- data */
    .data
    .align 16
    .globl gdt
gdt:
    .quad 0
    .quad 0x00AF9B000000FFFF         /* 0x08 code64 */
    .quad 0x00CF93000000FFFF         /* 0x10 data */
    .quad 0x00CF9B000000FFFF         /* 0x18 code32 */
gdt_end:
gdt_ptr:
    .word gdt_end - gdt - 1
    .quad gdt

    .globl mb_magic, mb_info, ap_next
mb_magic: .long 0
mb_info:  .long 0
ap_next:  .long 1

/* Identity map of 4 GiB with 2 MiB pages. */
    .align 4096
    .globl pml4, pdpt
pml4:
    .quad pdpt + 3
    .fill 511, 8, 0
pdpt:
    .quad pd + 0x0003
    .quad pd + 0x1003
    .quad pd + 0x2003
    .quad pd + 0x3003
    .fill 508, 8, 0
pd:
    .set i, 0
    .rept 2048
    .quad (i << 21) | 0x83
    .set i, i + 1
    .endr

    .bss
    .align 4096
    .space STACK_SIZE
bsp_stack_top:
    .globl ap_stacks
ap_stacks:
    .space STACK_SIZE * (MAX_CPUS + 1)
