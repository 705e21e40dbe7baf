/* SPDX-License-Identifier: MIT */
/* Constants shared by the assembly and C parts of the hvconf runtime. */
#ifndef HVCONF_LAYOUT_H
#define HVCONF_LAYOUT_H

#define MAX_CPUS         16
#define CPU_STACK_SHIFT  14                 /* 16 KiB per CPU */
#define CPU_STACK_SIZE   (1 << CPU_STACK_SHIFT)
#define TRAMP_BASE       0x8000             /* AP start page (SIPI vector 0x08) */

/* GDT selectors (gdt.c builds the table in this order). */
#define KCODE            0x08
#define KDATA            0x10
#define UDATA            0x18               /* used with RPL 3 */
#define UCODE            0x20               /* used with RPL 3 */
#define TSS_SEL0         0x28               /* + 16 * cpu */

#define PTE_P            0x001
#define PTE_W            0x002
#define PTE_U            0x004
#define PTE_PWT          0x008
#define PTE_PCD          0x010
#define PTE_A            0x020
#define PTE_PS           0x080

#define CR0_PE           0x00000001
#define CR0_MP           0x00000002
#define CR0_EM           0x00000004
#define CR0_TS           0x00000008
#define CR0_NE           0x00000020
#define CR0_WP           0x00010000
#define CR0_PG           0x80000000
#define CR4_PAE          0x00000020
#define CR4_OSFXSR       0x00000200
#define CR4_OSXMMEXCPT   0x00000400

/* Vectors the runtime reserves for itself. */
#define VEC_WAKE         0xFC               /* "look at your mailbox" IPI */
#define VEC_WATCHDOG     0xFD               /* per-check LAPIC timer */
#define VEC_SPURIOUS     0xFF

/* Pseudo-vectors reported by the catch mechanism. */
#define CATCH_TIMEOUT    0x100
#define CATCH_NMI_RESCUE 0x101
#define VEC_USER_EXIT    0x102              /* the CPL3 function returned */

#endif
