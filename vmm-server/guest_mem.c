/*
 * vmm-server/guest_mem.c - reading guest memory by guest-physical and by
 * linear address, walking the guest's own page tables (SDM Vol. 3A 4.3
 * 32-bit paging, 4.4 PAE, 4.5 4-level paging). Only RAM is readable.
 */
#include "vmm.h"
#include <string.h>

#define ADDR_MASK_64 0x000FFFFFFFFFF000ULL
#define PAGE_SIZE_4K 4096ULL

bool guest_read_phys(vm_t *vm, uint64_t gpa, void *out, size_t n)
{
    if (gpa >= vm->ram_bytes || n > vm->ram_bytes - gpa)
        return false;
    memcpy(out, vm->ram + gpa, n);
    return true;
}

static bool read_entry(vm_t *vm, uint64_t gpa, unsigned size, uint64_t *e)
{
    *e = 0;
    return guest_read_phys(vm, gpa, e, size);
}

/* Walk one 4-level / PAE table chain from @table; @levels counts down. */
static bool walk(vm_t *vm, uint64_t table, uint64_t la, int first_shift, int levels,
                 uint64_t *gpa)
{
    int shift = first_shift;
    for (int l = 0; l < levels; l++, shift -= 9) {
        uint64_t e;
        if (!read_entry(vm, (table & ADDR_MASK_64) + ((la >> shift) & 0x1FF) * 8, 8, &e) ||
            !(e & X86_PTE_P))
            return false;
        if (shift < 39 && shift > 12 && (e & X86_PTE_PS)) {   /* 1 GiB / 2 MiB page */
            uint64_t size = 1ULL << shift;
            *gpa = (e & ADDR_MASK_64 & ~(size - 1)) | (la & (size - 1));
            return true;
        }
        table = e;
    }
    *gpa = (table & ADDR_MASK_64) | (la & (PAGE_SIZE_4K - 1));
    return true;
}

bool guest_linear_to_phys(vm_t *vm, const nestor_vcpu_state_t *s, uint64_t la, uint64_t *gpa)
{
    if (!(s->cr0 & X86_CR0_PG)) {
        *gpa = la;
        return true;
    }
    if (s->efer & X86_EFER_LMA)
        return walk(vm, s->cr3, la, 39, 4, gpa);
    if (s->cr4 & X86_CR4_PAE) {
        uint64_t pdpte;
        if (!read_entry(vm, (s->cr3 & ~0x1FULL) + ((la >> 30) & 3) * 8, 8, &pdpte) ||
            !(pdpte & X86_PTE_P))
            return false;
        return walk(vm, pdpte, la & 0x3FFFFFFF, 21, 2, gpa);
    }
    /* 32-bit paging: 4 KiB pages, or 4 MiB with CR4.PSE. */
    uint64_t pde, pte;
    if (!read_entry(vm, (s->cr3 & 0xFFFFF000) + ((la >> 22) & 0x3FF) * 4, 4, &pde) ||
        !(pde & X86_PTE_P))
        return false;
    if ((pde & X86_PTE_PS) && (s->cr4 & X86_CR4_PSE)) {
        *gpa = (pde & 0xFFC00000) | (la & 0x3FFFFF);
        return true;
    }
    if (!read_entry(vm, (pde & 0xFFFFF000) + ((la >> 12) & 0x3FF) * 4, 4, &pte) ||
        !(pte & X86_PTE_P))
        return false;
    *gpa = (pte & 0xFFFFF000) | (la & 0xFFF);
    return true;
}

/* Copy between a linear range and @buf, page by page (it may cross a page
 * boundary; each page is translated on its own). Stops at the first byte
 * the guest's paging does not map (GUEST_MEM_UNMAPPED) or that is not RAM
 * (GUEST_MEM_NOT_RAM), with its linear address in *@fault_la; bytes
 * before it are copied. */
guest_mem_status_t guest_copy_linear(vm_t *vm, const nestor_vcpu_state_t *s, uint64_t la,
                                     void *buffer, size_t n, bool write, uint64_t *fault_la)
{
    uint8_t *buf = buffer;
    while (n) {
        uint64_t gpa, chunk = PAGE_SIZE_4K - (la & (PAGE_SIZE_4K - 1));
        if (chunk > n)
            chunk = n;
        guest_mem_status_t st = GUEST_MEM_OK;
        if (!guest_linear_to_phys(vm, s, la, &gpa))
            st = GUEST_MEM_UNMAPPED;
        else if (gpa >= vm->ram_bytes || chunk > vm->ram_bytes - gpa)
            st = GUEST_MEM_NOT_RAM;
        if (st != GUEST_MEM_OK) {
            if (fault_la)
                *fault_la = la;
            return st;
        }
        if (write)
            memcpy(vm->ram + gpa, buf, chunk);
        else
            memcpy(buf, vm->ram + gpa, chunk);
        buf += chunk;
        la += chunk;
        n -= chunk;
    }
    return GUEST_MEM_OK;
}

static bool copy_linear(vm_t *vm, const nestor_vcpu_state_t *s, uint64_t la, uint8_t *buf,
                        size_t n, bool write)
{
    return guest_copy_linear(vm, s, la, buf, n, write, 0) == GUEST_MEM_OK;
}

x86_mode_t guest_cpu_mode(const nestor_vcpu_state_t *s)
{
    /* SDM Vol. 3A 5.2.1: 64-bit mode is IA-32e mode with CS.L; CS.D gives
     * 32-bit code in protected mode (SDM Vol. 3C 24.4.1 access rights). */
    if ((s->efer & X86_EFER_LMA) && (s->cs.ar & X86_AR_L))
        return X86_MODE_64;
    if ((s->cr0 & X86_CR0_PE) && (s->cs.ar & X86_AR_DB))
        return X86_MODE_32;
    return X86_MODE_16;
}

uint64_t guest_seg_base(const nestor_vcpu_state_t *s, unsigned seg, x86_mode_t mode)
{
    /* In 64-bit mode only FS and GS have a base (SDM Vol. 3A 3.4.4). */
    if (mode == X86_MODE_64 && seg != X86_SEG_FS && seg != X86_SEG_GS)
        return 0;
    return (&s->es)[seg].base;          /* es cs ss ds fs gs: X86_SEG_* order */
}

size_t guest_fetch_linear(vm_t *vm, const nestor_vcpu_state_t *s, uint64_t la, uint8_t *out,
                          size_t n, bool *unmapped)
{
    size_t got = 0;
    *unmapped = false;
    while (got < n) {
        uint64_t gpa, chunk = PAGE_SIZE_4K - (la & (PAGE_SIZE_4K - 1));
        if (chunk > n - got)
            chunk = n - got;
        if (!guest_linear_to_phys(vm, s, la, &gpa)) {
            *unmapped = true;
            return got;
        }
        if (gpa >= vm->ram_bytes)
            return got;
        if (chunk > vm->ram_bytes - gpa)
            chunk = vm->ram_bytes - gpa;
        memcpy(out + got, vm->ram + gpa, chunk);
        got += chunk;
        la += chunk;
    }
    return got;
}

bool guest_read_linear(vm_t *vm, const nestor_vcpu_state_t *s, uint64_t la, void *out, size_t n)
{
    return copy_linear(vm, s, la, out, n, false);
}

bool guest_write_linear(vm_t *vm, const nestor_vcpu_state_t *s, uint64_t la, const void *in,
                        size_t n)
{
    return copy_linear(vm, s, la, (uint8_t *)(uintptr_t)in, n, true);
}

nestor_word_t *vm_gpr(nestor_vcpu_state_t *s, unsigned n)
{
    nestor_word_t *const regs[16] = { &s->rax, &s->rcx, &s->rdx, &s->rbx, &s->rsp, &s->rbp,
                                      &s->rsi, &s->rdi, &s->r8, &s->r9, &s->r10, &s->r11,
                                      &s->r12, &s->r13, &s->r14, &s->r15 };
    return regs[n & 15];
}
