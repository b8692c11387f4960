/*
 * nested-vmx/l2_inspector.c - an inspector of L2 (stack config 'level =
 * <2>', inspector/README.md) stacked on vcpu02. The VMM hands us its
 * endpoint twice badged (nvmx_setup.h NVMX_GRANT_INSP_*); when vcpu02 is
 * made we call the inspector with vcpu02, its state page, the L2 page and
 * L1's RAM (the hand-over nvmx_setup.h describes) and, once it has taken
 * them, put its endpoint in vcpu02's exit table at level 1 in the slots of
 * #DB, #BP and its own pauses (NESTOR_EXIT_PREEMPT_TIMER). The kernel then
 * sends those exits to it first (nestor/vcpu.h): what it holds (its
 * breakpoints, its steps, its pauses) never reaches l2_exit, so L1 sees
 * nothing of it; what it passes on comes here as any L2 exit (L1's
 * exception bitmap decides, SDM 25.2) or, where neither level takes the
 * vector, is delivered to L2 by the kernel as if nobody had intercepted it.
 *
 * The inspector's debug registers and single steps (the L2 page's debug
 * overlay, nvmx_setup.h): vcpu02 runs with the inspector's DR0-DR3/DR7
 * while L2's own, the values L2 and L1 see, are kept on the L2 page; at
 * each reflected exit L1 gets L2's own (and never the inspector's TF or
 * the pending trap of its step), and at the next entry the overlay, and a
 * step that was under way, go back in.
 */
#include "monitor.h"
#include "count_monitor.h"
#include "vmcs12.h"
#include "nvmx_insp.h"
#include <nestor/invocations.h>
#include <user/print.h>
#include <x86_vmx.h>

#define PAGE_BYTES      4096            /* the L2 page maps right after vcpu02's state page */
#define INSP_LEVEL      1               /* above ours (0) in vcpu02's exit tables */
#define MAP_SHARED      (NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE)   /* its debug overlay */

/* The vcpu02 slots that are the inspector's (its exits, nvmx_setup.h). */
static const nestor_word_t insp_slots[] = {
    NESTOR_EXIT_SLOT_EXCEPTION + X86_VEC_DB,    /* SDM 6.15: vector 1 */
    NESTOR_EXIT_SLOT_EXCEPTION + X86_VEC_BP,    /* vector 3 */
    NESTOR_EXIT_PREEMPT_TIMER,                  /* its pauses (NESTOR_VCPU_PAUSE at level 1) */
    NESTOR_EXIT_DR_ACCESS,                      /* L2's MOV DR while its overlay is on */
};

bool l2_inspector_take(struct nvmx_monitor *m, nestor_cptr_t node, unsigned radix)
{
    m->insp_setup = m->alloc.next_slot++;
    m->insp_exits = m->alloc.next_slot++;
    return nu_cnode_copy(m->alloc.cnode, m->insp_setup, 64, node, NVMX_GRANT_INSP_SETUP, radix,
                         NESTOR_RIGHTS_ALL) == NESTOR_OK &&
           nu_cnode_copy(m->alloc.cnode, m->insp_exits, 64, node, NVMX_GRANT_INSP_EXITS, radix,
                         NESTOR_RIGHTS_ALL) == NESTOR_OK;
}

void l2_inspector_eptp(struct nvmx_monitor *m, uint64_t eptp12)
{
    if (m->l2_page)
        m->l2_page->eptp12 = eptp12;
}

/* The hand-over's CNode: vcpu02, its state page, the L2 page, L1's RAM,
 * and our endpoint badged for its EPT02 requests (nvmx_insp.h). */
static nestor_cptr_t hand_over(struct nvmx_monitor *m, nestor_cptr_t page, unsigned *radix)
{
    nu_alloc_t *a = &m->alloc;
    const uint64_t frames = m->ram_bytes >> m->frame_bits;
    *radix = 1;
    while ((1ULL << *radix) < NVMX_GRANT_RAM + frames)
        ++*radix;
    nestor_cptr_t node = nu_alloc_obj(a, NESTOR_OBJ_CNODE, *radix);
    if (!node ||
        nu_cnode_copy(node, NVMX_GRANT_VCPU, *radix, a->cnode, m->l2.vcpu, 64,
                      NESTOR_RIGHTS_ALL) ||
        nu_cnode_copy(node, NVMX_GRANT_STATE, *radix, a->cnode, m->l2.state_frame, 64,
                      NESTOR_RIGHTS_ALL) ||
        nu_cnode_copy(node, NVMX_GRANT_L2_PAGE, *radix, a->cnode, page, 64, MAP_SHARED) ||
        nu_cnode_mint(node, NVMX_GRANT_INSP_NVMX, *radix, a->cnode, m->ep, 64,
                      NESTOR_RIGHT_WRITE, NVMX_BADGE_INSP))
        return 0;
    for (uint64_t i = 0; i < frames; i++)
        if (nu_cnode_copy(node, NVMX_GRANT_RAM + i, *radix, a->cnode, m->ram_frames + i, 64,
                          NESTOR_RIGHTS_ALL))
            return 0;
    return node;
}

bool l2_inspector_stack(struct nvmx_monitor *m)
{
    if (!m->insp_setup)
        return true;
    nu_alloc_t *a = &m->alloc;
    nestor_cptr_t page, table = nu_alloc_obj(a, NESTOR_OBJ_CNODE, NESTOR_EXIT_TABLE_RADIX);
    unsigned radix;
    const nestor_word_t va = (nestor_word_t)(uintptr_t)m->l2.s + PAGE_BYTES;
    if (!table || nu_map_new_page(a, NESTOR_CAP_INIT_VSPACE, va, &page))
        return false;
    m->l2_page = (nvmx_l2_page_t *)(uintptr_t)va;
    m->l2_page->eptp12 = m->l2.eptp12;
    nestor_cptr_t node = hand_over(m, page, &radix);
    if (!node)
        return false;
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    b->caps_or_badges[0] = node;
    b->msg[NVMX_SETUP_MR_FLAGS] = NVMX_SETUP_L2;
    nu_msg_t msg = { .info = nestor_msginfo(0, 0, 1, NVMX_SETUP_MRS) };
    msg.mr[NVMX_SETUP_MR_RADIX] = radix;
    msg.mr[NVMX_SETUP_MR_RAM_BYTES] = m->ram_bytes;
    msg.mr[NVMX_SETUP_MR_FRAME_BITS] = m->frame_bits;
    msg.mr[NVMX_SETUP_MR_LEVEL] = INSP_LEVEL;
    /* (The inspector answers once it has mapped what it got; it is trusted
     * with this VM as the VMM trusts it with L1's.) */
    if (nu_call(m->insp_setup, &msg) != NESTOR_OK || nestor_msginfo_label(msg.info) != 0) {
        printf("nested-vmx %s: the inspector of L2 refused its setup: L2 runs without it\n",
               m->name);
        return true;
    }
    for (size_t i = 0; i < sizeof insp_slots / sizeof insp_slots[0]; i++)
        if (nu_cnode_copy(table, insp_slots[i], NESTOR_EXIT_TABLE_RADIX, a->cnode, m->insp_exits,
                          64, CM_EXIT_RIGHTS))
            return false;
    const nestor_word_t level = INSP_LEVEL;
    if (nu_invoke(m->l2.vcpu, NESTOR_VCPU_SET_EXIT_TABLE, &level, 1, &table, 1, 0, 0) !=
        NESTOR_OK)
        return false;
    printf("nested-vmx %s: inspector of L2 stacked on vcpu02 (level %u: #DB, #BP, its pauses, "
           "MOV DR)\n",
           m->name, INSP_LEVEL);
    return true;
}

/* The inspector's overlay as vcpu02 can take it: DR0-DR3 canonical (the
 * kernel refuses others, SDM Vol. 2A MOV DR), DR7's bits 63:32 clear and
 * its fixed bits as the CPU keeps them (SDM 17.2.4, 26.3.1.1). The page is
 * the inspector's to write: an overlay it broke is not put in. */
static bool overlay_usable(const nvmx_l2_page_t *p)
{
    for (unsigned i = 0; i < X86_DEBUG_SLOTS; i++)
        if (!x86_canonical(p->dr[i]))
            return false;
    return !(p->dr7 & X86_DR7_RESERVED_HIGH);
}

/*
 * The inspector's int3s in L1's RAM (the L2 page's bps, nvmx_setup.h): L2
 * cannot read them (execute-only EPT02 entries, nvmx_insp.h), and neither
 * may L1, which can read L2's code whenever L2 exits to it: at each
 * reflected exit L2's own bytes go back under those planted, and at the
 * next entry the int3s go back over whatever is there then (a byte L1
 * wrote is the one the breakpoint keeps), with the inspector's own logic
 * (inspector/swbp.c). The page is the inspector's to write: we work on a
 * copy whose every address is checked against L1's RAM, and write back
 * only the entries we lifted or planted.
 */
static void bps_copy(const struct nvmx_monitor *m, insp_swbp_t *c)
{
    for (unsigned i = 0; i < NVMX_L2_BPS; i++) {
        c[i] = m->l2_page->bps[i];
        if (c[i].used && c[i].gpa >= m->ram_bytes)
            c[i].used = false;
    }
}

static void bps_back(struct nvmx_monitor *m, const insp_swbp_t *c, uint64_t which)
{
    for (unsigned i = 0; i < NVMX_L2_BPS; i++)
        if (which >> i & 1) {
            m->l2_page->bps[i].saved = c[i].saved;
            m->l2_page->bps[i].lifted = c[i].lifted;
        }
}

static void bps_lift_for_l1(struct nvmx_monitor *m)
{
    insp_swbp_t c[NVMX_L2_BPS];
    bps_copy(m, c);
    const uint64_t lifted = swbp_lift(c, NVMX_L2_BPS, m->ram, ~0ULL, NULL, NULL);
    bps_back(m, c, lifted);
    m->insp_lifted |= lifted;
}

static void bps_plant_for_l2(struct nvmx_monitor *m)
{
    if (!m->insp_lifted)
        return;
    insp_swbp_t c[NVMX_L2_BPS];
    bps_copy(m, c);
    swbp_replant_some(c, NVMX_L2_BPS, m->ram, m->insp_lifted);
    bps_back(m, c, m->insp_lifted);
    m->insp_lifted = 0;
}

nestor_word_t l2_inspector_enter(struct nvmx_monitor *m, const uint64_t *f)
{
    nvmx_l2_page_t *p = m->l2_page;
    if (!p)
        return 0;
    bps_plant_for_l2(m);
    l2_t *l2 = &m->l2;
    nestor_vcpu_state_t *s2 = l2->s;
    nestor_word_t groups = 0;
    p->l1_movdr = (f[V12_PROC_CONTROLS] & PROC_MOV_DR_EXITING) != 0;
    const uint64_t debug = p->debug;
    /* L2's own debug registers, as the entry built them (SDM 26.3.2.1:
     * DR7 from vmcs12 with "load debug controls", else L1's; DR0-DR3 are
     * L1's, not switched), kept for L2's MOV DR and for L1; vcpu02 gets
     * the inspector's. */
    const bool overlay = (debug & NVMX_L2_DEBUG_OVERLAY) && overlay_usable(p);
    if (overlay) {
        nestor_word_t *dr[X86_DEBUG_SLOTS] = { &s2->dr0, &s2->dr1, &s2->dr2, &s2->dr3 };
        for (unsigned i = 0; i < X86_DEBUG_SLOTS; i++) {
            p->own_dr[i] = *dr[i];
            *dr[i] = p->dr[i];
        }
        p->own_dr7 = s2->dr7;
        s2->dr7 = (p->dr7 | X86_DR7_FIXED1) & ~(uint64_t)X86_DR7_FIXED0;
    }
    if (overlay || l2->overlay_loaded)
        groups |= NESTOR_MTD_DEBUG;     /* (in, or out again) */
    l2->overlay_loaded = overlay;
    if (!l2->step_reflected)
        return groups;
    /* The inspector's step was under way when L2 exited to L1 (vcpu02's
     * RFLAGS may still hold its TF: loaded either way). If L1 injects an
     * event, the step ends where the inspector's hidden int3 at the
     * handler is (its TF would be pushed in the frame: not set). Else, if
     * the instruction completed (its single-step trap was pending, or L1
     * moved RIP past it, as after an instruction L1 carried out), the trap
     * is made pending again so the step ends right at the entry (SDM
     * 24.4.2 Table 24-4, 26.7.3), as on a CPU; if not (an exit before or
     * during it: an interrupt, an EPT violation), TF goes back and the
     * instruction is stepped again. */
    l2->step_reflected = false;
    groups |= NESTOR_MTD_RFLAGS | NESTOR_MTD_INTR;
    if ((debug & (NVMX_L2_DEBUG_STEP | NVMX_L2_DEBUG_GUEST_TF)) != NVMX_L2_DEBUG_STEP ||
        (s2->inject_info & X86_INTR_VALID))
        return groups;
    s2->rflags |= X86_RFLAGS_TF;
    /* 26.3.1.5: under STI/MOV-SS blocking or in HLT, BS must be 1 iff TF
     * is 1 and IA32_DEBUGCTL.BTF is 0: the trap is pending there too. */
    const bool shadow = (s2->interruptibility & X86_INTR_BLOCK_SHADOW) ||
                        s2->activity == X86_ACTIVITY_HLT;
    if (l2->step_done || s2->rip != l2->step_rip ||
        (shadow && !(s2->debugctl & X86_DEBUGCTL_BTF)))
        s2->pending_dbg |= VMX_PENDING_DBG_BS;
    return groups;
}

uint32_t l2_inspector_proc(const struct nvmx_monitor *m)
{
    return m->l2.overlay_loaded ? PROC_MOV_DR_EXITING : 0;
}

void l2_inspector_reflect(struct nvmx_monitor *m)
{
    nvmx_l2_page_t *p = m->l2_page;
    if (!p)
        return;
    bps_lift_for_l1(m);
    l2_t *l2 = &m->l2;
    nestor_vcpu_state_t *s2 = l2->s;
    const uint64_t debug = p->debug;
    if (l2->overlay_loaded || (debug & NVMX_L2_DEBUG_OVERLAY)) {
        /* (Loaded by us at the last entry, or by the inspector since: it
         * puts its overlay in while it holds an exit.) L1 gets L2's own
         * DR0-DR3 (27.3.1 leaves them: L1 runs on with them) and DR7
         * (vmcs12's guest DR7 with "save debug controls"). A value the
         * inspector broke (it writes them at L2's MOV DR) is not L1's to
         * get: 0 instead. */
        nestor_word_t *dr[X86_DEBUG_SLOTS] = { &s2->dr0, &s2->dr1, &s2->dr2, &s2->dr3 };
        for (unsigned i = 0; i < X86_DEBUG_SLOTS; i++)
            *dr[i] = x86_canonical(p->own_dr[i]) ? p->own_dr[i] : 0;
        s2->dr7 = (p->own_dr7 & X86_DR7_RESERVED_HIGH) ? X86_DR7_FIXED1 : p->own_dr7;
    }
    if ((debug & (NVMX_L2_DEBUG_STEP | NVMX_L2_DEBUG_GUEST_TF)) != NVMX_L2_DEBUG_STEP)
        return;         /* no step, or L2's own TF: L1 sees what L2 has */
    /* The step's TF and trap are the inspector's, not L2's (SDM 27.3.1:
     * RFLAGS and the pending debug exceptions go to vmcs12 as they are). */
    l2->step_reflected = true;
    l2->step_rip = s2->rip;
    l2->step_done = (s2->pending_dbg & VMX_PENDING_DBG_BS) != 0;
    s2->rflags &= ~(uint64_t)X86_RFLAGS_TF;
    s2->pending_dbg &= ~(uint64_t)VMX_PENDING_DBG_BS;
}

/*
 * The inspector's requests on its EPT02 rights (nvmx_insp.h). Everything
 * in them is checked (insp_mask.c): an address outside L1's RAM, rights
 * that are not one of NESTOR_EPT_WITHHOLD_*, a region beyond
 * NVMX_INSP_REGIONS, an unknown request get NVMX_REQ_FAULT with the reason
 * and change nothing; what they change is EPT02's rights into L1's RAM,
 * never more than EPT12 gives (nvmx_mask_rights).
 */
static void reply(nu_msg_t *msg, nestor_word_t label, unsigned n, nestor_word_t a,
                  nestor_word_t b, nestor_word_t c)
{
    *msg = (nu_msg_t){ .info = nestor_msginfo(label, 0, 0, n), .mr = { a, b, c } };
}

static void protect(struct nvmx_monitor *m, nu_msg_t *msg)
{
    nvmx_mask_t *k = &m->insp_mask;
    const uint64_t gpa1 = msg->mr[0], withhold = msg->mr[1];
    unsigned before;
    int e = nvmx_mask_set(k, gpa1, withhold, &before);
    if (e) {
        reply(msg, NVMX_REQ_FAULT, 1, (nestor_word_t)e, 0, 0);
        return;
    }
    if (before != withhold)
        ept02_remask(m, gpa1);
    /* The kernel refused the execute-only entries just made (SDM A.10):
     * as on a CPU we knew lacked it, refused; the region as it was. */
    if (withhold == NESTOR_EPT_WITHHOLD_RW && k->no_xo) {
        unsigned now;
        nvmx_mask_set(k, gpa1, before, &now);
        ept02_remask(m, gpa1);
        reply(msg, NVMX_REQ_FAULT, 1, NVMX_INSP_E_NO_XO, 0, 0);
        return;
    }
    reply(msg, NVMX_REQ_OK, 3, NVMX_INSP_REGION_BITS, withhold, before);
}

static void fault(struct nvmx_monitor *m, nu_msg_t *msg)
{
    const uint64_t gpa2 = msg->mr[0], qual = msg->mr[1];
    uint64_t gpa1 = gpa2, q12;
    uint32_t reason;
    /* EPT12's walk for the access (SDM 28.3.2, 28.3.3), as ept02_fault
     * makes it; without EPT12, L2-physical is L1-physical. */
    const bool allowed = ept12_translate(m, gpa2, qual & EPT_QUAL_ACCESS, &gpa1, &reason,
                                         &q12) == 1;
    const unsigned verdict = nvmx_mask_route(&m->insp_mask, allowed, gpa1, qual);
    reply(msg, NVMX_REQ_OK, 2, verdict, verdict == NVMX_INSP_MINE ? gpa1 : 0, 0);
}

static void clear(struct nvmx_monitor *m, nu_msg_t *msg)
{
    nvmx_mask_t *k = &m->insp_mask;
    while (k->n) {
        const uint64_t base = k->r[0].base;
        unsigned before;
        nvmx_mask_set(k, base, NESTOR_EPT_WITHHOLD_NONE, &before);
        ept02_remask(m, base);
    }
    reply(msg, NVMX_REQ_OK, 0, 0, 0, 0);
}

void nvmx_insp_request(struct nvmx_monitor *m, nu_msg_t *msg)
{
    const nestor_word_t label = nestor_msginfo_label(msg->info);
    const unsigned words = nestor_msginfo_length(msg->info);
    if (label == NVMX_INSP_PROTECT && words >= 2)
        protect(m, msg);
    else if (label == NVMX_INSP_FAULT && words >= 2)
        fault(m, msg);
    else if (label == NVMX_INSP_CLEAR)
        clear(m, msg);
    else
        reply(msg, NVMX_REQ_FAULT, 1, NVMX_INSP_E_REQUEST, 0, 0);
}
