/*
 * tests/kernel/test_ipc.c - endpoints, replies, badges, capability transfer,
 * notifications. The root task runs at the top priority, so a test thread
 * runs only while the root task is blocked in IPC.
 */
#include "ktest.h"
#include <nestor/limits.h>

#define THREAD_PRIO 100

/* Server: reply to each call with (label + 1, mr0 + badge, words summed). */
static void echo_server(nestor_word_t ep)
{
    nu_msg_t m = { 0 };
    nu_recv(ep, &m);
    for (;;) {
        nestor_ipc_buffer_t *b = nu_ipc_buffer();
        unsigned len = nestor_msginfo_length(m.info);
        nestor_word_t sum = 0;
        for (unsigned i = 0; i < len; i++)
            sum += i < 4 ? m.mr[i] : b->msg[i];
        nestor_word_t label = nestor_msginfo_label(m.info);
        m.mr[0] = m.mr[0] + m.badge;
        m.mr[1] = sum;
        m.info = nestor_msginfo(label + 1, 0, 0, 2);
        nu_reply_recv(ep, &m);
    }
}

KTEST(ipc_call_reply)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    env_thread(echo_server, ep, THREAD_PRIO, 0);
    nu_msg_t m = { .info = nestor_msginfo(10, 0, 0, 2), .mr = { 5, 6 } };
    KT_OK(nu_call(ep, &m));
    KT_EQ(nestor_msginfo_label(m.info), 11);
    KT_EQ(nestor_msginfo_length(m.info), 2);
    KT_EQ(m.mr[0], 5);
    KT_EQ(m.mr[1], 11);
    for (int i = 0; i < 100; i++) {         /* the server loops with reply-receive */
        m = (nu_msg_t){ .info = nestor_msginfo(1, 0, 0, 1), .mr = { (nestor_word_t)i } };
        KT_OK(nu_call(ep, &m));
        KT_EQ(m.mr[1], i);
    }
    return KT_PASS;
}

KTEST(ipc_long_message_through_buffer)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    env_thread(echo_server, ep, THREAD_PRIO, 0);
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    nu_msg_t m = { .info = nestor_msginfo(1, 0, 0, NESTOR_MSG_MAX_LENGTH) };
    nestor_word_t want = 0;
    for (unsigned i = 0; i < NESTOR_MSG_MAX_LENGTH; i++) {
        if (i < 4)
            m.mr[i] = i * 3;
        else
            b->msg[i] = i * 3;
        want += i * 3;
    }
    KT_OK(nu_call(ep, &m));
    KT_EQ(m.mr[1], want);
    /* A length beyond the maximum is cut, not trusted. */
    m = (nu_msg_t){ .info = nestor_msginfo(1, 0, 0, 127), .mr = { 1, 1, 1, 1 } };
    KT_OK(nu_call(ep, &m));
    return KT_PASS;
}

KTEST(ipc_badges_identify_clients)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0), a = env_slot(), b = env_slot();
    KT_OK(nu_cnode_mint(ROOT_CNODE, a, ROOT_DEPTH, ROOT_CNODE, ep, ROOT_DEPTH, 15, 100));
    KT_OK(nu_cnode_mint(ROOT_CNODE, b, ROOT_DEPTH, ROOT_CNODE, ep, ROOT_DEPTH, 15, 200));
    env_thread(echo_server, ep, THREAD_PRIO, 0);
    nu_msg_t m = { .info = nestor_msginfo(0, 0, 0, 1), .mr = { 1 } };
    KT_OK(nu_call(a, &m));
    KT_EQ(m.mr[0], 101);
    m = (nu_msg_t){ .info = nestor_msginfo(0, 0, 0, 1), .mr = { 1 } };
    KT_OK(nu_call(b, &m));
    KT_EQ(m.mr[0], 201);
    return KT_PASS;
}

static void receiver_records(nestor_word_t ep)
{
    nu_msg_t m = { 0 };
    env_shared[1] = nu_recv(ep, &m);
    env_shared[0] = m.mr[0];
    env_shared[2] = 1;
}

KTEST(ipc_send_to_waiting_receiver)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    env_thread(receiver_records, ep, THREAD_PRIO, 0);
    /* The receiver has not run yet (lower priority): a non-blocking send drops. */
    nu_msg_t m = { .info = nestor_msginfo(0, 0, 0, 1), .mr = { 77 } };
    KT_OK(nu_nbsend(ep, &m));
    KT_EQ(env_shared[2], 0);
    /* A blocking send waits until the receiver arrives. */
    m = (nu_msg_t){ .info = nestor_msginfo(0, 0, 0, 1), .mr = { 88 } };
    KT_OK(nu_send(ep, &m));
    env_wait_idle();
    KT_EQ(env_shared[0], 88);
    KT_EQ(env_shared[1], NESTOR_OK);
    return KT_PASS;
}

KTEST(ipc_nonblocking_receive_empty)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    nu_msg_t m = { 0 };
    KT_EQ(nu_nbrecv(ep, &m), NESTOR_ERR_WOULD_BLOCK);
    return KT_PASS;
}

KTEST(ipc_reply_without_caller)
{
    nu_msg_t m = { 0 };
    KT_EQ(nu_reply(&m), NESTOR_ERR_NO_REPLY);
    return KT_PASS;
}

KTEST(ipc_rights_enforced)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0), ro = env_slot(), wo = env_slot();
    KT_OK(nu_cnode_copy(ROOT_CNODE, ro, ROOT_DEPTH, ROOT_CNODE, ep, ROOT_DEPTH, NESTOR_RIGHT_READ));
    KT_OK(nu_cnode_copy(ROOT_CNODE, wo, ROOT_DEPTH, ROOT_CNODE, ep, ROOT_DEPTH, NESTOR_RIGHT_WRITE));
    nu_msg_t m = { 0 };
    KT_EQ(nu_send(ro, &m), NESTOR_ERR_INSUFFICIENT_RIGHTS);
    KT_EQ(nu_call(ro, &m), NESTOR_ERR_INSUFFICIENT_RIGHTS);
    KT_EQ(nu_nbrecv(wo, &m), NESTOR_ERR_INSUFFICIENT_RIGHTS);
    return KT_PASS;
}

KTEST(ipc_recv_on_non_ipc_object_refused)
{
    nu_msg_t m = { 0 };
    KT_EQ(nu_nbrecv(NESTOR_CAP_INIT_TCB, &m), NESTOR_ERR_INVALID_CAPABILITY);
    KT_EQ(nu_recv(env_slot(), &m), NESTOR_ERR_INVALID_CAPABILITY);
    return KT_PASS;
}

/* Receives one capability into its slot env_shared[3], then identifies it. */
static void cap_receiver(nestor_word_t ep)
{
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    b->receive_cnode = ROOT_CNODE;
    b->receive_index = env_shared[3];
    b->receive_depth = ROOT_DEPTH;
    nu_msg_t m = { 0 };
    nu_recv(ep, &m);
    env_shared[4] = nestor_msginfo_extra_caps(m.info);
    env_shared[5] = nestor_msginfo_caps_unwrapped(m.info);
    env_shared[6] = b->caps_or_badges[0];
    nestor_word_t type = 0;
    nu_cap_identify(env_shared[3], &type, 0, 0);
    env_shared[7] = type;
    nu_reply(&m);
}

static int send_cap(nestor_cptr_t via, nestor_cptr_t ep, nestor_cptr_t cap)
{
    (void)ep;
    nu_ipc_buffer()->caps_or_badges[0] = cap;
    nu_msg_t m = { .info = nestor_msginfo(0, 0, 1, 0) };
    return (int)nu_call(via, &m);
}

KTEST(ipc_capability_transfer)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0), ntfn = env_obj(NESTOR_OBJ_NOTIFICATION, 0);
    env_shared[3] = env_slot();
    env_thread(cap_receiver, ep, THREAD_PRIO, 0);
    KT_OK(send_cap(ep, ep, ntfn));
    KT_EQ(env_shared[4], 1);
    KT_EQ(env_shared[7], NESTOR_OBJ_NOTIFICATION);
    return KT_PASS;
}

KTEST(ipc_capability_transfer_needs_grant)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0), ntfn = env_obj(NESTOR_OBJ_NOTIFICATION, 0);
    nestor_cptr_t nogrant = env_slot();
    KT_OK(nu_cnode_copy(ROOT_CNODE, nogrant, ROOT_DEPTH, ROOT_CNODE, ep, ROOT_DEPTH,
                        NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE));
    env_shared[3] = env_slot();
    env_thread(cap_receiver, ep, THREAD_PRIO, 0);
    KT_OK(send_cap(nogrant, ep, ntfn));
    KT_EQ(env_shared[4], 0);
    KT_EQ(env_shared[7], 0);    /* the receive slot stayed empty */
    return KT_PASS;
}

KTEST(ipc_badged_cap_unwrapped)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0), badged = env_slot();
    KT_OK(nu_cnode_mint(ROOT_CNODE, badged, ROOT_DEPTH, ROOT_CNODE, ep, ROOT_DEPTH, 15, 0x55));
    env_shared[3] = env_slot();
    env_thread(cap_receiver, ep, THREAD_PRIO, 0);
    KT_OK(send_cap(ep, ep, badged));
    KT_EQ(env_shared[4], 1);
    KT_EQ(env_shared[5], 1);
    KT_EQ(env_shared[6], 0x55);
    return KT_PASS;
}

static void blocked_receiver(nestor_word_t ep)
{
    nu_msg_t m = { 0 };
    env_shared[0] = 1;
    env_shared[1] = nu_recv(ep, &m);
    env_shared[0] = 2;
}

KTEST(ipc_delete_endpoint_wakes_blocked_thread)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    env_thread(blocked_receiver, ep, THREAD_PRIO, 0);
    env_wait_idle();
    KT_EQ(env_shared[0], 1);
    KT_OK(nu_cnode_delete(ROOT_CNODE, ep, ROOT_DEPTH));
    env_wait_idle();
    KT_EQ(env_shared[0], 2);
    KT_EQ(env_shared[1], NESTOR_ERR_DELETED);
    return KT_PASS;
}

KTEST(ipc_revoke_while_blocked)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0), copy = env_slot();
    KT_OK(nu_cnode_copy(ROOT_CNODE, copy, ROOT_DEPTH, ROOT_CNODE, ep, ROOT_DEPTH, 15));
    env_thread(blocked_receiver, copy, THREAD_PRIO, 0);
    env_wait_idle();
    KT_EQ(env_shared[0], 1);
    /* Revoking removes the thread's capability but not the endpoint: it waits on. */
    KT_OK(nu_cnode_revoke(ROOT_CNODE, ep, ROOT_DEPTH));
    env_wait_idle();
    KT_EQ(env_shared[0], 1);
    nu_msg_t m = { .info = nestor_msginfo(0, 0, 0, 1), .mr = { 3 } };
    KT_OK(nu_send(ep, &m));
    env_wait_idle();
    KT_EQ(env_shared[0], 2);
    KT_EQ(env_shared[1], NESTOR_OK);
    return KT_PASS;
}

KTEST(ipc_call_deleted_endpoint_refused)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    KT_OK(nu_cnode_delete(ROOT_CNODE, ep, ROOT_DEPTH));
    nu_msg_t m = { 0 };
    KT_EQ(nu_call(ep, &m), NESTOR_ERR_INVALID_CAPABILITY);
    return KT_PASS;
}

static void waiter(nestor_word_t ntfn)
{
    env_shared[0] = nu_wait(ntfn);
}

KTEST(notification_signal_then_wait)
{
    nestor_cptr_t n = env_obj(NESTOR_OBJ_NOTIFICATION, 0), b1 = env_slot(), b2 = env_slot();
    KT_OK(nu_cnode_mint(ROOT_CNODE, b1, ROOT_DEPTH, ROOT_CNODE, n, ROOT_DEPTH, 15, 1));
    KT_OK(nu_cnode_mint(ROOT_CNODE, b2, ROOT_DEPTH, ROOT_CNODE, n, ROOT_DEPTH, 15, 4));
    nu_signal(b1);
    nu_signal(b2);
    KT_EQ(nu_wait(n), 5);      /* badges accumulate by OR */
    nu_msg_t m = { 0 };
    KT_EQ(nu_nbrecv(n, &m), NESTOR_ERR_WOULD_BLOCK);
    return KT_PASS;
}

KTEST(notification_wakes_waiter)
{
    nestor_cptr_t n = env_obj(NESTOR_OBJ_NOTIFICATION, 0), b = env_slot();
    KT_OK(nu_cnode_mint(ROOT_CNODE, b, ROOT_DEPTH, ROOT_CNODE, n, ROOT_DEPTH, 15, 0x80));
    env_thread(waiter, n, THREAD_PRIO, 0);
    env_wait_idle();
    KT_EQ(env_shared[0], 0);
    nu_signal(b);
    env_wait_idle();
    KT_EQ(env_shared[0], 0x80);
    return KT_PASS;
}

KTEST(notification_delete_wakes_waiter)
{
    nestor_cptr_t n = env_obj(NESTOR_OBJ_NOTIFICATION, 0);
    env_shared[0] = 99;
    env_thread(waiter, n, THREAD_PRIO, 0);
    env_wait_idle();
    KT_OK(nu_cnode_delete(ROOT_CNODE, n, ROOT_DEPTH));
    env_wait_idle();
    KT_EQ(env_shared[0], 0);   /* nu_wait returns 0 on error */
    return KT_PASS;
}

static void bound_receiver(nestor_word_t ep)
{
    nu_msg_t m = { 0 };
    env_shared[1] = nu_recv(ep, &m);
    env_shared[0] = m.badge;
}

KTEST(bound_notification_wakes_endpoint_receiver)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0), n = env_obj(NESTOR_OBJ_NOTIFICATION, 0);
    nestor_cptr_t b = env_slot();
    KT_OK(nu_cnode_mint(ROOT_CNODE, b, ROOT_DEPTH, ROOT_CNODE, n, ROOT_DEPTH, 15, 0x10));
    env_thread_t t = env_thread(bound_receiver, ep, THREAD_PRIO, 0);
    KT_OK(nu_tcb_bind_notification(t.tcb, n));
    KT_EQ(nu_tcb_bind_notification(t.tcb, n), NESTOR_ERR_ILLEGAL_OPERATION);
    env_wait_idle();
    nu_signal(b);
    env_wait_idle();
    KT_EQ(env_shared[0], 0x10);
    KT_OK(nu_tcb_unbind_notification(t.tcb));
    KT_EQ(nu_tcb_unbind_notification(t.tcb), NESTOR_ERR_ILLEGAL_OPERATION);
    return KT_PASS;
}

KTEST(notification_unbadged_signal_not_lost)
{
    /* A signal with badge 0 before anyone waits must still be pending. */
    nestor_cptr_t n = env_obj(NESTOR_OBJ_NOTIFICATION, 0);
    nu_signal(n);
    nu_msg_t m = { 0 };
    KT_OK(nu_nbrecv(n, &m));
    KT_EQ(m.badge, 0);
    KT_EQ(nu_nbrecv(n, &m), NESTOR_ERR_WOULD_BLOCK);
    return KT_PASS;
}

/* Takes one call and never answers it until signalled (arg: the endpoint;
 * env_shared[2]: the notification); then tries to reply, recording the
 * status: the caller gave up, so there is nobody to reply to. */
static void silent_server(nestor_word_t ep)
{
    nu_msg_t m = { 0 };
    env_shared[0] = nu_recv(ep, &m) == NESTOR_OK ? m.mr[0] : 0;
    nu_wait(env_shared[2]);
    m = (nu_msg_t){ .info = nestor_msginfo(0, 0, 0, 0) };
    env_shared[1] = nu_reply(&m);
    nu_wait(env_shared[2]);
}

static nestor_error_t set_call_timeout(nestor_cptr_t tcb, nestor_word_t ms)
{
    return nu_invoke(tcb, NESTOR_TCB_SET_CALL_TIMEOUT, &ms, 1, 0, 0, 0, 0);
}

/* NESTOR_SYS_CALL_BOUNDED: nobody receiving, a receiver that never replies
 * (its late reply finds no caller), a receiver that replies in time (no
 * timeout left behind to hit a later wait), timeout 0 (a plain call) and
 * a timeout out of range. */
KTEST(ipc_bounded_call_times_out)
{
    enum { TIMEOUT_MS = 20 };
    nestor_cptr_t me = NESTOR_CAP_INIT_TCB;
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0), n = env_obj(NESTOR_OBJ_NOTIFICATION, 0);
    KT_EQ(set_call_timeout(me, NESTOR_CALL_TIMEOUT_MAX_MS + 1), NESTOR_ERR_RANGE);
    KT_OK(set_call_timeout(me, TIMEOUT_MS));

    /* Nobody receives: out of the send queue with TIMED_OUT. */
    nu_msg_t m = { .info = nestor_msginfo(1, 0, 0, 1), .mr = { 7 } };
    KT_EQ(nu_call_bounded(ep, &m), NESTOR_ERR_TIMED_OUT);

    /* A server takes the call and keeps it. */
    env_shared[0] = env_shared[1] = 0;
    env_shared[2] = n;
    env_thread(silent_server, ep, THREAD_PRIO, 0);
    m = (nu_msg_t){ .info = nestor_msginfo(1, 0, 0, 1), .mr = { 42 } };
    KT_EQ(nu_call_bounded(ep, &m), NESTOR_ERR_TIMED_OUT);
    KT_EQ(env_shared[0], 42);               /* it had the message */
    nu_signal(n);
    env_wait_idle();
    KT_EQ(env_shared[1], NESTOR_ERR_NO_REPLY);

    /* A server that answers: the reply, and no timeout left armed (a stale
     * one would end the root task's next waits with an error). */
    nestor_cptr_t ep2 = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    env_thread(echo_server, ep2, THREAD_PRIO, 0);
    for (int i = 0; i < 10; i++) {
        m = (nu_msg_t){ .info = nestor_msginfo(3, 0, 0, 1), .mr = { (nestor_word_t)i } };
        KT_OK(nu_call_bounded(ep2, &m));
        KT_EQ(nestor_msginfo_label(m.info), 4);
        KT_EQ(m.mr[1], i);
    }
    for (int i = 0; i < 3 * TIMEOUT_MS; i++)
        KT_EQ(env_sleep_ticks(1), ENV_TICK_BADGE);

    /* Timeout 0: no limit, the call is a plain one. */
    KT_OK(set_call_timeout(me, 0));
    m = (nu_msg_t){ .info = nestor_msginfo(5, 0, 0, 1), .mr = { 9 } };
    KT_OK(nu_call_bounded(ep2, &m));
    KT_EQ(m.mr[1], 9);
    return KT_PASS;
}
