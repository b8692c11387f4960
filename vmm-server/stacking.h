/* vmm-server/stacking.h - stacking monitors on a VM's VCPU (stacking.c). */
#ifndef VMM_STACKING_H
#define VMM_STACKING_H
#include "count_monitor.h"
#include <user/space.h>

/* Stack a monitor on @vcpu: a fresh exit table at @level whose slots of
 * @reasons hold @ep badged @badge (and nothing else). Returns the table's
 * capability, 0 on failure. */
nestor_cptr_t stack_exit_table(nu_alloc_t *a, nestor_cptr_t vcpu, unsigned level,
                                  nestor_cptr_t ep, nestor_word_t badge,
                                  const nestor_word_t *reasons, unsigned n_reasons);
/* Start a count monitor as a process of its own and stack it at level 1 on
 * @reason of the VM whose VCPU is @vcpu. Returns our capability to query
 * it (badged CM_BADGE_QUERY), 0 on failure. */
nestor_cptr_t count_monitor_stack(nu_alloc_t *a, nestor_cptr_t vcpu, unsigned reason);
/* Ask the count monitor (or any stacked monitor) behind @query, telling it
 * how its VM ended (@how: CM_QUERY_EXITED with the guest's @status, or
 * CM_QUERY_STOPPED): exits of its reasons it saw, and the others it passed
 * through. */
bool count_monitor_query(nestor_cptr_t query, nestor_word_t how, nestor_word_t status,
                         nestor_word_t *counted, nestor_word_t *others);

struct vm;
/* A stacked monitor's requests to the VMM's endpoint (nested-vmx/
 * nvmx_setup.h NVMX_REQ_*) are badged with this | the VM's index + 1. */
#define VMM_BADGE_MONITOR (1ULL << 41)
#define VMM_BADGE_VM_MASK      0xFFu          /* VMM_MAX_VMS fits; bits 8-39: virtio_fwd.h */

/* The setup call for a monitor at @level of @vm's exit tables that works
 * on the VM itself (nested-vmx, the inspector; nested-vmx/nvmx_setup.h):
 * a CNode of copies of the VM's VCPU, state page and RAM frames and a stop
 * capability to @stop_ep, with (@kick, nested-vmx) the notification the
 * VMM signals on its pauses and resets, set as the message's one
 * capability, and the MRs (@flags: NVMX_SETUP_*). With @inspector (not 0,
 * nested-vmx's hand-over) the endpoint of an inspector of L2, badged for
 * its setup and for its exits (NVMX_GRANT_INSP_*, NVMX_SETUP_INSPECTOR).
 * False if the objects cannot be made. */
bool monitor_grant(nu_alloc_t *a, struct vm *vm, unsigned level, nestor_cptr_t stop_ep, bool kick,
                   nestor_word_t flags, nestor_cptr_t inspector, nu_msg_t *msg);

/* The setup call for the pager stacked at @level right above the VMM on
 * @vm (pager/pager_proto.h): the EPT tables over the VM's paged RAM
 * [ram_bytes, ram_bytes + paged_bytes), built here and left empty, and a
 * capability to the VM's EPT restricted to that range (NESTOR_EPT_RESTRICT)
 * as the message's one capability. False if they cannot be made. */
bool pager_grant(nu_alloc_t *a, struct vm *vm, unsigned level, nu_msg_t *msg);

#endif
