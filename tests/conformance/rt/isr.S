/* SPDX-License-Identifier: MIT */
/*
 * Trap entry for all 256 vectors, the catch_setjmp/catch_resume pair,
 * the CPL3 entry, and the XMM-register hypercall helper (the only code
 * that touches XMM registers: the C parts are built with -mno-sse).
 */
#include "layout.h"

    .text
    .code64

/* One 16-byte stub per vector: push a dummy error code when the CPU does
 * not push one, push the vector, go to the common path. */
    .balign 16
    .globl isr_stubs
isr_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    .if (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    pushq $vec
    .else
    pushq $0
    pushq $vec
    .endif
    jmp trap_common
    .set vec, vec + 1
    .endr

trap_common:
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
    cld
    movq %rsp, %rdi
    call trap_dispatch
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

/* int catch_setjmp(struct jmpctx *j) */
    .globl catch_setjmp
catch_setjmp:
    movq %rbx, 0(%rdi)
    movq %rbp, 8(%rdi)
    movq %r12, 16(%rdi)
    movq %r13, 24(%rdi)
    movq %r14, 32(%rdi)
    movq %r15, 40(%rdi)
    leaq 8(%rsp), %rax
    movq %rax, 48(%rdi)
    movq (%rsp), %rax
    movq %rax, 56(%rdi)
    xorl %eax, %eax
    ret

/* Reached by iretq from trap_dispatch with RDI = the jmpctx; returns 1
 * from the matching catch_setjmp. */
    .globl catch_resume
catch_resume:
    movq 0(%rdi), %rbx
    movq 8(%rdi), %rbp
    movq 16(%rdi), %r12
    movq 24(%rdi), %r13
    movq 32(%rdi), %r14
    movq 40(%rdi), %r15
    movq 48(%rdi), %rsp
    movl $1, %eax
    jmpq *56(%rdi)

/* enter_user(fn, arg, user_rsp): iretq to CPL3, call fn(arg) there, and
 * come back through the ud2 at user_exit_ud2 with the result in RDI (a
 * fault works under every hypervisor; some refuse "int n" from CPL3). The
 * caller holds a catch context that the exit (or any fault) resumes. */
    .globl enter_user
enter_user:
    movq %rdi, %r12
    movq %rsi, %r13
    pushq $(UDATA | 3)
    pushq %rdx
    pushfq
    pushq $(UCODE | 3)
    leaq user_trampoline(%rip), %rax
    pushq %rax
    iretq

user_trampoline:
    movl $(UDATA | 3), %eax
    movl %eax, %ds
    movl %eax, %es
    movq %r13, %rdi
    callq *%r12
    movq %rax, %rdi
    .globl user_exit_ud2
user_exit_ud2:
    ud2

/*
 * uint64_t hv_call_xmm(uint64_t control, const uint64_t in[16], uint64_t out[16])
 * in/out hold RDX, R8, then XMM0..XMM5 as 12 qwords (low half first).
 * Returns RAX; out receives the registers after the call, so a check can
 * see both XMM output and whether input registers were preserved.
 */
    .globl hv_call_xmm
hv_call_xmm:
    pushq %rbx
    pushq %r12
    movq %rdx, %r12                 /* out */
    movq %rsi, %rbx                 /* in */
    movdqu 16(%rbx), %xmm0
    movdqu 32(%rbx), %xmm1
    movdqu 48(%rbx), %xmm2
    movdqu 64(%rbx), %xmm3
    movdqu 80(%rbx), %xmm4
    movdqu 96(%rbx), %xmm5
    movq %rdi, %rcx
    movq 0(%rbx), %rdx
    movq 8(%rbx), %r8
    callq *hv_hypercall_va(%rip)
    movq %rdx, 0(%r12)
    movq %r8, 8(%r12)
    movdqu %xmm0, 16(%r12)
    movdqu %xmm1, 32(%r12)
    movdqu %xmm2, 48(%r12)
    movdqu %xmm3, 64(%r12)
    movdqu %xmm4, 80(%r12)
    movdqu %xmm5, 96(%r12)
    popq %r12
    popq %rbx
    ret

/* uint64_t hv_call_regs(uint64_t control, uint64_t rdx, uint64_t r8,
 *                       uint64_t regs_out[2])
 * A GPR hypercall that also reports RDX and R8 as they came back. */
    .globl hv_call_regs
hv_call_regs:
    pushq %rbx
    movq %rcx, %rbx                 /* regs_out */
    movq %rdi, %rcx
    movq %rdx, %r8
    movq %rsi, %rdx
    callq *hv_hypercall_va(%rip)
    movq %rdx, 0(%rbx)
    movq %r8, 8(%rbx)
    popq %rbx
    ret

/*
 * uint64_t hv_call_preserve(uint64_t control, uint64_t rdx, uint64_t r8,
 *                           uint64_t after[14])
 * Fills every other GPR with a known pattern, makes the call, and stores
 * RBX RCX RDX RSI RDI RBP R8 R9 R10 R11 R12 R13 R14 R15 as they came back,
 * so a check can see which registers the hypercall modified.
 */
    .globl hv_call_preserve
hv_call_preserve:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    pushq %rcx
    movq %rdi, %rax
    movq %rdx, %r8
    movq %rsi, %rdx
    movq %rax, %rcx
    movabsq $0x1B1B1B1B1B1B1B1B, %rbx
    movabsq $0x5151515151515151, %rsi
    movabsq $0xD1D1D1D1D1D1D1D1, %rdi
    movabsq $0xB9B9B9B9B9B9B9B9, %rbp
    movabsq $0x0909090909090909, %r9
    movabsq $0x1010101010101010, %r10
    movabsq $0x1111111111111111, %r11
    movabsq $0x1212121212121212, %r12
    movabsq $0x1313131313131313, %r13
    movabsq $0x1414141414141414, %r14
    movabsq $0x1515151515151515, %r15
    callq *hv_hypercall_va(%rip)
    pushq %rax
    movq 8(%rsp), %rax
    movq %rbx, 0(%rax)
    movq %rcx, 8(%rax)
    movq %rdx, 16(%rax)
    movq %rsi, 24(%rax)
    movq %rdi, 32(%rax)
    movq %rbp, 40(%rax)
    movq %r8, 48(%rax)
    movq %r9, 56(%rax)
    movq %r10, 64(%rax)
    movq %r11, 72(%rax)
    movq %r12, 80(%rax)
    movq %r13, 88(%rax)
    movq %r14, 96(%rax)
    movq %r15, 104(%rax)
    popq %rax
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    ret
