/*
 * tests/fuzz/kfuzz.c - hostile user code against the kernel (a root task).
 *
 * A fuzz thread issues FUZZ_ITERATIONS random system calls: random syscall
 * numbers (unknown ones too), random capability addresses, invocation labels
 * and arguments, random extra capabilities. Seeded and reproducible: the
 * seed comes from the kernel command line (fuzz.seed=N) or FUZZ_DEFAULT_SEED.
 *
 * The fuzz thread's CSpace is a two-level tree: slot 0 of a small root CNode
 * holds the sandbox CNode (SANDBOX_RADIX slots of objects it may do anything
 * with, including a capability to the sandbox itself), slot 1 a protected
 * CNode holding only its fault endpoint. Capability addresses with bit
 * SANDBOX_RADIX set reach the protected CNode; nothing the fuzz thread holds
 * names that CNode, so it cannot delete its own fault endpoint. Blocking
 * calls that would wait forever are replaced by their non-blocking forms.
 *
 * The root task handles the fuzz thread's faults (unknown syscalls) and, at
 * the end, asks the kernel to check its invariants (NESTOR_SYS_DEBUG_CHECK).
 */
#include <nestor/bootinfo.h>
#include <nestor/faults.h>
#include <user/print.h>
#include <user/runtime.h>
#include <user/space.h>
#include <stdbool.h>
#include <string.h>

#define FUZZ_ITERATIONS   100000
#define FUZZ_DEFAULT_SEED 0x5EED5EEDULL
#define FUZZ_PRIO         100
#define VICTIM_PRIO       50
#define SANDBOX_RADIX     6
#define OUTER_RADIX       1
#define OUTER_GUARD_BITS  (64 - OUTER_RADIX - SANDBOX_RADIX)
#define PROTECTED_SLOT    (1ULL << SANDBOX_RADIX)          /* cptr of the fault endpoint */
/* Also in the protected CNode, usable but never deletable by the fuzz thread: */
#define PROTECTED_SANDBOX (PROTECTED_SLOT | 1)             /* the sandbox CNode itself */
#define PROTECTED_UNTYPED (PROTECTED_SLOT | 2)             /* an untyped to retype from */
#define DONE_LABEL        0xD0DE
#define REGION            0x0000100000000000ULL
#define SCRATCH           0x0000100000200000ULL

/* Sandbox layout: what the fuzz thread starts with. */
enum { SB_UNTYPED_BIG = 1, SB_UNTYPED_SMALL, SB_EP, SB_NTFN, SB_VICTIM, SB_FRAME,
       SB_PML4, SB_PDPT, SB_PD, SB_PT, SB_SELF_CNODE, SB_FIRST_FREE };

static const nestor_word_t labels[] = {
    NESTOR_UNTYPED_RETYPE, NESTOR_CNODE_COPY, NESTOR_CNODE_MINT, NESTOR_CNODE_MOVE,
    NESTOR_CNODE_MUTATE, NESTOR_CNODE_DELETE, NESTOR_CNODE_REVOKE, NESTOR_TCB_CONFIGURE,
    NESTOR_TCB_SET_PRIORITY, NESTOR_TCB_READ_REGISTERS, NESTOR_TCB_WRITE_REGISTERS,
    NESTOR_TCB_RESUME, NESTOR_TCB_SUSPEND, NESTOR_TCB_BIND_NOTIFICATION,
    NESTOR_TCB_UNBIND_NOTIFICATION, NESTOR_TCB_SET_TLS_BASE, NESTOR_TCB_READ_FPU,
    NESTOR_TCB_WRITE_FPU, NESTOR_PAGE_TABLE_MAP, NESTOR_PAGE_TABLE_UNMAP, NESTOR_FRAME_MAP,
    NESTOR_FRAME_UNMAP, NESTOR_FRAME_GET_ADDRESS, NESTOR_IRQ_CONTROL_GET,
    NESTOR_IRQ_HANDLER_ACK, NESTOR_IOPORT_CONTROL_ISSUE, NESTOR_IOPORT_IN, NESTOR_IOPORT_OUT,
};
#define N_LABELS (sizeof(labels) / sizeof(labels[0]))

static nestor_word_t rng;
static nestor_word_t results[NESTOR_ERR_COUNT + 1];
static volatile nestor_word_t done_iterations;

/* xorshift64* (Vigna): small, fast, and the same sequence for the same seed. */
static nestor_word_t next_random(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1DULL;
}

static nestor_word_t pick(nestor_word_t n) { return next_random() % n; }

/* Mostly sandbox slots, some protected-CNode slots, some garbage. */
static nestor_cptr_t random_cptr(void)
{
    nestor_word_t r = pick(10);
    if (r < 7)
        return pick(1u << SANDBOX_RADIX);
    if (r < 8)
        return PROTECTED_SLOT | pick(1u << SANDBOX_RADIX);
    return next_random();
}

static nestor_word_t random_word(void)
{
    switch (pick(6)) {
    case 0: return pick(64);                         /* small: slots, sizes, flags */
    case 1: return pick(16);                         /* object types, rights */
    case 2: return REGION + (pick(1024) << 12);      /* plausible user addresses */
    case 3: return 64;                               /* a full depth */
    case 4: return pick(1u << SANDBOX_RADIX);
    default: return next_random();
    }
}

static void fill_message(nu_msg_t *m, nestor_ipc_buffer_t *buf)
{
    nestor_word_t label = pick(10) < 8 ? labels[pick(N_LABELS)] : next_random();
    unsigned len = pick(10) < 9 ? (unsigned)pick(8) : (unsigned)pick(128);
    unsigned caps = (unsigned)pick(4);
    for (unsigned i = 0; i < 4; i++)
        m->mr[i] = random_word();
    for (unsigned i = 4; i < 24; i++)
        buf->msg[i] = random_word();
    for (unsigned i = 0; i < caps; i++)
        buf->caps_or_badges[i] = random_cptr();
    buf->receive_cnode = random_cptr();
    buf->receive_index = random_word();
    buf->receive_depth = random_word();
    m->info = nestor_msginfo(label, (unsigned)pick(8), caps, len);
}

/* A blocking call on an endpoint could wait forever: use the non-blocking form. */
static nestor_word_t safe_syscall(nestor_word_t num, nestor_cptr_t dest, nu_msg_t *m)
{
    nestor_word_t type = 0;
    nu_cap_identify(dest, &type, 0, 0);
    bool ipc = type == NESTOR_OBJ_ENDPOINT || type == NESTOR_OBJ_NOTIFICATION;
    if (num == NESTOR_SYS_CALL || num == NESTOR_SYS_SEND)
        num = type == NESTOR_OBJ_ENDPOINT ? NESTOR_SYS_NB_SEND : num;
    if (num == NESTOR_SYS_RECV || num == NESTOR_SYS_REPLY_RECV)
        num = NESTOR_SYS_NB_RECV;
    if (num == NESTOR_SYS_NB_RECV && !ipc)
        num = NESTOR_SYS_CAP_IDENTIFY;
    return nu_syscall(num, dest, m);
}

/*
 * Four in ten calls are well formed, so they get past argument decoding and
 * reach the code that acts: retypes from the sandbox's untypeds and CNode
 * operations on the sandbox, through its (unguarded) capability in the
 * protected CNode: slots are addressed with depth SANDBOX_RADIX.
 */
static bool structured_call(nu_msg_t *m, nestor_ipc_buffer_t *buf, nestor_cptr_t *dest)
{
    if (pick(10) >= 4)
        return false;
    buf->caps_or_badges[0] = PROTECTED_SANDBOX;
    if (pick(2)) {
        nestor_word_t u = pick(3);
        *dest = u == 0 ? SB_UNTYPED_BIG : u == 1 ? SB_UNTYPED_SMALL : PROTECTED_UNTYPED;
        m->mr[0] = 1 + pick(NESTOR_OBJ_PT);                 /* a retypable type */
        m->mr[1] = m->mr[0] == NESTOR_OBJ_UNTYPED ? 12 + pick(4) : 1 + pick(4);
        m->mr[2] = 0;
        m->mr[3] = 0;                                       /* depth 0: CAP0 itself */
        buf->msg[4] = pick(1u << SANDBOX_RADIX);
        buf->msg[5] = 1 + pick(2);
        m->info = nestor_msginfo(NESTOR_UNTYPED_RETYPE, 0, 1, 6);
        return true;
    }
    static const nestor_word_t ops[] = { NESTOR_CNODE_COPY, NESTOR_CNODE_MINT, NESTOR_CNODE_MOVE,
                                         NESTOR_CNODE_MUTATE, NESTOR_CNODE_DELETE,
                                         NESTOR_CNODE_REVOKE };
    *dest = PROTECTED_SANDBOX;
    m->mr[0] = pick(1u << SANDBOX_RADIX);
    m->mr[1] = SANDBOX_RADIX;
    m->mr[2] = pick(1u << SANDBOX_RADIX);
    m->mr[3] = SANDBOX_RADIX;
    buf->msg[4] = pick(16);                                 /* rights mask or badge */
    buf->msg[5] = pick(4);                                  /* badge */
    m->info = nestor_msginfo(ops[pick(6)], 0, 1, 6);
    return true;
}

static nestor_word_t random_syscall(void)
{
    nestor_word_t r = pick(100);
    if (r < 60) return NESTOR_SYS_CALL;
    if (r < 66) return NESTOR_SYS_SEND;
    if (r < 72) return NESTOR_SYS_NB_SEND;
    if (r < 78) return NESTOR_SYS_NB_RECV;
    if (r < 81) return NESTOR_SYS_RECV;
    if (r < 84) return NESTOR_SYS_REPLY;
    if (r < 86) return NESTOR_SYS_REPLY_RECV;
    if (r < 88) return NESTOR_SYS_YIELD;
    if (r < 94) return NESTOR_SYS_CAP_IDENTIFY;
    if (r < 95) return NESTOR_SYS_DEBUG_CHECK;
    return NESTOR_SYS_COUNT + pick(1000);     /* unknown: a fault for the root task */
}

static void fuzz_thread(nestor_word_t iterations)
{
    nestor_ipc_buffer_t *buf = nu_ipc_buffer();
    for (nestor_word_t i = 0; i < iterations; i++) {
        nu_msg_t m;
        nestor_cptr_t dest = random_cptr();
        fill_message(&m, buf);
        nestor_word_t num = structured_call(&m, buf, &dest) ? NESTOR_SYS_CALL : random_syscall();
        nestor_word_t st = safe_syscall(num, dest, &m);
        results[st < NESTOR_ERR_COUNT ? st : NESTOR_ERR_COUNT]++;
        done_iterations = i + 1;
    }
    nu_msg_t m = { .info = nestor_msginfo(DONE_LABEL, 0, 0, 0) };
    nu_syscall(NESTOR_SYS_CALL, PROTECTED_SLOT, &m);
}

static nestor_word_t seed_from(const char *cmdline)
{
    const char *p = cmdline;
    while (p && *p) {
        if (strncmp(p, "fuzz.seed=", 10) == 0) {
            nestor_word_t v = 0;
            for (p += 10; *p >= '0' && *p <= '9'; p++)
                v = v * 10 + (nestor_word_t)(*p - '0');
            return v ? v : FUZZ_DEFAULT_SEED;
        }
        p++;
    }
    return FUZZ_DEFAULT_SEED;
}

static nestor_cptr_t largest_untyped(const nestor_bootinfo_t *bi)
{
    nestor_word_t best = 0;
    for (nestor_word_t i = 1; i < bi->untyped.end - bi->untyped.start; i++)
        if (bi->untyped_list[i].size_bits > bi->untyped_list[best].size_bits)
            best = i;
    return bi->untyped.start + best;
}

/* Build the two-level CSpace and the sandbox contents; return the outer CNode cptr. */
static nestor_cptr_t build_cspace(nu_alloc_t *a, nestor_cptr_t fault_ep)
{
    const nestor_cptr_t root = NESTOR_CAP_INIT_CNODE;
    nestor_cptr_t outer = nu_alloc_obj(a, NESTOR_OBJ_CNODE, OUTER_RADIX);
    nestor_cptr_t outer_g = a->next_slot++;
    nestor_cptr_t sandbox = nu_alloc_obj(a, NESTOR_OBJ_CNODE, SANDBOX_RADIX);
    nestor_cptr_t protect = nu_alloc_obj(a, NESTOR_OBJ_CNODE, SANDBOX_RADIX);
    if (!outer || !sandbox || !protect ||
        nu_cnode_mint(root, outer_g, 64, root, outer, 64, NESTOR_RIGHTS_ALL, OUTER_GUARD_BITS) ||
        nu_cnode_copy(outer, 0, OUTER_RADIX, root, sandbox, 64, NESTOR_RIGHTS_ALL) ||
        nu_cnode_copy(outer, 1, OUTER_RADIX, root, protect, 64, NESTOR_RIGHTS_ALL) ||
        nu_cnode_copy(protect, 0, SANDBOX_RADIX, root, fault_ep, 64, NESTOR_RIGHTS_ALL))
        return 0;
    /* Objects in the sandbox, made straight into its slots. */
    static const struct { unsigned slot; nestor_word_t type, bits; } objs[] = {
        { SB_UNTYPED_BIG, NESTOR_OBJ_UNTYPED, 20 }, { SB_UNTYPED_SMALL, NESTOR_OBJ_UNTYPED, 14 },
        { SB_EP, NESTOR_OBJ_ENDPOINT, 0 }, { SB_NTFN, NESTOR_OBJ_NOTIFICATION, 0 },
        { SB_VICTIM, NESTOR_OBJ_TCB, 0 }, { SB_FRAME, NESTOR_OBJ_FRAME_4K, 0 },
        { SB_PML4, NESTOR_OBJ_PML4, 0 }, { SB_PDPT, NESTOR_OBJ_PDPT, 0 },
        { SB_PD, NESTOR_OBJ_PD, 0 }, { SB_PT, NESTOR_OBJ_PT, 0 },
    };
    for (unsigned i = 0; i < sizeof(objs) / sizeof(objs[0]); i++)
        if (nu_untyped_retype(a->untyped, objs[i].type, objs[i].bits, sandbox, 0, 0, objs[i].slot,
                              1) != NESTOR_OK)
            return 0;
    if (nu_cnode_copy(sandbox, SB_SELF_CNODE, SANDBOX_RADIX, root, sandbox, 64,
                      NESTOR_RIGHTS_ALL) ||
        nu_cnode_copy(protect, PROTECTED_SANDBOX & 0x3F, SANDBOX_RADIX, root, sandbox, 64,
                      NESTOR_RIGHTS_ALL) ||
        nu_untyped_retype(a->untyped, NESTOR_OBJ_UNTYPED, 18, protect, 0, 0,
                          PROTECTED_UNTYPED & 0x3F, 1))
        return 0;
    return outer_g;
}

int main(const nestor_bootinfo_t *bi)
{
    rng = seed_from(bi->cmdline);
    nestor_word_t seed = rng;
    nu_alloc_t a = { .untyped = largest_untyped(bi), .cnode = NESTOR_CAP_INIT_CNODE,
                     .next_slot = bi->empty.start, .end_slot = bi->empty.end };
    nestor_cptr_t fault_ep = nu_alloc_obj(&a, NESTOR_OBJ_ENDPOINT, 0);
    nestor_cptr_t cspace = build_cspace(&a, fault_ep);
    nestor_cptr_t tcb = cspace ? nu_thread_new(&a, NESTOR_CAP_INIT_VSPACE, REGION, fuzz_thread,
                                               FUZZ_ITERATIONS, FUZZ_PRIO, 0) : 0;
    if (!tcb) {
        printf("fuzz: set-up failed\n");
        return 0;
    }
    /* Give the thread its sandboxed CSpace and its protected fault endpoint. It
     * is lower priority than us and has not run yet: suspend, reconfigure,
     * resume. The frame nu_thread_new allocated last is its IPC buffer. */
    nu_tcb_suspend(tcb);
    nestor_cptr_t buf_frame = a.next_slot - 1;
    if (nu_tcb_configure(tcb, PROTECTED_SLOT, cspace, NESTOR_CAP_INIT_VSPACE, buf_frame,
                         REGION + 4096) != NESTOR_OK || nu_tcb_resume(tcb) != NESTOR_OK) {
        printf("fuzz: cannot sandbox the fuzz thread\n");
        return 0;
    }
    printf("fuzz: %d random system calls, seed %lu\n", FUZZ_ITERATIONS, seed);
    /* The fault endpoint also gets the fuzz thread's random sends to the
     * protected slot: only a message we can reply to is a real fault. */
    nestor_word_t faults = 0, strays = 0;
    for (;;) {
        nu_msg_t m = { 0 };
        if (nu_recv(fault_ep, &m) != NESTOR_OK)
            break;
        nestor_word_t label = nestor_msginfo_label(m.info);
        if (label == DONE_LABEL && done_iterations == FUZZ_ITERATIONS)
            break;
        nestor_word_t rip = m.mr[0], addr = m.mr[1];
        /* Unknown syscall: resume after it. Anything else: leave it stopped. */
        bool resume = label == NESTOR_FAULT_UNKNOWN_SYSCALL;
        m = (nu_msg_t){ .info = nestor_msginfo(resume ? 0 : 1, 0, 0, 0) };
        if (nu_reply(&m) != NESTOR_OK) {
            strays++;
            continue;
        }
        if (!resume) {
            printf("fuzz: the fuzz thread itself faulted: type %lu at rip 0x%lx (0x%lx)\n",
                   label, rip, addr);
            return 0;
        }
        faults++;
    }
    printf("fuzz: %lu system calls done, %lu unknown-syscall faults handled, %lu stray "
           "messages on the fault endpoint\n", done_iterations, faults, strays);
    for (unsigned e = 0; e <= NESTOR_ERR_COUNT; e++)
        if (results[e])
            printf("fuzz:   status %2u: %lu\n", e, results[e]);
    nestor_word_t slots, threads, errors = nu_debug_check(&slots, &threads);
    printf("fuzz: consistency check: %lu errors (%lu slots, %lu threads)\n", errors, slots,
           threads);
    /* The kernel still works: retype, call, delete. */
    nestor_cptr_t ep = nu_alloc_obj(&a, NESTOR_OBJ_ENDPOINT, 0);
    bool alive = ep && nu_cnode_delete(NESTOR_CAP_INIT_CNODE, ep, 64) == NESTOR_OK;
    printf("fuzz: kernel %s after the run\n", alive ? "healthy" : "BROKEN");
    bool ok = done_iterations == FUZZ_ITERATIONS && errors == 0 && alive;
    printf("fuzz: %u passed, %u failed\n", ok ? 1 : 0, ok ? 0 : 1);
    return ok;
}
