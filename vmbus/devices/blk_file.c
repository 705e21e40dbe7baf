/* SPDX-License-Identifier: MIT */
/*
 * Raw image file / block device backend: a few worker threads doing
 * preadv/pwritev straight between the image and the iovecs they are given
 * (guest pages), fdatasync for flushes, RWF_DSYNC for FUA writes, hole
 * punching or BLKDISCARD for discards, zero-range for WRITE SAME of zeros.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vmbus/devices/blk.h"

#define MAX_WORKERS 16u
#define DEFAULT_WORKERS 4u
/* O_DIRECT wants sector-aligned buffers, lengths and offsets; anything
 * else goes through an aligned bounce buffer. */
#define DIO_ALIGN 512u
#define BOUNCE_ALIGN 4096u
/* Chunk for pattern fills (WRITE SAME of non-zero data, zeroing fallback). */
#define FILL_CHUNK (256u * 1024u)

struct blk_file {
    struct blk_dev dev;
    int fd;
    bool is_blockdev;
    pthread_t workers[MAX_WORKERS];
    uint32_t nworkers;

    pthread_mutex_t lock;
    pthread_cond_t work;          /* queue non-empty or stopping */
    pthread_cond_t idle;          /* inflight dropped to zero */
    struct blk_req *head, *tail;
    uint32_t inflight;            /* submitted, not yet pushed to a queue */
    bool stop;
};

/* ------------------------------------------------------------ data I/O */

static bool aligned(const struct iovec *iov, uint32_t n, uint64_t off)
{
    if (off % DIO_ALIGN)
        return false;
    for (uint32_t i = 0; i < n; i++)
        if ((uintptr_t)iov[i].iov_base % DIO_ALIGN || iov[i].iov_len % DIO_ALIGN)
            return false;
    return true;
}

/* preadv/pwritev until done: the kernel may return short counts. Reads
 * past the end of a file (it shrank) read zeros. */
static int rw_all(int fd, bool write, const struct iovec *iov_in, uint32_t n, uint64_t off,
                  uint64_t len, int flags)
{
    struct iovec iov[IOV_MAX];
    if (n > IOV_MAX)
        return -EINVAL;
    memcpy(iov, iov_in, n * sizeof(*iov));
    struct iovec *cur = iov;
    uint32_t left_iov = n;
    while (len) {
        ssize_t got = write ? pwritev2(fd, cur, (int)left_iov, (off_t)off, flags)
                            : preadv(fd, cur, (int)left_iov, (off_t)off);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (got == 0) {
            if (write)
                return -EIO;
            /* End of file: the rest reads as zeros. */
            for (uint32_t i = 0; i < left_iov; i++)
                memset(cur[i].iov_base, 0, cur[i].iov_len);
            return 0;
        }
        len -= (uint64_t)got;
        off += (uint64_t)got;
        size_t adv = (size_t)got;
        while (left_iov && adv >= cur->iov_len) {
            adv -= cur->iov_len;
            cur++;
            left_iov--;
        }
        if (left_iov && adv) {
            cur->iov_base = (uint8_t *)cur->iov_base + adv;
            cur->iov_len -= adv;
        }
    }
    return 0;
}

/* Through an aligned copy: for O_DIRECT with guest buffers that are not
 * sector aligned (rare: Linux hands page-aligned bios). */
static int rw_bounce(struct blk_file *f, bool write, const struct blk_req *r, int flags)
{
    uint64_t start = r->offset & ~(uint64_t)(DIO_ALIGN - 1);
    uint64_t end = (r->offset + r->len + DIO_ALIGN - 1) & ~(uint64_t)(DIO_ALIGN - 1);
    size_t span = (size_t)(end - start);
    void *buf;
    if (posix_memalign(&buf, BOUNCE_ALIGN, span))
        return -ENOMEM;
    struct iovec one = { buf, span };
    int rc = 0;
    /* A write of part of a sector first reads the sector around it. */
    if (!write || start != r->offset || end != r->offset + r->len)
        rc = rw_all(f->fd, false, &one, 1, start, span, 0);
    size_t head = (size_t)(r->offset - start), pos = 0;
    for (uint32_t i = 0; rc == 0 && i < r->iovcnt; i++) {
        size_t n = r->iov[i].iov_len;
        if (write)
            memcpy((uint8_t *)buf + head + pos, r->iov[i].iov_base, n);
        else
            memcpy(r->iov[i].iov_base, (uint8_t *)buf + head + pos, n);
        pos += n;
    }
    if (rc == 0 && write)
        rc = rw_all(f->fd, true, &one, 1, start, span, flags);
    free(buf);
    return rc;
}

static int do_rw(struct blk_file *f, const struct blk_req *r)
{
    bool write = r->op == BLK_OP_WRITE;
    int flags = write && r->fua ? RWF_DSYNC : 0;
    if (f->dev.direct && !aligned(r->iov, r->iovcnt, r->offset))
        return rw_bounce(f, write, r, flags);
    int rc = rw_all(f->fd, write, r->iov, r->iovcnt, r->offset, r->len, flags);
    if (rc == -EINVAL && f->dev.direct)
        rc = rw_bounce(f, write, r, flags);   /* device wants coarser alignment */
    return rc;
}

/* Write `pattern` (blk bytes; NULL = zeros) over [off, off + len). */
static int fill(struct blk_file *f, const uint8_t *pattern, size_t blk, uint64_t off,
                uint64_t len)
{
    void *buf;
    if (posix_memalign(&buf, BOUNCE_ALIGN, FILL_CHUNK))
        return -ENOMEM;
    size_t chunk = FILL_CHUNK;
    if (pattern) {
        chunk -= chunk % blk;
        for (size_t i = 0; i < chunk; i += blk)
            memcpy((uint8_t *)buf + i, pattern, blk);
    } else {
        memset(buf, 0, chunk);
    }
    int rc = 0;
    while (len && rc == 0) {
        size_t n = len < chunk ? (size_t)len : chunk;
        struct iovec one = { buf, n };
        struct blk_req r = { .op = BLK_OP_WRITE, .offset = off, .len = n, .iov = &one,
                             .iovcnt = 1 };
        rc = do_rw(f, &r);
        off += n;
        len -= n;
    }
    free(buf);
    return rc;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static int do_zero(struct blk_file *f, uint64_t off, uint64_t len)
{
    if (f->is_blockdev) {
        uint64_t range[2] = { off, len };
        if (ioctl(f->fd, BLKZEROOUT, range) == 0)
            return 0;
    } else if (fallocate(f->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off,
                         (off_t)len) == 0) {
        return 0;
    }
    return fill(f, NULL, 0, off, len);
}

static int do_discard(struct blk_file *f, uint64_t off, uint64_t len)
{
    int rc;
    if (f->is_blockdev) {
        uint64_t range[2] = { off, len };
        rc = ioctl(f->fd, BLKDISCARD, range);
    } else {
        rc = fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
                       (off_t)len);
    }
    /* Advisory: a filesystem or device that cannot discard has done its
     * part by keeping the data. */
    if (rc && (errno == EOPNOTSUPP || errno == ENOTTY || errno == EINVAL))
        return 0;
    return rc ? -errno : 0;
}

static int execute(struct blk_file *f, const struct blk_req *r)
{
    if (r->op != BLK_OP_FLUSH && (r->offset > f->dev.size || r->len > f->dev.size - r->offset))
        return -EINVAL;
    if (f->dev.read_only && r->op != BLK_OP_READ && r->op != BLK_OP_FLUSH)
        return -EROFS;
    switch (r->op) {
    case BLK_OP_READ:
    case BLK_OP_WRITE:
        return do_rw(f, r);
    case BLK_OP_FLUSH:
        if (f->dev.read_only)
            return 0;
        return fdatasync(f->fd) ? -errno : 0;
    case BLK_OP_DISCARD:
        return do_discard(f, r->offset, r->len);
    case BLK_OP_WRITE_SAME:
        if (!r->iovcnt || all_zero(r->iov[0].iov_base, r->iov[0].iov_len))
            return do_zero(f, r->offset, r->len);
        if (r->iov[0].iov_len == 0 || r->len % r->iov[0].iov_len)
            return -EINVAL;
        return fill(f, r->iov[0].iov_base, r->iov[0].iov_len, r->offset, r->len);
    default:
        return -EINVAL;
    }
}

/* -------------------------------------------------------------- workers */

static void *worker(void *arg)
{
    struct blk_file *f = arg;
    pthread_mutex_lock(&f->lock);
    for (;;) {
        while (!f->head && !f->stop)
            pthread_cond_wait(&f->work, &f->lock);
        if (!f->head)
            break;
        struct blk_req *r = f->head;
        f->head = r->next;
        if (!f->head)
            f->tail = NULL;
        pthread_mutex_unlock(&f->lock);

        r->result = execute(f, r);
        /* Pushed before inflight drops: drain() then means "all delivered". */
        blk_cq_push(r->cq, r);

        pthread_mutex_lock(&f->lock);
        if (--f->inflight == 0)
            pthread_cond_broadcast(&f->idle);
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

static void file_submit(struct blk_dev *d, struct blk_req *r)
{
    struct blk_file *f = (struct blk_file *)d;
    r->next = NULL;
    pthread_mutex_lock(&f->lock);
    if (f->tail)
        f->tail->next = r;
    else
        f->head = r;
    f->tail = r;
    f->inflight++;
    pthread_cond_signal(&f->work);
    pthread_mutex_unlock(&f->lock);
}

static void file_drain(struct blk_dev *d)
{
    struct blk_file *f = (struct blk_file *)d;
    pthread_mutex_lock(&f->lock);
    while (f->inflight)
        pthread_cond_wait(&f->idle, &f->lock);
    pthread_mutex_unlock(&f->lock);
}

static void file_close(struct blk_dev *d)
{
    struct blk_file *f = (struct blk_file *)d;
    file_drain(d);
    pthread_mutex_lock(&f->lock);
    f->stop = true;
    pthread_cond_broadcast(&f->work);
    pthread_mutex_unlock(&f->lock);
    for (uint32_t i = 0; i < f->nworkers; i++)
        pthread_join(f->workers[i], NULL);
    if (!f->dev.read_only)
        fdatasync(f->fd);
    close(f->fd);
    pthread_cond_destroy(&f->work);
    pthread_cond_destroy(&f->idle);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

static const struct blk_ops file_ops = {
    .submit = file_submit,
    .drain = file_drain,
    .close = file_close,
};

struct blk_dev *blk_file_open(const char *path, const struct blk_file_options *opt, int *err,
                              char *why, size_t why_len)
{
    int flags = (opt->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | (opt->direct ? O_DIRECT : 0);
    int fd = open(path, flags);
    if (fd < 0) {
        *err = -errno;
        snprintf(why, why_len, "%s: cannot open (%s)", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))) {
        *err = -EINVAL;
        snprintf(why, why_len, "%s: not a regular file or block device", path);
        close(fd);
        return NULL;
    }
    /* Block devices report 0 in st_size: the end is where the data is. */
    off_t end = lseek(fd, 0, SEEK_END);
    if (end < 0 || (uint64_t)end < 512) {
        *err = end < 0 ? -errno : -EINVAL;
        snprintf(why, why_len, "%s: size unknown or below 512 bytes", path);
        close(fd);
        return NULL;
    }
    struct blk_file *f = calloc(1, sizeof(*f));
    if (!f) {
        *err = -ENOMEM;
        snprintf(why, why_len, "out of memory");
        close(fd);
        return NULL;
    }
    f->fd = fd;
    f->is_blockdev = S_ISBLK(st.st_mode);
    f->dev.ops = &file_ops;
    f->dev.size = (uint64_t)end & ~511ull;
    f->dev.read_only = opt->read_only;
    f->dev.direct = opt->direct;
    f->dev.discard = true;
    snprintf(f->dev.name, sizeof(f->dev.name), "%s", path);
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->work, NULL);
    pthread_cond_init(&f->idle, NULL);
    uint32_t n = opt->workers ? opt->workers : DEFAULT_WORKERS;
    if (n > MAX_WORKERS)
        n = MAX_WORKERS;
    for (uint32_t i = 0; i < n; i++) {
        if (pthread_create(&f->workers[i], NULL, worker, f))
            break;
        f->nworkers++;
    }
    if (!f->nworkers) {
        *err = -EAGAIN;
        snprintf(why, why_len, "cannot start I/O threads");
        file_close(&f->dev);
        return NULL;
    }
    *err = 0;
    return &f->dev;
}
