/*
 * nested-vmx/l1mem.c - L1's memory for the VMX instructions (nvmx_env_t):
 * its RAM as the VMM granted it, mapped here, and its linear addresses
 * through its own page tables (lib/x86/walk.c); L2's linear addresses
 * through L2's page tables and EPT12 (l2mem_linear). Only RAM is reachable.
 */
#include "monitor.h"
#include <string.h>
#include <x86_arch.h>
#include <x86_walk.h>
#include <x86_vmx.h>

#define PAGE_4K        4096ULL
#define CPUID_ADDR_SIZES 0x80000008u
#define MAXPHYADDR_MASK  0xFF

static void *phys(void *ctx, uint64_t gpa, size_t n)
{
    nvmx_monitor_t *m = ctx;
    if (gpa >= m->ram_bytes || n > m->ram_bytes - gpa)
        return NULL;
    return m->ram + gpa;
}

static bool read_entry(void *ctx, uint64_t gpa, unsigned size, uint64_t *e)
{
    const void *p = phys(ctx, gpa, size);
    *e = 0;
    if (p)
        memcpy(e, p, size);
    return p != NULL;
}

/* A walk of L2's paging through EPT12 (l2mem_linear): each guest-physical
 * address, of a paging-structure entry or of the data, goes through EPT12
 * first (SDM 28.3.1: "guest-physical addresses" are translated by EPT). */
typedef struct {
    nvmx_monitor_t *m;
    l2mem_fault_t *fault;       /* NULL: guest-physical is L1-physical (L1 itself) */
    uint64_t la;
} walk_t;

/* Guest-physical @gpa (an @access, EPT_QUAL_*) to L1-physical *@gpa1;
 * false: EPT12 refuses it, w->fault says how (@final: the data's access,
 * else a paging-structure entry's, SDM 27.2.1 Table 27-7 bit 8). */
static bool stage2(walk_t *w, uint64_t gpa, uint64_t access, bool final, uint64_t *gpa1)
{
    if (!w->fault) {
        *gpa1 = gpa;
        return true;
    }
    l2mem_fault_t *f = w->fault;
    if (ept12_translate(w->m, gpa, access, gpa1, &f->reason, &f->qualification))
        return true;
    f->refused = true;
    f->gpa2 = gpa;
    f->la = w->la;
    /* 27.2.1: an EPT violation in the translation of a linear address has
     * the guest-linear address valid (bit 7), bit 8 set if the access was
     * to the data, clear for a paging-structure entry. */
    if (f->reason == NESTOR_EXIT_EPT_VIOLATION)
        f->qualification |= EPT_QUAL_LINEAR_VALID | (final ? EPT_QUAL_TRANSLATED : 0);
    return false;
}

static bool read_entry12(void *ctx, uint64_t gpa, unsigned size, uint64_t *e)
{
    walk_t *w = ctx;
    uint64_t gpa1;
    *e = 0;
    return stage2(w, gpa, EPT_QUAL_READ, false, &gpa1) && read_entry(w->m, gpa1, size, e);
}

/* SDM Vol. 3A 4.8: the accessed flag of each paging-structure entry the
 * translation in @t used, and for a @write the dirty flag of the entry that
 * maps the page, set as the CPU sets them: a locked OR of the entry in
 * memory, an access EPT12 takes as a write (SDM 28.3.3.2; refused: an EPT
 * violation for a paging-structure entry, 27.2.1 Table 27-7 bit 8 clear). */
static bool set_ad(walk_t *w, const x86_walk_trace_t *t, bool write)
{
    for (unsigned i = 0; i < t->count; i++) {
        const uint64_t bits = x86_walk_ad_bits(t, i, write);
        uint64_t gpa1;
        if (!bits)
            continue;
        if (!stage2(w, t->gpa[i], EPT_QUAL_WRITE, false, &gpa1))
            return false;
        void *e = phys(w->m, gpa1, t->size);
        if (e && t->size == 8)
            __atomic_fetch_or((uint64_t *)e, bits, __ATOMIC_SEQ_CST);
        else if (e)
            __atomic_fetch_or((uint32_t *)e, (uint32_t)bits, __ATOMIC_SEQ_CST);
    }
    return true;
}

/* SDM Vol. 3A 4.7: a not-present fault's error code says write (W/R) and
 * user (U/S) access; this walk reports only not-present translations. */
static nvmx_mem_t walk_copy(walk_t *w, const nestor_vcpu_state_t *s, uint64_t la, void *buffer,
                            size_t n, bool write, uint32_t *error, uint64_t *addr)
{
    uint8_t *buf = buffer;
    void *ctx = w->m;
    const x86_paging_t p = { .cr0 = s->cr0, .cr3 = s->cr3, .cr4 = s->cr4, .efer = s->efer };
    while (n) {
        size_t chunk = PAGE_4K - (la & (PAGE_4K - 1));
        if (chunk > n)
            chunk = n;
        uint64_t gpa;
        x86_walk_rights_t rights;
        x86_walk_trace_t trace;
        w->la = la;
        if (!x86_linear_to_phys_trace(&p, la, read_entry12, w, &gpa, &rights, &trace)) {
            if (w->fault && w->fault->refused)
                return NVMX_MEM_EPT12;
            unsigned cpl = (s->ss.ar >> X86_AR_DPL_SHIFT) & X86_AR_DPL_MASK;
            *error = (write ? X86_PF_WRITE : 0) | (cpl == 3 ? X86_PF_USER : 0);
            *addr = la;
            return NVMX_MEM_PAGE_FAULT;
        }
        if (!set_ad(w, &trace, write))
            return NVMX_MEM_EPT12;
        if (!stage2(w, gpa, write ? EPT_QUAL_WRITE : EPT_QUAL_READ, true, &gpa))
            return NVMX_MEM_EPT12;
        uint8_t *mem = phys(ctx, gpa, chunk);
        if (!mem)
            return NVMX_MEM_NOT_RAM;
        if (write)
            memcpy(mem, buf, chunk);
        else
            memcpy(buf, mem, chunk);
        buf += chunk;
        la += chunk;
        n -= chunk;
    }
    return NVMX_MEM_OK;
}

static nvmx_mem_t linear(void *ctx, const nestor_vcpu_state_t *s, uint64_t la, void *buffer,
                         size_t n, bool write, uint32_t *error, uint64_t *addr)
{
    walk_t w = { .m = ctx };
    return walk_copy(&w, s, la, buffer, n, write, error, addr);
}

nvmx_mem_t l2mem_linear(nvmx_monitor_t *m, uint64_t la, void *buffer, size_t n, bool write,
                        uint32_t *error, uint64_t *addr, l2mem_fault_t *fault)
{
    walk_t w = { .m = m, .fault = m->l2.eptp12 != EPT02_NO_EPT ? fault : NULL };
    fault->refused = false;
    return walk_copy(&w, m->l2.s, la, buffer, n, write, error, addr);
}

static void sync12(void *ctx)
{
    l2_sync12(ctx);
}

void l1mem_env(nvmx_monitor_t *m)
{
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(CPUID_ADDR_SIZES), "c"(0));
    m->env = (nvmx_env_t){ .ctx = m, .phys = phys, .linear = linear,
                           .maxphyaddr = a & MAXPHYADDR_MASK, .sync = sync12 };
}
