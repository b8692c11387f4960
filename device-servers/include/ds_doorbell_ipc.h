/*
 * device-servers/include/ds_doorbell_ipc.h - the doorbell's messages in a
 * server's process (common/doorbell_ipc.c; the pure part: ds_doorbell.h).
 */
#ifndef DS_DOORBELL_IPC_H
#define DS_DOORBELL_IPC_H
#include <ds_doorbell.h>
#include <user/space.h>
#include <user/sys.h>
#include <nestor/faults.h>

/* DS_REQ_DOORBELL (message @m, its capability @cap): map the page at @va
 * and take the doorbell of the device @dev (its window at @window, over
 * @ram). False (refused): a second offer, no capability or not a frame. */
bool ds_doorbell_take(ds_doorbell_t *db, nu_alloc_t *a, nestor_cptr_t cap, const nu_msg_t *m,
                      uint64_t va, const uint8_t *ram, uint64_t ram_bytes, uint64_t window,
                      ds_doorbell_access_fn access, ds_doorbell_line_fn line, void *dev);
/* Whether @m is a doorbell exit (the kernel's message, DS_BADGE_DOORBELL);
 * inline: every message's dispatch asks. */
static inline bool ds_doorbell_message(const nu_msg_t *m)
{
    return m->badge == DS_BADGE_DOORBELL &&
           nestor_msginfo_label(m->info) == NESTOR_FAULT_VM_EXIT &&
           nestor_msginfo_extra_caps(m->info) == 0;
}
/* The reply to doorbell exit @m: served, or passed on (no page taken yet:
 * passed on, the VMM serves it). */
nu_msg_t ds_doorbell_answer(ds_doorbell_t *db, const nu_msg_t *m);

#endif
