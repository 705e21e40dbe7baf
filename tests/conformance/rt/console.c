/* SPDX-License-Identifier: MIT */
#include "console.h"

#include "cpu.h"
#include "lib.h"
#include "x86.h"

#define COM1 0x3F8

static volatile int console_lock;
static bool have_uart;

void console_init(void)
{
    outb(COM1 + 1, 0x00);   /* no interrupts */
    outb(COM1 + 3, 0x80);   /* DLAB */
    outb(COM1 + 0, 0x01);   /* 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);   /* 8N1 */
    outb(COM1 + 2, 0xC7);   /* FIFO on, cleared */
    outb(COM1 + 4, 0x03);
    /* A missing UART reads all-ones; then never wait for "empty". */
    have_uart = inb(COM1 + 5) != 0xFF;
}

static void uart_putc(char ch)
{
    if (have_uart) {
        /* Bounded: a stuck UART must not hang the run. */
        for (unsigned i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
            cpu_relax();
    }
    outb(COM1, (uint8_t)ch);
}

/* Interrupts stay off while the lock is held, so a handler on the same
 * CPU can never spin on it. */
static uint64_t lock_console(void)
{
    uint64_t flags = read_flags();
    irq_disable();
    for (unsigned long spins = 0; __atomic_exchange_n(&console_lock, 1, __ATOMIC_ACQUIRE);
         spins++) {
        cpu_relax();
        if (spins > 200000000ul)    /* a CPU died holding it: take it */
            break;
    }
    return flags;
}

static void unlock_console(uint64_t flags)
{
    __atomic_store_n(&console_lock, 0, __ATOMIC_RELEASE);
    if (flags & 0x200)
        irq_enable();
}

void cputs(const char *s)
{
    uint64_t f = lock_console();
    for (; *s; s++) {
        if (*s == '\n')
            uart_putc('\r');
        uart_putc(*s);
    }
    unlock_console(f);
}

void vcprintf(const char *fmt, va_list ap)
{
    char buf[512];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    cputs(buf);
}

void cprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vcprintf(fmt, ap);
    va_end(ap);
}

void debug_exit(unsigned code)
{
    outl(0xF4, code);
    /* No debug-exit device (Xen, Hyper-V): stop here for good. */
    for (;;) {
        irq_disable();
        __asm__ volatile("hlt");
    }
}

void panic(const char *fmt, ...)
{
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    irq_disable();
    cprintf("Bail out! %s\n", buf);
    debug_exit(1);
}
