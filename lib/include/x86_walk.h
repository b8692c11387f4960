/*
 * lib/include/x86_walk.h - translating a guest's linear address through
 * the guest's own page tables (SDM Vol. 3A 4.3 32-bit paging, 4.4 PAE,
 * 4.5 4-level paging), for monitors that carry out guest instructions
 * (vmm-server, nested-vmx). Pure: the caller reads the tables' entries.
 */
#ifndef X86_WALK_H
#define X86_WALK_H
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <stdint.h>

/* The paging-mode registers of the guest. */
typedef struct {
    uint64_t cr0, cr3, cr4, efer;
} x86_paging_t;

/* Read the @size-byte (4 or 8) table entry at guest-physical @gpa into
 * *@entry; false if that is not memory the monitor can read. */
typedef bool (*x86_walk_read_fn)(void *ctx, uint64_t gpa, unsigned size, uint64_t *entry);

/* @la's guest-physical address in *@gpa; false if the tables do not map it
 * (an entry not present or not readable). Protection (U/S, R/W, NX) is the
 * caller's: a monitor acting for the guest at CPL 0 with CR0.WP=0 never
 * faults on it. */
bool x86_linear_to_phys(const x86_paging_t *p, uint64_t la, x86_walk_read_fn read, void *ctx,
                        uint64_t *gpa);

/* A translation's access rights (SDM Vol. 3A 4.6): the R/W and U/S flags of
 * every paging-structure entry that controls it, ANDed (PAE PDPTEs have
 * neither). Without paging both are set. */
typedef struct {
    bool writable;
    bool user;
} x86_walk_rights_t;

/* x86_linear_to_phys that also gives the translation's rights. */
bool x86_linear_to_phys_rights(const x86_paging_t *p, uint64_t la, x86_walk_read_fn read,
                               void *ctx, uint64_t *gpa, x86_walk_rights_t *rights);

/* The paging-structure entries a translation used, the top level first:
 * each one's guest-physical address and the value read; @size bytes each
 * (4: 32-bit paging, 8: PAE and 4-level). PAE's PDPTEs are left out: they
 * have no accessed flag (SDM Vol. 3A 4.4.1, Table 4-8). */
#define X86_WALK_MAX_ENTRIES 4
typedef struct {
    unsigned count, size;
    uint64_t gpa[X86_WALK_MAX_ENTRIES];
    uint64_t entry[X86_WALK_MAX_ENTRIES];
} x86_walk_trace_t;

/* x86_linear_to_phys_rights that also gives the entries it used (count 0
 * without paging; on failure, the present entries before the one that
 * failed). */
bool x86_linear_to_phys_trace(const x86_paging_t *p, uint64_t la, x86_walk_read_fn read,
                              void *ctx, uint64_t *gpa, x86_walk_rights_t *rights,
                              x86_walk_trace_t *trace);

/* SDM Vol. 3A 4.8: an access through a translation sets the accessed flag
 * of every paging-structure entry it used, and a write the dirty flag of
 * the last one (the entry that maps the page: a PTE, or a PDE/PDPTE with
 * PS). The flags entry @i of @trace must gain for a (@write) access: 0 if
 * it has them. */
uint64_t x86_walk_ad_bits(const x86_walk_trace_t *trace, unsigned i, bool write);

/* May a data access with these rights go through (SDM Vol. 3A 4.6.1)? 0 if
 * so, else its #PF error code (4.7: P set, W/R for a write, U/S for a user
 * access). `user`: the access is at CPL 3; supervisor writes need R/W when
 * CR0.WP is set; with CR4.SMAP a supervisor access to a user page needs
 * RFLAGS.AC (`ac`). Protection keys are not checked. */
uint32_t x86_access_fault(const x86_paging_t *p, const x86_walk_rights_t *r, bool write,
                          bool user, bool ac);

/* The smallest page of a guest's paging (SDM Vol. 3A 4.5). */
#define X86_WALK_PAGE 4096ULL

/* Up to @n bytes at linear @la (an instruction's) from a guest RAM of
 * @ram_bytes at @ram (guest-physical 0 there), each page translated on
 * its own (SDM Vol. 3A 4.5; @read reads the paging structures): stops at
 * the first page without a translation (*@unmapped set) or outside the
 * RAM. Returns the bytes copied. Inline: every MMIO exit's fetch. */
static inline size_t x86_fetch_linear(const x86_paging_t *p, uint64_t la, x86_walk_read_fn read,
                                      void *ctx, const uint8_t *ram, uint64_t ram_bytes,
                                      uint8_t *out, size_t n, bool *unmapped)
{
    const uint64_t page = X86_WALK_PAGE;
    size_t got = 0;
    *unmapped = false;
    while (got < n) {
        uint64_t gpa, chunk = page - (la & (page - 1));
        if (chunk > n - got)
            chunk = n - got;
        if (!x86_linear_to_phys(p, la, read, ctx, &gpa)) {
            *unmapped = true;
            return got;
        }
        if (gpa >= ram_bytes)
            return got;
        if (chunk > ram_bytes - gpa)
            chunk = ram_bytes - gpa;
        memcpy(out + got, ram + gpa, chunk);
        got += chunk;
        la += chunk;
    }
    return got;
}

/* Guest-physical @gpa through the EPT paging structures of @eptp (SDM
 * 28.3.2: 4-level, 1 GiB and 2 MiB pages; the entries read with @read at
 * the addresses the EPT's owner sees): the address in *@pa and the rights
 * (X86_EPT_R/W/X, ANDed over the levels) in *@rights. false if an entry is
 * not present (rights 0 there) or the EPTP is not a 4-level walk.
 * Misconfigurations (28.3.3.1) are the caller's. */
bool x86_ept_to_phys(uint64_t eptp, uint64_t gpa, x86_walk_read_fn read, void *ctx,
                     uint64_t *pa, unsigned *rights);

/* An L2 guest's linear address @la to its L1's physical address (SDM
 * 28.3.1: guest paging @p over EPT12 @eptp12, every paging-structure
 * access of the walk itself going through the EPT too); @read reads L1's
 * memory. What a debugger of an L2 guest needs. */
bool x86_nested_linear_to_phys(const x86_paging_t *p, uint64_t eptp12, uint64_t la,
                               x86_walk_read_fn read, void *ctx, uint64_t *pa1);

#endif
