/*
 * init/spawn.c - processes from ELF boot modules (see spawn.h).
 *
 * Memory: the program's image, stack, IPC buffer, boot info, module copies
 * and page tables come from init's own untyped memory; the budget the
 * stack config gives it arrives as untyped capabilities it retypes itself.
 */
#include "spawn.h"
#include <elf64.h>
#include <string.h>
#include <user/print.h>

#define PAGE            (1ULL << NESTOR_FRAME_4K_BITS)
#define CHILD_RADIX     NESTOR_ROOT_CNODE_RADIX
#define CHILD_GUARD     (64 - CHILD_RADIX)  /* cptrs are plain slot numbers */
#define SCRATCH_VA      0x0000500000000000ULL  /* where init fills a page it hands on */
#define SCRATCH_VA_2M   0x0000500000200000ULL  /* ... and a 2 MiB frame */
#define MIB_BITS        20
#define FIXED_CAPS      5   /* its TCB, CNode, VSpace, IPC buffer and boot-info frame */

typedef struct {
    nu_alloc_t *a;
    const spawn_req_t *r;
    nestor_cptr_t pml4, cnode;
    nestor_word_t next_slot;
    nestor_bootinfo_t *bi;           /* the child's boot info, being built */
} child_t;

static bool fail(const spawn_req_t *r, const char *what, nestor_word_t err)
{
    printf("init: cannot start %s: %s (error %lu)\n", r->name, what, err);
    return false;
}

/* A fresh page of the child's (see nu_fill_page). */
static nestor_cptr_t child_page(child_t *c, nestor_word_t va, nestor_word_t rights,
                                const void *src, size_t n, size_t offset)
{
    return nu_fill_page(c->a, SCRATCH_VA, c->pml4, va, rights, src, n, offset);
}

static bool load_elf(child_t *c, elf_info_t *info)
{
    const spawn_req_t *r = c->r;
    /* Its image must stay below where its modules go. */
    elf_status_t st = elf_parse(r->elf, r->elf_size, NESTOR_ROOT_MODULES_VADDR, info);
    if (st != ELF_OK)
        return fail(r, elf_status_str(st), st);
    const uint8_t *file = r->elf;
    for (size_t i = 0; i < info->nseg; i++) {
        const elf_segment_t *s = &info->seg[i];
        nestor_word_t rights = NESTOR_RIGHT_READ | (s->flags & PF_W ? NESTOR_RIGHT_WRITE : 0);
        for (uint64_t page = s->vaddr & ~(PAGE - 1); page < s->vaddr + s->memsz; page += PAGE) {
            /* The part of this page that comes from the file. */
            uint64_t lo = page < s->vaddr ? s->vaddr : page;
            uint64_t hi = page + PAGE < s->vaddr + s->filesz ? page + PAGE : s->vaddr + s->filesz;
            size_t n = hi > lo ? (size_t)(hi - lo) : 0;
            if (!child_page(c, page, rights, file + s->offset + (lo - s->vaddr), n,
                            lo - page))
                return fail(r, "out of memory loading its image", 0);
        }
    }
    return true;
}

/* Copy the modules it is given, read-only, one after another with a guard
 * page between (as the kernel maps the root task's). A module of
 * MODULE_BIG_BYTES or more (a Linux kernel, an initrd) goes into 2 MiB
 * frames at a 2 MiB-aligned address: one capability and no page table per
 * 2 MiB, where 4 KiB pages would take more slots than init's CNode has
 * (NESTOR_ROOT_CNODE_RADIX). */
#define FRAME_2M        (1ULL << NESTOR_FRAME_2M_BITS)
#define MODULE_BIG_BYTES FRAME_2M
static bool load_modules(child_t *c)
{
    nestor_word_t va = NESTOR_ROOT_MODULES_VADDR;
    for (unsigned i = 0; i < c->r->n_modules; i++) {
        const spawn_module_t *m = &c->r->modules[i];
        bool big = m->size >= MODULE_BIG_BYTES;
        nestor_word_t step = big ? FRAME_2M : PAGE;
        if (big)
            va = (va + FRAME_2M - 1) & ~(FRAME_2M - 1);
        nestor_module_desc_t *d = &c->bi->modules[c->bi->module_count++];
        d->vaddr = va;
        d->size = m->size;
        strncpy(d->name, m->name, sizeof d->name - 1);
        for (nestor_word_t off = 0; off < m->size; off += step, va += step) {
            size_t n = m->size - off < step ? (size_t)(m->size - off) : step;
            if (!nu_fill_frame(c->a, big ? NESTOR_OBJ_FRAME_2M : NESTOR_OBJ_FRAME_4K,
                               big ? SCRATCH_VA_2M : SCRATCH_VA, c->pml4, va, NESTOR_RIGHT_READ,
                               (const uint8_t *)m->data + off, n, 0))
                return fail(c->r, "out of memory copying its modules", 0);
        }
        va += PAGE;
    }
    return true;
}

/* A slot of the child's CNode, addressed through init's cap to it. */
static nestor_error_t put_copy(child_t *c, nestor_word_t slot, nestor_cptr_t src,
                               nestor_word_t rights)
{
    return nu_cnode_copy(c->cnode, slot, CHILD_RADIX, c->a->cnode, src, 64, rights);
}

bool spawn_carve_budget(nu_alloc_t *a, const nestor_bootinfo_t *ibi, uint32_t mib,
                        spawn_budget_t *out)
{
    out->n = 0;
    nestor_word_t n_ut = ibi->untyped.end - ibi->untyped.start;
    if (n_ut > NESTOR_BOOTINFO_MAX_UNTYPED)
        n_ut = NESTOR_BOOTINFO_MAX_UNTYPED;
    for (uint32_t left = mib; left;) {
        bool done = false;
        int top = 31;
        while (!(left & (1u << top)))
            top--;
        for (int bit = top; !done && bit >= 0; bit--) {
            nestor_word_t size_bits = (nestor_word_t)bit + MIB_BITS;
            /* Smallest untyped first: best fit. */
            for (unsigned want = (unsigned)size_bits; !done && want < 64; want++)
                for (nestor_word_t u = 0; !done && u < n_ut; u++) {
                    const nestor_untyped_desc_t *d = &ibi->untyped_list[u];
                    if (d->is_device || d->size_bits != want || out->n == SPAWN_MAX_UNTYPEDS ||
                        a->next_slot >= a->end_slot)
                        continue;
                    done = nu_untyped_retype(ibi->untyped.start + u, NESTOR_OBJ_UNTYPED,
                                             size_bits, a->cnode, 0, 0, a->next_slot, 1) ==
                           NESTOR_OK;
                    if (done) {
                        out->slot[out->n] = a->next_slot++;
                        out->size_bits[out->n++] = (uint8_t)size_bits;
                        left -= 1u << bit;
                    }
                }
        }
        if (!done)
            return false;
    }
    return true;
}

/* The budget carved beforehand, moved into its CSpace. */
static bool give_untyped(child_t *c)
{
    const spawn_budget_t *b = c->r->budget;
    c->bi->untyped.start = c->next_slot;
    for (unsigned i = 0; b && i < b->n; i++) {
        if (nu_cnode_move(c->cnode, c->next_slot, CHILD_RADIX, c->a->cnode, b->slot[i], 64) !=
            NESTOR_OK)
            return fail(c->r, "cannot hand over its budget", b->slot[i]);
        nestor_untyped_desc_t *d = &c->bi->untyped_list[c->next_slot - c->bi->untyped.start];
        d->size_bits = b->size_bits[i];
        c->next_slot++;
    }
    c->bi->untyped.end = c->next_slot;
    return true;
}

static bool give_grants(child_t *c)
{
    for (unsigned i = 0; i < c->r->n_grants; i++) {
        const spawn_grant_t *g = &c->r->grants[i];
        nestor_word_t slot = c->next_slot++;
        nestor_error_t e;
        switch (g->kind) {
        case NESTOR_GRANT_IOPORT:
            e = nu_ioport_issue(NESTOR_CAP_IOPORT_CONTROL, g->arg0, g->arg1, c->cnode, slot,
                                CHILD_RADIX);
            break;
        case NESTOR_GRANT_IRQ:
            e = nu_irq_control_get(NESTOR_CAP_IRQ_CONTROL, g->arg0, c->cnode, slot, CHILD_RADIX);
            break;
        default:
            e = put_copy(c, slot, g->endpoint, g->rights);
            break;
        }
        if (e != NESTOR_OK)
            return fail(c->r, "cannot grant a capability its node names", e);
        nestor_grant_desc_t *d = &c->bi->grants[c->bi->grant_count++];
        *d = (nestor_grant_desc_t){ .cptr = slot, .kind = g->kind, .arg0 = g->arg0,
                                    .arg1 = g->arg1 };
        strncpy(d->name, g->name, sizeof d->name - 1);
    }
    return true;
}

bool spawn(nu_alloc_t *a, const nestor_bootinfo_t *ibi, const spawn_req_t *r,
           spawn_result_t *out)
{
    static nestor_bootinfo_t bi;     /* built here, copied into its page last */
    memset(&bi, 0, sizeof bi);
    child_t c = { .a = a, .r = r, .next_slot = NESTOR_CAP_FIRST_FREE_FIXED, .bi = &bi };
    c.pml4 = nu_alloc_obj(a, NESTOR_OBJ_PML4, 0);
    c.cnode = nu_alloc_obj(a, NESTOR_OBJ_CNODE, CHILD_RADIX);
    nestor_cptr_t tcb = nu_alloc_obj(a, NESTOR_OBJ_TCB, 0), cspace = a->next_slot++;
    if (!c.pml4 || !c.cnode || !tcb ||
        nu_cnode_mint(a->cnode, cspace, 64, a->cnode, c.cnode, 64, NESTOR_RIGHTS_ALL,
                      CHILD_GUARD) != NESTOR_OK)
        return fail(r, "out of memory for its objects", 0);
    elf_info_t info;
    if (!load_elf(&c, &info) || !load_modules(&c))
        return false;
    /* Stack and IPC buffer where the kernel puts the root task's. */
    for (unsigned i = 1; i <= NESTOR_ROOT_STACK_PAGES; i++)
        if (!child_page(&c, NESTOR_ROOT_STACK_TOP - i * PAGE,
                        NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE, 0, 0, 0))
            return fail(r, "out of memory for its stack", 0);
    nestor_cptr_t ipc = child_page(&c, NESTOR_ROOT_IPC_BUFFER_VADDR,
                                   NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE, 0, 0, 0);
    if (!ipc)
        return fail(r, "out of memory for its IPC buffer", 0);
    bi.magic = NESTOR_BOOTINFO_MAGIC;
    bi.ipc_buffer = NESTOR_ROOT_IPC_BUFFER_VADDR;
    bi.tsc_per_tick = ibi->tsc_per_tick;
    bi.vmx_present = ibi->vmx_present;
    bi.vmx_timer_rate = ibi->vmx_timer_rate;
    bi.timer_hz = ibi->timer_hz;
    strncpy(bi.cmdline, r->cmdline, sizeof bi.cmdline - 1);
    /* Fixed slots as the root task has them, less the control capabilities
     * (IRQ, I/O ports, debug): what it may use of those is in its grants. */
    bi.parent_ep = c.next_slot++;
    bool ok = put_copy(&c, NESTOR_CAP_INIT_TCB, tcb, NESTOR_RIGHTS_ALL) == NESTOR_OK &&
              nu_cnode_copy(c.cnode, NESTOR_CAP_INIT_CNODE, CHILD_RADIX, a->cnode, cspace, 64,
                            NESTOR_RIGHTS_ALL) == NESTOR_OK &&
              put_copy(&c, NESTOR_CAP_INIT_VSPACE, c.pml4, NESTOR_RIGHTS_ALL) == NESTOR_OK &&
              put_copy(&c, NESTOR_CAP_INIT_IPC_BUFFER, ipc, NESTOR_RIGHTS_ALL) == NESTOR_OK &&
              put_copy(&c, bi.parent_ep, r->parent_ep,
                       NESTOR_RIGHT_WRITE | (r->parent_grant ? NESTOR_RIGHT_GRANT : 0)) ==
                  NESTOR_OK &&
              give_grants(&c) && give_untyped(&c);
    if (!ok)
        return fail(r, "cannot fill its CSpace", 0);
    bi.empty.start = c.next_slot;
    bi.empty.end = 1ULL << CHILD_RADIX;
    nestor_cptr_t bi_frame = child_page(&c, NESTOR_ROOT_BOOTINFO_VADDR, NESTOR_RIGHT_READ, &bi,
                                        sizeof bi, 0);
    if (!bi_frame || put_copy(&c, NESTOR_CAP_BOOTINFO_FRAME, bi_frame, NESTOR_RIGHT_READ))
        return fail(r, "out of memory for its boot info", 0);
    /* Its faults go to init like its end: the fault endpoint is a cptr in
     * its own CSpace. */
    nestor_error_t e = nu_tcb_configure(tcb, bi.parent_ep, cspace, c.pml4, ipc,
                                        NESTOR_ROOT_IPC_BUFFER_VADDR);
    if (e == NESTOR_OK)
        e = nu_tcb_set_priority(tcb, r->priority);
    if (e != NESTOR_OK)
        return fail(r, "cannot configure its thread", e);
    nestor_user_context_t ctx = { 0 };
    ctx.rip = info.entry;
    ctx.rsp = NESTOR_ROOT_STACK_TOP;
    ctx.rdi = NESTOR_ROOT_BOOTINFO_VADDR;
    e = nu_tcb_write_registers(tcb, 1, &ctx);
    if (e != NESTOR_OK)
        return fail(r, "cannot start its thread", e);
    *out = (spawn_result_t){ .tcb = tcb, .cnode = c.cnode, .pml4 = c.pml4,
                             .caps = (unsigned)c.next_slot - NESTOR_CAP_FIRST_FREE_FIXED + FIXED_CAPS,
                             .untypeds = (unsigned)(bi.untyped.end - bi.untyped.start),
                             .untyped_start = bi.untyped.start };
    return true;
}

/* A capability of init's and every one derived from it. */
static bool drop(nu_alloc_t *a, nestor_cptr_t slot)
{
    return nu_cnode_revoke(a->cnode, slot, 64) == NESTOR_OK &&
           nu_cnode_delete(a->cnode, slot, 64) == NESTOR_OK;
}

bool spawn_destroy(nu_alloc_t *a, const spawn_result_t *p, const spawn_budget_t *budget)
{
    /* The thread first: nothing of it runs while the rest goes. */
    bool ok = drop(a, p->tcb);
    for (unsigned i = 0; i < budget->n && i < p->untypeds; i++) {
        nestor_word_t slot = p->untyped_start + i;
        ok &= nu_cnode_revoke(p->cnode, slot, CHILD_RADIX) == NESTOR_OK &&
              nu_cnode_move(a->cnode, budget->slot[i], 64, p->cnode, slot, CHILD_RADIX) ==
                  NESTOR_OK;
    }
    return drop(a, p->pml4) && drop(a, p->cnode) && ok;
}
