/* lib/user/invoke.c - kernel object invocations over CALL. */
#include <user/invoke.h>

nestor_error_t nu_invoke(nestor_cptr_t cap, nestor_word_t label, const nestor_word_t *args,
                         unsigned nargs, const nestor_cptr_t *caps, unsigned ncaps,
                         nestor_word_t *res, unsigned nres)
{
    nestor_ipc_buffer_t *buf = nu_ipc_buffer();
    nu_msg_t m = { .info = nestor_msginfo(label, 0, ncaps, nargs) };
    for (unsigned i = 0; i < nargs; i++) {
        if (i < NESTOR_MSG_REGISTERS_IN_CPU)
            m.mr[i] = args[i];
        else
            buf->msg[i] = args[i];
    }
    for (unsigned i = 0; i < ncaps; i++)
        buf->caps_or_badges[i] = caps[i];
    nestor_word_t status = nu_call(cap, &m);
    unsigned got = nestor_msginfo_length(m.info);
    for (unsigned i = 0; res && i < nres; i++) {
        if (i >= got)
            res[i] = 0;
        else
            res[i] = i < NESTOR_MSG_REGISTERS_IN_CPU ? m.mr[i] : buf->msg[i];
    }
    return (nestor_error_t)status;
}

#define ARGS(...) ((const nestor_word_t[]){ __VA_ARGS__ })
#define NARGS(...) (sizeof(ARGS(__VA_ARGS__)) / sizeof(nestor_word_t))
#define CALL(cap, label, ...) nu_invoke(cap, label, ARGS(__VA_ARGS__), NARGS(__VA_ARGS__), 0, 0, 0, 0)
#define CALL_CAPS(cap, label, caps, n, ...) \
    nu_invoke(cap, label, ARGS(__VA_ARGS__), NARGS(__VA_ARGS__), caps, n, 0, 0)

nestor_error_t nu_untyped_retype(nestor_cptr_t ut, nestor_word_t type, nestor_word_t size_bits,
                                 nestor_cptr_t root, nestor_word_t index, nestor_word_t depth,
                                 nestor_word_t offset, nestor_word_t count)
{
    return CALL_CAPS(ut, NESTOR_UNTYPED_RETYPE, &root, 1, type, size_bits, index, depth, offset,
                     count);
}

nestor_error_t nu_cnode_copy(nestor_cptr_t cnode, nestor_word_t dest, nestor_word_t ddepth,
                             nestor_cptr_t src_root, nestor_word_t src, nestor_word_t sdepth,
                             nestor_word_t rights)
{
    return CALL_CAPS(cnode, NESTOR_CNODE_COPY, &src_root, 1, dest, ddepth, src, sdepth, rights);
}

nestor_error_t nu_cnode_mint(nestor_cptr_t cnode, nestor_word_t dest, nestor_word_t ddepth,
                             nestor_cptr_t src_root, nestor_word_t src, nestor_word_t sdepth,
                             nestor_word_t rights, nestor_word_t badge)
{
    return CALL_CAPS(cnode, NESTOR_CNODE_MINT, &src_root, 1, dest, ddepth, src, sdepth, rights,
                     badge);
}

nestor_error_t nu_cnode_move(nestor_cptr_t cnode, nestor_word_t dest, nestor_word_t ddepth,
                             nestor_cptr_t src_root, nestor_word_t src, nestor_word_t sdepth)
{
    return CALL_CAPS(cnode, NESTOR_CNODE_MOVE, &src_root, 1, dest, ddepth, src, sdepth);
}

nestor_error_t nu_cnode_mutate(nestor_cptr_t cnode, nestor_word_t dest, nestor_word_t ddepth,
                               nestor_cptr_t src_root, nestor_word_t src, nestor_word_t sdepth,
                               nestor_word_t data)
{
    return CALL_CAPS(cnode, NESTOR_CNODE_MUTATE, &src_root, 1, dest, ddepth, src, sdepth, data);
}

nestor_error_t nu_cnode_delete(nestor_cptr_t cnode, nestor_word_t slot, nestor_word_t depth)
{
    return CALL(cnode, NESTOR_CNODE_DELETE, slot, depth);
}

nestor_error_t nu_cnode_revoke(nestor_cptr_t cnode, nestor_word_t slot, nestor_word_t depth)
{
    return CALL(cnode, NESTOR_CNODE_REVOKE, slot, depth);
}

nestor_error_t nu_cap_identify(nestor_cptr_t cap, nestor_word_t *type, nestor_word_t *rights,
                               nestor_word_t *extra)
{
    nu_msg_t m = { 0 };
    nestor_error_t e = (nestor_error_t)nu_syscall(NESTOR_SYS_CAP_IDENTIFY, cap, &m);
    if (type) *type = m.mr[0];
    if (rights) *rights = m.mr[1];
    if (extra) *extra = m.mr[2];
    return e;
}

nestor_error_t nu_tcb_configure(nestor_cptr_t tcb, nestor_cptr_t fault_ep, nestor_cptr_t cspace,
                                nestor_cptr_t vspace, nestor_cptr_t buf_frame,
                                nestor_word_t buf_vaddr)
{
    const nestor_cptr_t caps[] = { cspace, vspace, buf_frame };
    return CALL_CAPS(tcb, NESTOR_TCB_CONFIGURE, caps, 3, fault_ep, buf_vaddr);
}

nestor_error_t nu_tcb_set_priority(nestor_cptr_t tcb, nestor_word_t prio)
{
    return CALL(tcb, NESTOR_TCB_SET_PRIORITY, prio);
}

nestor_error_t nu_tcb_read_registers(nestor_cptr_t tcb, nestor_user_context_t *ctx)
{
    return nu_invoke(tcb, NESTOR_TCB_READ_REGISTERS, 0, 0, 0, 0, (nestor_word_t *)ctx,
                     NESTOR_CONTEXT_WORDS);
}

nestor_error_t nu_tcb_write_registers(nestor_cptr_t tcb, int resume,
                                      const nestor_user_context_t *ctx)
{
    nestor_word_t args[1 + NESTOR_CONTEXT_WORDS];
    args[0] = (nestor_word_t)resume;
    const nestor_word_t *w = (const nestor_word_t *)ctx;
    for (unsigned i = 0; i < NESTOR_CONTEXT_WORDS; i++)
        args[1 + i] = w[i];
    return nu_invoke(tcb, NESTOR_TCB_WRITE_REGISTERS, args, 1 + NESTOR_CONTEXT_WORDS, 0, 0, 0, 0);
}

nestor_error_t nu_tcb_resume(nestor_cptr_t tcb) { return nu_invoke(tcb, NESTOR_TCB_RESUME, 0, 0, 0, 0, 0, 0); }
nestor_error_t nu_tcb_suspend(nestor_cptr_t tcb) { return nu_invoke(tcb, NESTOR_TCB_SUSPEND, 0, 0, 0, 0, 0, 0); }

nestor_error_t nu_tcb_bind_notification(nestor_cptr_t tcb, nestor_cptr_t ntfn)
{
    return nu_invoke(tcb, NESTOR_TCB_BIND_NOTIFICATION, 0, 0, &ntfn, 1, 0, 0);
}

nestor_error_t nu_tcb_unbind_notification(nestor_cptr_t tcb)
{
    return nu_invoke(tcb, NESTOR_TCB_UNBIND_NOTIFICATION, 0, 0, 0, 0, 0, 0);
}

nestor_error_t nu_tcb_set_tls_base(nestor_cptr_t tcb, nestor_word_t fs, nestor_word_t gs)
{
    return CALL(tcb, NESTOR_TCB_SET_TLS_BASE, fs, gs);
}

nestor_error_t nu_page_table_map(nestor_cptr_t table, nestor_cptr_t pml4, nestor_word_t vaddr)
{
    return CALL_CAPS(table, NESTOR_PAGE_TABLE_MAP, &pml4, 1, vaddr);
}

nestor_error_t nu_page_table_unmap(nestor_cptr_t table)
{
    return nu_invoke(table, NESTOR_PAGE_TABLE_UNMAP, 0, 0, 0, 0, 0, 0);
}

nestor_error_t nu_frame_map(nestor_cptr_t frame, nestor_cptr_t pml4, nestor_word_t vaddr,
                            nestor_word_t rights, nestor_word_t attr)
{
    return CALL_CAPS(frame, NESTOR_FRAME_MAP, &pml4, 1, vaddr, rights, attr);
}

nestor_error_t nu_frame_unmap(nestor_cptr_t frame)
{
    return nu_invoke(frame, NESTOR_FRAME_UNMAP, 0, 0, 0, 0, 0, 0);
}

nestor_error_t nu_frame_get_address(nestor_cptr_t frame, nestor_word_t *paddr)
{
    return nu_invoke(frame, NESTOR_FRAME_GET_ADDRESS, 0, 0, 0, 0, paddr, 1);
}

nestor_error_t nu_irq_control_get(nestor_cptr_t ctl, nestor_word_t line, nestor_cptr_t root,
                                  nestor_word_t index, nestor_word_t depth)
{
    return CALL_CAPS(ctl, NESTOR_IRQ_CONTROL_GET, &root, 1, line, index, depth);
}

nestor_error_t nu_irq_handler_ack(nestor_cptr_t h)
{
    return nu_invoke(h, NESTOR_IRQ_HANDLER_ACK, 0, 0, 0, 0, 0, 0);
}

nestor_error_t nu_irq_handler_set_notification(nestor_cptr_t h, nestor_cptr_t ntfn)
{
    return nu_invoke(h, NESTOR_IRQ_HANDLER_SET_NOTIFICATION, 0, 0, &ntfn, 1, 0, 0);
}

nestor_error_t nu_ioport_issue(nestor_cptr_t ctl, nestor_word_t first, nestor_word_t last,
                               nestor_cptr_t root, nestor_word_t index, nestor_word_t depth)
{
    return CALL_CAPS(ctl, NESTOR_IOPORT_CONTROL_ISSUE, &root, 1, first, last, index, depth);
}

nestor_error_t nu_ioport_in(nestor_cptr_t port_cap, nestor_word_t port, nestor_word_t size,
                            nestor_word_t *value)
{
    return nu_invoke(port_cap, NESTOR_IOPORT_IN, ARGS(port, size), 2, 0, 0, value, 1);
}

nestor_error_t nu_ioport_out(nestor_cptr_t port_cap, nestor_word_t port, nestor_word_t size,
                             nestor_word_t value)
{
    return CALL(port_cap, NESTOR_IOPORT_OUT, port, size, value);
}
