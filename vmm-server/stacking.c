/*
 * vmm-server/stacking.c - stacking monitors on a VM: each gets an exit
 * table of its own at its level of the VCPU's tables (nestor/vcpu.h); and,
 * in the root-task mode (vmm.count=NAME), a count monitor started as a
 * process of the VMM's own: a copy of this program in a fresh address
 * space running count_monitor_serve (count-monitor/serve.c), with a CSpace
 * holding only
 *   CM_SLOT_EP    its endpoint (exits arrive badged CM_BADGE_EXIT, count
 *                 queries badged CM_BADGE_QUERY).
 * And what a monitor that works on its VM's state and memory (nested-vmx,
 * the inspector) is handed of it (monitor_grant).
 */
#include "stacking.h"
#include "../checkpoint/ckpt_proto.h"
#include "../pager/pager_proto.h"
#include "nvmx_setup.h"
#include "vmm.h"
#include <nestor/bootinfo.h>
#include <nestor/faults.h>

#define CM_RADIX        2
#define CM_GUARD        (64 - CM_RADIX)
#define CM_SLOT_EP      1
#define CM_PRIO         200              /* between the VMM (255) and vCPUs (100) */
#define CM_REGION       0x0000100000800000ULL
#define CM_SCRATCH      0x0000100000A00000ULL
#define NVMX_EVENTS_WINDOW 0x0000500000100000ULL    /* + (VM index << 12): events pages */

static void monitor(nestor_word_t reason)
{
    count_monitor_serve(CM_SLOT_EP, &reason, 1);
}

nestor_cptr_t stack_exit_table(nu_alloc_t *a, nestor_cptr_t vcpu, unsigned level,
                                  nestor_cptr_t ep, nestor_word_t badge,
                                  const nestor_word_t *reasons, unsigned n_reasons)
{
    nestor_cptr_t table = nu_alloc_obj(a, NESTOR_OBJ_CNODE, NESTOR_EXIT_TABLE_RADIX);
    if (!table)
        return 0;
    for (unsigned i = 0; i < n_reasons; i++)
        if (reasons[i] >= (1u << NESTOR_EXIT_TABLE_RADIX) ||
            nu_cnode_mint(table, reasons[i], NESTOR_EXIT_TABLE_RADIX, a->cnode, ep, 64,
                          CM_EXIT_RIGHTS, badge))
            return 0;
    const nestor_word_t lvl = level;
    return nu_invoke(vcpu, NESTOR_VCPU_SET_EXIT_TABLE, &lvl, 1, &table, 1, 0, 0) == NESTOR_OK
               ? table : 0;
}

nestor_cptr_t count_monitor_stack(nu_alloc_t *a, nestor_cptr_t vcpu, unsigned reason)
{
    const nestor_cptr_t root = a->cnode;
    const nestor_word_t reasons[] = { reason };
    nestor_cptr_t cnode = nu_alloc_obj(a, NESTOR_OBJ_CNODE, CM_RADIX), cspace = a->next_slot++;
    nestor_cptr_t ep = nu_alloc_obj(a, NESTOR_OBJ_ENDPOINT, 0), query = a->next_slot++;
    if (!cnode || !ep ||
        nu_cnode_mint(root, cspace, 64, root, cnode, 64, NESTOR_RIGHTS_ALL, CM_GUARD) ||
        nu_cnode_copy(cnode, CM_SLOT_EP, CM_RADIX, root, ep, 64, NESTOR_RIGHTS_ALL) ||
        nu_cnode_mint(root, query, 64, root, ep, 64, NESTOR_RIGHTS_ALL, CM_BADGE_QUERY) ||
        !stack_exit_table(a, vcpu, 1, ep, CM_BADGE_EXIT, reasons, 1))
        return 0;
    nestor_cptr_t space = nu_clone_space(a, CM_SCRATCH);
    return space && nu_thread_new_in(a, cspace, space, CM_REGION, monitor, reason, CM_PRIO, 0)
               ? query : 0;
}

bool count_monitor_query(nestor_cptr_t query, nestor_word_t how, nestor_word_t status,
                         nestor_word_t *counted, nestor_word_t *others)
{
    nu_msg_t m = { .info = nestor_msginfo(0, 0, 0, CM_QUERY_WORDS) };
    m.mr[CM_QUERY_MR_HOW] = how;
    m.mr[CM_QUERY_MR_STATUS] = status;
    if (nu_call(query, &m) != NESTOR_OK)
        return false;
    *counted = m.mr[0];
    *others = m.mr[1];
    return true;
}

bool monitor_grant(nu_alloc_t *a, vm_t *vm, unsigned level, nestor_cptr_t stop_ep, bool kick,
                   nestor_word_t flags, nestor_cptr_t inspector, nu_msg_t *msg)
{
    const nestor_word_t frames = vm->ram_bytes >> VMM_RAM_FRAME_BITS;
    unsigned radix = 1;
    /* Slots past the frames: the checkpoint monitor's EPT capability, its
     * pager's and its nested-vmx's (checkpoint/ckpt_proto.h CKPT_GRANT_*). */
    while ((1ULL << radix) < NVMX_GRANT_RAM + frames + CKPT_GRANT_SLOTS)
        radix++;
    nestor_cptr_t node = nu_alloc_obj(a, NESTOR_OBJ_CNODE, radix);
    if (!node ||
        nu_cnode_copy(node, NVMX_GRANT_VCPU, radix, a->cnode, vm->vcpu, 64, NESTOR_RIGHTS_ALL) ||
        nu_cnode_copy(node, NVMX_GRANT_STATE, radix, a->cnode, vm->state_frame, 64,
                      NESTOR_RIGHTS_ALL) ||
        nu_cnode_mint(node, NVMX_GRANT_VMM, radix, a->cnode, stop_ep, 64,
                      NESTOR_RIGHT_WRITE | NESTOR_RIGHT_GRANT_REPLY,
                      VMM_BADGE_MONITOR | (vm->index + 1)))
        return false;
    if (kick) {
        /* The badge a signal carries is the signalling capability's: ours is
         * badged, the monitor's (to wait on) is not. */
        nestor_cptr_t note = nu_alloc_obj(a, NESTOR_OBJ_NOTIFICATION, 0),
                      signal = a->next_slot++, reset = a->next_slot++, end = a->next_slot++;
        if (!note ||
            nu_cnode_mint(a->cnode, signal, 64, a->cnode, note, 64, NESTOR_RIGHT_WRITE,
                          NVMX_KICK_BADGE) ||
            nu_cnode_mint(a->cnode, reset, 64, a->cnode, note, 64, NESTOR_RIGHT_WRITE,
                          NVMX_RESET_BADGE) ||
            nu_cnode_mint(a->cnode, end, 64, a->cnode, note, 64, NESTOR_RIGHT_WRITE,
                          NVMX_END_BADGE) ||
            nu_cnode_copy(node, NVMX_GRANT_KICK, radix, a->cnode, note, 64, NESTOR_RIGHT_READ))
            return false;
        /* The events page: ours to write, nested-vmx's to read. */
        nestor_cptr_t page;
        const nestor_word_t va = NVMX_EVENTS_WINDOW + ((nestor_word_t)vm->index << 12);
        if (nu_map_new_page(a, NESTOR_CAP_INIT_VSPACE, va, &page) ||
            nu_cnode_copy(node, NVMX_GRANT_EVENTS, radix, a->cnode, page, 64, NESTOR_RIGHT_READ))
            return false;
        vm->nvmx_events = (nvmx_events_t *)(uintptr_t)va;
        vm->nvmx_kick = signal;
        vm->nvmx_reset = reset;
        vm->nvmx_end = end;
    }
    /* An inspector of L2: nested-vmx may call it once (its setup) and put
     * it in vcpu02's exit table; the badges tell the inspector which. */
    if (inspector &&
        (nu_cnode_mint(node, NVMX_GRANT_INSP_SETUP, radix, a->cnode, inspector, 64,
                       NESTOR_RIGHT_WRITE | NESTOR_RIGHT_GRANT | NESTOR_RIGHT_GRANT_REPLY,
                       CM_BADGE_SETUP) ||
         nu_cnode_mint(node, NVMX_GRANT_INSP_EXITS, radix, a->cnode, inspector, 64,
                       CM_EXIT_RIGHTS, CM_BADGE_EXIT)))
        return false;
    if (inspector)
        flags |= NVMX_SETUP_INSPECTOR;
    for (nestor_word_t i = 0; i < frames; i++)
        if (nu_cnode_copy(node, NVMX_GRANT_RAM + i, radix, a->cnode, vm->ram_frames + i, 64,
                          NESTOR_RIGHTS_ALL))
            return false;
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    b->caps_or_badges[0] = node;
    b->msg[NVMX_SETUP_MR_FLAGS] = flags;    /* past the MRs in registers: the buffer's */
    *msg = (nu_msg_t){ .info = nestor_msginfo(0, 0, 1, NVMX_SETUP_MRS) };
    msg->mr[NVMX_SETUP_MR_RADIX] = radix;
    msg->mr[NVMX_SETUP_MR_RAM_BYTES] = vm->ram_bytes;
    msg->mr[NVMX_SETUP_MR_FRAME_BITS] = VMM_RAM_FRAME_BITS;
    msg->mr[NVMX_SETUP_MR_LEVEL] = level;
    return true;
}

/* One EPT page table maps 2 MiB (SDM Vol. 3C 28.3.2, Table 28-6: 512
 * entries of 4 KiB). */
#define EPT_PT_SPAN (1ULL << 21)

bool pager_grant(nu_alloc_t *a, vm_t *vm, unsigned level, nu_msg_t *msg)
{
    const uint64_t base = vm->ram_bytes, end = vm->ram_bytes + vm->paged_bytes;
    if (!vm->paged_bytes || (base | end) & (EPT_PT_SPAN - 1))
        return false;
    /* The tables are ours (the pager cannot map tables with what it gets):
     * one page table per 2 MiB, every entry empty. */
    for (uint64_t gpa = base; gpa < end; gpa += EPT_PT_SPAN) {
        nestor_cptr_t pt = nu_alloc_obj(a, NESTOR_OBJ_EPT_PT, 0);
        if (!pt || nu_ept_map_pt(a, vm->ept, gpa, pt) != NESTOR_OK)
            return false;
    }
    const nestor_cptr_t ranged = a->next_slot++;
    const nestor_word_t args[] = { base, end - base, ranged, 64 };
    if (nu_invoke(vm->ept, NESTOR_EPT_RESTRICT, args, 4, &a->cnode, 1, 0, 0) != NESTOR_OK)
        return false;
    nu_ipc_buffer()->caps_or_badges[0] = ranged;
    *msg = (nu_msg_t){ .info = nestor_msginfo(0, 0, 1, PAGER_SETUP_MRS) };
    msg->mr[PAGER_SETUP_MR_BASE] = base;
    msg->mr[PAGER_SETUP_MR_END] = end;
    msg->mr[PAGER_SETUP_MR_LEVEL] = level;
    return true;
}
