/*
 * kernel/cnode_ops.h - deriving, deleting and revoking capabilities, and
 * destroying objects when their last capability goes.
 */
#ifndef KERNEL_CNODE_OPS_H
#define KERNEL_CNODE_OPS_H
#include "kernel/objects.h"
#include <nestor/context.h>
#include <nestor/errors.h>

/* Can @src be copied at all? (Untyped capabilities cannot.) */
nestor_error_t cap_check_derivable(const cte_t *src);
/* Copy @src into empty @dest as its child with rights reduced by @mask.
 * Returns false if @src cannot be derived. */
bool cnode_derive_into(cte_t *src, cte_t *dest, uint8_t mask);
/* Find the empty receive slot named by @t's IPC buffer. */
bool cnode_receive_slot(tcb_t *t, nestor_ipc_buffer_t *buf, cte_t **out);
/*
 * Replace what @dst (a slot inside the object @owner names) holds with a copy
 * of @src, or nothing if @src is NULL. Deleting the old capability can
 * destroy anything, @owner and @src included, so after the deletion both are
 * checked again; if either changed, nothing is installed and false returned.
 */
bool cap_install_copy(cte_t *dst, cte_t *src, const cte_t *owner);
/* Delete the capability in @slot; destroy its object if it was the last. */
void cap_delete(cte_t *slot);
/* Delete every capability derived from @slot. */
void cap_revoke(cte_t *slot);
/* Set @t's registers from a user-supplied context (sanitised). */
void tcb_set_context(tcb_t *t, const nestor_user_context_t *ctx);
void tcb_get_context(const tcb_t *t, nestor_user_context_t *ctx);
/* Lay out a freshly retyped TCB. */
void tcb_init_object(tcb_t *t, uint32_t id);

#endif
