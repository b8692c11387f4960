/*
 * lib/user/include/user/invoke.h - calling kernel objects (labels and
 * arguments in nestor/invocations.h). Each returns the kernel's error code.
 */
#ifndef USER_INVOKE_H
#define USER_INVOKE_H
#include <nestor/context.h>
#include <nestor/invocations.h>
#include <nestor/objects.h>
#include <user/sys.h>

/*
 * Invoke @cap with @label, @nargs argument words and @ncaps extra capability
 * addresses; up to @nres result words are stored in @res (may be NULL).
 * On error, res[0] and res[1] hold the kernel's detail words.
 */
nestor_error_t nu_invoke(nestor_cptr_t cap, nestor_word_t label, const nestor_word_t *args,
                         unsigned nargs, const nestor_cptr_t *caps, unsigned ncaps,
                         nestor_word_t *res, unsigned nres);

nestor_error_t nu_untyped_retype(nestor_cptr_t ut, nestor_word_t type, nestor_word_t size_bits,
                                 nestor_cptr_t root, nestor_word_t index, nestor_word_t depth,
                                 nestor_word_t offset, nestor_word_t count);
nestor_error_t nu_cnode_copy(nestor_cptr_t cnode, nestor_word_t dest, nestor_word_t ddepth,
                             nestor_cptr_t src_root, nestor_word_t src, nestor_word_t sdepth,
                             nestor_word_t rights);
nestor_error_t nu_cnode_mint(nestor_cptr_t cnode, nestor_word_t dest, nestor_word_t ddepth,
                             nestor_cptr_t src_root, nestor_word_t src, nestor_word_t sdepth,
                             nestor_word_t rights, nestor_word_t badge);
nestor_error_t nu_cnode_move(nestor_cptr_t cnode, nestor_word_t dest, nestor_word_t ddepth,
                             nestor_cptr_t src_root, nestor_word_t src, nestor_word_t sdepth);
nestor_error_t nu_cnode_mutate(nestor_cptr_t cnode, nestor_word_t dest, nestor_word_t ddepth,
                               nestor_cptr_t src_root, nestor_word_t src, nestor_word_t sdepth,
                               nestor_word_t data);
nestor_error_t nu_cnode_delete(nestor_cptr_t cnode, nestor_word_t slot, nestor_word_t depth);
nestor_error_t nu_cnode_revoke(nestor_cptr_t cnode, nestor_word_t slot, nestor_word_t depth);
nestor_error_t nu_cap_identify(nestor_cptr_t cap, nestor_word_t *type, nestor_word_t *rights,
                               nestor_word_t *extra);

nestor_error_t nu_tcb_configure(nestor_cptr_t tcb, nestor_cptr_t fault_ep, nestor_cptr_t cspace,
                                nestor_cptr_t vspace, nestor_cptr_t buf_frame,
                                nestor_word_t buf_vaddr);
nestor_error_t nu_tcb_set_priority(nestor_cptr_t tcb, nestor_word_t prio);
nestor_error_t nu_tcb_read_registers(nestor_cptr_t tcb, nestor_user_context_t *ctx);
nestor_error_t nu_tcb_write_registers(nestor_cptr_t tcb, int resume,
                                      const nestor_user_context_t *ctx);
nestor_error_t nu_tcb_resume(nestor_cptr_t tcb);
nestor_error_t nu_tcb_suspend(nestor_cptr_t tcb);
nestor_error_t nu_tcb_bind_notification(nestor_cptr_t tcb, nestor_cptr_t ntfn);
nestor_error_t nu_tcb_unbind_notification(nestor_cptr_t tcb);
nestor_error_t nu_tcb_set_tls_base(nestor_cptr_t tcb, nestor_word_t fs, nestor_word_t gs);

nestor_error_t nu_page_table_map(nestor_cptr_t table, nestor_cptr_t pml4, nestor_word_t vaddr);
nestor_error_t nu_page_table_unmap(nestor_cptr_t table);
nestor_error_t nu_frame_map(nestor_cptr_t frame, nestor_cptr_t pml4, nestor_word_t vaddr,
                            nestor_word_t rights, nestor_word_t attr);
nestor_error_t nu_frame_unmap(nestor_cptr_t frame);
nestor_error_t nu_frame_get_address(nestor_cptr_t frame, nestor_word_t *paddr);

nestor_error_t nu_irq_control_get(nestor_cptr_t ctl, nestor_word_t line, nestor_cptr_t root,
                                  nestor_word_t index, nestor_word_t depth);
nestor_error_t nu_irq_handler_ack(nestor_cptr_t h);
nestor_error_t nu_irq_handler_set_notification(nestor_cptr_t h, nestor_cptr_t ntfn);
nestor_error_t nu_ioport_issue(nestor_cptr_t ctl, nestor_word_t first, nestor_word_t last,
                               nestor_cptr_t root, nestor_word_t index, nestor_word_t depth);
nestor_error_t nu_ioport_in(nestor_cptr_t port_cap, nestor_word_t port, nestor_word_t size,
                            nestor_word_t *value);
nestor_error_t nu_ioport_out(nestor_cptr_t port_cap, nestor_word_t port, nestor_word_t size,
                             nestor_word_t value);

#endif
