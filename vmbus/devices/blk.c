/* SPDX-License-Identifier: MIT */
/* Completion queue and the in-memory disk (see blk.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmbus/devices/blk.h"

/* ------------------------------------------------------ completion queue */

void blk_cq_init(struct blk_cq *q, void (*notify)(void *ctx), void *ctx)
{
    pthread_mutex_init(&q->lock, NULL);
    q->head = q->tail = NULL;
    q->notify = notify;
    q->ctx = ctx;
}

void blk_cq_destroy(struct blk_cq *q)
{
    pthread_mutex_destroy(&q->lock);
}

void blk_cq_push(struct blk_cq *q, struct blk_req *r)
{
    r->next = NULL;
    pthread_mutex_lock(&q->lock);
    bool was_empty = q->head == NULL;
    if (q->tail)
        q->tail->next = r;
    else
        q->head = r;
    q->tail = r;
    pthread_mutex_unlock(&q->lock);
    /* One notification per batch: the owner drains everything at once. */
    if (was_empty && q->notify)
        q->notify(q->ctx);
}

struct blk_req *blk_cq_take(struct blk_cq *q)
{
    pthread_mutex_lock(&q->lock);
    struct blk_req *r = q->head;
    q->head = q->tail = NULL;
    pthread_mutex_unlock(&q->lock);
    return r;
}

/* --------------------------------------------------------- memory disk */

int blk_mem_execute(uint8_t *disk, uint64_t size, const struct blk_req *r)
{
    if (r->op != BLK_OP_FLUSH && (r->offset > size || r->len > size - r->offset))
        return -EINVAL;
    uint64_t pos = r->offset;
    switch (r->op) {
    case BLK_OP_READ:
    case BLK_OP_WRITE: {
        uint64_t left = r->len;
        for (uint32_t i = 0; i < r->iovcnt && left; i++) {
            uint64_t n = r->iov[i].iov_len < left ? r->iov[i].iov_len : left;
            if (r->op == BLK_OP_READ)
                memcpy(r->iov[i].iov_base, disk + pos, (size_t)n);
            else
                memcpy(disk + pos, r->iov[i].iov_base, (size_t)n);
            pos += n;
            left -= n;
        }
        return left ? -EINVAL : 0;
    }
    case BLK_OP_FLUSH:
        return 0;
    case BLK_OP_DISCARD:
        /* Like a thin image: discarded space reads back as zeros. */
        memset(disk + pos, 0, (size_t)r->len);
        return 0;
    case BLK_OP_WRITE_SAME: {
        if (!r->iovcnt) {
            memset(disk + pos, 0, (size_t)r->len);
            return 0;
        }
        size_t blk = r->iov[0].iov_len;
        if (blk == 0 || r->len % blk)
            return -EINVAL;
        for (uint64_t done = 0; done < r->len; done += blk)
            memcpy(disk + pos + done, r->iov[0].iov_base, blk);
        return 0;
    }
    default:
        return -EINVAL;
    }
}

struct blk_mem {
    struct blk_dev dev;
    uint8_t *data;
    uint32_t fail_count;
    int fail_err;
};

static void mem_submit(struct blk_dev *d, struct blk_req *r)
{
    struct blk_mem *m = (struct blk_mem *)d;
    if (m->fail_count) {
        m->fail_count--;
        r->result = m->fail_err;
    } else if (d->read_only && r->op != BLK_OP_READ && r->op != BLK_OP_FLUSH) {
        r->result = -EROFS;
    } else {
        r->result = blk_mem_execute(m->data, d->size, r);
    }
    blk_cq_push(r->cq, r);
}

static void mem_drain(struct blk_dev *d)
{
    (void)d;   /* nothing is ever in flight */
}

static void mem_close(struct blk_dev *d)
{
    struct blk_mem *m = (struct blk_mem *)d;
    free(m->data);
    free(m);
}

static const struct blk_ops mem_ops = {
    .submit = mem_submit,
    .drain = mem_drain,
    .close = mem_close,
};

struct blk_dev *blk_mem_create(uint64_t size, bool read_only)
{
    struct blk_mem *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->data = calloc(1, size ? (size_t)size : 1);
    if (!m->data) {
        free(m);
        return NULL;
    }
    m->dev.ops = &mem_ops;
    m->dev.size = size & ~511ull;
    m->dev.read_only = read_only;
    m->dev.discard = true;
    strcpy(m->dev.name, "memory");
    return &m->dev;
}

uint8_t *blk_mem_data(struct blk_dev *d)
{
    return ((struct blk_mem *)d)->data;
}

void blk_mem_fail_next(struct blk_dev *d, uint32_t count, int err)
{
    struct blk_mem *m = (struct blk_mem *)d;
    m->fail_count = count;
    m->fail_err = err;
}
