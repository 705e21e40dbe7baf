/* SPDX-License-Identifier: MIT */
/* COM1 output shared by all CPUs, and the debug-exit port. */
#ifndef HVCONF_CONSOLE_H
#define HVCONF_CONSOLE_H

#include <stdarg.h>

void console_init(void);
void cprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vcprintf(const char *fmt, va_list ap);
void cputs(const char *s);

/* isa-debug-exit: QEMU exits with status (code << 1) | 1. */
void debug_exit(unsigned code) __attribute__((noreturn));

#endif
