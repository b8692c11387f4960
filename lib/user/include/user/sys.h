/*
 * lib/user/include/user/sys.h - system call stubs for user-level Nestor code
 * (register ABI in nestor/syscalls.h).
 */
#ifndef USER_SYS_H
#define USER_SYS_H
#include <nestor/bootinfo.h>
#include <nestor/errors.h>
#include <nestor/ipc_buffer.h>
#include <nestor/msginfo.h>
#include <nestor/syscalls.h>

/* A message as it goes in and comes out of a system call. */
typedef struct {
    nestor_msginfo_t info;
    nestor_word_t badge;            /* out: sender's badge */
    nestor_word_t mr[NESTOR_MSG_REGISTERS_IN_CPU];
} nu_msg_t;

static inline nestor_word_t nu_syscall(nestor_word_t num, nestor_word_t dest, nu_msg_t *m)
{
    register nestor_word_t r8 __asm__("r8") = m->mr[1];
    register nestor_word_t r9 __asm__("r9") = m->mr[2];
    register nestor_word_t r10 __asm__("r10") = m->mr[3];
    nestor_word_t rax = num, rdi = dest, rsi = m->info, rdx = m->mr[0];
    __asm__ volatile("syscall"
                     : "+a"(rax), "+D"(rdi), "+S"(rsi), "+d"(rdx), "+r"(r8), "+r"(r9), "+r"(r10)
                     :
                     : "rcx", "r11", "memory");
    m->badge = rdi;
    m->info = rsi;
    m->mr[0] = rdx;
    m->mr[1] = r8;
    m->mr[2] = r9;
    m->mr[3] = r10;
    return rax;
}

static inline nestor_word_t nu_call(nestor_cptr_t c, nu_msg_t *m) { return nu_syscall(NESTOR_SYS_CALL, c, m); }
/* A call that gives up after this thread's call timeout (set once with
 * NESTOR_TCB_SET_CALL_TIMEOUT): NESTOR_ERR_TIMED_OUT then. */
static inline nestor_word_t nu_call_bounded(nestor_cptr_t c, nu_msg_t *m) { return nu_syscall(NESTOR_SYS_CALL_BOUNDED, c, m); }
static inline nestor_word_t nu_send(nestor_cptr_t c, nu_msg_t *m) { return nu_syscall(NESTOR_SYS_SEND, c, m); }
static inline nestor_word_t nu_nbsend(nestor_cptr_t c, nu_msg_t *m) { return nu_syscall(NESTOR_SYS_NB_SEND, c, m); }
static inline nestor_word_t nu_recv(nestor_cptr_t c, nu_msg_t *m) { return nu_syscall(NESTOR_SYS_RECV, c, m); }
static inline nestor_word_t nu_nbrecv(nestor_cptr_t c, nu_msg_t *m) { return nu_syscall(NESTOR_SYS_NB_RECV, c, m); }
static inline nestor_word_t nu_reply(nu_msg_t *m) { return nu_syscall(NESTOR_SYS_REPLY, 0, m); }
static inline nestor_word_t nu_reply_recv(nestor_cptr_t c, nu_msg_t *m) { return nu_syscall(NESTOR_SYS_REPLY_RECV, c, m); }
/* Answer the VM exit VCPU @vcpu's thread waits in (NESTOR_VCPU_REPLY with
 * @label and the state groups @mask), then receive on @c into @m; the
 * caller's own reply right is kept (nestor/syscalls.h). */
static inline nestor_word_t nu_vcpu_reply_recv(nestor_cptr_t c, nestor_cptr_t vcpu,
                                               nestor_word_t label, nestor_word_t mask,
                                               nu_msg_t *m)
{
    *m = (nu_msg_t){ .info = nestor_msginfo(label, 0, 0, 2), .mr = { mask, vcpu } };
    return nu_syscall(NESTOR_SYS_VCPU_REPLY_RECV, c, m);
}

static inline void nu_yield(void)
{
    nu_msg_t m = { 0 };
    nu_syscall(NESTOR_SYS_YIELD, 0, &m);
}

static inline void nu_signal(nestor_cptr_t ntfn)
{
    nu_msg_t m = { 0 };
    nu_syscall(NESTOR_SYS_SEND, ntfn, &m);
}

/* Wait on a notification; returns the signalled badge bits (0 on error). */
static inline nestor_word_t nu_wait(nestor_cptr_t ntfn)
{
    nu_msg_t m = { 0 };
    return nu_syscall(NESTOR_SYS_RECV, ntfn, &m) == NESTOR_OK ? m.badge : 0;
}

static inline void nu_debug_putchar(char c)
{
    nu_msg_t m = { 0 };
    nu_syscall(NESTOR_SYS_DEBUG_PUTCHAR, (nestor_word_t)(unsigned char)c, &m);
}

/* End the system with a verdict (needs the debug capability, given to the
 * root task in NESTOR_CAP_DEBUG). */
__attribute__((noreturn)) static inline void nu_debug_halt(int pass)
{
    nu_msg_t m = { .info = pass ? 1 : 0 };
    nu_syscall(NESTOR_SYS_DEBUG_HALT, NESTOR_CAP_DEBUG, &m);
    for (;;)
        ;
}

/* Ask the kernel to check its invariants (debug builds): returns the number
 * of errors found; *slots and *threads say how much was visited. */
static inline nestor_word_t nu_debug_check(nestor_word_t *slots, nestor_word_t *threads)
{
    nu_msg_t m = { 0 };
    if (nu_syscall(NESTOR_SYS_DEBUG_CHECK, NESTOR_CAP_DEBUG, &m) != NESTOR_OK)
        m.mr[0] = (nestor_word_t)-1, m.mr[1] = m.mr[2] = 0;
    if (slots)
        *slots = m.mr[1];
    if (threads)
        *threads = m.mr[2];
    return m.mr[0];
}

/* The calling thread's IPC buffer (its TLS block holds the pointer). */
typedef struct nu_tls {
    struct nu_tls *self;            /* %fs:0, as the x86-64 TLS ABI has it */
    nestor_ipc_buffer_t *ipc_buffer;
    nestor_word_t reserved[3];
    /* %fs:0x28: where GCC's -fstack-protector code reads its canary on
     * x86-64 (glibc's tcbhead_t layout). Our code is built without it, but
     * Debian's libfdt.a (linked into init and the VMM) is built with it. */
    nestor_word_t stack_guard;
} nu_tls_t;
#define NU_TLS_STACK_GUARD_OFFSET 0x28
_Static_assert(__builtin_offsetof(nu_tls_t, stack_guard) == NU_TLS_STACK_GUARD_OFFSET,
               "the stack guard sits where -fstack-protector code reads it");

static inline nestor_ipc_buffer_t *nu_ipc_buffer(void)
{
    nu_tls_t *t;
    __asm__ volatile("movq %%fs:0, %0" : "=r"(t));
    return t->ipc_buffer;
}

/* The next capability this thread receives lands in @slot of its own CNode
 * (the IPC buffer's receive slot: CNode, index, depth 64). */
static inline void nu_receive_cap_into(nestor_cptr_t slot)
{
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    b->receive_cnode = NESTOR_CAP_INIT_CNODE;
    b->receive_index = slot;
    b->receive_depth = 64;
}

#endif
