/*
 * tests/unit/virtio_driver.h - a model virtio driver for the unit tests of
 * virtio/: a fake guest RAM (three windows: two adjacent in guest-physical
 * space but apart in host memory, one read-only, and a gap) and the
 * driver's side of a split ring written into it, as a guest would
 * (Virtio 1.2 2.7.13).
 */
#ifndef TESTS_UNIT_VIRTIO_DRIVER_H
#define TESTS_UNIT_VIRTIO_DRIVER_H
#include <stdbool.h>
#include <stdint.h>
#include <virtio_abi.h>
#include <virtio_ram.h>
#include <virtq.h>

/* The fake guest-physical map. */
#define FRAM_A_GPA      0x00000ull      /* window A: 128 KiB */
#define FRAM_A_SIZE     0x20000ull
#define FRAM_B_GPA      0x20000ull      /* window B: 64 KiB right after A, elsewhere in host memory */
#define FRAM_B_SIZE     0x10000ull
#define FRAM_GAP_GPA    0x30000ull      /* no RAM from here ... */
#define FRAM_C_GPA      0x100000ull     /* ... to window C: 16 KiB, read-only for the device */
#define FRAM_C_SIZE     0x4000ull
#define FRAM_WINDOWS    3

typedef struct {
    uint8_t *a, *b, *c;                 /* host memory of the windows */
    virtio_ram_window_t win[FRAM_WINDOWS];
    virtio_ram_t ram;
} fram_t;

void fram_init(fram_t *r);
void fram_free(fram_t *r);
/* The host address of guest-physical @gpa (the driver's view: it may
 * write anywhere in its RAM); aborts the test binary outside RAM. */
uint8_t *fram_host(fram_t *r, uint64_t gpa);
/* Is [@p, @p + @len) wholly inside one window's host memory? (and not in
 * the read-only one, with @write) */
bool fram_contains(const fram_t *r, const uint8_t *p, uint64_t len, bool write);

typedef struct {
    fram_t *r;
    uint16_t size;
    uint64_t desc, avail, used;         /* guest-physical addresses of the parts */
    uint16_t avail_idx;                 /* the driver's next available idx */
} vdrv_t;

/* Place a ring of @size at the given addresses, zeroed (4.2.3.2 step 4). */
void vdrv_init(vdrv_t *d, fram_t *r, uint16_t size, uint64_t desc, uint64_t avail, uint64_t used);
/* The queue configuration a transport would pass for this ring. */
virtq_config_t vdrv_config(const vdrv_t *d, bool event_idx, bool indirect);
/* Write descriptor @i of the ring's table, or of a table at @table_gpa. */
void vdrv_desc(vdrv_t *d, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next);
void vdrv_table_desc(fram_t *r, uint64_t table_gpa, unsigned i, uint64_t addr, uint32_t len,
                     uint16_t flags, uint16_t next);
/* Put @head in the next available entry and publish it (idx + 1). */
void vdrv_offer(vdrv_t *d, uint16_t head);
/* Set the available idx to anything (a hostile driver). */
void vdrv_set_avail_idx(vdrv_t *d, uint16_t idx);
void vdrv_set_avail_entry(vdrv_t *d, uint16_t slot, uint16_t head);
void vdrv_set_avail_flags(vdrv_t *d, uint16_t flags);
void vdrv_set_used_event(vdrv_t *d, uint16_t event);
/* What the device wrote. */
uint16_t vdrv_used_idx(vdrv_t *d);
uint16_t vdrv_used_flags(vdrv_t *d);
uint16_t vdrv_avail_event(vdrv_t *d);
void vdrv_used_elem(vdrv_t *d, uint16_t slot, uint32_t *id, uint32_t *len);

#endif
