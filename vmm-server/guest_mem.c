/*
 * vmm-server/guest_mem.c - reading guest memory by guest-physical and by
 * linear address, through the guest's own page tables (lib/x86/walk.c).
 * Only RAM is readable.
 */
#include "vmm.h"
#include <string.h>
#include <x86_walk.h>

#define PAGE_SIZE_4K 4096ULL

static bool read_entry(void *ctx, uint64_t gpa, unsigned size, uint64_t *e)
{
    *e = 0;
    return guest_read_phys(ctx, gpa, e, size);
}

bool guest_read_phys(vm_t *vm, uint64_t gpa, void *out, size_t n)
{
    if (gpa >= vm->ram_bytes || n > vm->ram_bytes - gpa)
        return false;
    memcpy(out, vm->ram + gpa, n);
    return true;
}

static x86_paging_t paging_of(const nestor_vcpu_state_t *s)
{
    return (x86_paging_t){ .cr0 = s->cr0, .cr3 = s->cr3, .cr4 = s->cr4, .efer = s->efer };
}

bool guest_linear_to_phys(vm_t *vm, const nestor_vcpu_state_t *s, uint64_t la, uint64_t *gpa)
{
    const x86_paging_t p = paging_of(s);
    return x86_linear_to_phys(&p, la, read_entry, vm, gpa);
}

guest_mem_status_t guest_translate_access(vm_t *vm, const nestor_vcpu_state_t *s, uint64_t la,
                                          bool write, uint64_t *gpa, uint32_t *pf_error)
{
    const x86_paging_t p = paging_of(s);
    bool user = vm_cpl(s) == 3;
    x86_walk_rights_t r;
    if (!x86_linear_to_phys_rights(&p, la, read_entry, vm, gpa, &r)) {
        *pf_error = (uint32_t)((write ? X86_PF_WRITE : 0) | (user ? X86_PF_USER : 0));
        return GUEST_MEM_UNMAPPED;
    }
    *pf_error = x86_access_fault(&p, &r, write, user, (s->rflags & X86_RFLAGS_AC) != 0);
    return *pf_error ? GUEST_MEM_DENIED : GUEST_MEM_OK;
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

size_t guest_fetch_linear(vm_t *vm, const nestor_vcpu_state_t *s, uint64_t la, uint8_t *out,
                          size_t n, bool *unmapped)
{
    const x86_paging_t p = paging_of(s);
    return x86_fetch_linear(&p, la, read_entry, vm, vm->ram, vm->ram_bytes, out, n, unmapped);
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
