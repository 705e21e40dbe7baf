/* SPDX-License-Identifier: MIT */
/*
 * fw_cfg, the legacy port interface: a 16-bit selector at 0x510 and a data
 * byte port at 0x511, as QEMU's test kernels use it. Items: signature
 * "QEMU", interface id (no DMA), RAM size, CPU counts and an empty file
 * directory.
 */
#include <stdlib.h>
#include <string.h>

#include "kvm-glue/vmm.h"

#define FW_CFG_PORT_SEL  0x510u
#define FW_CFG_PORT_DATA 0x511u

#define FW_CFG_SIGNATURE 0x0000u
#define FW_CFG_ID        0x0001u
#define FW_CFG_RAM_SIZE  0x0003u
#define FW_CFG_NB_CPUS   0x0005u
#define FW_CFG_MAX_CPUS  0x000Fu
#define FW_CFG_FILE_DIR  0x0019u

#define FW_CFG_ITEM_MAX  16u

struct fw_cfg_item {
    uint16_t key;
    uint8_t len;
    uint8_t data[8];
};

struct fw_cfg {
    pthread_mutex_t lock;
    uint16_t selector;
    uint32_t offset;
    struct fw_cfg_item items[FW_CFG_ITEM_MAX];
    uint32_t nr_items;
};

static void add_item(struct fw_cfg *f, uint16_t key, const void *data, uint8_t len)
{
    struct fw_cfg_item *it = &f->items[f->nr_items++];
    it->key = key;
    it->len = len;
    memcpy(it->data, data, len);
}

static void add_le(struct fw_cfg *f, uint16_t key, uint64_t v, uint8_t len)
{
    uint8_t b[8];
    for (uint8_t i = 0; i < len; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    add_item(f, key, b, len);
}

static uint8_t read_byte_locked(struct fw_cfg *f)
{
    for (uint32_t i = 0; i < f->nr_items; i++) {
        const struct fw_cfg_item *it = &f->items[i];
        if (it->key != f->selector)
            continue;
        if (f->offset < it->len)
            return it->data[f->offset++];
        return 0;
    }
    return 0; /* unknown item: reads as zeros */
}

static void fw_cfg_pio(void *opaque, uint16_t port, bool is_write, uint8_t *data, uint32_t size)
{
    struct fw_cfg *f = opaque;
    pthread_mutex_lock(&f->lock);
    if (port == FW_CFG_PORT_SEL) {
        if (is_write) {
            f->selector = (uint16_t)(data[0] | (size > 1 ? (uint16_t)data[1] << 8 : 0));
            f->offset = 0;
        } else {
            for (uint32_t i = 0; i < size; i++)
                data[i] = 0;
        }
    } else if (!is_write) {
        /* The data port is byte-wide; wider reads return consecutive bytes. */
        for (uint32_t i = 0; i < size; i++)
            data[i] = read_byte_locked(f);
    }
    pthread_mutex_unlock(&f->lock);
}

void fw_cfg_init(struct vmm *vm)
{
    struct fw_cfg *f = calloc(1, sizeof(*f));
    if (!f)
        vmm_die(VMM_EXIT_FATAL, "out of memory");
    pthread_mutex_init(&f->lock, NULL);
    add_item(f, FW_CFG_SIGNATURE, "QEMU", 4);
    add_le(f, FW_CFG_ID, 1, 4);               /* traditional interface, no DMA */
    add_le(f, FW_CFG_RAM_SIZE, vm->ram_size, 8);
    add_le(f, FW_CFG_NB_CPUS, vm->nr_vcpus, 2);
    add_le(f, FW_CFG_MAX_CPUS, vm->nr_vcpus, 2);
    add_le(f, FW_CFG_FILE_DIR, 0, 4);          /* big-endian count 0 */
    vm->fw_cfg = f;
    vmm_pio_register(vm, FW_CFG_PORT_SEL, 2, fw_cfg_pio, f, "fw_cfg");
}
