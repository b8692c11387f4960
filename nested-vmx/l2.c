/*
 * nested-vmx/l2.c - L2 on vcpu02 (l2.h): VM entry from vmcs12 (SDM Vol. 3C
 * 26.3.2 loading guest state, 26.6 event injection) and exit reflection
 * (27.2 exit information, 27.3 saving guest state, 27.5 host state via
 * host_state.c), with the exits L1 asked for told apart from those L0's
 * floor added (25.1.3 instructions that cause exits conditionally, 25.2
 * exceptions).
 */
#include "count_monitor.h"
#include "host_state.h"
#include "l2_through.h"
#include "msr_lists.h"
#include "monitor.h"
#include "nvmx_insn.h"
#include "nvmx_caps.h"
#include "nvmx_prof.h"
#include "shadow12.h"
#include "nvmx_setup.h"
#include <string.h>
#include <user/print.h>
#include <x86_arch.h>

#define L2_STATE_VA     0x0000210000000000ULL
#define L2_PRIO         100             /* as the VMM's vCPUs: below every monitor */
#define L1_STATE_GROUPS (NESTOR_MTD_ALL & ~NESTOR_MTD_INJECT)
#define EXCEPTION_VECTORS 32
#define CR3_PAE_MASK    0xFFFFFFE0ULL
#define IO_BITMAP_B_FIRST 0x8000
/* MSR bitmap (SDM 24.6.9): read low, read high, write low, write high. */
#define MSR_BITMAP_LOW_LAST   0x1FFFu
#define MSR_BITMAP_HIGH_FIRST 0xC0000000u
#define MSR_BITMAP_HIGH_LAST  0xC0001FFFu
#define MSR_BITMAP_HIGH_OFF   1024
#define MSR_BITMAP_WRITE_OFF  2048

/* General-purpose registers are not in the VMCS: entry and exit keep them
 * (SDM 26.3, 27.3), so they pass between L1 and L2 as they are; so do CR2,
 * DR0-DR3, DR6, XCR0 and the MSRs VMX does not switch. */
#define GPR_WORDS 15            /* rax .. r15 (RSP is in the VMCS) */
_Static_assert(offsetof(nestor_vcpu_state_t, r15) - offsetof(nestor_vcpu_state_t, rax) ==
                   (GPR_WORDS - 1) * sizeof(nestor_word_t), "the GPRs but RSP are one block");

static void carry_unswitched(nestor_vcpu_state_t *to, const nestor_vcpu_state_t *from)
{
    nestor_word_t *t = (nestor_word_t *)((char *)to + offsetof(nestor_vcpu_state_t, rax));
    const nestor_word_t *f =
        (const nestor_word_t *)((const char *)from + offsetof(nestor_vcpu_state_t, rax));
    for (unsigned i = 0; i < GPR_WORDS; i++)
        t[i] = f[i];
    to->cr2 = from->cr2;
    to->dr0 = from->dr0;
    to->dr1 = from->dr1;
    to->dr2 = from->dr2;
    to->dr3 = from->dr3;
    to->dr6 = from->dr6;
    to->xcr0 = from->xcr0;
    to->star = from->star;
    to->lstar = from->lstar;
    to->cstar = from->cstar;
    to->fmask = from->fmask;
    to->kernel_gs_base = from->kernel_gs_base;
    to->tsc_aux = from->tsc_aux;
    /* 27.5.1: without "load IA32_EFER" only LMA and LME are loaded at an
     * exit, the other bits stay L2's (a WRMSR L1 let through may have
     * changed them); an entry loads L2's EFER itself (load_guest). */
    to->efer = from->efer;
}

/* The state page's groups as (offset, size) ranges, for comparing two states. */
#define RANGE(first, last)                                                          \
    (uint16_t) offsetof(nestor_vcpu_state_t, first),                               \
        (uint16_t)(offsetof(nestor_vcpu_state_t, last) + sizeof(((nestor_vcpu_state_t *)0)->last) - \
                   offsetof(nestor_vcpu_state_t, first))
static const struct {
    uint16_t group, offset, size;
} state_ranges[] = {
    { NESTOR_MTD_GPRS, RANGE(rax, r15) },         /* (RSP is a group of its own) */
    { NESTOR_MTD_RSP, RANGE(rsp, rsp) },
    { NESTOR_MTD_RIP, RANGE(rip, rip) },
    { NESTOR_MTD_RFLAGS, RANGE(rflags, rflags) },
    { NESTOR_MTD_CR, RANGE(cr0, efer) },
    { NESTOR_MTD_SEGS, RANGE(es, gs) },
    { NESTOR_MTD_SYS_SEGS, RANGE(ldtr, tr) },
    { NESTOR_MTD_SYS_SEGS, RANGE(gdtr_base, idtr_limit) },
    { NESTOR_MTD_INTR, RANGE(interruptibility, activity) },
    { NESTOR_MTD_INTR, RANGE(pending_dbg, pending_dbg) },
    { NESTOR_MTD_MSRS, RANGE(sysenter_cs, tsc_aux) },
    { NESTOR_MTD_DEBUG, RANGE(dr0, debugctl) },
    { NESTOR_MTD_XCR0, RANGE(xcr0, xcr0) },
    { NESTOR_MTD_PDPTE, RANGE(pdpte[0], pdpte[3]) },
};
#undef RANGE

/* The state page is words (segments are three): copied and compared by
 * the word, not by libc's bytes (this is on every reflected exit). */
#define STATE_WORDS (sizeof(nestor_vcpu_state_t) / sizeof(uint64_t))
_Static_assert(sizeof(nestor_vcpu_state_t) % sizeof(uint64_t) == 0, "a state page of words");

__attribute__((optimize("no-tree-loop-distribute-patterns")))
static void state_copy(nestor_vcpu_state_t *to, const nestor_vcpu_state_t *from)
{
    uint64_t *t = (uint64_t *)to;
    const uint64_t *f = (const uint64_t *)from;
    for (unsigned i = 0; i < STATE_WORDS; i++)
        t[i] = f[i];
}

/* The NESTOR_MTD_MSRS fields of a state, by the word. */
#define MSRS_FIRST (offsetof(nestor_vcpu_state_t, sysenter_cs) / sizeof(uint64_t))
#define MSRS_WORDS (offsetof(nestor_vcpu_state_t, tsc_aux) / sizeof(uint64_t) + 1 - MSRS_FIRST)

static void msrs_get(uint64_t *to, const nestor_vcpu_state_t *s)
{
    for (unsigned i = 0; i < MSRS_WORDS; i++)
        to[i] = ((const uint64_t *)s)[MSRS_FIRST + i];
}

static bool msrs_differ(const uint64_t *was, const nestor_vcpu_state_t *s)
{
    for (unsigned i = 0; i < MSRS_WORDS; i++)
        if (was[i] != ((const uint64_t *)s)[MSRS_FIRST + i])
            return true;
    return false;
}

/* The groups of @groups in which @now differs from @was, the state the
 * kernel wrote (@was->mtd: a group it did not write counts as changed). */
static nestor_word_t groups_changed(const nestor_vcpu_state_t *was,
                                    const nestor_vcpu_state_t *now, nestor_word_t groups)
{
    nestor_word_t changed = groups & ~was->mtd;
    const uint64_t *a = (const uint64_t *)was, *b = (const uint64_t *)now;
    for (unsigned i = 0; i < sizeof state_ranges / sizeof state_ranges[0]; i++) {
        const uint16_t g = state_ranges[i].group;
        if (!(groups & g) || (changed & g))
            continue;
        const unsigned w = state_ranges[i].offset / sizeof(uint64_t);
        for (unsigned k = 0; k < state_ranges[i].size / sizeof(uint64_t); k++)
            if (a[w + k] != b[w + k]) {
                changed |= g;
                break;
            }
    }
    return changed;
}

/*
 * The state vcpu02's exits bring (nested-vmx/README.md "Lazy L2 guest
 * state"). An exit reflected to L1 needs the GPRs, RSP, RIP, RFLAGS and
 * CR4 (the shadow VMCS L1 reads them from, shadow12.c; the GPRs, CR2,
 * EFER, DR0-3, DR6, XCR0 and the SYSCALL MSRs pass to L1 unswitched,
 * carry_unswitched), CR0/CR3, the interruptibility and activity state
 * (l1_event, 27.3.4), the SYSENTER MSRs, PAT and DEBUGCTL/DR7 (27.3.1,
 * the VM-exit MSR-store list, 27.4) and the timer: everything but
 * NVMX_LAZY_GROUPS, which go to vmcs12 only when someone looks
 * (l2_sync12). The exits mostly handled here (EPT02's faults, #PF to L2
 * and the exceptions, L2's VMREAD/VMWRITE on L1's shadow, whose operand
 * size is CS's) bring the whole state; any other handled here fetches
 * the rest first (fetch_rest).
 */
#define EXIT_GROUPS_ALL  (NESTOR_MTD_ALL | NESTOR_MTD_TIMER)
#define EXIT_GROUPS_LAZY (EXIT_GROUPS_ALL & ~(nestor_word_t)NVMX_LAZY_GROUPS)

static nestor_word_t exit_groups(nestor_word_t slot)
{
    switch (slot) {
    case NESTOR_EXIT_EPT_VIOLATION: case NESTOR_EXIT_EPT_MISCONFIG:
    case NESTOR_EXIT_VMREAD: case NESTOR_EXIT_VMWRITE:
        return EXIT_GROUPS_ALL;
    default:
        return slot >= NESTOR_EXIT_SLOT_EXCEPTION ? EXIT_GROUPS_ALL : EXIT_GROUPS_LAZY;
    }
}

/* An exit handled here, not reflected, may read any of L2's state (its
 * segments for string I/O or an instruction's decoding, ...): the groups
 * its slot did not bring, fetched now (a no-op where it brought them). */
static bool fetch_rest(struct nvmx_monitor *m)
{
    nestor_word_t missing = NVMX_LAZY_GROUPS & ~m->l2.s->mtd;
    if (!missing ||
        nu_invoke(m->l2.vcpu, NESTOR_VCPU_STORE_STATE, &missing, 1, 0, 0, 0, 0) == NESTOR_OK)
        return true;
    printf("nested-vmx %s: the kernel refused L2's state: VM stopped\n", m->name);
    return false;
}

static bool build(struct nvmx_monitor *m)
{
    l2_t *l2 = &m->l2;
    nu_alloc_t *a = &m->alloc;
    nestor_cptr_t page;
    l2->vcpu = nu_alloc_obj(a, NESTOR_OBJ_VCPU, 0);
    l2->tcb = nu_alloc_obj(a, NESTOR_OBJ_TCB, 0);
    l2->ept = nu_alloc_obj(a, NESTOR_OBJ_EPT_PML4, 0);
    l2->table = nu_alloc_obj(a, NESTOR_OBJ_CNODE, NESTOR_EXIT_TABLE_RADIX);
    if (!l2->vcpu || !l2->tcb || !l2->ept || !l2->table ||
        nu_map_new_page(a, NESTOR_CAP_INIT_VSPACE, L2_STATE_VA, &page))
        return false;
    nestor_cptr_t st = a->next_slot++;
    if (nu_cnode_copy(a->cnode, st, 64, a->cnode, page, 64, NESTOR_RIGHTS_ALL) ||
        nu_tcb_set_priority(l2->tcb, L2_PRIO) ||
        nu_invoke(l2->vcpu, NESTOR_VCPU_SET_TCB, 0, 0, &l2->tcb, 1, 0, 0) ||
        nu_invoke(l2->vcpu, NESTOR_VCPU_SET_EPT, 0, 0, &l2->ept, 1, 0, 0) ||
        nu_invoke(l2->vcpu, NESTOR_VCPU_SET_STATE_PAGE, 0, 0, &st, 1, 0, 0))
        return false;
    l2->s = (nestor_vcpu_state_t *)(uintptr_t)L2_STATE_VA;
    l2->state_frame = page;
    /* Every basic reason comes to us (we decide) with what is left of
     * vcpu02's timer, for vmcs12 (save_timer), and the state exit_groups
     * names. */
    for (nestor_word_t slot = 0; slot < NESTOR_EXIT_SLOT_EXCEPTION + EXCEPTION_VECTORS; slot++) {
        const nestor_word_t args[] = { slot, exit_groups(slot) };
        if ((slot < NESTOR_EXIT_REASONS &&
             nu_cnode_mint(l2->table, slot, NESTOR_EXIT_TABLE_RADIX, a->cnode, m->ep, 64,
                           CM_EXIT_RIGHTS, NVMX_BADGE_L2)) ||
            (slot < NESTOR_EXIT_REASONS || slot >= NESTOR_EXIT_SLOT_EXCEPTION
                 ? nu_invoke(l2->vcpu, NESTOR_VCPU_SET_EXIT_MASK, args, 2, 0, 0, 0, 0)
                 : NESTOR_OK))
            return false;
    }
    l2->built = true;
    return nu_invoke(l2->vcpu, NESTOR_VCPU_SET_EXIT_TABLE, 0, 0, &l2->table, 1, 0, 0) ==
               NESTOR_OK &&
           l2_inspector_stack(m);
}

/* The exception vectors L1 intercepts (SDM 24.6.3) have our endpoint in
 * their slots; the kernel derives vcpu02's exception bitmap from them. */
static bool sync_exceptions(struct nvmx_monitor *m, uint32_t bitmap)
{
    l2_t *l2 = &m->l2;
    if (bitmap == l2->table_exceptions)
        return true;
    for (unsigned v = 0; v < EXCEPTION_VECTORS; v++) {
        const nestor_word_t slot = NESTOR_EXIT_SLOT_EXCEPTION + v;
        if (!((bitmap ^ l2->table_exceptions) & (1u << v)))
            continue;
        nestor_error_t e = bitmap & (1u << v)
                               ? nu_cnode_mint(l2->table, slot, NESTOR_EXIT_TABLE_RADIX,
                                               m->alloc.cnode, m->ep, 64, CM_EXIT_RIGHTS,
                                               NVMX_BADGE_L2)
                               : nu_cnode_delete(l2->table, slot, NESTOR_EXIT_TABLE_RADIX);
        if (e != NESTOR_OK)
            return false;
    }
    l2->table_exceptions = bitmap;
    return nu_invoke(l2->vcpu, NESTOR_VCPU_SET_EXIT_TABLE, 0, 0, &l2->table, 1, 0, 0) ==
           NESTOR_OK;
}

static void seg_from12(nestor_vcpu_seg_t *g, const uint64_t *f, unsigned sel, unsigned base,
                       unsigned limit, unsigned ar)
{
    g->sel = (uint16_t)f[sel];
    g->base = f[base];
    g->limit = (uint32_t)f[limit];
    g->ar = (uint32_t)f[ar];
}

static void seg_to12(uint64_t *f, const nestor_vcpu_seg_t *g, unsigned sel, unsigned base,
                     unsigned limit, unsigned ar)
{
    f[sel] = g->sel;
    f[base] = g->base;
    f[limit] = g->limit;
    f[ar] = g->ar;
}

/* The segment registers in vmcs12 (NESTOR_MTD_SEGS, then NESTOR_MTD_SYS_SEGS). */
#define DATA_SEGS(X) X(es, ES) X(cs, CS) X(ss, SS) X(ds, DS) X(fs, FS) X(gs, GS)
#define SYS_SEGS(X)  X(ldtr, LDTR) X(tr, TR)
#define SEGS(X)      DATA_SEGS(X) SYS_SEGS(X)

/* SDM 26.3.2.2, 26.3.2.3, 26.3.2.1 (SYSENTER): the registers every entry
 * loads from vmcs12 as they are: RSP, RIP, RFLAGS, the segment and
 * descriptor-table registers, interruptibility, activity, pending debug
 * exceptions, SYSENTER_CS/ESP/EIP; but the @stale groups (nvmx.h
 * NVMX_LAZY_GROUPS), which vcpu02 holds already and the entry does not
 * load. */
static void regs_from12(nestor_vcpu_state_t *s2, const uint64_t *f, uint64_t stale)
{
    s2->rsp = f[V12_GUEST_RSP];
    s2->rip = f[V12_GUEST_RIP];
    s2->rflags = f[V12_GUEST_RFLAGS];
#define SEG_FROM_(n, N) seg_from12(&s2->n, f, V12_GUEST_##N##_SEL, V12_GUEST_##N##_BASE, \
                                   V12_GUEST_##N##_LIMIT, V12_GUEST_##N##_AR);
    if (!(stale & NESTOR_MTD_SEGS)) {
        DATA_SEGS(SEG_FROM_)
    }
    if (!(stale & NESTOR_MTD_SYS_SEGS)) {
        SYS_SEGS(SEG_FROM_)
        s2->gdtr_base = f[V12_GUEST_GDTR_BASE];
        s2->gdtr_limit = f[V12_GUEST_GDTR_LIMIT];
        s2->idtr_base = f[V12_GUEST_IDTR_BASE];
        s2->idtr_limit = f[V12_GUEST_IDTR_LIMIT];
    }
#undef SEG_FROM_
    s2->interruptibility = f[V12_GUEST_INTERRUPTIBILITY];
    s2->activity = f[V12_GUEST_ACTIVITY];
    s2->pending_dbg = f[V12_GUEST_PENDING_DBG];
    s2->sysenter_cs = f[V12_GUEST_SYSENTER_CS];
    s2->sysenter_esp = f[V12_GUEST_SYSENTER_ESP];
    s2->sysenter_eip = f[V12_GUEST_SYSENTER_EIP];
}

/* SDM 26.6: the event vmcs12 injects, if any. True if there is one. */
static bool inject_from12(nestor_vcpu_state_t *s2, const uint64_t *f)
{
    s2->inject_info = 0;
    if (!(f[V12_ENTRY_INTR_INFO] & X86_INTR_VALID))
        return false;
    s2->inject_info = f[V12_ENTRY_INTR_INFO] & 0xFFFFFFFFu;
    s2->inject_error = f[V12_ENTRY_EXCEPTION_ERROR] & 0xFFFFFFFFu;
    s2->inject_instr_len = f[V12_ENTRY_INSTR_LEN] & 0xFFFFFFFFu;
    return true;
}

/* An MSR of L1's platform that an MSR list names (msr_lists.h): the VMM
 * reads or writes it as L1's RDMSR/WRMSR would (nvmx_setup.h
 * NVMX_REQ_MSR). A TSC written so moves L2's offset too (27.6, 26.4: the
 * TSC is one CPU's for L1 and L2). */
static nvmx_pmsr_t platform_msr(void *ctx, uint32_t msr, bool write, uint64_t *value)
{
    struct nvmx_monitor *m = ctx;
    nestor_word_t got = 0;
    const nestor_word_t r = l2_ask_vmm(m, NVMX_REQ_MSR, msr, write, write ? *value : 0, 0, &got);
    if (r == NVMX_REQ_FAULT)
        return NVMX_PMSR_GP;
    if (r != NVMX_REQ_OK)
        return NVMX_PMSR_ENDED;
    if (!write)
        *value = got;
    m->tsc_dirty |= write && (msr == MSR_IA32_TSC || msr == MSR_IA32_TSC_ADJUST);
    return NVMX_PMSR_OK;
}

static nvmx_platform_msrs_t platform_msrs(struct nvmx_monitor *m)
{
    return (nvmx_platform_msrs_t){ .ctx = m, .access = platform_msr,
                                   .efer_allowed = m->efer_allowed };
}

/* SDM 26.3.2: vcpu02's state from vmcs12's guest-state area and L1's
 * unswitched state. False: PDPTEs not in RAM (an entry failure). */
static bool load_guest(struct nvmx_monitor *m, const vmcs12_t *v, bool ept12)
{
    nestor_vcpu_state_t *s2 = m->l2.s, *s1 = m->s;
    const uint64_t *f = v->field;
    const uint32_t entry = (uint32_t)f[V12_ENTRY_CONTROLS];
    carry_unswitched(s2, s1);
    regs_from12(s2, f, 0);
    s2->cr0 = f[V12_GUEST_CR0];
    s2->cr3 = f[V12_GUEST_CR3];
    s2->cr4 = f[V12_GUEST_CR4];
    /* 26.3.2.1: without "load IA32_EFER", LMA (and LME with paging)
     * follow "IA-32e mode guest"; L1's other EFER bits stay. */
    if (entry & ENTRY_LOAD_EFER) {
        s2->efer = f[V12_GUEST_EFER];
    } else {
        const bool ia32e = entry & ENTRY_IA32E_MODE_GUEST;
        s2->efer = s1->efer & ~(uint64_t)(X86_EFER_LMA | X86_EFER_LME);
        if (ia32e)
            s2->efer |= X86_EFER_LMA | ((s2->cr0 & X86_CR0_PG) ? X86_EFER_LME : 0);
    }
    s2->pat = (entry & ENTRY_LOAD_PAT) ? f[V12_GUEST_PAT] : s1->pat;
    s2->dr7 = (entry & ENTRY_LOAD_DEBUG_CTLS) ? f[V12_GUEST_DR7] : s1->dr7;
    s2->debugctl = (entry & ENTRY_LOAD_DEBUG_CTLS) ? f[V12_GUEST_DEBUGCTL] : s1->debugctl;
    /* 26.3.2.4: PAE paging loads the PDPTEs from vmcs12 with EPT, else from
     * the guest's CR3 (here L2-physical is L1-physical). */
    const bool pae = (s2->cr0 & X86_CR0_PG) && (s2->cr4 & X86_CR4_PAE) &&
                     !(s2->efer & X86_EFER_LMA);
    if (ept12) {
        s2->pdpte[0] = f[V12_GUEST_PDPTE0];
        s2->pdpte[1] = f[V12_GUEST_PDPTE1];
        s2->pdpte[2] = f[V12_GUEST_PDPTE2];
        s2->pdpte[3] = f[V12_GUEST_PDPTE3];
    } else if (pae) {
        const void *p = m->env.phys(m->env.ctx, s2->cr3 & CR3_PAE_MASK, sizeof s2->pdpte);
        if (!p)
            return false;
        memcpy(s2->pdpte, p, sizeof s2->pdpte);
    }
    inject_from12(s2, f);
    return true;
}

/* SDM 25.2: a #PF exits if bit 14 of the exception bitmap is 1 and
 * PFEC & mask == match, or if it is 0 and they differ. */
static bool pf_exits(const uint64_t *f, uint32_t pfec)
{
    const bool bit14 = (uint32_t)f[V12_EXCEPTION_BITMAP] & (1u << X86_VEC_PF);
    const uint32_t mask = (uint32_t)f[V12_PF_ERROR_MASK], match = (uint32_t)f[V12_PF_ERROR_MATCH];
    return ((pfec & mask) == match) == bit14;
}

/* Whether L1's filter lets some #PFs exit with bit 14 clear. vcpu02's
 * exception bitmap follows its exit table (a slot per intercepted vector),
 * so then bit 14 is set there with a filter passing every #PF (mask 0,
 * match 0), and l2_exit applies L1's rule (pf_exits). */
static bool pf_filtered(const uint64_t *f)
{
    return !((uint32_t)f[V12_EXCEPTION_BITMAP] & (1u << X86_VEC_PF)) &&
           ((uint32_t)f[V12_PF_ERROR_MASK] | (uint32_t)f[V12_PF_ERROR_MATCH]);
}

/* vcpu02's controls: what L1 asks for within the kernel's ceiling (the
 * kernel adds its floor), L1's CR masks (the kernel keeps its own bits),
 * the #PF filter, and the TSC offset L1 sees plus L1's own for L2. */
static nestor_error_t write_controls(struct nvmx_monitor *m, const vmcs12_t *v)
{
    const uint64_t *f = v->field;
    const uint32_t proc = (uint32_t)f[V12_PROC_CONTROLS];
    const uint32_t proc2 = (proc & PROC_ACTIVATE_SECONDARY) ? (uint32_t)f[V12_PROC_CONTROLS2] : 0;
    nestor_word_t field = VMCS_TSC_OFFSET, l1_offset = 0;
    nestor_error_t e = nu_invoke(m->vcpu, NESTOR_VCPU_READ_VMCS, &field, 1, 0, 0, &l1_offset, 1);
    if (e != NESTOR_OK)
        return e;
    const nestor_word_t args[] = {
        VMCS_PIN_CONTROLS, f[V12_PIN_CONTROLS] & NESTOR_PIN_CEILING,
        VMCS_PROC_CONTROLS,
        (proc & NESTOR_PROC_CEILING) | PROC_ACTIVATE_SECONDARY | l2_inspector_proc(m),
        VMCS_PROC_CONTROLS2, (proc2 & NESTOR_PROC2_CEILING),
        VMCS_PF_ERROR_MASK, pf_filtered(f) ? 0 : f[V12_PF_ERROR_MASK],
        VMCS_PF_ERROR_MATCH, pf_filtered(f) ? 0 : f[V12_PF_ERROR_MATCH],
        VMCS_CR0_MASK, f[V12_CR0_MASK],
        VMCS_CR4_MASK, f[V12_CR4_MASK],
        VMCS_TSC_OFFSET, l1_offset + ((proc & PROC_TSC_OFFSETTING) ? f[V12_TSC_OFFSET] : 0),
    };
    return nu_invoke(m->l2.vcpu, NESTOR_VCPU_WRITE_VMCS, args, sizeof args / sizeof args[0], 0,
                     0, 0, 0);
}

/* The read shadows L2 sees: vmcs12's for the bits L1 owns, L2's own
 * otherwise (written after the state: loading CRs rewrites them). */
nestor_error_t l2_write_shadows(struct nvmx_monitor *m, const vmcs12_t *v)
{
    const uint64_t *f = v->field;
    m->l2.crs_known = false;            /* every load of vcpu02's CRs comes here (l2_guest_crs) */
    const nestor_word_t args[] = {
        VMCS_CR0_SHADOW, (f[V12_CR0_SHADOW] & f[V12_CR0_MASK]) |
                             (f[V12_GUEST_CR0] & ~f[V12_CR0_MASK]),
        VMCS_CR4_SHADOW, (f[V12_CR4_SHADOW] & f[V12_CR4_MASK]) |
                             (f[V12_GUEST_CR4] & ~f[V12_CR4_MASK]),
    };
    return nu_invoke(m->l2.vcpu, NESTOR_VCPU_WRITE_VMCS, args, 4, 0, 0, 0, 0);
}

/* The preemption timer L1 gave L2 (SDM 25.5.1): vmcs12's value counts TSC
 * >> NVMX_PREEMPT_RATE, the kernel's TSC >> the host's rate; off when L1's
 * pin control is. */
static nestor_word_t timer_value(const struct nvmx_monitor *m, const uint64_t *f)
{
    if (!(f[V12_PIN_CONTROLS] & PIN_PREEMPTION_TIMER))
        return 0;
    return ((f[V12_PREEMPT_TIMER_VALUE] << NVMX_PREEMPT_RATE) >> m->timer_rate) | 1;
}

static nestor_error_t set_timer(struct nvmx_monitor *m, const uint64_t *f)
{
    nestor_word_t t[2] = { timer_value(m, f), 0 };
    return nu_invoke(m->l2.vcpu, NESTOR_VCPU_SET_TIMER, t, 2, 0, 0, 0, 0);
}

/* "Save VMX-preemption timer value" (SDM 24.7.1; 27.3.4: what is left of
 * the timer at the exit, 0 when it ran out): the time left of vcpu02's
 * timer, which the kernel gives with the exit (NESTOR_MTD_TIMER; the timer
 * stays as it is: vcpu02 does not run before an entry sets it again).
 * set_timer's conversion inverted, rounded down and never above the value
 * this entry loaded: L1 never sees its timer go up. */
static void save_timer(struct nvmx_monitor *m, uint64_t *f)
{
    const nestor_vcpu_state_t *s2 = m->l2.s;
    const nestor_word_t left = (s2->mtd & NESTOR_MTD_TIMER) ? s2->timer : 0;
    const uint64_t loaded = f[V12_PREEMPT_TIMER_VALUE] & 0xFFFFFFFFu;
    const uint64_t v = left > (UINT64_MAX >> m->timer_rate)
                           ? loaded
                           : (left << m->timer_rate) >> NVMX_PREEMPT_RATE;
    f[V12_PREEMPT_TIMER_VALUE] = v < loaded ? v : loaded;
}

/* An NMI or interrupt the VMM holds for L1 (nvmx_setup.h nvmx_events_t:
 * L1 blocks NMIs, or has RFLAGS.IF 0 as it enters L2, so no kick announces
 * it), looked at as L2 is entered, no IPC: with "NMI exiting" L2 exits for
 * the NMI (SDM 25.2), without it goes to L2 (25.3); with "external-
 * interrupt exiting" L2 exits for the interrupt whatever its RFLAGS.IF
 * (25.2). Pending at the entry, it is recognized right after it (26.7.5,
 * after any event the entry injects: 26.6): vcpu02 is entered with a
 * pause, which makes it exit before its first instruction, and l2_exit
 * decides (l1_event). Without "external-interrupt exiting" L1's interrupt
 * is not looked at here. */
static void pause_for_l1_event(struct nvmx_monitor *m, const uint64_t *f)
{
    const nvmx_events_t *ev = m->events;
    l2_t *l2 = &m->l2;
    const bool intr = ev && ev->intr && (f[V12_PIN_CONTROLS] & PIN_EXTINT_EXITING);
    l2->held_again += intr && l2->held_last;
    l2->held_intr += intr;
    l2->held_last = intr;
    if (ev && (ev->nmi || intr) &&
        nu_invoke(l2->vcpu, NESTOR_VCPU_PAUSE, 0, 0, 0, 0, 0, 0) == NESTOR_OK)
        l2->kicked = true;
}

/* ---- VMRESUME of the VMCS L2 last exited from ----
 *
 * vcpu02 still holds L2's state and controls from its exit; only what L1
 * changed since needs loading: the vmcs12 fields it wrote with VMWRITE
 * (nvmx_vcpu_t.dirty) and what passes from L1 to L2 unswitched (GPRs,
 * debug registers, XCR0, the kernel's switched MSRs). A change to a
 * control, a CR, the EFER, the PAT, the MSR lists or the TSC L1 sees takes
 * the whole entry (l2_enter). */
#define FULL_ENTRY L2_FULL_ENTRY

/* The state group of vmcs12 field @i as a VMRESUME must load it again. */
static uint64_t field_group(unsigned i)
{
    const uint32_t enc = vmcs12_encoding(i);
    if (VMCS_FIELD_TYPE(enc) == VMCS_TYPE_READ_ONLY || i == V12_PREEMPT_TIMER_VALUE)
        return 0;           /* exit information; the timer is set at every entry */
    switch (i) {
    case V12_GUEST_RIP: return NESTOR_MTD_RIP;
    case V12_GUEST_RSP: return NESTOR_MTD_RSP;
    case V12_GUEST_RFLAGS: return NESTOR_MTD_RFLAGS;
    case V12_GUEST_INTERRUPTIBILITY: case V12_GUEST_ACTIVITY: case V12_GUEST_PENDING_DBG:
        return NESTOR_MTD_INTR;
    case V12_ENTRY_INTR_INFO: case V12_ENTRY_EXCEPTION_ERROR: case V12_ENTRY_INSTR_LEN:
        return NESTOR_MTD_INJECT;
    case V12_GUEST_SYSENTER_CS: case V12_GUEST_SYSENTER_ESP: case V12_GUEST_SYSENTER_EIP:
        return NESTOR_MTD_MSRS;
    case V12_GUEST_GDTR_BASE: case V12_GUEST_GDTR_LIMIT: case V12_GUEST_IDTR_BASE:
    case V12_GUEST_IDTR_LIMIT:
        return NESTOR_MTD_SYS_SEGS;
#define SEG_CASES_(n, N)                                                            \
    case V12_GUEST_##N##_SEL: case V12_GUEST_##N##_BASE: case V12_GUEST_##N##_LIMIT: \
    case V12_GUEST_##N##_AR:
    DATA_SEGS(SEG_CASES_)
        return NESTOR_MTD_SEGS;
    SYS_SEGS(SEG_CASES_)
        return NESTOR_MTD_SYS_SEGS;
#undef SEG_CASES_
    default:
        return FULL_ENTRY;
    }
}

/* The groups a VMRESUME of the vmcs12 at @gpa must load, or FULL_ENTRY
 * (field_group of each field, looked up in a table made once). */
uint64_t l2_entry_groups(struct nvmx_monitor *m, uint64_t gpa, bool launch)
{
    static uint64_t group_of[NVMX_FIELD_COUNT];
    static bool made;
    const l2_t *l2 = &m->l2;
    if (launch || !l2->started || l2->vmcs12 != gpa || m->tsc_dirty)
        return FULL_ENTRY;
    if (!made) {
        for (unsigned i = 0; i < NVMX_FIELD_COUNT; i++)
            group_of[i] = field_group(i);
        made = true;
    }
    uint64_t groups = 0;
    for (unsigned w = 0; w < NVMX_DIRTY_WORDS; w++)
        for (uint64_t bits = m->vmx.dirty[w]; bits; bits &= bits - 1) {
            uint64_t g = group_of[w * 64 + (unsigned)__builtin_ctzll(bits)];
            if (g == FULL_ENTRY)
                return FULL_ENTRY;
            groups |= g;
        }
    return groups;
}

/* Resume L2 loading only @groups and what L1 changed of its unswitched
 * state and through the VM-entry MSR-load list; false if that takes the
 * whole entry (which then builds all of L2's state again). */
static bool fast_resume(struct nvmx_monitor *m, const vmcs12_t *v, uint64_t groups,
                        nestor_word_t *label)
{
    l2_t *l2 = &m->l2;
    nestor_vcpu_state_t *s2 = l2->s, *s1 = m->s;
    const uint64_t *f = v->field;
    if (s1->cr2 != s2->cr2)
        groups |= NESTOR_MTD_CR;
    if (s1->dr0 != s2->dr0 || s1->dr1 != s2->dr1 || s1->dr2 != s2->dr2 || s1->dr3 != s2->dr3 ||
        s1->dr6 != s2->dr6)
        groups |= NESTOR_MTD_DEBUG;
    if (s1->xcr0 != s2->xcr0)
        groups |= NESTOR_MTD_XCR0;
    if (groups & NESTOR_MTD_CR)
        return false;                   /* loading CRs rewrites the shadows: whole entry */
    uint64_t msrs[MSRS_WORDS];
    const nestor_word_t debugctl = s2->debugctl;   /* a list may hold it too */
    msrs_get(msrs, s2);
    carry_unswitched(s2, s1);
    /* SDM 26.4: the VM-entry MSR-load list, loaded after the guest state at
     * every entry. A list of state-page MSRs only (a Nestor as L1 switches
     * its guests' SYSCALL MSRs so) is loaded here, into L2's state; one
     * naming an MSR of L1's platform (no @platform: it fails), or failing,
     * takes the whole entry, which loads it again in order and reports a
     * failure as 26.4 says. */
    if (f[V12_ENTRY_MSR_LOAD_COUNT] &&
        nvmx_msr_list_load_memo(&m->env, NULL, f[V12_ENTRY_MSR_LOAD_ADDR],
                                (uint32_t)f[V12_ENTRY_MSR_LOAD_COUNT], s2,
                                &l2->entry_load_memo).kind != NVMX_ENTRY_OK)
        return false;
    if (msrs_differ(msrs, s2))
        groups |= NESTOR_MTD_MSRS;
    if (s2->debugctl != debugctl)
        groups |= NESTOR_MTD_DEBUG;
    /* The stale groups stay as vcpu02 holds them: not in @groups (L1 wrote
     * none of their fields: a VMWRITE makes its group whole first, instr.c),
     * and not loaded, which the kernel would refuse (not fetched). */
    regs_from12(s2, f, m->vmx.stale);
    groups &= ~(uint64_t)NESTOR_MTD_INJECT;
    if (inject_from12(s2, f))
        groups |= NESTOR_MTD_INJECT;
    if (m->l2_page)                     /* an inspector of L2 */
        groups |= l2_inspector_enter(m, f);
    if (f[V12_PIN_CONTROLS] & PIN_PREEMPTION_TIMER) {
        s2->timer = timer_value(m, f);  /* set with the reply (NESTOR_MTD_TIMER) */
        groups |= NESTOR_MTD_TIMER;
    }
    pause_for_l1_event(m, f);
    /* vcpu02's exit answered with our receive (serve.c answer_and_recv) */
    nvmx_answer_with_recv(m, l2->vcpu, groups | NESTOR_MTD_GPRS);
    *label = NVMX_NO_REPLY;
    return true;
}

nestor_word_t l2_enter(struct nvmx_monitor *m, vmcs12_t *v, uint64_t gpa, bool launch,
                       uint64_t groups, nvmx_entry_check_t *failure)
{
    l2_t *l2 = &m->l2;
    if (!l2->built && !(build(m) && nvmx_state_l2_built(m))) {
        printf("nested-vmx %s: cannot make L2's VCPU (memory budget?): VM stopped\n", m->name);
        return NESTOR_EXIT_REPLY_STOP;
    }
    if (m->kernel_nested)
        PROF_SPAN(PROF_SNAPSHOT, state_copy(&m->s_entered, m->s));  /* (resume_l1) */
    memset(m->vmx.dirty, 0, sizeof m->vmx.dirty);
    nestor_word_t label;
    if (groups != FULL_ENTRY && fast_resume(m, v, groups, &label)) {
        l2->entries++;
        l2->running = label == NVMX_NO_REPLY;
        return label;
    }
    /* Built whole from vmcs12 (load_guest): every group, none stale
     * (enter.c syncs before the checks of a full entry; a fast resume
     * that falls back to it, here). */
    l2_sync12(m);
    m->tsc_dirty = false;
    const uint64_t *f = v->field;
    const uint32_t proc = (uint32_t)f[V12_PROC_CONTROLS];
    const uint32_t proc2 = (proc & PROC_ACTIVATE_SECONDARY) ? (uint32_t)f[V12_PROC_CONTROLS2] : 0;
    const bool ept12 = proc2 & PROC2_ENABLE_EPT;
    const uint64_t eptp = ept12 ? f[V12_EPT_POINTER] : EPT02_NO_EPT;
    if (eptp != l2->eptp12) {
        ept02_flush(m);
        l2->eptp12 = eptp;
        l2_inspector_eptp(m, eptp);
    }
    nestor_word_t mask = L1_STATE_GROUPS, refusal[2] = { 0 };
    nestor_error_t e = load_guest(m, v, ept12) ? NESTOR_OK : NESTOR_ERR_INVALID_ARGUMENT;
    if (e == NESTOR_OK) {
        /* SDM 26.4: the VM-entry MSR-load list, after the guest state (and
         * before vcpu02's TSC offset: the list may write L1's TSC). */
        const nvmx_platform_msrs_t pm = platform_msrs(m);
        *failure = nvmx_msr_list_load_memo(&m->env, &pm, f[V12_ENTRY_MSR_LOAD_ADDR],
                                           (uint32_t)f[V12_ENTRY_MSR_LOAD_COUNT], l2->s,
                                           &l2->entry_load_memo);
        if (failure->kind != NVMX_ENTRY_OK)
            return NVMX_L2_ENTRY_FAILED;
        l2_inspector_enter(m, f);       /* (before the controls; every group is loaded below) */
        e = write_controls(m, v);
    }
    if (e == NESTOR_OK &&
        !sync_exceptions(m, (uint32_t)f[V12_EXCEPTION_BITMAP] |
                                (pf_filtered(f) ? 1u << X86_VEC_PF : 0)))
        e = NESTOR_ERR_NOT_ENOUGH_MEMORY;
    if (e == NESTOR_OK)
        e = nu_invoke(l2->vcpu, NESTOR_VCPU_LOAD_STATE, &mask, 1, 0, 0, refusal, 2);
    if (e == NESTOR_OK)
        e = l2_write_shadows(m, v);
    if (e == NESTOR_OK)
        e = set_timer(m, f);
    if (e != NESTOR_OK) {
        printf("nested-vmx %s: the kernel refused L2's state built from vmcs12 at 0x%lx "
               "(error %lu, 0x%lx): VM stopped\n", m->name, gpa, (nestor_word_t)e, refusal[1]);
        return NESTOR_EXIT_REPLY_STOP;
    }
    if (launch)
        v->launch_state = VMCS12_LAUNCHED;
    l2->vmcs12 = gpa;
    l2->launch = launch;
    l2->entries++;
    l2->running = true;
    const nestor_word_t inject = l2->s->inject_info ? NESTOR_MTD_INJECT : 0;
    pause_for_l1_event(m, f);
    if (!l2->started) {
        if (inject) {
            nestor_word_t im = NESTOR_MTD_INJECT;
            nu_invoke(l2->vcpu, NESTOR_VCPU_LOAD_STATE, &im, 1, 0, 0, 0, 0);
        }
        l2->started = nu_tcb_resume(l2->tcb) == NESTOR_OK;
        if (!l2->started)
            return NESTOR_EXIT_REPLY_STOP;
    } else {
        const nestor_word_t args[] = { NESTOR_EXIT_REPLY_RESUME, inject };
        if (nu_invoke(l2->vcpu, NESTOR_VCPU_REPLY, args, 2, 0, 0, 0, 0) != NESTOR_OK)
            return NESTOR_EXIT_REPLY_STOP;
    }
    return NVMX_NO_REPLY;
}

/* ---- exits ---- */

static bool bitmap_bit(struct nvmx_monitor *m, uint64_t page, uint64_t bit)
{
    const uint8_t *p = m->env.phys(m->env.ctx, page + bit / 8, 1);
    return !p || (*p >> (bit % 8)) & 1;      /* not RAM: as if set (L1 wants it) */
}

/* SDM 25.1.3: an I/O instruction exits with "use I/O bitmaps" if a bit of
 * any port it accesses is set (or the access wraps past FFFFH), else with
 * "unconditional I/O exiting". */
static bool wants_io(struct nvmx_monitor *m, const uint64_t *f, uint32_t proc, uint64_t q)
{
    if (!(proc & PROC_USE_IO_BITMAPS))
        return proc & PROC_UNCOND_IO_EXITING;
    const unsigned port = IOQ_PORT(q), size = IOQ_SIZE(q);
    if (port + size > 0x10000)
        return true;
    for (unsigned p = port; p < port + size; p++)
        if (p < IO_BITMAP_B_FIRST ? bitmap_bit(m, f[V12_IO_BITMAP_A], p)
                                  : bitmap_bit(m, f[V12_IO_BITMAP_B], p - IO_BITMAP_B_FIRST))
            return true;
    return false;
}

/* SDM 25.1.3, 24.6.9: RDMSR/WRMSR exit without MSR bitmaps, for an MSR
 * outside both ranges, or when its bit is set. */
static bool wants_msr(struct nvmx_monitor *m, const uint64_t *f, uint32_t proc, uint32_t msr,
                      bool write)
{
    if (!(proc & PROC_USE_MSR_BITMAPS))
        return true;
    uint64_t off = write ? MSR_BITMAP_WRITE_OFF : 0;
    if (msr <= MSR_BITMAP_LOW_LAST)
        return bitmap_bit(m, f[V12_MSR_BITMAP] + off, msr);
    if (msr >= MSR_BITMAP_HIGH_FIRST && msr <= MSR_BITMAP_HIGH_LAST)
        return bitmap_bit(m, f[V12_MSR_BITMAP] + off + MSR_BITMAP_HIGH_OFF,
                          msr - MSR_BITMAP_HIGH_FIRST);
    return true;
}

/* SDM 25.1.3: which control-register accesses exit. */
static bool wants_cr(const uint64_t *f, uint32_t proc, uint64_t q, nestor_vcpu_state_t *s2)
{
    const unsigned cr = CRQ_NUMBER(q);
    const uint64_t mask0 = f[V12_CR0_MASK], shadow0 = f[V12_CR0_SHADOW];
    switch (CRQ_TYPE(q)) {
    case CRQ_MOV_TO_CR:
        if (cr == 0 || cr == 4) {
            const uint64_t mask = cr ? f[V12_CR4_MASK] : mask0;
            const uint64_t shadow = cr ? f[V12_CR4_SHADOW] : shadow0;
            return ((*nvmx_gpr(s2, CRQ_GPR(q)) ^ shadow) & mask) != 0;
        }
        if (cr == 3)
            return proc & PROC_CR3_LOAD_EXITING;     /* no CR3-target values (count 0) */
        return cr == 8 && (proc & PROC_CR8_LOAD_EXITING);
    case CRQ_MOV_FROM_CR:
        return cr == 3 ? (proc & PROC_CR3_STORE_EXITING) != 0
                       : cr == 8 && (proc & PROC_CR8_STORE_EXITING);
    case CRQ_CLTS:
        return (mask0 & X86_CR0_TS) && (shadow0 & X86_CR0_TS);
    default: {                                        /* LMSW */
        const uint64_t src = CRQ_LMSW_SRC(q) & LMSW_BITS, m4 = mask0 & LMSW_BITS;
        return ((src ^ shadow0) & m4 & ~X86_CR0_PE) ||
               ((m4 & X86_CR0_PE) && !(shadow0 & X86_CR0_PE) && (src & X86_CR0_PE));
    }
    }
}

/* Whether L1 asked for this exit of L2; false: the kernel's floor made it. */
static bool l1_wants(struct nvmx_monitor *m, const vmcs12_t *v, unsigned reason, uint64_t q,
                     const nestor_word_t *mr)
{
    const uint64_t *f = v->field;
    const uint32_t pin = (uint32_t)f[V12_PIN_CONTROLS];
    const uint32_t proc = (uint32_t)f[V12_PROC_CONTROLS];
    const uint32_t proc2 = (proc & PROC_ACTIVATE_SECONDARY) ? (uint32_t)f[V12_PROC_CONTROLS2] : 0;
    nestor_vcpu_state_t *s2 = m->l2.s;
    switch (reason) {
    case NESTOR_EXIT_IO:
        return wants_io(m, f, proc, q);
    case NESTOR_EXIT_RDMSR:
    case NESTOR_EXIT_WRMSR:
        return wants_msr(m, f, proc, (uint32_t)s2->rcx, reason == NESTOR_EXIT_WRMSR);
    case NESTOR_EXIT_CR_ACCESS:
        return wants_cr(f, proc, q, s2);
    case NESTOR_EXIT_MWAIT:
        return proc & PROC_MWAIT_EXITING;
    case NESTOR_EXIT_MONITOR:
        return proc & PROC_MONITOR_EXITING;
    case NESTOR_EXIT_RDPMC:
        return proc & PROC_RDPMC_EXITING;
    case NESTOR_EXIT_WBINVD:
        return proc2 & PROC2_WBINVD_EXITING;
    case NESTOR_EXIT_PREEMPT_TIMER:
        return (pin & PIN_PREEMPTION_TIMER) && q == NESTOR_PREEMPT_MONITOR_TIMER;
    case NESTOR_EXIT_VMREAD:
    case NESTOR_EXIT_VMWRITE: {
        /* SDM 25.1.3: with "VMCS shadowing", by L1's bitmaps. */
        const nvmx_insn_t insn = l2_insn(mr);
        return nvmx_l2_shadow_exits(v, &m->env, s2, &insn);
    }
    case NESTOR_EXIT_EXCEPTION:
        if ((mr[NESTOR_EXIT_MR_INTR_INFO] & 0xFF) == X86_VEC_PF)
            return pf_exits(f, (uint32_t)mr[NESTOR_EXIT_MR_INTR_ERROR]);
        return true;
    default:
        /* The rest exit unconditionally (CPUID, INVD, GETSEC, XSETBV, the VMX
         * instructions, triple fault, task switch) or only because L1's
         * controls put them in vcpu02 (HLT, INVLPG, RDTSC, MOV DR, the
         * windows, PAUSE, descriptor tables, the exceptions L1 intercepts). */
        return true;
    }
}

/* SDM 27.3.1: CR0 and CR4 as they are in vcpu02, which the state page does
 * not show (it has the read shadows in the bits the masks own: the guest's
 * view). The owned bits of the real registers change only when nested-vmx
 * loads them (MOV to CR, CLTS and LMSW leave them, SDM 25.3), so they are
 * read once after each load (l2_write_shadows forgets them), with the
 * masks; the other bits are the state page's. */
static void l2_guest_crs(struct nvmx_monitor *m, uint64_t *f)
{
    l2_t *l2 = &m->l2;
    const nestor_vcpu_state_t *s2 = l2->s;
    if (!l2->crs_known) {
        nestor_word_t fields[4] = { VMCS_GUEST_CR0, VMCS_GUEST_CR4, VMCS_CR0_MASK, VMCS_CR4_MASK };
        nestor_word_t got[4];
        if (nu_invoke(l2->vcpu, NESTOR_VCPU_READ_VMCS, fields, 4, 0, 0, got, 4) != NESTOR_OK)
            return;
        l2->cr_real[0] = got[0];
        l2->cr_real[1] = got[1];
        l2->cr_owned[0] = got[2];
        l2->cr_owned[1] = got[3];
        l2->crs_known = true;
    }
    f[V12_GUEST_CR0] = (l2->cr_real[0] & l2->cr_owned[0]) | (s2->cr0 & ~l2->cr_owned[0]);
    f[V12_GUEST_CR4] = (l2->cr_real[1] & l2->cr_owned[1]) | (s2->cr4 & ~l2->cr_owned[1]);
}

/* SDM 27.3.1, 27.3.2: the lazy groups @groups (nvmx.h NVMX_LAZY_GROUPS)
 * of L2's state into vmcs12 @f from vcpu02's state page: the segment
 * registers, LDTR, TR, GDTR, IDTR and, with EPT12, the PDPTEs (27.3.4:
 * saved where EPT is on, PAE paging or not). */
static void lazy_to12(struct nvmx_monitor *m, uint64_t *f, uint64_t groups)
{
    const nestor_vcpu_state_t *s2 = m->l2.s;
#define SEG_TO_(n, N) seg_to12(f, &s2->n, V12_GUEST_##N##_SEL, V12_GUEST_##N##_BASE, \
                               V12_GUEST_##N##_LIMIT, V12_GUEST_##N##_AR);
    if (groups & NESTOR_MTD_SEGS) {
        DATA_SEGS(SEG_TO_)
    }
    if (groups & NESTOR_MTD_SYS_SEGS) {
        SYS_SEGS(SEG_TO_)
        f[V12_GUEST_GDTR_BASE] = s2->gdtr_base;
        f[V12_GUEST_GDTR_LIMIT] = s2->gdtr_limit;
        f[V12_GUEST_IDTR_BASE] = s2->idtr_base;
        f[V12_GUEST_IDTR_LIMIT] = s2->idtr_limit;
    }
#undef SEG_TO_
    if (groups & NESTOR_MTD_PDPTE) {
        f[V12_GUEST_PDPTE0] = s2->pdpte[0];
        f[V12_GUEST_PDPTE1] = s2->pdpte[1];
        f[V12_GUEST_PDPTE2] = s2->pdpte[2];
        f[V12_GUEST_PDPTE3] = s2->pdpte[3];
    }
}

void l2_sync12(struct nvmx_monitor *m)
{
    l2_t *l2 = &m->l2;
    nestor_word_t stale = m->vmx.stale;
    if (!stale)
        return;
    m->vmx.stale = 0;
    /* Stale groups exist only while L2 waits in the exit it made from
     * the current VMCS (nvmx.h nvmx_vcpu_t.stale): vcpu02 holds them. */
    vmcs12_t *v = m->env.phys(m->env.ctx, l2->vmcs12, sizeof(vmcs12_t));
    if (!v || nu_invoke(l2->vcpu, NESTOR_VCPU_STORE_STATE, &stale, 1, 0, 0, 0, 0) != NESTOR_OK) {
        printf("nested-vmx %s: L2's state for vmcs12 at 0x%lx could not be read (kernel or "
               "L1's RAM): it keeps what it had\n", m->name, l2->vmcs12);
        return;
    }
    l2->synced++;
    lazy_to12(m, v->field, stale);
}

/* SDM 27.2, 27.3: write exit information and L2's state into vmcs12. */
static void save_exit(struct nvmx_monitor *m, vmcs12_t *v, const nestor_word_t *mr, uint32_t reason,
                      uint64_t qual)
{
    uint64_t *f = v->field;
    const nestor_vcpu_state_t *s2 = m->l2.s;
    const uint32_t exit = (uint32_t)f[V12_EXIT_CONTROLS];
    f[V12_EXIT_REASON] = reason;
    f[V12_EXIT_QUALIFICATION] = qual;
    f[V12_GUEST_LINEAR_ADDR] = mr[NESTOR_EXIT_MR_GUEST_LINEAR];
    f[V12_GUEST_PHYS_ADDR] = mr[NESTOR_EXIT_MR_GUEST_PHYS];
    f[V12_EXIT_INSTR_LEN] = mr[NESTOR_EXIT_MR_INSTR_LEN];
    f[V12_EXIT_INSTR_INFO] = mr[NESTOR_EXIT_MR_INSTR_INFO];
    f[V12_EXIT_INTR_INFO] = mr[NESTOR_EXIT_MR_INTR_INFO];
    f[V12_EXIT_INTR_ERROR] = mr[NESTOR_EXIT_MR_INTR_ERROR];
    f[V12_IDT_VECTORING_INFO] = mr[NESTOR_EXIT_MR_IDT_VECTORING];
    f[V12_IDT_VECTORING_ERROR] = mr[NESTOR_EXIT_MR_IDT_ERROR];
    /* SDM 24.8.3: every VM exit clears the valid bit of the VM-entry
     * interruption-information field. */
    f[V12_ENTRY_INTR_INFO] &= ~(uint64_t)X86_INTR_VALID;
    PROF_SPAN(PROF_SAVE_CR, l2_guest_crs(m, f));
    f[V12_GUEST_CR3] = s2->cr3;
    f[V12_GUEST_RSP] = s2->rsp;
    f[V12_GUEST_RIP] = s2->rip;
    f[V12_GUEST_RFLAGS] = s2->rflags;
    /* The lazy groups this exit did not fetch stay in vcpu02: stale in
     * vmcs12 until someone looks (l2_sync12); those it fetched go in. */
    const uint64_t lazy = m->l2.eptp12 != EPT02_NO_EPT
                              ? NVMX_LAZY_GROUPS
                              : NVMX_LAZY_GROUPS & ~(uint64_t)NESTOR_MTD_PDPTE;
    m->vmx.stale = lazy & ~s2->mtd;
    lazy_to12(m, f, lazy & s2->mtd);
    f[V12_GUEST_INTERRUPTIBILITY] = s2->interruptibility;
    f[V12_GUEST_ACTIVITY] = s2->activity;
    f[V12_GUEST_PENDING_DBG] = s2->pending_dbg;
    f[V12_GUEST_SYSENTER_CS] = s2->sysenter_cs;
    f[V12_GUEST_SYSENTER_ESP] = s2->sysenter_esp;
    f[V12_GUEST_SYSENTER_EIP] = s2->sysenter_eip;
    if (exit & EXIT_SAVE_DEBUG_CTLS) {
        f[V12_GUEST_DR7] = s2->dr7;
        f[V12_GUEST_DEBUGCTL] = s2->debugctl;
    }
    if (exit & EXIT_SAVE_PAT)
        f[V12_GUEST_PAT] = s2->pat;
    if (exit & EXIT_SAVE_EFER)
        f[V12_GUEST_EFER] = s2->efer;
    if (exit & EXIT_SAVE_PREEMPT_TIMER)     /* the entry checks: the timer is on (26.2.1.2) */
        PROF_SPAN(PROF_TIMER_SAVE, save_timer(m, f));
    /* SDM 27.2 (IA32_VMX_MISC bit 5): EFER.LMA goes into "IA-32e mode guest". */
    f[V12_ENTRY_CONTROLS] = (f[V12_ENTRY_CONTROLS] & ~(uint64_t)ENTRY_IA32E_MODE_GUEST) |
                            ((s2->efer & X86_EFER_LMA) ? ENTRY_IA32E_MODE_GUEST : 0);
}

/* The groups of L1's state to load at a reflected exit. L1's VMCS still
 * holds its state from its VMLAUNCH/VMRESUME exit: where our kernel runs
 * in a VM, each field it writes may be an exit of its own (BENCHMARKS.md),
 * so only the groups that differ from that state (m->s_entered) are loaded;
 * on a CPU, comparing costs more than writing (nested-vmx/README.md), so
 * every group the exit may change is: all but the PDPTEs, which only a
 * 32-bit PAE host loads (27.5.4). */
/*
 * Except the groups a Nestor as L1 leaves alike across the exit: its
 * control and segment registers (the host state it wrote is what it runs
 * with when it enters L2), its debug registers and XCR0, its MSRs (the
 * host SYSENTER fields and PAT it wrote, 27.5.1; the SYSCALL MSRs it
 * switches through the VM-exit MSR-load list, 27.6) and its
 * interruptibility and activity state (27.5.3: active, no blocking, as
 * it was at its VMRESUME). (Not the descriptor-table registers and
 * LDTR/TR: 27.5.2 gives them limits of its own, which L1's rarely are.)
 * L1's VMCS holds them as its VMLAUNCH/VMRESUME exit stored them in the
 * state page (the groups that exit fetched, mtd): L1 has not run since,
 * and nothing between that exit and this reflection writes them
 * (m->s_entered rests on the same where our kernel runs in a VM). Kept
 * before the reflection writes L1's state (l1_kept_get), compared after
 * it: a group whose words all stay is not loaded again. Blocks of words,
 * two at a time, cheaper than the loads they save (in the kernel: the
 * VMWRITEs, its checks of the state, the VPID flush after CRs and the
 * debug registers' reload).
 */
#define KEPT_A_FIRST (offsetof(nestor_vcpu_state_t, cr0) / sizeof(uint64_t))
#define KEPT_A_PAIRS ((offsetof(nestor_vcpu_state_t, ldtr) - offsetof(nestor_vcpu_state_t, cr0)) / \
                      (2 * sizeof(uint64_t)))
#define KEPT_A_GROUPS (NESTOR_MTD_CR | NESTOR_MTD_SEGS)
#define KEPT_B_FIRST (offsetof(nestor_vcpu_state_t, sysenter_cs) / sizeof(uint64_t))
#define KEPT_B_PAIRS ((offsetof(nestor_vcpu_state_t, xcr0) + sizeof(uint64_t) - \
                       offsetof(nestor_vcpu_state_t, sysenter_cs)) / (2 * sizeof(uint64_t)))
#define KEPT_M_PAIRS ((offsetof(nestor_vcpu_state_t, dr0) - \
                       offsetof(nestor_vcpu_state_t, sysenter_cs)) / (2 * sizeof(uint64_t)))
#define KEPT_B_GROUPS (NESTOR_MTD_DEBUG | NESTOR_MTD_XCR0)
/* cr0..efer and es..gs: 23 words, copied two at a time with the 24th
 * (LDTR's first, not compared); sysenter_cs..xcr0: 18 words, the first 10
 * NESTOR_MTD_MSRS (the exit's host SYSENTER fields and PAT, the exit
 * MSR-load list restoring what a Nestor as L1 switches), the other 8
 * DEBUG and XCR0; and NESTOR_MTD_INTR's three words (27.5.3 leaves L1
 * active without blocking, as it was at its VMRESUME exit). */
_Static_assert(offsetof(nestor_vcpu_state_t, es) == offsetof(nestor_vcpu_state_t, efer) + 8 &&
                   offsetof(nestor_vcpu_state_t, ldtr) == offsetof(nestor_vcpu_state_t, es) +
                                                              6 * sizeof(nestor_vcpu_seg_t) &&
                   (offsetof(nestor_vcpu_state_t, ldtr) - offsetof(nestor_vcpu_state_t, cr0)) %
                           16 == 8 &&
                   offsetof(nestor_vcpu_state_t, xcr0) == offsetof(nestor_vcpu_state_t, debugctl) + 8 &&
                   offsetof(nestor_vcpu_state_t, dr0) == offsetof(nestor_vcpu_state_t, tsc_aux) + 8 &&
                   (offsetof(nestor_vcpu_state_t, dr0) - offsetof(nestor_vcpu_state_t, sysenter_cs)) %
                           16 == 0 &&
                   (offsetof(nestor_vcpu_state_t, xcr0) + 8 - offsetof(nestor_vcpu_state_t, dr0)) %
                           16 == 0,
               "CR0..GS (and one word more), SYSENTER_CS..TSC_AUX and DR0..XCR0 are blocks "
               "of word pairs");
#define KEPT_A_COVERS (KEPT_A_PAIRS * 2 + 1)

typedef uint64_t word_pair_t __attribute__((vector_size(16), aligned(8)));

typedef struct {
    word_pair_t a[KEPT_A_PAIRS + 1], b[KEPT_B_PAIRS];
    nestor_word_t intr[3], mtd;         /* interruptibility, activity, pending_dbg */
} l1_kept_t;

static void l1_kept_get(l1_kept_t *k, const nestor_vcpu_state_t *s1)
{
    const word_pair_t *a = (const word_pair_t *)((const uint64_t *)s1 + KEPT_A_FIRST);
    const word_pair_t *b = (const word_pair_t *)((const uint64_t *)s1 + KEPT_B_FIRST);
    for (unsigned i = 0; i <= KEPT_A_PAIRS; i++)
        k->a[i] = a[i];
    for (unsigned i = 0; i < KEPT_B_PAIRS; i++)
        k->b[i] = b[i];
    k->intr[0] = s1->interruptibility;
    k->intr[1] = s1->activity;
    k->intr[2] = s1->pending_dbg;
    k->mtd = s1->mtd;
}

static nestor_word_t l1_groups(struct nvmx_monitor *m, const nestor_vcpu_state_t *s1,
                               const l1_kept_t *k)
{
    if (m->kernel_nested)
        return groups_changed(&m->s_entered, s1, L1_STATE_GROUPS);
    const bool host_pae = (s1->cr0 & X86_CR0_PG) && (s1->cr4 & X86_CR4_PAE) &&
                          !(s1->efer & X86_EFER_LMA);
    const word_pair_t *a = (const word_pair_t *)((const uint64_t *)s1 + KEPT_A_FIRST);
    const word_pair_t *b = (const word_pair_t *)((const uint64_t *)s1 + KEPT_B_FIRST);
    word_pair_t da = { 0, 0 }, dm = { 0, 0 }, db = { 0, 0 };
    for (unsigned i = 0; i < KEPT_A_PAIRS; i++)
        da |= k->a[i] ^ a[i];
    for (unsigned i = 0; i < KEPT_M_PAIRS; i++)
        dm |= k->b[i] ^ b[i];
    for (unsigned i = KEPT_M_PAIRS; i < KEPT_B_PAIRS; i++)
        db |= k->b[i] ^ b[i];
    const uint64_t last = ((const uint64_t *)&k->a[KEPT_A_PAIRS])[0] ^
                          ((const uint64_t *)&a[KEPT_A_PAIRS])[0];   /* gs.ar... word 23 */
    const uint64_t di = (k->intr[0] ^ s1->interruptibility) | (k->intr[1] ^ s1->activity) |
                        (k->intr[2] ^ s1->pending_dbg);
    nestor_word_t same = (da[0] | da[1] | last ? 0 : KEPT_A_GROUPS) |
                         (dm[0] | dm[1] ? 0 : NESTOR_MTD_MSRS) |
                         (db[0] | db[1] ? 0 : KEPT_B_GROUPS) | (di ? 0 : NESTOR_MTD_INTR);
    same &= k->mtd;                     /* (a group the exit did not fetch: loaded) */
    return L1_STATE_GROUPS & ~same & ~(host_pae ? 0 : (nestor_word_t)NESTOR_MTD_PDPTE);
}

/* Back to L1 at vmcs12's host state (27.5), answering its VMLAUNCH/VMRESUME
 * (l1_groups: what is loaded again). */
static nestor_word_t resume_l1(struct nvmx_monitor *m, const vmcs12_t *v)
{
    nestor_vcpu_state_t *s1 = m->s;
    const uint64_t *f = v->field;
    uint32_t bad = 0;
    /* 27.4: the VM-exit MSR-store list takes L2's values; 27.5 loads the
     * host state; 27.6 the VM-exit MSR-load list. A failure is a VMX abort
     * (27.7). */
    const uint64_t prof_t0 = NVMX_PROFILE ? nvmx_prof_tsc() : 0;
    l1_kept_t kept;
    l1_kept_get(&kept, s1);
    const nvmx_platform_msrs_t pm = platform_msrs(m);
    bool ok = nvmx_msr_list_store_memo(&m->env, &pm, f[V12_EXIT_MSR_STORE_ADDR],
                                       (uint32_t)f[V12_EXIT_MSR_STORE_COUNT], m->l2.s, &bad,
                                       &m->l2.exit_store_memo);
    carry_unswitched(s1, m->l2.s);
    ok = ok && nvmx_load_host_state(v, &m->env, s1);
    /* An NMI-caused VM exit leaves NMIs blocked (SDM 24.4.2, 27.5: until
     * L1's next IRET): after the host state, which loads no blocking
     * (27.5.3), or the blocking would be lost. */
    if ((f[V12_EXIT_REASON] & NESTOR_EXIT_REASON_MASK) == NESTOR_EXIT_EXCEPTION &&
        (f[V12_EXIT_INTR_INFO] & X86_INTR_VALID) &&
        (f[V12_EXIT_INTR_INFO] & X86_INTR_TYPE_MASK) == X86_INTR_TYPE_NMI)
        s1->interruptibility |= X86_INTR_BLOCK_NMI;
    if (ok) {
        nvmx_entry_check_t c = nvmx_msr_list_load_memo(&m->env, &pm, f[V12_EXIT_MSR_LOAD_ADDR],
                                                       (uint32_t)f[V12_EXIT_MSR_LOAD_COUNT], s1,
                                                       &m->l2.exit_load_memo);
        ok = c.kind == NVMX_ENTRY_OK;
        bad = (uint32_t)c.qualification;
    }
    if (!ok) {
        printf("nested-vmx %s: VMX abort (SDM 27.7): L1's host state or MSR lists cannot be "
               "loaded (entry %u): VM stopped\n", m->name, bad);
        const nestor_word_t stop[] = { NESTOR_EXIT_REPLY_STOP, 0 };
        nu_invoke(m->vcpu, NESTOR_VCPU_REPLY, stop, 2, 0, 0, 0, 0);
        return NESTOR_EXIT_REPLY_STOP;
    }
    nestor_word_t groups = l1_groups(m, s1, &kept);
#if NVMX_PROFILE
    nvmx_prof.part[PROF_HOST_STATE] += nvmx_prof_tsc() - prof_t0;
#else
    (void)prof_t0;
#endif
    /* What L1 reads of the exit, without exits: into the shadow with the reply. */
    PROF_SPAN(PROF_PUSH, groups |= shadow12_push_reply(m));
    /* L1's exit answered with our receive (serve.c answer_and_recv; a
     * refusal is said there, and stops the VM) */
    nvmx_answer_with_recv(m, m->vcpu, groups);
    return NVMX_NO_REPLY;
}

static nestor_word_t reflect(struct nvmx_monitor *m, vmcs12_t *v, const nestor_word_t *mr,
                             uint32_t reason, uint64_t qual);

nestor_word_t l2_reflect_carried(struct nvmx_monitor *m, vmcs12_t *v, const nestor_word_t *mr,
                                 uint32_t reason, uint64_t qual)
{
    m->l2.at_l0--;                          /* l2_exit counted it as handled here */
    return reflect(m, v, mr, reason, qual);
}

nestor_word_t l2_raise(struct nvmx_monitor *m, vmcs12_t *v, unsigned vector, bool has_error,
                       uint32_t error, uint64_t addr, nestor_word_t *changed)
{
    nestor_vcpu_state_t *s2 = m->l2.s;
    const uint64_t *f = v->field;
    const bool exits = vector == X86_VEC_PF
                           ? pf_exits(f, error)
                           : ((uint32_t)f[V12_EXCEPTION_BITMAP] >> vector) & 1;
    if (exits) {
        /* 27.2.2: the exception's interruption information and error code;
         * 27.2.1: a #PF's linear address in the qualification (27.1: CR2
         * is not written); no IDT-vectoring information, no instruction. */
        nestor_word_t mr[NESTOR_EXIT_MR_COUNT] = { 0 };
        mr[NESTOR_EXIT_MR_INTR_INFO] = vector | X86_INTR_TYPE_HW_EXC | X86_INTR_VALID |
                                       (has_error ? X86_INTR_DELIVER_ERR : 0);
        mr[NESTOR_EXIT_MR_INTR_ERROR] = has_error ? error : 0;
        return l2_reflect_carried(m, v, mr, NESTOR_EXIT_EXCEPTION,
                                  vector == X86_VEC_PF ? addr : 0);
    }
    if (vector == X86_VEC_PF) {
        /* SDM Vol. 3A 4.7: the #PF loads CR2 with the address (injecting a
         * #PF does not write CR2, SDM 26.6.1: loaded here). */
        nestor_word_t cr_mask = NESTOR_MTD_CR;
        s2->cr2 = addr;
        if (nu_invoke(m->l2.vcpu, NESTOR_VCPU_LOAD_STATE, &cr_mask, 1, 0, 0, 0, 0) != NESTOR_OK ||
            l2_write_shadows(m, v) != NESTOR_OK)
            return NESTOR_EXIT_REPLY_STOP;
    }
    *changed |= nvmx_inject_exception(s2, vector, has_error, error);
    return NESTOR_EXIT_REPLY_RESUME;
}

/* A #PF that exited only because vcpu02 takes every #PF (pf_filtered):
 * delivered to L2 as the CPU would have. A #PF that exits leaves CR2
 * unwritten (SDM 27.1): the address is the exit qualification (27.2.1). */
static nestor_word_t l2_pf_to_l2(struct nvmx_monitor *m, vmcs12_t *v,
                                 const nestor_word_t *mr, uint64_t qual, nestor_word_t *changed)
{
    return l2_raise(m, v, X86_VEC_PF, true, (uint32_t)mr[NESTOR_EXIT_MR_INTR_ERROR], qual,
                    changed);
}

/* The exit information of an exit L2 makes for L1's event: no
 * qualification or instruction information; the IDT-vectoring information
 * of vcpu02's exit (27.2.4); interruption information @info. */
static void event_mrs(const nestor_word_t *mr, nestor_word_t *out, uint64_t info)
{
    for (unsigned i = 0; i < NESTOR_EXIT_MR_COUNT; i++)
        out[i] = i == NESTOR_EXIT_MR_IDT_VECTORING || i == NESTOR_EXIT_MR_IDT_ERROR ? mr[i] : 0;
    out[NESTOR_EXIT_MR_INTR_INFO] = info;
}

/* Our pause (l2_kick, or pause_for_l1_event at an entry): L1 has an NMI
 * or an interrupt. True: L2 exits to L1 for it (*@reason, @out its
 * message registers). False: L2 goes on (*@label, *@changed: an NMI
 * delivered to L2). */
static bool l1_event(struct nvmx_monitor *m, const vmcs12_t *v, const nestor_word_t *mr,
                     nestor_word_t *out, uint32_t *reason, nestor_word_t *label,
                     nestor_word_t *changed)
{
    l2_t *l2 = &m->l2;
    nestor_vcpu_state_t *s2 = l2->s;
    const uint32_t pin = (uint32_t)v->field[V12_PIN_CONTROLS];
    nestor_word_t vector = 0, r;
    const bool kicked = l2->kicked;
    l2->kicked = false;
    l2->at_l0++;
    *label = NESTOR_EXIT_REPLY_RESUME;
    if (!kicked)
        return false;                           /* stale */
    if (m->events && m->events->nmi) {
        /* An NMI goes before a maskable interrupt (SDM Vol. 3A 6.9). */
        if (pin & PIN_NMI_EXITING) {
            /* SDM 25.2: an NMI exits with reason 0 whatever L2's blocking;
             * 27.2.2, 24.9.2: vector 2, type NMI, valid. */
            r = l2_ask_vmm(m, NVMX_REQ_ACK, NVMX_ACK_NMI, 0, 0, 0, &vector);
            if (r == NVMX_REQ_OK) {
                *reason = NESTOR_EXIT_EXCEPTION;
                event_mrs(mr, out, X86_VEC_NMI | X86_INTR_TYPE_NMI | X86_INTR_VALID);
                l2->at_l0--;
                return true;
            }
        } else if (!(s2->interruptibility & X86_INTR_BLOCK_NMI) &&
                   !(mr[NESTOR_EXIT_MR_IDT_VECTORING] & X86_INTR_VALID)) {
            /* SDM 25.3: without "NMI exiting" the NMI is L2's, delivered
             * through its IDT unless L2 blocks NMIs (which then holds it
             * until L2's next exit to L1: L1 gets it). */
            r = l2_ask_vmm(m, NVMX_REQ_ACK, NVMX_ACK_NMI, 0, 0, 0, &vector);
            if (r == NVMX_REQ_OK) {
                s2->inject_info = X86_VEC_NMI | X86_INTR_TYPE_NMI | X86_INTR_VALID;
                s2->inject_error = 0;
                *changed |= NESTOR_MTD_INJECT;
                return false;
            }
        } else {
            r = NVMX_REQ_NONE;
        }
        if (r != NVMX_REQ_OK && r != NVMX_REQ_NONE) {
            *label = NESTOR_EXIT_REPLY_STOP;     /* the VM has ended */
            return false;
        }
    }
    if (!(pin & PIN_EXTINT_EXITING))
        return false;                           /* L1 does not exit on its interrupts */
    /* SDM 25.2: with "external-interrupt exiting" L1's interrupt exits to L1
     * whatever L2's RFLAGS.IF and blocking. 27.2.2: with "acknowledge
     * interrupt on exit" the CPU acknowledges the interrupt controller and
     * the exit carries the vector (24.9.2: type external interrupt, valid);
     * the VMM acknowledges L1's. Without it the exit carries no
     * interruption information, and L1's own VMM injects the interrupt,
     * still pending, once L1 takes it. */
    uint64_t info = 0;
    if (v->field[V12_EXIT_CONTROLS] & EXIT_ACK_INTR_ON_EXIT) {
        r = l2_ask_vmm(m, NVMX_REQ_ACK, NVMX_ACK_INTR, 0, 0, 0, &vector);
        if (r == NVMX_REQ_NONE)
            return false;   /* none pending any more: no exit out of nothing */
        if (r != NVMX_REQ_OK) {
            *label = NESTOR_EXIT_REPLY_STOP;
            return false;
        }
        info = (vector & X86_INTR_VECTOR_MASK) | X86_INTR_TYPE_EXT | X86_INTR_VALID;
    }
    *reason = NESTOR_EXIT_EXTERNAL_INT;
    event_mrs(mr, out, info);
    l2->at_l0--;
    return true;
}

nestor_word_t l2_exit(struct nvmx_monitor *m, const nestor_word_t *mr, nestor_word_t *changed)
{
    nestor_word_t extint_mr[NESTOR_EXIT_MR_COUNT];
    l2_t *l2 = &m->l2;
    vmcs12_t *v = m->env.phys(m->env.ctx, l2->vmcs12, sizeof(vmcs12_t));
    uint32_t reason = (uint32_t)mr[NESTOR_EXIT_MR_REASON];
    uint64_t qual = mr[NESTOR_EXIT_MR_QUALIFICATION];
    const unsigned basic = reason & NESTOR_EXIT_REASON_MASK;
    if (!v)
        return NESTOR_EXIT_REPLY_STOP;
    if (basic == NESTOR_EXIT_EPT_VIOLATION || basic == NESTOR_EXIT_EPT_MISCONFIG) {
        uint32_t r12;
        uint64_t q12, device;
        int r = basic == NESTOR_EXIT_EPT_MISCONFIG
                    ? -1
                    : ept02_fault(m, v, mr[NESTOR_EXIT_MR_GUEST_PHYS], qual, &r12, &q12, &device);
        if (r == EPT02_DEVICE) {
            l2->at_l0++;
            return fetch_rest(m) ? l2_device_access(m, v, mr, device, changed)
                                 : NESTOR_EXIT_REPLY_STOP;
        }
        if (r > 0) {
            l2->at_l0++;
            return NESTOR_EXIT_REPLY_RESUME;
        }
        if (r < 0) {
            if (basic == NESTOR_EXIT_EPT_MISCONFIG)
                printf("nested-vmx %s: EPT02 misconfiguration at 0x%lx: VM stopped\n", m->name,
                       mr[NESTOR_EXIT_MR_GUEST_PHYS]);
            return NESTOR_EXIT_REPLY_STOP;
        }
        reason = r12;
        qual = q12;
    } else if (basic == NESTOR_EXIT_PREEMPT_TIMER && qual == NESTOR_PREEMPT_PAUSE) {
        nestor_word_t label;
        if (!l1_event(m, v, mr, extint_mr, &reason, &label, changed))
            return label;
        qual = 0;
        mr = extint_mr;
    } else if (!l1_wants(m, v, basic, qual, mr)) {
        l2->at_l0++;
        if (!fetch_rest(m))
            return NESTOR_EXIT_REPLY_STOP;
        if (basic == NESTOR_EXIT_EXCEPTION)
            return l2_pf_to_l2(m, v, mr, qual, changed);
        if (basic == NESTOR_EXIT_VMREAD || basic == NESTOR_EXIT_VMWRITE)
            return l2_shadow_access(m, v, mr, changed);
        return l2_through(m, v, basic, qual, mr, changed);
    }
    return reflect(m, v, mr, reason, qual);
}

/* L2's exit @reason (qualification @qual, the rest in @mr) goes to L1
 * (SDM 27.2-27.6). */
static nestor_word_t reflect(struct nvmx_monitor *m, vmcs12_t *v, const nestor_word_t *mr,
                             uint32_t reason, uint64_t qual)
{
    l2_t *l2 = &m->l2;
    const unsigned basic = reason & NESTOR_EXIT_REASON_MASK;
    l2->reflected++;
    l2->running = false;
    l2->kicked = false;
    const unsigned reflected = reason & NESTOR_EXIT_REASON_MASK;
    if (reflected < L2_COUNTED_REASONS) {
        l2->by_reason[reflected]++;
        l2->after = reflected + 1;
    }
    /* SDM Vol. 3C 27.2.1 (exit qualification of VMREAD, VMWRITE): the
     * instruction's displacement, and 0 where it has none (a register
     * operand, instruction-information bit 10). Bochs 2.7 was seen storing
     * a non-zero value for a register form (docs/platforms.md): L1 gets
     * the SDM's value whatever L0's hardware stored. */
    if ((basic == NESTOR_EXIT_VMREAD || basic == NESTOR_EXIT_VMWRITE) &&
        VMX_II_IS_REG(mr[NESTOR_EXIT_MR_INSTR_INFO]))
        qual = 0;
    if (m->l2_page)
        l2_inspector_reflect(m);        /* L1 sees L2's own debug state */
    save_exit(m, v, mr, reason, qual);
    return resume_l1(m, v);
}

void l2_kick(struct nvmx_monitor *m)
{
    l2_t *l2 = &m->l2;
    if (!l2->running || l2->kicked)
        return;
    l2->kicked = true;
    nu_invoke(l2->vcpu, NESTOR_VCPU_PAUSE, 0, 0, 0, 0, 0, 0);
}

void l2_count_l1_exit(struct nvmx_monitor *m, unsigned reason)
{
    l2_t *l2 = &m->l2;
    if (l2->after)
        l2->l1_exits_after[l2->after - 1]++;
    if (reason == NESTOR_EXIT_VMLAUNCH || reason == NESTOR_EXIT_VMRESUME)
        l2->after = 0;
}

void l2_report(struct nvmx_monitor *m)
{
    const l2_t *l2 = &m->l2;
    if (l2->made_2m || l2->made_4k)
        printf("nested-vmx %s: EPT02: %lu 2 MiB and %lu 4 KiB mappings made, dropped %lu "
               "times\n", m->name, l2->made_2m, l2->made_4k, l2->rebuilds);
    if (l2->device_accesses)
        printf("nested-vmx %s: L2 accesses to L1's device memory carried out: %lu\n", m->name,
               l2->device_accesses);
    if (l2->held_intr)
        printf("nested-vmx %s: L2 entries held for L1's pending interrupt: %lu (%lu right after "
               "an entry held so)\n", m->name, l2->held_intr, l2->held_again);
    if (l2->shadow_served)
        printf("nested-vmx %s: L2 VMREAD/VMWRITE served on L1's shadow VMCS (not reaching "
               "L1): %lu\n", m->name, l2->shadow_served);
    if (l2->reflected)
        printf("nested-vmx %s: lazy L2 guest state: vmcs12 made whole from vcpu02 %lu times "
               "in %lu reflected exits\n", m->name, l2->synced, l2->reflected);
    for (unsigned r = 0; r < L2_COUNTED_REASONS; r++) {
        const uint64_t n = l2->by_reason[r];
        if (!n)
            continue;
        const uint64_t each100 = l2->l1_exits_after[r] * 100 / n;
        printf("nested-vmx %s: L2 exit reason %u: %lu reflected, %lu.%02lu L0 exits each "
               "(L1's, through its next entry)\n", m->name, r, n, each100 / 100, each100 % 100);
    }
}

void l2_reset(struct nvmx_monitor *m)
{
    l2_t *l2 = &m->l2;
    ept02_flush(m);
    l2->eptp12 = EPT02_NO_EPT - 1;      /* none yet: the next entry rebuilds */
    l2->running = l2->kicked = false;
    l2->vmcs12 = NVMX_NO_VMCS;
    m->vmx.stale = 0;                   /* no exit of L2's to sync from (l2_sync12) */
}

void l2_end(struct nvmx_monitor *m)
{
    l2_t *l2 = &m->l2;
    if (l2->built)
        nu_tcb_suspend(l2->tcb);
    const uint64_t pages = l2->n_pages;
    l2_reset(m);
    printf("nested-vmx %s: its VM has ended: L2 stopped, EPT02 dropped (%lu alias slices "
           "deleted)\n", m->name, pages);
}

void l2_invept(struct nvmx_monitor *m)
{
    ept02_flush(m);
}

void l2_vmcs_gone(struct nvmx_monitor *m, uint64_t gpa)
{
    l2_t *l2 = &m->l2;
    if (gpa == NVMX_NO_VMCS || gpa == l2->vmcs12)
        ept02_flush(m);     /* the next entry fills it again from its EPT12 */
}
