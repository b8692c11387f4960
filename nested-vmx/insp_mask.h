/*
 * nested-vmx/insp_mask.h - the rights an inspector of L2 withholds in EPT02
 * (nvmx_insp.h), the pure part, unit-tested on the host
 * (tests/unit/test_nvmx_mask.c): which regions of L1's RAM are masked,
 * what an EPT02 entry into one may keep of EPT12's rights, and where an
 * EPT violation of vcpu02 goes (L1, EPT02's lazy building, the inspector).
 * ept02.c applies it to the mappings it makes; serve.c answers the
 * requests with it.
 */
#ifndef NVMX_INSP_MASK_H
#define NVMX_INSP_MASK_H
#include "nvmx_insp.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint64_t base;                /* L1-physical, NVMX_INSP_REGION_BITS aligned */
    unsigned withheld;            /* NESTOR_EPT_WITHHOLD_*, never NONE */
} nvmx_mask_region_t;

typedef struct {
    nvmx_mask_region_t r[NVMX_INSP_REGIONS];
    unsigned n;
    uint64_t ram_bytes;           /* L1's RAM: the only addresses a mask may name */
    bool no_xo;                   /* the kernel refused an execute-only EPT02 entry: the
                                     CPU has no execute-only EPT (SDM A.10) */
    uint64_t dropped;             /* masks dropped at a violation passed on (the log) */
} nvmx_mask_t;

/* No region masked, for L1's @ram_bytes of RAM. */
void nvmx_mask_init(nvmx_mask_t *k, uint64_t ram_bytes);
/* NVMX_INSP_PROTECT: withhold @withhold in the region of L1-physical
 * @gpa1 (NONE gives all back). 0 with *@before the rights withheld there
 * before, or NVMX_INSP_E_* (nothing changed). */
int nvmx_mask_set(nvmx_mask_t *k, uint64_t gpa1, uint64_t withhold, unsigned *before);
/* The rights withheld in the region of @gpa1 (NESTOR_EPT_WITHHOLD_NONE if
 * none). */
unsigned nvmx_mask_withheld(const nvmx_mask_t *k, uint64_t gpa1);
/* EPT12's rights @rights12 (NESTOR_EPT_R/W/X) for an EPT02 entry mapping
 * L1-physical @gpa1, less what is withheld there; execute alone becomes
 * nothing without execute-only EPT (SDM 28.3.3.1). 0: map nothing (the
 * access faults to the inspector). */
unsigned nvmx_mask_rights(const nvmx_mask_t *k, uint64_t gpa1, unsigned rights12);
/* NVMX_INSP_FAULT's verdict for an access @access (EPT_QUAL_READ/WRITE/
 * FETCH) that EPT12 allows (@allowed) to L1-physical @gpa1 (in L1's RAM
 * with @allowed). */
unsigned nvmx_mask_route(const nvmx_mask_t *k, bool allowed, uint64_t gpa1, uint64_t access);
/* The mask of @gpa1's region dropped (a violation the inspector passed on
 * that the mask forbids: L2 must go on, L1 must not see it). */
void nvmx_mask_drop(nvmx_mask_t *k, uint64_t gpa1);
/* Whether L1-physical [@lo, @lo + @len) meets the region at @base. */
bool nvmx_mask_in_region(uint64_t base, uint64_t lo, uint64_t len);

#endif
