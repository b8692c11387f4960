/*
 * tests/unit/virtio_driver.c - the model driver and fake RAM of
 * virtio_driver.h. The driver writes the little-endian ring fields of
 * Virtio 1.2 2.7.5-2.7.8 byte by byte, so the device's reads are the only
 * typed accesses.
 */
#include "virtio_driver.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FRAM_ALIGN 4096

static uint8_t *fram_alloc(uint64_t size)
{
    uint8_t *p = aligned_alloc(FRAM_ALIGN, size);
    if (!p) {
        fprintf(stderr, "virtio_driver: out of memory\n");
        abort();
    }
    memset(p, 0, size);
    return p;
}

void fram_init(fram_t *r)
{
    r->a = fram_alloc(FRAM_A_SIZE);
    r->b = fram_alloc(FRAM_B_SIZE);
    r->c = fram_alloc(FRAM_C_SIZE);
    r->win[0] = (virtio_ram_window_t){ .gpa = FRAM_A_GPA, .size = FRAM_A_SIZE, .host = r->a };
    r->win[1] = (virtio_ram_window_t){ .gpa = FRAM_B_GPA, .size = FRAM_B_SIZE, .host = r->b };
    r->win[2] = (virtio_ram_window_t){ .gpa = FRAM_C_GPA, .size = FRAM_C_SIZE, .host = r->c,
                                       .flags = VIRTIO_RAM_READ_ONLY };
    r->ram = (virtio_ram_t){ .windows = r->win, .count = FRAM_WINDOWS };
}

void fram_free(fram_t *r)
{
    free(r->a);
    free(r->b);
    free(r->c);
}

uint8_t *fram_host(fram_t *r, uint64_t gpa)
{
    for (unsigned i = 0; i < FRAM_WINDOWS; i++)
        if (gpa >= r->win[i].gpa && gpa - r->win[i].gpa < r->win[i].size)
            return r->win[i].host + (gpa - r->win[i].gpa);
    fprintf(stderr, "virtio_driver: gpa %#llx is not RAM\n", (unsigned long long)gpa);
    abort();
}

bool fram_contains(const fram_t *r, const uint8_t *p, uint64_t len, bool write)
{
    for (unsigned i = 0; i < FRAM_WINDOWS; i++) {
        const virtio_ram_window_t *w = &r->win[i];
        uintptr_t at = (uintptr_t)p, base = (uintptr_t)w->host;
        if (at >= base && at - base <= w->size && len <= w->size - (at - base))
            return !(write && (w->flags & VIRTIO_RAM_READ_ONLY));
    }
    return false;
}

static void put(fram_t *r, uint64_t gpa, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        *fram_host(r, gpa + i) = (uint8_t)(v >> (8 * i));
}

static uint64_t get(fram_t *r, uint64_t gpa, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)*fram_host(r, gpa + i) << (8 * i);
    return v;
}

void vdrv_init(vdrv_t *d, fram_t *r, uint16_t size, uint64_t desc, uint64_t avail, uint64_t used)
{
    *d = (vdrv_t){ .r = r, .size = size, .desc = desc, .avail = avail, .used = used };
    for (uint64_t i = 0; i < VIRTQ_DESC_TABLE_SIZE(size); i++)
        put(r, desc + i, 0, 1);
    for (uint64_t i = 0; i < VIRTQ_AVAIL_SIZE(size); i++)
        put(r, avail + i, 0, 1);
    for (uint64_t i = 0; i < VIRTQ_USED_SIZE(size); i++)
        put(r, used + i, 0, 1);
}

virtq_config_t vdrv_config(const vdrv_t *d, bool event_idx, bool indirect)
{
    return (virtq_config_t){ .size = d->size, .desc = d->desc, .avail = d->avail,
                             .used = d->used, .event_idx = event_idx, .indirect = indirect };
}

void vdrv_table_desc(fram_t *r, uint64_t table_gpa, unsigned i, uint64_t addr, uint32_t len,
                     uint16_t flags, uint16_t next)
{
    uint64_t at = table_gpa + (uint64_t)i * VIRTQ_DESC_SIZE;
    put(r, at + VIRTQ_DESC_ADDR_OFF, addr, 8);
    put(r, at + VIRTQ_DESC_LEN_OFF, len, 4);
    put(r, at + VIRTQ_DESC_FLAGS_OFF, flags, 2);
    put(r, at + VIRTQ_DESC_NEXT_OFF, next, 2);
}

void vdrv_desc(vdrv_t *d, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    vdrv_table_desc(d->r, d->desc, i, addr, len, flags, next);
}

void vdrv_set_avail_entry(vdrv_t *d, uint16_t slot, uint16_t head)
{
    put(d->r, d->avail + VIRTQ_AVAIL_RING_OFF + VIRTQ_AVAIL_ENTRY_SIZE * (uint64_t)slot, head, 2);
}

void vdrv_set_avail_idx(vdrv_t *d, uint16_t idx)
{
    d->avail_idx = idx;
    put(d->r, d->avail + VIRTQ_AVAIL_IDX_OFF, idx, 2);
}

void vdrv_offer(vdrv_t *d, uint16_t head)
{
    vdrv_set_avail_entry(d, d->avail_idx % d->size, head);   /* 2.7.13.2 */
    vdrv_set_avail_idx(d, (uint16_t)(d->avail_idx + 1));      /* 2.7.13.3 */
}

void vdrv_set_avail_flags(vdrv_t *d, uint16_t flags)
{
    put(d->r, d->avail + VIRTQ_AVAIL_FLAGS_OFF, flags, 2);
}

void vdrv_set_used_event(vdrv_t *d, uint16_t event)
{
    put(d->r, d->avail + VIRTQ_AVAIL_RING_OFF + VIRTQ_AVAIL_ENTRY_SIZE * (uint64_t)d->size,
        event, 2);
}

uint16_t vdrv_used_idx(vdrv_t *d)
{
    return (uint16_t)get(d->r, d->used + VIRTQ_USED_IDX_OFF, 2);
}

uint16_t vdrv_used_flags(vdrv_t *d)
{
    return (uint16_t)get(d->r, d->used + VIRTQ_USED_FLAGS_OFF, 2);
}

uint16_t vdrv_avail_event(vdrv_t *d)
{
    return (uint16_t)get(d->r, d->used + VIRTQ_USED_RING_OFF +
                                   VIRTQ_USED_ELEM_SIZE * (uint64_t)d->size, 2);
}

void vdrv_used_elem(vdrv_t *d, uint16_t slot, uint32_t *id, uint32_t *len)
{
    uint64_t at = d->used + VIRTQ_USED_RING_OFF + VIRTQ_USED_ELEM_SIZE * (uint64_t)slot;
    *id = (uint32_t)get(d->r, at + VIRTQ_USED_ELEM_ID_OFF, 4);
    *len = (uint32_t)get(d->r, at + VIRTQ_USED_ELEM_LEN_OFF, 4);
}
