/*
 * nested-vmx/l1mem.c - L1's memory for the VMX instructions (nvmx_env_t):
 * its RAM as the VMM granted it, mapped here, and its linear addresses
 * through its own page tables (lib/x86/walk.c). Only RAM is reachable.
 */
#include "monitor.h"
#include <string.h>
#include <x86_arch.h>
#include <x86_walk.h>

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

/* SDM Vol. 3A 4.7: a not-present fault's error code says write (W/R) and
 * user (U/S) access; this walk reports only not-present translations. */
static nvmx_mem_t linear(void *ctx, const nestor_vcpu_state_t *s, uint64_t la, void *buffer,
                         size_t n, bool write, uint32_t *error, uint64_t *addr)
{
    uint8_t *buf = buffer;
    const x86_paging_t p = { .cr0 = s->cr0, .cr3 = s->cr3, .cr4 = s->cr4, .efer = s->efer };
    while (n) {
        size_t chunk = PAGE_4K - (la & (PAGE_4K - 1));
        if (chunk > n)
            chunk = n;
        uint64_t gpa;
        if (!x86_linear_to_phys(&p, la, read_entry, ctx, &gpa)) {
            unsigned cpl = (s->ss.ar >> X86_AR_DPL_SHIFT) & X86_AR_DPL_MASK;
            *error = (write ? X86_PF_WRITE : 0) | (cpl == 3 ? X86_PF_USER : 0);
            *addr = la;
            return NVMX_MEM_PAGE_FAULT;
        }
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

void l1mem_env(nvmx_monitor_t *m)
{
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(CPUID_ADDR_SIZES), "c"(0));
    m->env = (nvmx_env_t){ .ctx = m, .phys = phys, .linear = linear,
                           .maxphyaddr = a & MAXPHYADDR_MASK };
}
