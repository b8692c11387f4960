/*
 * tests/fuzz/kfuzz.c - hostile user code against the kernel (a root task).
 *
 * A fuzz thread makes fuzz.calls random system calls (default
 * FUZZ_DEFAULT_CALLS): random syscall numbers (unknown ones too), random
 * capability addresses, invocation labels and arguments, random extra
 * capabilities. Seeded and reproducible: the seed comes from the kernel
 * command line (fuzz.seed=N) or FUZZ_DEFAULT_SEED; both are printed.
 *
 * The fuzz thread's CSpace is a two-level tree: slot 0 of a small root CNode
 * holds the sandbox CNode (SANDBOX_RADIX slots of objects it may do anything
 * with, including a capability to the sandbox itself), slot 1 a protected
 * CNode holding its fault endpoint and capabilities it may use but never
 * delete. Capability addresses with bit SANDBOX_RADIX set reach the
 * protected CNode; nothing the fuzz thread holds names that CNode, so it
 * cannot delete its own fault endpoint. Blocking calls that would wait
 * forever are replaced by their non-blocking forms.
 *
 * Where the machine has VMX (Bochs), the sandbox also holds a VCPU, EPT
 * tables, a 2 MiB frame and an exit-table CNode, and the fuzz thread also
 * makes every VCPU and EPT invocation with random arguments and random (right
 * and wrong) capabilities (vmx_call), and now and then runs a guest
 * (guest_session): the root task builds it afresh from a dedicated untyped
 * (VCPU, its TCB, EPT, a code page at guest-physical 0, a state page, an exit
 * table whose slots hold an endpoint), the fuzz thread writes random bytes or
 * a short program into the code page and random contents into the state
 * page, resumes the vCPU thread, receives its exits with non-blocking
 * receives (yielding to the guest, which runs at the fuzz thread's priority)
 * and answers them with random replies (some of them deferred replies,
 * NESTOR_VCPU_REPLY), for at most GUEST_MAX_EXITS exits. Random VCPU calls
 * during a session bind the sandbox's shadow VMCS, set timers and PML pages,
 * pause at random levels, and two guest programs execute VMREAD/VMWRITE
 * (on the shadow where one is bound, else exiting).
 * The guest's objects are copies in the protected CNode, so random calls
 * keep invoking them between sessions.
 *
 * The root task handles the fuzz thread's faults (unknown syscalls) and its
 * guest set-up requests and, at the end, asks the kernel to check its
 * invariants (NESTOR_SYS_DEBUG_CHECK).
 */
#include <nestor/bootinfo.h>
#include <nestor/faults.h>
#include <nestor/vcpu.h>
#include <nestor/vmcs.h>
#include <user/print.h>
#include <user/runtime.h>
#include <user/space.h>
#include <stdbool.h>
#include <string.h>

#define FUZZ_DEFAULT_CALLS 1000000
#define FUZZ_DEFAULT_SEED  0x5EED5EEDULL
#define FUZZ_PRIO         100
#define VICTIM_PRIO       50
#define SANDBOX_RADIX     6
#define SANDBOX_SLOTS     (1u << SANDBOX_RADIX)
#define SLICES_PER_2M     512               /* 4 KiB slices of a 2 MiB frame */
#define OUTER_RADIX       1
#define OUTER_GUARD_BITS  (64 - OUTER_RADIX - SANDBOX_RADIX)
#define PROTECTED_SLOT    (1ULL << SANDBOX_RADIX)          /* cptr of the fault endpoint */
/* Also in the protected CNode, usable but never deletable by the fuzz thread: */
#define PROTECTED_SANDBOX (PROTECTED_SLOT | 1)             /* the sandbox CNode itself */
#define PROTECTED_UNTYPED (PROTECTED_SLOT | 2)             /* an untyped to retype from */
#define PROTECTED_GUEST   3                                /* index of the guest's objects */
#define PROTECTED_TICK    (PROTECTED_SLOT | 15)            /* the timer's IRQ handler */
#define DONE_LABEL        0xD0DE
#define SETUP_LABEL       0x5E7
#define REGION            0x0000100000000000ULL
#define SCRATCH           0x0000100000200000ULL
#define GUEST_CODE_VA     0x0000100000400000ULL            /* the guest's page, root's view */
#define GUEST_STATE_VA    0x0000100000401000ULL            /* its state page */
#define PAGE_SIZE         4096u
#define LARGE_PAGE        0x200000ULL

/* The timer that bounds a blocking receive: PIT channel 0 on IRQ 0, a signal
 * to a notification bound to the fuzz thread (it wakes from an endpoint
 * receive; the line stays masked until the fuzz thread acknowledges it). */
#define PIT_PORT_FIRST    0x40
#define PIT_PORT_LAST     0x43
#define PIT_CH0           0x40
#define PIT_CMD           0x43
#define PIT_CMD_CH0_RATE  0x34          /* channel 0, lobyte/hibyte, mode 2 (rate) */
#define PIT_HZ            1193182
#define TICK_HZ           1000
#define PIT_IRQ           0

/* Guests: how often, how long, what they get. */
#define GUEST_EVERY       2000          /* default: a session once in this many calls */
#define GUEST_MAX_EXITS   64            /* exits answered per session */
#define GUEST_MAX_IDLE    8             /* empty receives (a yield or a tick each) */
#define GUEST_UNANSWERED  64            /* one exit in this many gets no reply */
#define GUEST_STOP_REPLY  32            /* one in this many replies stops the vCPU */
#define GUEST_LEFT_RUNNING 8            /* one guest in this many is not suspended */
#define GUEST_UT_BITS     23            /* the untyped each guest is built from */
#define GUEST_CODE_GPA    0x0ULL
#define GUEST_LARGE_GPA   LARGE_PAGE    /* the 2 MiB frame, right after the PT's range */
#define GUEST_ENTRY       0x100         /* RIP, in the code page */
#define GUEST_STACK       0xFF0
#define GUEST_RFLAGS      0x2           /* the reserved bit 1 */
#define EXIT_SLOTS        (1u << NESTOR_EXIT_TABLE_RADIX)
#define EXIT_SLOT_EMPTY   8             /* one exit-table slot in this many stays empty */
#define VMX_SHARE         30            /* percent of calls that are VCPU/EPT invocations */

/* Sandbox layout: what the fuzz thread starts with (the VMX ones only with VMX). */
enum { SB_UNTYPED_BIG = 1, SB_UNTYPED_SMALL, SB_EP, SB_NTFN, SB_VICTIM, SB_FRAME,
       SB_PML4, SB_PDPT, SB_PD, SB_PT, SB_SELF_CNODE, SB_VCPU, SB_EPT_PML4, SB_EPT_PDPT,
       SB_EPT_PD, SB_EPT_PT, SB_FRAME_2M, SB_EXIT_CNODE, SB_SHADOW, SB_FIRST_FREE };

/* A guest's objects: root task slots guest_slot + G_*, protected copies at
 * PROTECTED_GUEST + G_* (the first G_OBJS). */
enum { G_VCPU, G_TCB, G_EPT, G_EPT_PDPT, G_EPT_PD, G_EPT_PT, G_CODE, G_STATE, G_TABLE, G_EP,
       G_LARGE, G_OBJS, G_CODE_EPT = G_OBJS, G_STATE_VCPU, G_LARGE_EPT, G_SLOTS };
#define P_GUEST(g)        (PROTECTED_SLOT | (PROTECTED_GUEST + (g)))
_Static_assert(SB_FIRST_FREE <= SANDBOX_SLOTS, "the sandbox holds its first objects");
_Static_assert(PROTECTED_SLOT + PROTECTED_GUEST + G_OBJS <= PROTECTED_TICK,
               "the guest's protected copies end before the timer's slot");

static const nestor_word_t labels[] = {
    NESTOR_UNTYPED_RETYPE, NESTOR_CNODE_COPY, NESTOR_CNODE_MINT, NESTOR_CNODE_MOVE,
    NESTOR_CNODE_MUTATE, NESTOR_CNODE_DELETE, NESTOR_CNODE_REVOKE, NESTOR_TCB_CONFIGURE,
    NESTOR_TCB_SET_PRIORITY, NESTOR_TCB_READ_REGISTERS, NESTOR_TCB_WRITE_REGISTERS,
    NESTOR_TCB_RESUME, NESTOR_TCB_SUSPEND, NESTOR_TCB_BIND_NOTIFICATION,
    NESTOR_TCB_UNBIND_NOTIFICATION, NESTOR_TCB_SET_TLS_BASE, NESTOR_TCB_READ_FPU,
    NESTOR_TCB_WRITE_FPU, NESTOR_TCB_SET_IO_PORTS, NESTOR_TCB_SET_CALL_TIMEOUT,
    NESTOR_PAGE_TABLE_MAP, NESTOR_PAGE_TABLE_UNMAP, NESTOR_FRAME_MAP,
    NESTOR_FRAME_UNMAP, NESTOR_FRAME_GET_ADDRESS, NESTOR_FRAME_SLICE, NESTOR_FRAME_SLICE_ALIAS,
    NESTOR_IRQ_CONTROL_GET, NESTOR_IRQ_HANDLER_ACK, NESTOR_IRQ_HANDLER_SET_NOTIFICATION,
    NESTOR_IRQ_HANDLER_CLEAR, NESTOR_IOPORT_CONTROL_ISSUE, NESTOR_IOPORT_IN, NESTOR_IOPORT_OUT,
};
#define N_LABELS (sizeof(labels) / sizeof(labels[0]))
#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Every VCPU and EPT label, with a short name for the summary. */
static const struct { nestor_word_t label; const char *name; } vmx_labels[] = {
    { NESTOR_VCPU_SET_TCB, "set_tcb" }, { NESTOR_VCPU_SET_EPT, "set_ept" },
    { NESTOR_VCPU_SET_STATE_PAGE, "set_state" }, { NESTOR_VCPU_SET_EXIT_TABLE, "set_table" },
    { NESTOR_VCPU_SET_EXIT_MASK, "set_mask" }, { NESTOR_VCPU_READ_VMCS, "read_vmcs" },
    { NESTOR_VCPU_WRITE_VMCS, "write_vmcs" }, { NESTOR_VCPU_LOAD_STATE, "load" },
    { NESTOR_VCPU_STORE_STATE, "store" }, { NESTOR_VCPU_PAUSE, "pause" },
    { NESTOR_VCPU_SET_SHADOW, "set_shadow" }, { NESTOR_SHADOW_READ, "shadow_read" },
    { NESTOR_SHADOW_WRITE, "shadow_write" }, { NESTOR_VCPU_SET_TIMER, "timer" },
    { NESTOR_VCPU_SET_PML, "pml" }, { NESTOR_VCPU_REPLY, "reply" },
    { NESTOR_VCPU_SET_DOORBELL, "doorbell" },
    { NESTOR_PAGE_TABLE_MAP, "ept_pt_map" }, { NESTOR_PAGE_TABLE_UNMAP, "ept_pt_unmap" },
    { NESTOR_EPT_MAP_FRAME, "ept_map" }, { NESTOR_FRAME_UNMAP, "frame_unmap" },
    { NESTOR_FRAME_SLICE, "slice" }, { NESTOR_FRAME_SLICE_ALIAS, "alias" },
    { NESTOR_EPT_READ_AD, "read_ad" }, { NESTOR_EPT_SET_MMIO, "mmio" },
    { NESTOR_EPT_RESTRICT, "ept_restrict" }, { NESTOR_EPT_PROTECT, "ept_protect" },
    { NESTOR_EPT_SPLIT, "ept_split" },
};
#define N_VMX_LABELS   COUNT_OF(vmx_labels)
#define FIRST_EPT_LABEL 17              /* vmx_labels[] from here on are EPT/paging */

/* The VMCS field table of the ABI, encodings only. */
#define FIELD_ENCODING_(name, enc, access) enc,
static const nestor_word_t vmcs_fields[] = { NESTOR_VMCS_FIELDS(FIELD_ENCODING_) };
#undef FIELD_ENCODING_
#define VMCS_HIGH_HALF  1u              /* encoding bit 0: the HIGH half (SDM 24.11.2) */

/* Guest programs, 32-bit protected mode (the VCPU's initial state), each
 * looping back to its start: they exit on every round. */
static const uint8_t prog_cpuid[] = { 0x0F, 0xA2, 0xEB, 0xFC };            /* cpuid; jmp */
static const uint8_t prog_hlt[] = { 0xF4, 0xEB, 0xFD };                    /* hlt; jmp */
static const uint8_t prog_vmcall[] = { 0x0F, 0x01, 0xC1, 0xEB, 0xFB };     /* vmcall; jmp */
static const uint8_t prog_out[] = { 0xE6, 0x80, 0xEB, 0xFC };              /* out 0x80, al */
static const uint8_t prog_ud2[] = { 0x0F, 0x0B };                          /* #UD */
static const uint8_t prog_int3[] = { 0xCC, 0xEB, 0xFD };                   /* #BP */
static const uint8_t prog_unbacked[] = { 0xA3, 0x00, 0x00, 0x00, 0x40, 0xEB, 0xF9 };
                                                       /* mov [0x40000000], eax: EPT */
static const uint8_t prog_spin[] = { 0xEB, 0xFE };                         /* jmp $ */
static const uint8_t prog_rdtsc[] = { 0x0F, 0x31, 0xEB, 0xFC };
static const uint8_t prog_rdmsr[] = { 0x0F, 0x32, 0xEB, 0xFC };
static const uint8_t prog_cli_hlt[] = { 0xFA, 0xF4, 0xEB, 0xFC };
/* mov eax, field; vmread ebx, eax; vmwrite eax, ecx; jmp: on the shadow without
 * an exit where one is bound (SDM 30.3), else exits 23 (the second field is
 * not one: VMfailValid on the shadow). */
static const uint8_t prog_vmrw[] = { 0xB8, 0x1E, 0x68, 0x00, 0x00, 0x0F, 0x78, 0xC3,
                                     0x0F, 0x79, 0xC1, 0xEB, 0xF3 };
static const uint8_t prog_vmrw_bad[] = { 0xB8, 0xFE, 0x7F, 0x00, 0x00, 0x0F, 0x78, 0xC3,
                                         0x0F, 0x79, 0xC1, 0xEB, 0xF3 };
static const struct { const uint8_t *code; unsigned len; } programs[] = {
    { prog_cpuid, sizeof(prog_cpuid) }, { prog_hlt, sizeof(prog_hlt) },
    { prog_vmcall, sizeof(prog_vmcall) }, { prog_out, sizeof(prog_out) },
    { prog_ud2, sizeof(prog_ud2) }, { prog_int3, sizeof(prog_int3) },
    { prog_unbacked, sizeof(prog_unbacked) }, { prog_spin, sizeof(prog_spin) },
    { prog_rdtsc, sizeof(prog_rdtsc) }, { prog_rdmsr, sizeof(prog_rdmsr) },
    { prog_cli_hlt, sizeof(prog_cli_hlt) }, { prog_vmrw, sizeof(prog_vmrw) },
    { prog_vmrw_bad, sizeof(prog_vmrw_bad) },
};

/* Families of calls, for the summary. */
enum { FAM_RANDOM, FAM_STRUCTURED, FAM_VCPU, FAM_EPT, FAM_GUEST, FAM_COUNT };
static const char *const family_names[FAM_COUNT] = { "random", "cnode/retype", "vcpu", "ept",
                                                     "guest" };

static nestor_word_t rng;
static nestor_word_t results[NESTOR_ERR_COUNT + 1];
static nestor_word_t family_calls[FAM_COUNT];
static nestor_word_t vmx_calls[N_VMX_LABELS], vmx_ok[N_VMX_LABELS];
static nestor_word_t calls_target, progress_every, guest_every, trace_from;
static volatile nestor_word_t done_calls;
static bool vmx;

/* Guest sessions (fuzz thread) and their set-up (root task). */
static volatile bool setup_requested, guest_ready;
static nestor_word_t guest_runs, guest_exits, guest_stops, guest_entry_fails, guest_setup_fails;
static nestor_word_t blocking_runs;
static bool tick_ready;                             /* the timer wakes the fuzz thread */
static nestor_word_t exit_reasons_seen[2];          /* bitmap of basic reasons < 128 */
static nu_alloc_t alloc;
static nestor_cptr_t guest_ut, guest_slot, protect_cnode;

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

/* A blocking call on an endpoint could wait forever: use the non-blocking
 * form. The timer's IRQ handler keeps its notification: rebinding or
 * clearing it would leave the fuzz thread's bounded receives unbounded (a
 * hang of the fuzzer's own making, not the kernel's). */
static nestor_word_t safe_syscall(nestor_word_t num, nestor_cptr_t dest, nu_msg_t *m)
{
    nestor_word_t label = nestor_msginfo_label(m->info);
    if (dest == PROTECTED_TICK &&
        (label == NESTOR_IRQ_HANDLER_SET_NOTIFICATION || label == NESTOR_IRQ_HANDLER_CLEAR))
        num = NESTOR_SYS_CAP_IDENTIFY;
    nestor_word_t type = 0;
    nu_cap_identify(dest, &type, 0, 0);
    bool ipc = type == NESTOR_OBJ_ENDPOINT || type == NESTOR_OBJ_NOTIFICATION;
    if (num == NESTOR_SYS_CALL || num == NESTOR_SYS_CALL_BOUNDED || num == NESTOR_SYS_SEND)
        num = type == NESTOR_OBJ_ENDPOINT ? NESTOR_SYS_NB_SEND : num;
    if (num == NESTOR_SYS_RECV || num == NESTOR_SYS_REPLY_RECV)
        num = NESTOR_SYS_NB_RECV;
    if (num == NESTOR_SYS_NB_RECV && !ipc)
        num = NESTOR_SYS_CAP_IDENTIFY;
    if (num == NESTOR_SYS_VCPU_REPLY_RECV) {
        /* Every check of its arguments, never its blocking receive: the
         * VCPU word now and then one of ours (its thread may wait in an
         * exit left unanswered), the receive never from an endpoint or a
         * notification (refused after the VCPU's checks, nothing answered:
         * ktest vmx_vcpu_reply_recv_answers_the_other_exit). */
        if (pick(2))
            m->mr[1] = pick(2) ? P_GUEST(G_VCPU) : SB_VCPU;
        if (ipc)
            dest = PROTECTED_SANDBOX;
    }
    return nu_syscall(num, dest, m);
}

/* Retypable types; with VMX also the VCPU and EPT ones. */
static nestor_word_t random_type(void)
{
    static const nestor_word_t vmx_types[] = { NESTOR_OBJ_VCPU, NESTOR_OBJ_EPT_PML4,
                                               NESTOR_OBJ_EPT_PDPT, NESTOR_OBJ_EPT_PD,
                                               NESTOR_OBJ_EPT_PT };
    if (vmx && pick(4) == 0)
        return vmx_types[pick(COUNT_OF(vmx_types))];
    return 1 + pick(NESTOR_OBJ_PT);
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
        m->mr[0] = random_type();
        m->mr[1] = m->mr[0] == NESTOR_OBJ_UNTYPED ? 12 + pick(4) : 1 + pick(4);
        if (vmx && m->mr[0] == NESTOR_OBJ_CNODE && pick(4) == 0)
            m->mr[1] = NESTOR_EXIT_TABLE_RADIX;             /* an exit table */
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
    if (r < 57) return NESTOR_SYS_CALL;
    if (r < 60) return NESTOR_SYS_CALL_BOUNDED;
    if (r < 66) return NESTOR_SYS_SEND;
    if (r < 72) return NESTOR_SYS_NB_SEND;
    if (r < 78) return NESTOR_SYS_NB_RECV;
    if (r < 81) return NESTOR_SYS_RECV;
    if (r < 84) return NESTOR_SYS_REPLY;
    if (r < 85) return NESTOR_SYS_REPLY_RECV;
    if (r < 86) return NESTOR_SYS_VCPU_REPLY_RECV;
    if (r < 88) return NESTOR_SYS_YIELD;
    if (r < 94) return NESTOR_SYS_CAP_IDENTIFY;
    if (r < 95) return NESTOR_SYS_DEBUG_CHECK;
    return NESTOR_SYS_COUNT + pick(1000);     /* unknown: a fault for the root task */
}

/* fuzz.trace-from=N: a line before each call from call N on, to place a hang. */
static void trace(const char *what, nestor_word_t a, nestor_word_t b, nestor_word_t c)
{
    if (trace_from && done_calls + 1 >= trace_from)
        printf("fuzz: trace %lu %s 0x%lx 0x%lx 0x%lx\n", done_calls + 1, what, a, b, c);
}

static void count_result(nestor_word_t st, unsigned family)
{
    results[st < NESTOR_ERR_COUNT ? st : NESTOR_ERR_COUNT]++;
    family_calls[family]++;
    done_calls++;
    if (progress_every && done_calls % progress_every == 0)
        printf("fuzz: progress %lu calls, %lu guests\n", done_calls, guest_runs);
}

/* ---- VCPU and EPT invocations ------------------------------------------ */

enum { CAP_VCPU, CAP_TCB, CAP_EPT, CAP_EPT_TABLE, CAP_FRAME, CAP_STATE, CAP_TABLE, CAP_SHADOW,
       CAP_KINDS };

/* A capability of the kind asked for (from the guest's or the sandbox's),
 * or now and then a wrong one: any sandbox slot or a random address. */
static nestor_cptr_t pick_cap(unsigned kind)
{
    static const nestor_cptr_t vcpus[] = { P_GUEST(G_VCPU), SB_VCPU };
    static const nestor_cptr_t tcbs[] = { P_GUEST(G_TCB), SB_VICTIM };
    static const nestor_cptr_t epts[] = { P_GUEST(G_EPT), SB_EPT_PML4, SB_PML4 };
    static const nestor_cptr_t tables[] = { P_GUEST(G_EPT_PDPT), P_GUEST(G_EPT_PD),
                                            P_GUEST(G_EPT_PT), SB_EPT_PDPT, SB_EPT_PD,
                                            SB_EPT_PT, SB_PDPT, SB_PT };
    static const nestor_cptr_t frames[] = { P_GUEST(G_CODE), P_GUEST(G_LARGE),
                                            P_GUEST(G_STATE), SB_FRAME, SB_FRAME_2M };
    static const nestor_cptr_t states[] = { P_GUEST(G_STATE), SB_FRAME, SB_FRAME_2M };
    static const nestor_cptr_t cnodes[] = { P_GUEST(G_TABLE), SB_EXIT_CNODE, SB_SELF_CNODE };
    static const nestor_cptr_t shadows[] = { SB_SHADOW };
    static const struct { const nestor_cptr_t *c; unsigned n; } kinds[CAP_KINDS] = {
        [CAP_VCPU] = { vcpus, COUNT_OF(vcpus) }, [CAP_TCB] = { tcbs, COUNT_OF(tcbs) },
        [CAP_EPT] = { epts, COUNT_OF(epts) }, [CAP_EPT_TABLE] = { tables, COUNT_OF(tables) },
        [CAP_FRAME] = { frames, COUNT_OF(frames) }, [CAP_STATE] = { states, COUNT_OF(states) },
        [CAP_TABLE] = { cnodes, COUNT_OF(cnodes) }, [CAP_SHADOW] = { shadows, COUNT_OF(shadows) },
    };
    nestor_word_t r = pick(10);
    if (r < 7)
        return kinds[kind].c[pick(kinds[kind].n)];
    if (r < 9)
        return pick(SANDBOX_SLOTS);
    return random_cptr();
}

static nestor_word_t edge_value(void)
{
    static const nestor_word_t edges[] = {
        0, 1, ~0ULL, 0xFFFFFFFFULL, 0x80000000ULL, 1ULL << 63, 0x00007FFFFFFFFFFFULL,
        0xFFFF800000000000ULL, 0x0000800000000000ULL, 0xFFFFULL, 0x10000ULL,
        NESTOR_PIN_FLOOR, NESTOR_PIN_CEILING, NESTOR_PROC_FLOOR, NESTOR_PROC_CEILING,
        NESTOR_PROC2_FLOOR, NESTOR_PROC2_CEILING, NESTOR_PROC_DEFAULT, NESTOR_PROC2_DEFAULT,
        NESTOR_ACTIVITY_HLT, 2, 3,                  /* shutdown and wait-for-SIPI: refused */
    };
    return edges[pick(COUNT_OF(edges))];
}

static nestor_word_t random_value(void)
{
    switch (pick(4)) {
    case 0: return edge_value();
    case 1: return pick(0x10000);
    case 2: return edge_value() ^ (1ULL << pick(64));
    default: return next_random();
    }
}

/* A field from the ABI's table, its HIGH half, or a random encoding. */
static nestor_word_t random_field(void)
{
    nestor_word_t r = pick(20);
    if (r < 12)
        return vmcs_fields[pick(COUNT_OF(vmcs_fields))];
    if (r < 15)
        return vmcs_fields[pick(COUNT_OF(vmcs_fields))] | VMCS_HIGH_HALF;
    if (r < 18)
        return pick(0x8000);
    return next_random();
}

static nestor_word_t random_mask(void)
{
    switch (pick(5)) {
    case 0: return NESTOR_MTD_ALL;
    case 1: return 1ULL << pick(15);
    case 2: return next_random();
    case 3: return NESTOR_MTD_VALID;            /* the timer and the shadow's fields too */
    default: return next_random() & NESTOR_MTD_VALID;
    }
}

/* An exit level (NESTOR_EXIT_LEVELS of them), now and then a wrong one. */
static nestor_word_t random_level(void)
{
    return pick(8) ? pick(NESTOR_EXIT_LEVELS) : random_value();
}

static nestor_word_t random_gpa(void)
{
    switch (pick(6)) {
    case 0: return pick(16) << 12;                          /* near the guest's pages */
    case 1: return pick(1u << 20) << 12;                    /* any page below 4 GiB */
    case 2: return pick(64) * LARGE_PAGE;
    case 3: return (pick(1u << 20) << 12) | pick(PAGE_SIZE);   /* unaligned */
    case 4: return 1ULL << (36 + pick(28));                 /* beyond the physical width */
    default: return next_random();
    }
}

/* Random bytes over the guest's state page: single fields or all of it. */
static void scribble_state(void)
{
    if (!guest_ready)
        return;
    nestor_word_t *w = (nestor_word_t *)GUEST_STATE_VA;
    const unsigned words = sizeof(nestor_vcpu_state_t) / sizeof(nestor_word_t);
    if (pick(8) == 0) {
        for (unsigned i = 0; i < words; i++)
            w[i] = next_random();
        return;
    }
    for (unsigned n = 1 + (unsigned)pick(4); n; n--)
        w[pick(words)] = random_value();
}

/* Arguments of one VCPU/EPT label; returns the message length. */
static unsigned vmx_args(nestor_word_t label, nestor_word_t *args, nestor_cptr_t *caps,
                         unsigned *ncaps)
{
    unsigned n = 0;
    *ncaps = 0;
    switch (label) {
    case NESTOR_VCPU_SET_TCB: caps[(*ncaps)++] = pick_cap(CAP_TCB); break;
    case NESTOR_VCPU_SET_EPT: caps[(*ncaps)++] = pick_cap(CAP_EPT); break;
    case NESTOR_VCPU_SET_STATE_PAGE: caps[(*ncaps)++] = pick_cap(CAP_STATE); break;
    case NESTOR_VCPU_SET_EXIT_TABLE:
        if (pick(8))                                        /* else: remove a level's */
            caps[(*ncaps)++] = pick_cap(CAP_TABLE);
        if (pick(2) || !*ncaps)
            args[n++] = random_level();
        break;
    case NESTOR_VCPU_SET_EXIT_MASK:
        args[n++] = pick(8) ? pick(EXIT_SLOTS) : random_value();
        args[n++] = random_mask();
        if (pick(2))
            args[n++] = random_level();
        break;
    case NESTOR_VCPU_SET_SHADOW:
        if (pick(4)) {                                      /* no capability: unbind */
            caps[(*ncaps)++] = pick_cap(CAP_SHADOW);
            caps[(*ncaps)++] = pick_cap(CAP_FRAME);
            caps[(*ncaps)++] = pick_cap(CAP_FRAME);
        }
        /* The fields NESTOR_MTD_SHADOW moves: none, some, too many, and
         * now and then without a shadow. */
        if (pick(2)) {
            unsigned k = (unsigned)pick(NESTOR_SHADOW_SYNC_MAX + 1);
            if (pick(32) == 0)
                k = NESTOR_SHADOW_SYNC_MAX + 1 + (unsigned)pick(4);
            while (n < k)
                args[n++] = random_field();
        }
        break;
    case NESTOR_SHADOW_READ:
    case NESTOR_VCPU_READ_VMCS: {
        unsigned k = pick(4) ? 1 : 1 + (unsigned)pick(NESTOR_VMCS_BULK_MAX);
        if (pick(32) == 0)
            k = NESTOR_VMCS_BULK_MAX + 1 + (unsigned)pick(8);   /* too many */
        while (n < k)
            args[n++] = random_field();
        break;
    }
    case NESTOR_SHADOW_WRITE:
    case NESTOR_VCPU_WRITE_VMCS: {
        unsigned k = pick(4) ? 1 : 1 + (unsigned)pick(NESTOR_VMCS_BULK_MAX);
        if (pick(32) == 0)
            k = NESTOR_VMCS_BULK_MAX + 1 + (unsigned)pick(8);
        for (unsigned i = 0; i < k; i++) {
            args[n++] = random_field();
            args[n++] = random_value();
        }
        if (pick(16) == 0)
            n--;                                                /* a field without value */
        break;
    }
    case NESTOR_VCPU_LOAD_STATE:
        if (pick(2))
            scribble_state();
        args[n++] = random_mask();
        break;
    case NESTOR_VCPU_STORE_STATE: args[n++] = random_mask(); break;
    case NESTOR_VCPU_PAUSE:
        if (pick(2))
            args[n++] = random_level();
        break;
    case NESTOR_VCPU_SET_TIMER:
        /* Guest time: short, none, or edges (2^32 and more than a slice). */
        args[n++] = pick(2) ? pick(1u << 16) : random_value();
        if (pick(2))
            args[n++] = random_level();
        break;
    case NESTOR_VCPU_SET_PML:
        if (pick(8))                                        /* else: stop logging */
            caps[(*ncaps)++] = pick_cap(CAP_STATE);
        break;
    case NESTOR_VCPU_REPLY:
        args[n++] = pick(4) ? pick(NESTOR_EXIT_REPLY_STOP + 1) : random_value();
        if (pick(4))
            args[n++] = random_mask();
        break;
    case NESTOR_VCPU_SET_DOORBELL:
        /* An entry, a range (bytes 0: removal), a short timeout; the
         * guest's exit endpoint (its doorbell exits then reach the
         * fuzzer's exit loop) or one nobody serves (they time out). */
        args[n++] = pick(8) ? pick(NESTOR_DOORBELL_MAX + 1) : random_value();
        args[n++] = random_gpa();
        args[n++] = pick(4) ? pick(16) : pick(2) ? pick(NESTOR_DOORBELL_MAX_BYTES + 2)
                                                 : random_value();
        args[n++] = pick(8) ? 1 + pick(20) : random_value();
        if (args[2] || pick(8) == 0) {
            caps[(*ncaps)++] = pick(8) ? (pick(2) ? P_GUEST(G_EP) : SB_EP) : pick_cap(CAP_FRAME);
            caps[(*ncaps)++] = pick_cap(CAP_STATE);
        }
        break;
    case NESTOR_EPT_READ_AD:
        args[n++] = random_gpa();
        args[n++] = pick(8) ? pick(NESTOR_EPT_AD_CLEAR + 1) : random_value();
        break;
    case NESTOR_EPT_SET_MMIO:
        args[n++] = random_gpa();
        args[n++] = pick(4) ? 1 + pick(16) : pick(4) ? pick(NESTOR_EPT_MMIO_MAX_PAGES + 2)
                                                    : random_value();
        args[n++] = pick(8) ? pick(NESTOR_EPT_MMIO_INSTALL + 1) : random_value();
        break;
    case NESTOR_EPT_PROTECT:
        args[n++] = random_gpa();
        args[n++] = pick(8) ? pick(NESTOR_EPT_WITHHOLD_RW + 2)
                            : random_value();
        break;
    case NESTOR_EPT_SPLIT:
        /* The guest's 2 MiB leaf (running, protected, split already or
         * unmapped by an earlier call) or anywhere; CAP0 a table (the
         * sandbox's EPT PT, mapped or not, the guest's own, or another
         * kind); the PT_UNMAPs and deletions join it back at random. */
        args[n++] = pick(2) ? GUEST_LARGE_GPA + pick(LARGE_PAGE) : random_gpa();
        caps[(*ncaps)++] = pick(2) ? SB_EPT_PT : pick_cap(CAP_EPT_TABLE);
        break;
    case NESTOR_PAGE_TABLE_MAP:
        args[n++] = random_gpa();
        caps[(*ncaps)++] = pick_cap(CAP_EPT);
        break;
    case NESTOR_EPT_MAP_FRAME: {
        static const nestor_word_t types[] = { NESTOR_EPT_MEMTYPE_UC, NESTOR_EPT_MEMTYPE_WC,
                                               NESTOR_EPT_MEMTYPE_WT, NESTOR_EPT_MEMTYPE_WP,
                                               NESTOR_EPT_MEMTYPE_WB };
        args[n++] = random_gpa();
        args[n++] = pick(8) ? pick((NESTOR_EPT_R | NESTOR_EPT_W | NESTOR_EPT_X) + 1)
                            : random_value();
        if (pick(4)) {                                      /* MR2 is optional */
            nestor_word_t r = pick(8);
            args[n++] = r < 6 ? types[pick(COUNT_OF(types))] : r == 6 ? pick(8)
                                                                      : random_value();
        }
        caps[(*ncaps)++] = pick_cap(CAP_EPT);
        break;
    }
    case NESTOR_FRAME_SLICE:
    case NESTOR_FRAME_SLICE_ALIAS:
        /* A slice or alias slice of a frame (the guest's, mapped whole in
         * its EPT, or the sandbox's) into a sandbox slot; its EPT mapping
         * comes from EPT_MAP_FRAME on a random sandbox slot (pick_cap). */
        args[n++] = pick(8) ? pick(SLICES_PER_2M + 8) : random_value();
        args[n++] = pick(SANDBOX_SLOTS);
        args[n++] = pick(8) ? SANDBOX_RADIX : random_word();
        caps[(*ncaps)++] = pick(8) ? SB_SELF_CNODE : pick_cap(CAP_TABLE);
        break;
    case NESTOR_EPT_RESTRICT:
        /* A range of an EPT (or of a restricted copy found in the sandbox)
         * into a sandbox slot, where EPT_MAP_FRAME may then pick it. */
        args[n++] = pick(4) ? random_gpa() & ~0xFFFULL : random_value();
        args[n++] = pick(4) ? (1 + pick(1024)) << 12 : random_value();
        args[n++] = pick(SANDBOX_SLOTS);
        args[n++] = pick(8) ? SANDBOX_RADIX : random_word();
        caps[(*ncaps)++] = pick(8) ? SB_SELF_CNODE : pick_cap(CAP_TABLE);
        break;
    default: break;                                         /* the unmaps take nothing */
    }
    return n;
}

static nestor_cptr_t vmx_dest(nestor_word_t label)
{
    switch (label) {
    case NESTOR_PAGE_TABLE_MAP:
    case NESTOR_PAGE_TABLE_UNMAP: return pick_cap(CAP_EPT_TABLE);
    case NESTOR_EPT_MAP_FRAME:
    case NESTOR_FRAME_SLICE:
    case NESTOR_FRAME_SLICE_ALIAS:
    case NESTOR_FRAME_UNMAP: return pick_cap(CAP_FRAME);
    case NESTOR_SHADOW_READ:
    case NESTOR_SHADOW_WRITE: return pick_cap(CAP_SHADOW);
    case NESTOR_EPT_READ_AD:
    case NESTOR_EPT_SET_MMIO:
    case NESTOR_EPT_RESTRICT:
    case NESTOR_EPT_PROTECT:
    case NESTOR_EPT_SPLIT: return pick_cap(CAP_EPT);
    default: return pick_cap(CAP_VCPU);
    }
}

/* One VCPU or EPT invocation: label @i of vmx_labels, random arguments. */
static void vmx_call(unsigned i)
{
    nestor_ipc_buffer_t *buf = nu_ipc_buffer();
    nestor_word_t label = vmx_labels[i].label, args[2 * (NESTOR_VMCS_BULK_MAX + 8)];
    nestor_cptr_t caps[NESTOR_MSG_MAX_EXTRA_CAPS];
    unsigned ncaps, n = vmx_args(label, args, caps, &ncaps), given = ncaps;
    nestor_cptr_t dest = vmx_dest(label);
    if (pick(16) == 0 && n)
        n = (unsigned)pick(n);                              /* truncated */
    if (pick(16) == 0)
        ncaps = (unsigned)pick(NESTOR_MSG_MAX_EXTRA_CAPS + 1);   /* too few or too many */
    for (unsigned c = given; c < ncaps; c++)
        caps[c] = random_cptr();
    nu_msg_t m = { .info = nestor_msginfo(label, 0, ncaps, n) };
    for (unsigned k = 0; k < n; k++) {
        if (k < NESTOR_MSG_REGISTERS_IN_CPU)
            m.mr[k] = args[k];
        else
            buf->msg[k] = args[k];
    }
    for (unsigned c = 0; c < ncaps; c++)
        buf->caps_or_badges[c] = caps[c];
    trace("vmx", label, dest, n > 0 ? args[0] : 0);
    nestor_word_t st = safe_syscall(NESTOR_SYS_CALL, dest, &m);   /* dest may be an endpoint */
    vmx_calls[i]++;
    vmx_ok[i] += st == NESTOR_OK;
    count_result(st, i < FIRST_EPT_LABEL ? FAM_VCPU : FAM_EPT);
}

/* ---- Guests ------------------------------------------------------------- */

static nestor_word_t guest_invoke(nestor_cptr_t cap, nestor_word_t label, nestor_word_t arg,
                                  unsigned nargs)
{
    nestor_word_t st = nu_invoke(cap, label, &arg, nargs, 0, 0, 0, 0);
    count_result(st, FAM_GUEST);
    return st;
}

/* Answer an exit: mostly by reply; now and then by NESTOR_VCPU_REPLY (a
 * deferred reply, which any thread may make), then perhaps the reply too,
 * which then has nobody to answer. */
static void reply_to_exit(const nu_msg_t *r)
{
    if (pick(4) == 0) {
        unsigned i = 0;
        while (vmx_labels[i].label != NESTOR_VCPU_REPLY)
            i++;
        const nestor_word_t args[] = { nestor_msginfo_label(r->info), r->mr[0] };
        trace("guest-deferred-reply", args[0], args[1], 0);
        nestor_word_t st = nu_invoke(P_GUEST(G_VCPU), NESTOR_VCPU_REPLY, args, 2, 0, 0, 0, 0);
        vmx_calls[i]++;
        vmx_ok[i] += st == NESTOR_OK;
        count_result(st, FAM_GUEST);
        if (pick(2))
            return;
    }
    nu_msg_t m = *r;
    count_result(nu_reply(&m), FAM_GUEST);
}

/* The guest's code page: a program at GUEST_ENTRY, or random bytes. */
static void write_guest_code(void)
{
    uint8_t *code = (uint8_t *)GUEST_CODE_VA;
    if (pick(4) == 0) {
        for (unsigned i = 0; i < PAGE_SIZE; i++)
            code[i] = (uint8_t)next_random();
        return;
    }
    memset(code, 0, PAGE_SIZE);
    unsigned p = (unsigned)pick(COUNT_OF(programs));
    trace("guest-program", p, 0, 0);
    memcpy(code + GUEST_ENTRY, programs[p].code, programs[p].len);
}

/* The fuzz thread's answer to one exit in @r: resume with a random mask (and
 * perhaps random state), or stop the vCPU with another label; false: none. */
static bool answer_exit(const nu_msg_t *m, nu_msg_t *r)
{
    nestor_word_t reason = m->mr[NESTOR_EXIT_MR_REASON];
    guest_exits++;
    if (reason & NESTOR_ENTRY_REFUSED || reason >> 31 & 1)
        guest_entry_fails++;
    else if ((reason & NESTOR_EXIT_REASON_MASK) < NESTOR_EXIT_REASONS)
        exit_reasons_seen[(reason & NESTOR_EXIT_REASON_MASK) / 64] |=
            1ULL << (reason & NESTOR_EXIT_REASON_MASK) % 64;
    if (pick(GUEST_UNANSWERED) == 0)
        return false;           /* the vCPU thread waits; the next set-up deletes it */
    if (pick(4) == 0)
        scribble_state();
    *r = (nu_msg_t){ .info = nestor_msginfo(0, 0, 0, 1) };
    if (pick(GUEST_STOP_REPLY) == 0) {
        r->info = nestor_msginfo(1 + pick(0xFFFF), 0, 0, (unsigned)pick(4));
        guest_stops++;
    }
    /* Mostly what a monitor would name: nothing, or what this exit fetched. */
    nestor_word_t fetched = ((const nestor_vcpu_state_t *)GUEST_STATE_VA)->mtd;
    nestor_word_t how = pick(4);
    r->mr[0] = how == 0   ? random_mask()
               : how == 1 ? fetched & random_mask()
               : how == 2 ? fetched
                          : 0;
    trace("guest-exit", reason, m->mr[NESTOR_EXIT_MR_QUALIFICATION],
          nu_ipc_buffer()->msg[NESTOR_EXIT_MR_RIP]);
    trace("guest-reply", nestor_msginfo_label(r->info), r->mr[0], fetched);
    return true;
}

static void guest_session(void)
{
    nu_msg_t m = { .info = nestor_msginfo(SETUP_LABEL, 0, 0, 0) };
    trace("guest-setup", 0, 0, 0);
    setup_requested = true;
    nu_syscall(NESTOR_SYS_CALL, PROTECTED_SLOT, &m);
    setup_requested = false;
    count_result(NESTOR_OK, FAM_GUEST);
    if (!guest_ready) {
        guest_setup_fails++;
        return;
    }
    guest_runs++;
    const nestor_cptr_t vcpu = P_GUEST(G_VCPU), tcb = P_GUEST(G_TCB), ep = P_GUEST(G_EP);
    write_guest_code();
    /* What the VCPU starts with, then an entry point, or random state. */
    guest_invoke(vcpu, NESTOR_VCPU_STORE_STATE, NESTOR_MTD_ALL, 1);
    nestor_vcpu_state_t *s = (nestor_vcpu_state_t *)GUEST_STATE_VA;
    s->rip = GUEST_ENTRY;
    s->rsp = GUEST_STACK;
    s->rflags = GUEST_RFLAGS;
    nestor_word_t mask = NESTOR_MTD_RIP | NESTOR_MTD_RSP | NESTOR_MTD_RFLAGS;
    if (pick(4) == 0) {
        scribble_state();
        mask = random_mask();
    }
    trace("guest-load", mask, 0, 0);
    guest_invoke(vcpu, NESTOR_VCPU_LOAD_STATE, mask, 1);
    /* Transfer masks: random ones on slots the programs reach, or any slot. */
    static const nestor_word_t slots[] = {
        NESTOR_EXIT_CPUID, NESTOR_EXIT_HLT, NESTOR_EXIT_VMCALL, NESTOR_EXIT_IO,
        NESTOR_EXIT_RDTSC, NESTOR_EXIT_RDMSR, NESTOR_EXIT_EPT_VIOLATION,
        NESTOR_EXIT_TRIPLE_FAULT, NESTOR_EXIT_PREEMPT_TIMER, NESTOR_EXIT_SLOT_ENTRY_FAIL,
        NESTOR_EXIT_SLOT_EXCEPTION + 3, NESTOR_EXIT_SLOT_EXCEPTION + 6,
    };
    for (unsigned k = (unsigned)pick(8); k; k--) {
        const nestor_word_t args[] = { pick(2) ? slots[pick(COUNT_OF(slots))] : pick(EXIT_SLOTS),
                                       random_mask() };
        count_result(nu_invoke(vcpu, NESTOR_VCPU_SET_EXIT_MASK, args, 2, 0, 0, 0, 0),
                     FAM_GUEST);
    }
    guest_invoke(tcb, NESTOR_TCB_RESUME, 0, 0);
    /* Non-blocking receives and yields to the guest, or (where the timer
     * wakes us) blocking ones: exits then take the kernel's fast path. */
    bool blocking = tick_ready && pick(2);
    blocking_runs += blocking;
    unsigned exits = 0, idle = 0;
    bool answer = false;
    nu_msg_t r;
    while (exits < GUEST_MAX_EXITS && idle < GUEST_MAX_IDLE) {
        nestor_word_t st;
        trace(blocking ? "guest-recv" : "guest-nbrecv", answer, exits, idle);
        if (blocking) {
            guest_invoke(PROTECTED_TICK, NESTOR_IRQ_HANDLER_ACK, 0, 0);
            m = answer ? r : (nu_msg_t){ 0 };
            /* now and then through the VCPU (NESTOR_SYS_VCPU_REPLY_RECV: its
             * fast path for RESUME, the general one for other labels) */
            if (answer && pick(4) == 0)
                st = nu_vcpu_reply_recv(ep, vcpu, nestor_msginfo_label(r.info), r.mr[0], &m);
            else
                st = answer ? nu_reply_recv(ep, &m) : nu_recv(ep, &m);
        } else {
            if (answer)
                reply_to_exit(&r);
            m = (nu_msg_t){ 0 };
            st = nu_nbrecv(ep, &m);
        }
        count_result(st, FAM_GUEST);
        answer = false;
        if (st == NESTOR_OK && nestor_msginfo_label(m.info) == NESTOR_FAULT_VM_EXIT) {
            exits++;
            answer = answer_exit(&m, &r);
        } else {
            idle++;                                 /* a tick, or nothing yet */
            if (pick(4) == 0)
                guest_invoke(vcpu, NESTOR_VCPU_PAUSE, 0, 0);
            if (!blocking) {
                nu_yield();
                count_result(NESTOR_OK, FAM_GUEST);
            }
        }
        if (pick(8) == 0)
            vmx_call((unsigned)pick(N_VMX_LABELS));        /* while the guest lives */
    }
    if (answer)
        reply_to_exit(&r);
    /* Mostly stopped; else it lives on until the next set-up deletes it. */
    if (pick(GUEST_LEFT_RUNNING))
        guest_invoke(tcb, NESTOR_TCB_SUSPEND, 0, 0);
}

/* Root task: a fresh guest from guest_ut, its copies in the protected CNode. */
static nestor_error_t guest_setup(void)
{
    static const struct { nestor_word_t type, bits; } objs[G_OBJS] = {
        [G_VCPU] = { NESTOR_OBJ_VCPU, 0 }, [G_TCB] = { NESTOR_OBJ_TCB, 0 },
        [G_EPT] = { NESTOR_OBJ_EPT_PML4, 0 }, [G_EPT_PDPT] = { NESTOR_OBJ_EPT_PDPT, 0 },
        [G_EPT_PD] = { NESTOR_OBJ_EPT_PD, 0 }, [G_EPT_PT] = { NESTOR_OBJ_EPT_PT, 0 },
        [G_CODE] = { NESTOR_OBJ_FRAME_4K, 0 }, [G_STATE] = { NESTOR_OBJ_FRAME_4K, 0 },
        [G_TABLE] = { NESTOR_OBJ_CNODE, NESTOR_EXIT_TABLE_RADIX },
        [G_EP] = { NESTOR_OBJ_ENDPOINT, 0 }, [G_LARGE] = { NESTOR_OBJ_FRAME_2M, 0 },
    };
    const nestor_cptr_t root = NESTOR_CAP_INIT_CNODE, g = guest_slot;
    const nestor_word_t rwx = NESTOR_EPT_R | NESTOR_EPT_W | NESTOR_EPT_X;
    guest_ready = false;
    nestor_error_t e = nu_cnode_revoke(root, guest_ut, 64);
    for (unsigned i = 0; !e && i < G_OBJS; i++)
        e = nu_untyped_retype(guest_ut, objs[i].type, objs[i].bits, root, 0, 0, g + i, 1);
    if (e || (e = nu_cnode_copy(root, g + G_CODE_EPT, 64, root, g + G_CODE, 64,
                                NESTOR_RIGHTS_ALL)) ||
        (e = nu_cnode_copy(root, g + G_STATE_VCPU, 64, root, g + G_STATE, 64,
                           NESTOR_RIGHTS_ALL)) ||
        (e = nu_cnode_copy(root, g + G_LARGE_EPT, 64, root, g + G_LARGE, 64,
                           NESTOR_RIGHTS_ALL)) ||
        (e = nu_map_frame(&alloc, NESTOR_CAP_INIT_VSPACE, GUEST_CODE_VA, g + G_CODE,
                          NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE)) ||
        (e = nu_map_frame(&alloc, NESTOR_CAP_INIT_VSPACE, GUEST_STATE_VA, g + G_STATE,
                          NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE)))
        return e;
    for (unsigned t = G_EPT_PDPT; !e && t <= G_EPT_PT; t++)
        e = nu_page_table_map(g + t, g + G_EPT, GUEST_CODE_GPA);
    const nestor_word_t code[] = { GUEST_CODE_GPA, rwx, NESTOR_EPT_MEMTYPE_WB };
    const nestor_word_t large[] = { GUEST_LARGE_GPA, rwx, NESTOR_EPT_MEMTYPE_WB };
    const nestor_cptr_t ept = g + G_EPT, tcb = g + G_TCB, state = g + G_STATE_VCPU,
                        table = g + G_TABLE;
    if (e || (e = nu_invoke(g + G_CODE_EPT, NESTOR_EPT_MAP_FRAME, code, 3, &ept, 1, 0, 0)) ||
        (e = nu_invoke(g + G_LARGE_EPT, NESTOR_EPT_MAP_FRAME, large, 3, &ept, 1, 0, 0)) ||
        (e = nu_tcb_set_priority(tcb, FUZZ_PRIO)) ||
        (e = nu_invoke(g + G_VCPU, NESTOR_VCPU_SET_TCB, 0, 0, &tcb, 1, 0, 0)) ||
        (e = nu_invoke(g + G_VCPU, NESTOR_VCPU_SET_EPT, 0, 0, &ept, 1, 0, 0)) ||
        (e = nu_invoke(g + G_VCPU, NESTOR_VCPU_SET_STATE_PAGE, 0, 0, &state, 1, 0, 0)) ||
        (e = nu_invoke(g + G_VCPU, NESTOR_VCPU_SET_EXIT_TABLE, 0, 0, &table, 1, 0, 0)))
        return e;
    /* Exit slots hold the endpoint (badge: slot + 1), a few stay empty. */
    for (unsigned slot = 0; !e && slot < EXIT_SLOTS; slot++)
        if (pick(EXIT_SLOT_EMPTY))
            e = nu_cnode_mint(table, slot, NESTOR_EXIT_TABLE_RADIX, root, g + G_EP, 64,
                              NESTOR_RIGHTS_ALL, slot + 1);
    /* Tables cannot be copied (each maps once): they move to the fuzz thread. */
    for (unsigned i = 0; !e && i < G_OBJS; i++)
        e = i >= G_EPT_PDPT && i <= G_EPT_PT
                ? nu_cnode_move(protect_cnode, PROTECTED_GUEST + i, SANDBOX_RADIX, root, g + i,
                                64)
                : nu_cnode_copy(protect_cnode, PROTECTED_GUEST + i, SANDBOX_RADIX, root, g + i,
                                64, NESTOR_RIGHTS_ALL);
    guest_ready = e == NESTOR_OK;
    return e;
}

static void fuzz_thread(nestor_word_t calls)
{
    nestor_ipc_buffer_t *buf = nu_ipc_buffer();
    while (done_calls < calls) {
        if (vmx) {
            nestor_word_t r = pick(100 * guest_every);
            if (r < 100) {
                guest_session();
                continue;
            }
            if (r % 100 < VMX_SHARE) {
                vmx_call((unsigned)pick(N_VMX_LABELS));
                continue;
            }
        }
        nu_msg_t m;
        nestor_cptr_t dest = random_cptr();
        fill_message(&m, buf);
        bool structured = structured_call(&m, buf, &dest);
        nestor_word_t num = structured ? NESTOR_SYS_CALL : random_syscall();
        trace("sys", num, dest, m.info);
        count_result(safe_syscall(num, dest, &m), structured ? FAM_STRUCTURED : FAM_RANDOM);
    }
    nu_msg_t m = { .info = nestor_msginfo(DONE_LABEL, 0, 0, 0) };
    nu_syscall(NESTOR_SYS_CALL, PROTECTED_SLOT, &m);
}

/* Decimal option @key of @cmdline, @fallback if absent or 0. */
static nestor_word_t number_option(const char *cmdline, const char *key, nestor_word_t fallback)
{
    const char *p = nu_option(cmdline, key);
    nestor_word_t v = 0;
    for (; p && *p >= '0' && *p <= '9'; p++)
        v = v * 10 + (nestor_word_t)(*p - '0');
    return v ? v : fallback;
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
    protect_cnode = protect;
    /* Objects in the sandbox, made straight into its slots. */
    static const struct { unsigned slot; nestor_word_t type, bits; bool vmx; } objs[] = {
        { SB_UNTYPED_BIG, NESTOR_OBJ_UNTYPED, 20, false },
        { SB_UNTYPED_SMALL, NESTOR_OBJ_UNTYPED, 14, false },
        { SB_EP, NESTOR_OBJ_ENDPOINT, 0, false }, { SB_NTFN, NESTOR_OBJ_NOTIFICATION, 0, false },
        { SB_VICTIM, NESTOR_OBJ_TCB, 0, false }, { SB_FRAME, NESTOR_OBJ_FRAME_4K, 0, false },
        { SB_PML4, NESTOR_OBJ_PML4, 0, false }, { SB_PDPT, NESTOR_OBJ_PDPT, 0, false },
        { SB_PD, NESTOR_OBJ_PD, 0, false }, { SB_PT, NESTOR_OBJ_PT, 0, false },
        { SB_VCPU, NESTOR_OBJ_VCPU, 0, true }, { SB_EPT_PML4, NESTOR_OBJ_EPT_PML4, 0, true },
        { SB_EPT_PDPT, NESTOR_OBJ_EPT_PDPT, 0, true }, { SB_EPT_PD, NESTOR_OBJ_EPT_PD, 0, true },
        { SB_EPT_PT, NESTOR_OBJ_EPT_PT, 0, true }, { SB_FRAME_2M, NESTOR_OBJ_FRAME_2M, 0, true },
        { SB_EXIT_CNODE, NESTOR_OBJ_CNODE, NESTOR_EXIT_TABLE_RADIX, true },
    };
    for (unsigned i = 0; i < sizeof(objs) / sizeof(objs[0]); i++)
        if ((!objs[i].vmx || vmx) &&
            nu_untyped_retype(a->untyped, objs[i].type, objs[i].bits, sandbox, 0, 0, objs[i].slot,
                              1) != NESTOR_OK)
            return 0;
    if (nu_cnode_copy(sandbox, SB_SELF_CNODE, SANDBOX_RADIX, root, sandbox, 64,
                      NESTOR_RIGHTS_ALL) ||
        nu_cnode_copy(protect, PROTECTED_SANDBOX & 0x3F, SANDBOX_RADIX, root, sandbox, 64,
                      NESTOR_RIGHTS_ALL) ||
        nu_untyped_retype(a->untyped, NESTOR_OBJ_UNTYPED, 18, protect, 0, 0,
                          PROTECTED_UNTYPED & 0x3F, 1))
        return 0;
    /* A shadow VMCS where the CPU has VMCS shadowing (else the slot stays
     * empty and its labels fail, as they must). */
    if (vmx)
        nu_untyped_retype(a->untyped, NESTOR_OBJ_SHADOW_VMCS, 0, sandbox, 0, 0, SB_SHADOW, 1);
    if (vmx) {
        /* The guests' untyped and root slots for their objects. */
        guest_ut = nu_alloc_obj(a, NESTOR_OBJ_UNTYPED, GUEST_UT_BITS);
        guest_slot = a->next_slot;
        a->next_slot += G_SLOTS;
        if (!guest_ut || a->next_slot > a->end_slot)
            return 0;
    }
    return outer_g;
}

/* The timer for blocking receives (VMX only); false if it cannot be had. */
static bool tick_setup(nu_alloc_t *a, nestor_cptr_t fuzz_tcb)
{
    const nestor_cptr_t root = NESTOR_CAP_INIT_CNODE;
    nestor_cptr_t ports = a->next_slot++, irq = a->next_slot++;
    nestor_cptr_t ntfn = nu_alloc_obj(a, NESTOR_OBJ_NOTIFICATION, 0);
    if (!ntfn || a->next_slot > a->end_slot ||
        nu_ioport_issue(NESTOR_CAP_IOPORT_CONTROL, PIT_PORT_FIRST, PIT_PORT_LAST, root, ports,
                        64) ||
        nu_irq_control_get(NESTOR_CAP_IRQ_CONTROL, PIT_IRQ, root, irq, 64) ||
        nu_irq_handler_set_notification(irq, ntfn) || nu_tcb_bind_notification(fuzz_tcb, ntfn) ||
        nu_cnode_copy(protect_cnode, PROTECTED_TICK & (SANDBOX_SLOTS - 1), SANDBOX_RADIX, root,
                      irq, 64, NESTOR_RIGHTS_ALL))
        return false;
    const unsigned divisor = PIT_HZ / TICK_HZ;
    return nu_ioport_out(ports, PIT_CMD, 1, PIT_CMD_CH0_RATE) == NESTOR_OK &&
           nu_ioport_out(ports, PIT_CH0, 1, divisor & 0xFF) == NESTOR_OK &&
           nu_ioport_out(ports, PIT_CH0, 1, divisor >> 8) == NESTOR_OK;
}

int main(const nestor_bootinfo_t *bi)
{
    rng = number_option(bi->cmdline, "fuzz.seed=", FUZZ_DEFAULT_SEED);
    calls_target = number_option(bi->cmdline, "fuzz.calls=", FUZZ_DEFAULT_CALLS);
    progress_every = number_option(bi->cmdline, "fuzz.progress=", 0);
    trace_from = number_option(bi->cmdline, "fuzz.trace-from=", 0);
    guest_every = number_option(bi->cmdline, "fuzz.guest-every=", GUEST_EVERY);
    vmx = bi->vmx_present != 0;
    nestor_word_t seed = rng;
    alloc = (nu_alloc_t){ .untyped = largest_untyped(bi), .cnode = NESTOR_CAP_INIT_CNODE,
                          .next_slot = bi->empty.start, .end_slot = bi->empty.end };
    nu_alloc_t *a = &alloc;
    nestor_cptr_t fault_ep = nu_alloc_obj(a, NESTOR_OBJ_ENDPOINT, 0);
    nestor_cptr_t cspace = build_cspace(a, fault_ep);
    nestor_cptr_t tcb = cspace ? nu_thread_new(a, NESTOR_CAP_INIT_VSPACE, REGION, fuzz_thread,
                                               calls_target, FUZZ_PRIO, 0) : 0;
    if (!tcb) {
        printf("fuzz: set-up failed\n");
        return 0;
    }
    /* Give the thread its sandboxed CSpace and its protected fault endpoint. It
     * is lower priority than us and has not run yet: suspend, reconfigure,
     * resume. The frame nu_thread_new allocated last is its IPC buffer. */
    nu_tcb_suspend(tcb);
    nestor_cptr_t buf_frame = a->next_slot - 1;
    tick_ready = vmx && tick_setup(a, tcb);
    if (vmx && !tick_ready)
        printf("fuzz: no timer: guests are driven with non-blocking receives only\n");
    if (nu_tcb_configure(tcb, PROTECTED_SLOT, cspace, NESTOR_CAP_INIT_VSPACE, buf_frame,
                         REGION + 4096) != NESTOR_OK || nu_tcb_resume(tcb) != NESTOR_OK) {
        printf("fuzz: cannot sandbox the fuzz thread\n");
        return 0;
    }
    printf("fuzz: %lu random system calls, seed %lu\n", calls_target, seed);
    if (!vmx)
        printf("fuzz: no VMX on this machine: VCPU/EPT calls and guests skipped\n");
    /* The fault endpoint also gets the fuzz thread's random sends to the
     * protected slot: only a message we can reply to is a real fault. */
    nestor_word_t faults = 0, strays = 0;
    for (;;) {
        nu_msg_t m = { 0 };
        if (nu_recv(fault_ep, &m) != NESTOR_OK)
            break;
        nestor_word_t label = nestor_msginfo_label(m.info);
        if (label == DONE_LABEL && done_calls >= calls_target)
            break;
        if (label == SETUP_LABEL && setup_requested) {
            setup_requested = false;
            nestor_error_t e = guest_setup();
            if (e && !guest_setup_fails)
                printf("fuzz: first guest set-up failure: error %u\n", e);
            m = (nu_msg_t){ .info = nestor_msginfo(0, 0, 0, 1), .mr = { e } };
            if (nu_reply(&m) != NESTOR_OK)
                strays++;
            continue;
        }
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
           "messages on the fault endpoint\n", done_calls, faults, strays);
    printf("fuzz: calls by family:");
    for (unsigned f = 0; f < FAM_COUNT; f++)
        printf(" %s %lu", family_names[f], family_calls[f]);
    printf("\nfuzz: status:");
    for (unsigned e = 0; e <= NESTOR_ERR_COUNT; e++)
        if (results[e])
            printf(" %u=%lu", e, results[e]);
    printf("\n");
    if (vmx) {
        unsigned called = 0, succeeded = 0, reasons = 0;
        printf("fuzz: vmx labels (calls/ok):");
        for (unsigned i = 0; i < N_VMX_LABELS; i++) {
            printf(" %s %lu/%lu", vmx_labels[i].name, vmx_calls[i], vmx_ok[i]);
            called += vmx_calls[i] != 0;
            succeeded += vmx_ok[i] != 0;
        }
        for (unsigned r = 0; r < NESTOR_EXIT_REASONS; r++)
            reasons += exit_reasons_seen[r / 64] >> (r % 64) & 1;
        printf("\nfuzz: guests: %lu runs (%lu with blocking receives), %lu exits (%u reasons, "
               "%lu entry failures), %lu stopped by reply, %lu set-up failures\n", guest_runs,
               blocking_runs, guest_exits, reasons, guest_entry_fails, guest_stops,
               guest_setup_fails);
        printf("fuzz: vmx: %u of %lu VCPU/EPT labels called, %u succeeded\n", called,
               (nestor_word_t)N_VMX_LABELS, succeeded);
    }
    nestor_word_t slots, threads, errors = nu_debug_check(&slots, &threads);
    printf("fuzz: consistency check: %lu errors (%lu slots, %lu threads)\n", errors, slots,
           threads);
    /* The kernel still works: retype, call, delete. */
    nestor_cptr_t ep = nu_alloc_obj(a, NESTOR_OBJ_ENDPOINT, 0);
    bool alive = ep && nu_cnode_delete(NESTOR_CAP_INIT_CNODE, ep, 64) == NESTOR_OK;
    printf("fuzz: kernel %s after the run\n", alive ? "healthy" : "BROKEN");
    bool ok = done_calls >= calls_target && errors == 0 && alive;
    printf("fuzz: %u passed, %u failed\n", ok ? 1 : 0, ok ? 0 : 1);
    return ok;
}
