/*
 * count-monitor/serve.c - the count monitor's loop: a monitor stacked on a
 * VM that takes some exit reasons, counts those exits and passes each on.
 * Its reply says NESTOR_EXIT_REPLY_PASS_ON and the kernel sends the same
 * exit to the next lower level of the VCPU's exit tables (nestor/vcpu.h): it
 * holds no capability to anybody else's endpoint, so it cannot make up an
 * exit for another monitor. Exits of other reasons never reach it: its exit
 * table has no other slots. Linked into count-monitor.elf and, for the
 * VMM's root-task mode, into the VMM.
 */
#include "count_monitor.h"
#include <nestor/faults.h>

void count_monitor_serve(nestor_cptr_t ep, const nestor_word_t *reasons, unsigned n_reasons)
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
            /* Pass it on, nothing changed: the next handler answers it. */
            m = (nu_msg_t){ .info = nestor_msginfo(NESTOR_EXIT_REPLY_PASS_ON, 0, 0, 1) };
        } else {
            m = (nu_msg_t){ .info = nestor_msginfo(1, 0, 0, 0) };   /* not ours to answer */
        }
        nu_reply_recv(ep, &m);
    }
}

