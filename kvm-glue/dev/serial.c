/* SPDX-License-Identifier: MIT */
/*
 * COM1: a 16550A UART at 0x3F8, IRQ 4. Transmit is instantaneous (bytes go
 * to stdout or a file); receive comes from stdin through a 256-byte FIFO
 * filled by a reader thread. Enough of the chip for Linux's 8250 probe
 * (scratch register, FIFO identification in IIR, loopback) and for its
 * interrupt-driven transmit path (THR-empty interrupt).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm-glue/vmm.h"

#define COM1_BASE 0x3F8u
#define COM1_IRQ  4u
#define RX_FIFO   256u

/* register offsets */
enum { UART_RBR_THR = 0, UART_IER = 1, UART_IIR_FCR = 2, UART_LCR = 3, UART_MCR = 4,
       UART_LSR = 5, UART_MSR = 6, UART_SCR = 7 };

#define LCR_DLAB 0x80u
#define IER_RDI  0x01u
#define IER_THRI 0x02u
#define IER_RLSI 0x04u
#define IER_MSI  0x08u
#define IIR_NONE 0x01u
#define IIR_THRI 0x02u
#define IIR_RDI  0x04u
#define IIR_FIFO 0xC0u
#define FCR_ENABLE 0x01u
#define FCR_CLEAR_RX 0x02u
#define LSR_DR   0x01u
#define LSR_THRE 0x20u
#define LSR_TEMT 0x40u
#define MCR_DTR  0x01u
#define MCR_RTS  0x02u
#define MCR_OUT1 0x04u
#define MCR_OUT2 0x08u
#define MCR_LOOP 0x10u
#define MSR_CTS  0x10u
#define MSR_DSR  0x20u
#define MSR_RI   0x40u
#define MSR_DCD  0x80u

struct serial {
    struct vmm *vm;
    pthread_mutex_t lock;
    int out_fd;                  /* -1: output discarded */
    int in_fd;                   /* -1: no input */
    pthread_t reader;
    bool reader_started;
    int stop_pipe[2];

    uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
    bool thr_irq;                /* THR-empty interrupt pending */
    int irq_level;
    uint8_t rx[RX_FIFO];
    uint32_t rx_head, rx_count;
};

static uint8_t iir_locked(const struct serial *s)
{
    uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO : 0;
    if ((s->ier & IER_RDI) && s->rx_count)
        return IIR_RDI | fifo;
    if ((s->ier & IER_THRI) && s->thr_irq)
        return IIR_THRI | fifo;
    return IIR_NONE | fifo;
}

/* The ISA line follows the chip's interrupt output; the IOAPIC edge-detects
 * it. Called with the lock held; injection takes inject_lock after it. */
static void update_irq_locked(struct serial *s)
{
    int level = (iir_locked(s) & IIR_NONE) ? 0 : 1;
    /* OUT2 gates the interrupt onto the bus on PC-compatible boards. */
    if (!(s->mcr & MCR_OUT2) || (s->mcr & MCR_LOOP))
        level = 0;
    if (level != s->irq_level) {
        s->irq_level = level;
        vmm_irq_line(s->vm, COM1_IRQ, level);
    }
}

static void rx_push_locked(struct serial *s, uint8_t b)
{
    if (s->rx_count == RX_FIFO)
        return; /* overrun: dropped */
    s->rx[(s->rx_head + s->rx_count) % RX_FIFO] = b;
    s->rx_count++;
}

static void transmit(struct serial *s, uint8_t b)
{
    if (s->mcr & MCR_LOOP) {
        rx_push_locked(s, b);
        return;
    }
    if (s->out_fd < 0)
        return;
    for (;;) {
        ssize_t n = write(s->out_fd, &b, 1);
        if (n == 1 || (n < 0 && errno != EINTR && errno != EAGAIN))
            return;
    }
}

static uint8_t serial_read(struct serial *s, uint16_t reg)
{
    switch (reg) {
    case UART_RBR_THR:
        if (s->lcr & LCR_DLAB)
            return s->dll;
        if (s->rx_count) {
            uint8_t b = s->rx[s->rx_head];
            s->rx_head = (s->rx_head + 1) % RX_FIFO;
            s->rx_count--;
            return b;
        }
        return 0;
    case UART_IER:
        return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
    case UART_IIR_FCR: {
        uint8_t iir = iir_locked(s);
        /* Reading IIR while it reports THR-empty acknowledges it. */
        if ((iir & 0x0F) == IIR_THRI)
            s->thr_irq = false;
        return iir;
    }
    case UART_LCR:
        return s->lcr;
    case UART_MCR:
        return s->mcr;
    case UART_LSR:
        return LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0);
    case UART_MSR:
        if (s->mcr & MCR_LOOP) {
            uint8_t m = 0;
            if (s->mcr & MCR_DTR) m |= MSR_DSR;
            if (s->mcr & MCR_RTS) m |= MSR_CTS;
            if (s->mcr & MCR_OUT1) m |= MSR_RI;
            if (s->mcr & MCR_OUT2) m |= MSR_DCD;
            return m;
        }
        return MSR_DCD | MSR_DSR | MSR_CTS;
    case UART_SCR:
        return s->scr;
    default:
        return 0xFF;
    }
}

static void serial_write(struct serial *s, uint16_t reg, uint8_t v)
{
    switch (reg) {
    case UART_RBR_THR:
        if (s->lcr & LCR_DLAB) {
            s->dll = v;
            return;
        }
        transmit(s, v);
        /* The byte left at once: THR is empty again. */
        s->thr_irq = true;
        return;
    case UART_IER:
        if (s->lcr & LCR_DLAB) {
            s->dlm = v;
            return;
        }
        /* Enabling the THR-empty interrupt with THR empty raises it. */
        if (!(s->ier & IER_THRI) && (v & IER_THRI))
            s->thr_irq = true;
        s->ier = v & (IER_RDI | IER_THRI | IER_RLSI | IER_MSI);
        return;
    case UART_IIR_FCR:
        if (v & FCR_CLEAR_RX)
            s->rx_count = 0;
        s->fcr = v & (FCR_ENABLE | 0xC0);
        return;
    case UART_LCR:
        s->lcr = v;
        return;
    case UART_MCR:
        s->mcr = v & 0x1F;
        return;
    case UART_SCR:
        s->scr = v;
        return;
    default:
        return; /* LSR, MSR: read-only */
    }
}

static void serial_pio(void *opaque, uint16_t port, bool is_write, uint8_t *data, uint32_t size)
{
    struct serial *s = opaque;
    uint16_t reg = (uint16_t)(port - COM1_BASE);
    pthread_mutex_lock(&s->lock);
    if (is_write) {
        serial_write(s, reg, data[0]);
    } else {
        data[0] = serial_read(s, reg);
        for (uint32_t i = 1; i < size; i++)
            data[i] = 0xFF;
    }
    update_irq_locked(s);
    pthread_mutex_unlock(&s->lock);
}

static void *reader_thread(void *arg)
{
    struct serial *s = arg;
    uint8_t buf[64];
    for (;;) {
        struct pollfd p[2] = { { s->in_fd, POLLIN, 0 }, { s->stop_pipe[0], POLLIN, 0 } };
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return NULL;
        }
        if (p[1].revents)
            return NULL;
        /* Only take what fits, so nothing typed is lost to overrun. */
        pthread_mutex_lock(&s->lock);
        uint32_t room = RX_FIFO - s->rx_count;
        pthread_mutex_unlock(&s->lock);
        if (room == 0) {
            poll(NULL, 0, 1);
            continue;
        }
        ssize_t n = read(s->in_fd, buf, room < sizeof(buf) ? room : sizeof(buf));
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            return NULL; /* EOF: the guest just sees no more input */
        }
        pthread_mutex_lock(&s->lock);
        for (ssize_t i = 0; i < n; i++)
            rx_push_locked(s, buf[i]);
        update_irq_locked(s);
        pthread_mutex_unlock(&s->lock);
    }
}

void serial_init(struct vmm *vm)
{
    struct serial *s = calloc(1, sizeof(*s));
    if (!s)
        vmm_die(VMM_EXIT_FATAL, "out of memory");
    s->vm = vm;
    pthread_mutex_init(&s->lock, NULL);
    s->out_fd = -1;
    s->in_fd = -1;
    const char *spec = vm->opt.serial;
    if (strcmp(spec, "stdio") == 0) {
        s->out_fd = STDOUT_FILENO;
        s->in_fd = STDIN_FILENO;
    } else if (strncmp(spec, "file:", 5) == 0) {
        s->out_fd = open(spec + 5, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (s->out_fd < 0)
            vmm_die(VMM_EXIT_USAGE, "--serial %s: %s", spec, strerror(errno));
    }
    vm->serial = s;
    vmm_pio_register(vm, COM1_BASE, 8, serial_pio, s, "serial");
    if (s->in_fd >= 0 && pipe(s->stop_pipe) == 0) {
        if (pthread_create(&s->reader, NULL, reader_thread, s) == 0)
            s->reader_started = true;
    }
}

/* Power-on register values (reboot). Buffered input is kept. */
void serial_reset(struct vmm *vm)
{
    struct serial *s = vm->serial;
    pthread_mutex_lock(&s->lock);
    s->ier = s->lcr = s->mcr = s->scr = s->fcr = s->dll = s->dlm = 0;
    s->thr_irq = false;
    s->irq_level = 0;
    pthread_mutex_unlock(&s->lock);
}

void serial_shutdown(struct vmm *vm)
{
    struct serial *s = vm->serial;
    if (s && s->reader_started) {
        if (write(s->stop_pipe[1], "x", 1) < 0)
            return;
        pthread_join(s->reader, NULL);
        s->reader_started = false;
    }
}
