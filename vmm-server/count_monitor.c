/*
 * vmm-server/count_monitor.c - a monitor stacked under the VMM that takes
 * one exit reason (CPUID), counts those exits and passes each on to the
 * endpoint that had the reason before. It runs as a process of its own: a
 * copy of this program in a fresh address space, with a CSpace holding only
 *   CM_SLOT_EP    its endpoint (exits arrive badged CM_BADGE_EXIT, count
 *                 queries badged CM_BADGE_QUERY)
 *   CM_SLOT_PREV  the previous handler's endpoint for the reason.
 * Exits of other reasons never reach it: the exit table routes them past.
 */
#include "count_monitor.h"
#include <nestor/bootinfo.h>
#include <nestor/faults.h>

#define CM_RADIX        2
#define CM_GUARD        (64 - CM_RADIX)
#define CM_SLOT_EP      1
#define CM_SLOT_PREV    2
#define CM_PRIO         200              /* between the VMM (255) and vCPUs (100) */
#define CM_REGION       0x0000100000800000ULL
#define CM_SCRATCH      0x0000100000A00000ULL

void count_monitor_serve(nestor_cptr_t ep, nestor_cptr_t prev, const nestor_word_t *reasons,
                         unsigned n_reasons)
{
    nestor_word_t counted = 0, others = 0;
    nu_msg_t m = { 0 };
    nu_recv(ep, &m);
    for (;;) {
        if (m.badge == CM_BADGE_QUERY) {
            m = (nu_msg_t){ .info = nestor_msginfo(0, 0, 0, 2), .mr = { counted, others } };
        } else if (m.badge == CM_BADGE_EXIT) {
            bool mine = false;
            for (unsigned i = 0; i < n_reasons; i++)
                mine |= nestor_msginfo_label(m.info) == NESTOR_FAULT_VM_EXIT &&
                        (m.mr[NESTOR_EXIT_MR_REASON] & NESTOR_EXIT_REASON_MASK) == reasons[i];
            counted += mine;
            others += !mine;
            /* Pass it on unchanged (MRs 4.. are still in our IPC buffer); the
             * next handler's reply goes back to the vCPU as it is. */
            nu_call(prev, &m);
        } else {
            m = (nu_msg_t){ .info = nestor_msginfo(1, 0, 0, 0) };   /* not ours to answer */
        }
        nu_reply_recv(ep, &m);
    }
}

static void monitor(nestor_word_t reason)
{
    count_monitor_serve(CM_SLOT_EP, CM_SLOT_PREV, &reason, 1);
}

nestor_cptr_t count_monitor_stack(nu_alloc_t *a, nestor_cptr_t exit_table, unsigned reason)
{
    const nestor_cptr_t root = a->cnode;
    nestor_cptr_t cnode = nu_alloc_obj(a, NESTOR_OBJ_CNODE, CM_RADIX), cspace = a->next_slot++;
    nestor_cptr_t ep = nu_alloc_obj(a, NESTOR_OBJ_ENDPOINT, 0), query = a->next_slot++;
    if (!cnode || !ep ||
        nu_cnode_mint(root, cspace, 64, root, cnode, 64, NESTOR_RIGHTS_ALL, CM_GUARD) ||
        nu_cnode_copy(cnode, CM_SLOT_EP, CM_RADIX, root, ep, 64, NESTOR_RIGHTS_ALL) ||
        nu_cnode_mint(root, query, 64, root, ep, 64, NESTOR_RIGHTS_ALL, CM_BADGE_QUERY) ||
        /* Take over the slot: keep the old endpoint, put ours in its place. */
        nu_cnode_move(cnode, CM_SLOT_PREV, CM_RADIX, exit_table, reason, NESTOR_EXIT_TABLE_RADIX) ||
        nu_cnode_mint(exit_table, reason, NESTOR_EXIT_TABLE_RADIX, root, ep, 64,
                      NESTOR_RIGHTS_ALL, CM_BADGE_EXIT))
        return 0;
    nestor_cptr_t space = nu_clone_space(a, CM_SCRATCH);
    return space && nu_thread_new_in(a, cspace, space, CM_REGION, monitor, reason, CM_PRIO, 0)
               ? query : 0;
}

bool count_monitor_query(nestor_cptr_t query, nestor_word_t *counted, nestor_word_t *others)
{
    nu_msg_t m = { .info = nestor_msginfo(0, 0, 0, 0) };
    if (nu_call(query, &m) != NESTOR_OK)
        return false;
    *counted = m.mr[0];
    *others = m.mr[1];
    return true;
}
