/*
 * tests/unit/devsrv_driver.h - a virtio driver for the device servers' unit
 * tests: register accesses go through the server's own entry point (as the
 * VMM forwards them), the split ring lives in a fake guest RAM at fixed
 * places. Shared by test_devsrv_console.c and test_blk.c.
 */
#ifndef TESTS_UNIT_DEVSRV_DRIVER_H
#define TESTS_UNIT_DEVSRV_DRIVER_H
#include <stdbool.h>
#include <stdint.h>
#include <virtio_abi.h>

#define DSD_DESC_GPA   0x1000u
#define DSD_AVAIL_GPA  0x2000u
#define DSD_USED_GPA   0x3000u
#define DSD_QSIZE      8

/* A server's access entry point (con_access, vblk_access) on @dev. */
typedef bool (*dsd_access_t)(void *dev, bool write, uint64_t offset, uint64_t size,
                             uint32_t *value, uint32_t wvalue);

typedef struct {
    uint8_t *ram;                   /* guest-physical 0 */
    dsd_access_t access;
    void *dev;
    uint16_t avail_idx, used_seen;  /* the driver's next available idx, used idx seen */
} dsd_t;

uint32_t dsd_rd(dsd_t *d, uint32_t off);            /* 32-bit read (0xdeadbeef if untouched) */
bool dsd_wr(dsd_t *d, uint32_t off, uint32_t v);     /* 32-bit write: the server's verdict */
void dsd_put16(dsd_t *d, uint32_t gpa, uint16_t v);
uint16_t dsd_get16(dsd_t *d, uint32_t gpa);
uint32_t dsd_get32(dsd_t *d, uint32_t gpa);
/* Descriptor @i of the ring's table. */
void dsd_desc(dsd_t *d, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next);
/* Make chain @head available (idx + 1). */
void dsd_offer(dsd_t *d, uint16_t head);
/* 3.1.1 and 4.2.3.2: reset, accept exactly @features, queue @queue on the
 * ring (zeroed), DRIVER_OK; each step CU-asserted. */
void dsd_driver_init(dsd_t *d, uint64_t features, unsigned queue);

/* A test file with one driver, named D (declared anywhere before use),
 * that defines DSD_SHORTHANDS gets these names for it. */
#ifdef DSD_SHORTHANDS
#define rd(off)                 dsd_rd(&D, (off))
#define wr(off, v)              dsd_wr(&D, (off), (v))
#define put16(gpa, v)           dsd_put16(&D, (gpa), (v))
#define get16(gpa)              dsd_get16(&D, (gpa))
#define get32(gpa)              dsd_get32(&D, (gpa))
#define desc(i, a, l, f, n)     dsd_desc(&D, (i), (a), (l), (f), (n))
#define offer(head)             dsd_offer(&D, (head))
#define avail_idx               (D.avail_idx)
#define used_seen               (D.used_seen)
#endif

#endif
