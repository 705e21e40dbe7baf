/* SPDX-License-Identifier: MIT */
/*
 * Block backends for the SCSI controller. A backend takes requests on the
 * server thread without blocking (submit) and finishes them on any thread,
 * pushing each onto the completion queue named in the request; the queue's
 * owner is notified (it wakes its VMBus channel) and drains the queue on the
 * server thread.
 *
 * Backends: a raw image file or block device served by worker threads
 * (blk_file_open), and an in-memory disk that completes inside submit
 * (blk_mem_create; tests and fuzzing).
 */
#ifndef HVSHIM_VMBUS_DEVICES_BLK_H
#define HVSHIM_VMBUS_DEVICES_BLK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

enum blk_op {
    BLK_OP_READ,
    BLK_OP_WRITE,
    BLK_OP_FLUSH,
    BLK_OP_DISCARD,       /* advisory: contents afterwards unspecified */
    BLK_OP_WRITE_SAME,    /* iov[0] = one block repeated over len bytes;
                           * no iov = zeros */
};

struct blk_cq;

struct blk_req {
    uint8_t op;                   /* enum blk_op */
    bool fua;                     /* WRITE: durable before completion */
    uint64_t offset;              /* bytes */
    uint64_t len;                 /* bytes (READ/WRITE: the iov total) */
    const struct iovec *iov;
    uint32_t iovcnt;
    int result;                   /* set by the backend: 0 or -errno */
    struct blk_cq *cq;            /* where the finished request goes */
    struct blk_req *next;         /* queue link, owned by the current holder */
    void *opaque;                 /* the submitter's */
};

/* ------------------------------------------------------ completion queue */

struct blk_cq {
    pthread_mutex_t lock;
    struct blk_req *head, *tail;
    void (*notify)(void *ctx);    /* called (any thread) when it becomes non-empty */
    void *ctx;
};

void blk_cq_init(struct blk_cq *q, void (*notify)(void *ctx), void *ctx);
void blk_cq_destroy(struct blk_cq *q);
/* Any thread. */
void blk_cq_push(struct blk_cq *q, struct blk_req *r);
/* The owner: everything finished so far, oldest first (NULL if none). */
struct blk_req *blk_cq_take(struct blk_cq *q);

/* --------------------------------------------------------------- devices */

struct blk_dev;

struct blk_ops {
    /* Queue a request; never blocks. Its completion always arrives. */
    void (*submit)(struct blk_dev *d, struct blk_req *r);
    /* Block until every submitted request has been pushed to its queue. */
    void (*drain)(struct blk_dev *d);
    /* Drain, release everything, free d. */
    void (*close)(struct blk_dev *d);
};

struct blk_dev {
    const struct blk_ops *ops;
    uint64_t size;                /* bytes, a multiple of 512 */
    bool read_only;
    bool discard;                 /* DISCARD has an effect */
    bool direct;                  /* O_DIRECT */
    char name[256];               /* path, for logs and identity */
};

static inline void blk_submit(struct blk_dev *d, struct blk_req *r)
{
    d->ops->submit(d, r);
}

static inline void blk_drain(struct blk_dev *d)
{
    d->ops->drain(d);
}

static inline void blk_close(struct blk_dev *d)
{
    if (d)
        d->ops->close(d);
}

struct blk_file_options {
    bool read_only;
    bool direct;                  /* O_DIRECT; misaligned buffers are bounced */
    uint32_t workers;             /* I/O threads (0: 4) */
};

/* Open an image file or block device; the size is lseek(SEEK_END) rounded
 * down to 512. NULL with *err (negative errno) and a message in why. */
struct blk_dev *blk_file_open(const char *path, const struct blk_file_options *opt, int *err,
                              char *why, size_t why_len);

/* A disk of `size` bytes in memory (zeroed). */
struct blk_dev *blk_mem_create(uint64_t size, bool read_only);
/* The memory behind an in-memory disk (tests look at it). */
uint8_t *blk_mem_data(struct blk_dev *d);
/* Make the next `count` requests of this in-memory disk fail with err
 * (negative errno): medium errors are otherwise hard to come by. */
void blk_mem_fail_next(struct blk_dev *d, uint32_t count, int err);

/* Execute one request synchronously on a flat buffer (the in-memory disk
 * and the fuzzer's model). Returns 0 or -errno. */
int blk_mem_execute(uint8_t *disk, uint64_t size, const struct blk_req *r);

#endif /* HVSHIM_VMBUS_DEVICES_BLK_H */
