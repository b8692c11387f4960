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
 */
#include "monitor.h"
#include "count_monitor.h"
#include <user/print.h>

#define PAGE_BYTES      4096            /* the L2 page maps right after vcpu02's state page */
#define INSP_LEVEL      1               /* above ours (0) in vcpu02's exit tables */
#define MAP_READ        NESTOR_RIGHT_READ

/* The vcpu02 slots that are the inspector's (its exits, nvmx_setup.h). */
static const nestor_word_t insp_slots[] = {
    NESTOR_EXIT_SLOT_EXCEPTION + X86_VEC_DB,    /* SDM 6.15: vector 1 */
    NESTOR_EXIT_SLOT_EXCEPTION + X86_VEC_BP,    /* vector 3 */
    NESTOR_EXIT_PREEMPT_TIMER,                  /* its pauses (NESTOR_VCPU_PAUSE at level 1) */
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

/* The hand-over's CNode: vcpu02, its state page, the L2 page, L1's RAM. */
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
        nu_cnode_copy(node, NVMX_GRANT_L2_PAGE, *radix, a->cnode, page, 64, MAP_READ))
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
    printf("nested-vmx %s: inspector of L2 stacked on vcpu02 (level %u: #DB, #BP, its pauses)\n",
           m->name, INSP_LEVEL);
    return true;
}
