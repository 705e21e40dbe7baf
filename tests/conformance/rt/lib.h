/* SPDX-License-Identifier: MIT */
/* The few C library pieces the freestanding kernel needs. */
#ifndef HVCONF_LIB_H
#define HVCONF_LIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BIT(n)        (1ULL << (n))
#define ALIGNED(n)    __attribute__((aligned(n)))
#define PAGE_SIZE     4096u

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* printf subset: %d %i %u %x %X %p %s %c %%, flags '0' '-' '#', width,
 * length modifiers l, ll, z. Always NUL-terminates when len > 0. */
int vsnprintf(char *buf, size_t len, const char *fmt, va_list ap);
int snprintf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses a decimal or 0x-prefixed number; returns false on junk. */
bool parse_u64(const char *s, size_t n, uint64_t *out);

static inline uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static inline uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* 64x64 -> high 64 bits of the 128-bit product (the TSC-page formula). */
static inline uint64_t mul_hi64(uint64_t a, uint64_t b)
{
    uint64_t hi, lo;
    __asm__("mulq %3" : "=a"(lo), "=d"(hi) : "a"(a), "rm"(b));
    (void)lo;
    return hi;
}

/* (a * b) / c with a 128-bit intermediate; c must be non-zero and the
 * quotient must fit in 64 bits (callers keep it so). */
static inline uint64_t muldiv64(uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t hi, lo, q, r;
    __asm__("mulq %3" : "=a"(lo), "=d"(hi) : "a"(a), "rm"(b));
    if (hi >= c)
        return UINT64_MAX;
    __asm__("divq %4" : "=a"(q), "=d"(r) : "a"(lo), "d"(hi), "rm"(c));
    (void)r;
    return q;
}

#endif
