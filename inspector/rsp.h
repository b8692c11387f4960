/*
 * inspector/rsp.h - the GDB remote serial protocol engine (the stub side).
 *
 * Bytes from the debugger go in (rsp_input); replies come out through the
 * backend's put(). The engine knows the protocol, never the machine: every
 * register, memory access, run-control step and breakpoint goes through a
 * table of backend operations (struct rsp_ops), so the same engine runs in
 * the inspector monitor (inspector/main.c) and on the host against a model
 * backend (tests/unit/test_rsp.c, test_rsp_fuzz.c).
 *
 * Protocol: GDB manual, appendix "Remote Serial Protocol" (E.1 overview:
 * packets $data#cs, '+'/'-' acks, '}' escapes, Ctrl-C as a lone 0x03 byte;
 * E.2 packets; E.3 stop replies; E.4 general queries; E.11 no-ack mode).
 * All-stop mode only: when one thread stops, the backend has stopped all.
 *
 * Threads are gdb thread ids 1..n (one per vCPU: vCPU i is thread i+1).
 * Registers are numbered as in the target description of the session's
 * register set (rsp_x86.h: x86-64, or i386 for a guest outside IA-32e mode);
 * the backend sees them by id (enum rsp_x86_reg) whichever set it is.
 *
 * Nothing the debugger sends can make the engine read or write outside its
 * own buffers or call the backend with a length beyond RSP_MEM_MAX: a packet
 * it cannot parse gets an error reply (E nn) or, when unknown, the empty
 * reply the protocol asks for.
 */
#ifndef INSPECTOR_RSP_H
#define INSPECTOR_RSP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RSP_PKT_MAX       4096u   /* payload bytes of a packet, both ways (PacketSize) */
#define RSP_MEM_MAX       ((RSP_PKT_MAX - 8) / 2)   /* bytes one m reply may carry as hex */
#define RSP_MAX_THREADS   64u
#define RSP_REG_BYTES_MAX 16u     /* the widest register (xmm) */
#define RSP_CMD_MAX       256u    /* a decoded qRcmd command line */

/* Byte values of the framing (GDB manual E.1). */
#define RSP_START         '$'
#define RSP_END           '#'
#define RSP_ESCAPE        '}'
#define RSP_ESCAPE_XOR    0x20
#define RSP_RLE           '*'
#define RSP_ACK           '+'
#define RSP_NAK           '-'
#define RSP_INTERRUPT     0x03    /* Ctrl-C outside a packet */
#define RSP_NOTIFY        '%'     /* notifications (non-stop): never sent by us */

/* Error numbers in "E nn" replies (gdb shows them, errno-like). */
#define RSP_EPERM         0x01
#define RSP_ENOENT        0x02
#define RSP_EIO           0x05
#define RSP_EFAULT        0x0e
#define RSP_EBUSY         0x10
#define RSP_EINVAL        0x16
#define RSP_ENOSPC        0x1c
#define RSP_ERANGE        0x22
#define RSP_ENOSYS        0x26

/* What a backend operation returns: 0, or an error number above (negated),
 * or one of these. */
#define RSP_UNAVAILABLE   1       /* read_reg: the register is not available */
#define RSP_UNSUPPORTED   2       /* breakpoint: this type is not offered (empty reply) */

/* Signals in stop replies (gdb's numbering, include/gdb/signals.def). */
#define RSP_SIGINT        2
#define RSP_SIGILL        4
#define RSP_SIGTRAP       5
#define RSP_SIGSEGV       11
#define RSP_SIGKILL       9       /* the VM stopped by its VMM (an X reply) */

/* Z/z types (GDB manual E.2, "z type,addr,kind"). */
enum rsp_bp_type {
    RSP_BP_SOFTWARE = 0,
    RSP_BP_HARDWARE = 1,
    RSP_BP_WRITE = 2,
    RSP_BP_READ = 3,
    RSP_BP_ACCESS = 4,
    RSP_BP_TYPES
};

/* The kind (bytes) a Z/z packet may give: a breakpoint's instruction
 * length is at most 8; a watchpoint (Z2-Z4) may cover up to
 * RSP_WATCH_LEN_MAX bytes, served as the backend can (the inspector: a
 * debug register up to 8 aligned bytes, EPT protection beyond). */
#define RSP_BP_KIND_MAX   8
#define RSP_WATCH_LEN_MAX 4096
#define RSP_BP_IS_WATCH(t) ((t) == RSP_BP_WRITE || (t) == RSP_BP_READ || (t) == RSP_BP_ACCESS)

/* What each thread does on a resume (c, s, vCont). */
enum rsp_action {
    RSP_ACT_STOP = 0,         /* stays stopped */
    RSP_ACT_CONTINUE,
    RSP_ACT_STEP,
};

/* Why a thread stopped, for the T reply's fields (GDB manual E.3). */
enum rsp_stop_why {
    RSP_STOP_SIGNAL = 0,      /* only the signal */
    RSP_STOP_SWBREAK,         /* a software breakpoint (PC is at the int3) */
    RSP_STOP_HWBREAK,         /* a hardware breakpoint or a finished step */
    RSP_STOP_WATCH,           /* data watchpoints: addr is the data address */
    RSP_STOP_RWATCH,
    RSP_STOP_AWATCH,
    RSP_STOP_EXITED,          /* the VM ended: W reply, sig is the exit status */
    RSP_STOP_KILLED,          /* the VM was stopped (an error): X reply, sig is the signal */
};

struct rsp;

struct rsp_ops {
    /* Send @n bytes to the debugger. */
    void (*put)(void *ctx, const uint8_t *buf, size_t n);
    /* How many threads (vCPUs): 1..RSP_MAX_THREADS. */
    unsigned (*threads)(void *ctx);
    /* Register @id (enum rsp_x86_reg) of thread @tid, little-endian in
     * @bytes (1..RSP_REG_BYTES_MAX) bytes: 0, RSP_UNAVAILABLE, or -error.
     * A write of fewer bytes than the register has changes the low ones. */
    int (*read_reg)(void *ctx, unsigned tid, unsigned id, uint8_t *buf, unsigned bytes);
    int (*write_reg)(void *ctx, unsigned tid, unsigned id, const uint8_t *buf, unsigned bytes);
    /* @len (1..RSP_MEM_MAX) bytes at guest-virtual @addr as thread @tid sees
     * them. Returns the bytes done from the start (a short count stops at
     * the first byte that is not there), or -error if none. */
    long (*read_mem)(void *ctx, unsigned tid, uint64_t addr, uint8_t *buf, size_t len);
    long (*write_mem)(void *ctx, unsigned tid, uint64_t addr, const uint8_t *buf, size_t len);
    /* Resume: @acts[i] for thread i+1, @n = threads(). 0 (the backend later
     * reports the stop with rsp_stopped) or -error (the target stays
     * stopped, the debugger gets the error). */
    int (*resume)(void *ctx, const uint8_t *acts, unsigned n);
    /* Ctrl-C while running: stop every thread, then rsp_stopped(SIGINT). */
    void (*interrupt)(void *ctx);
    /* Insert or remove a breakpoint/watchpoint: 0, -error, RSP_UNSUPPORTED. */
    int (*breakpoint)(void *ctx, bool insert, enum rsp_bp_type type, uint64_t addr,
                      unsigned kind);
    /* A "monitor CMD" line (qRcmd), NUL-terminated; print with
     * rsp_console(). 0 or -error. May be NULL (no monitor commands). */
    int (*monitor)(void *ctx, struct rsp *r, const char *cmd);
    /* The debugger detaches (D, k): remove every breakpoint, let all run. */
    void (*detach)(void *ctx);
    /* The first packet of a session (after rsp_init or a detach): the
     * backend may choose the register set (rsp_set_arch). May be NULL. */
    void (*attach)(void *ctx, struct rsp *r);
};

struct rsp_stats {
    uint64_t packets;         /* well-formed packets handled */
    uint64_t bad_checksum;
    uint64_t too_long;
    uint64_t errors;          /* E replies sent */
    uint64_t unknown;         /* empty replies to unknown packets */
    uint64_t interrupts;
};

enum rsp_rx_state { RSP_RX_IDLE, RSP_RX_DATA, RSP_RX_CSUM1, RSP_RX_CSUM2 };

struct rsp_arch;

struct rsp {
    const struct rsp_ops *ops;
    void *ctx;
    struct rsp_arch *arch;        /* the register set gdb sees (rsp_x86.h) */
    /* receiving */
    enum rsp_rx_state rx;
    uint8_t in[RSP_PKT_MAX];
    size_t in_len;
    bool in_escape, in_overflow;
    uint8_t in_sum, in_csum;
    /* sending: the last packet, for a '-' */
    uint8_t out[2 * RSP_PKT_MAX + 4];
    size_t out_len;
    /* session */
    bool no_ack, swbreak_ok, hwbreak_ok;
    bool running;             /* resumed; a stop reply is owed */
    bool attached;            /* between the first packet and D/k */
    unsigned g_tid, c_tid;    /* Hg / Hc thread (0: any, RSP_ALL_THREADS: all) */
    /* the last stop, for '?' */
    unsigned stop_tid, stop_sig;
    enum rsp_stop_why stop_why;
    uint64_t stop_addr;
    struct rsp_stats stats;
    /* scratch for building replies */
    char reply[RSP_PKT_MAX + 1];
    size_t reply_len;
    bool reply_overflow;
};

#define RSP_ALL_THREADS   0xFFFFFFFFu

/* Start a session: the target is stopped (thread 1, SIGTRAP) until the
 * debugger resumes it. */
void rsp_init(struct rsp *r, const struct rsp_ops *ops, void *ctx);
/* Bytes from the debugger, any split. Replies go out through put(). */
void rsp_input(struct rsp *r, const uint8_t *buf, size_t n);
/* The backend's report that the target stopped (all threads) after a
 * resume or an interrupt: sends the stop reply if one is owed, else only
 * records it for '?'. */
void rsp_stopped(struct rsp *r, unsigned tid, unsigned sig, enum rsp_stop_why why,
                 uint64_t addr);
/* Text for the debugger's console during a monitor command (an O packet). */
void rsp_console(struct rsp *r, const char *text);
/* The register set of this session (before gdb reads the description). */
void rsp_set_arch(struct rsp *r, struct rsp_arch *arch);
/* Whether the debugger waits for a stop reply. */
static inline bool rsp_running(const struct rsp *r) { return r->running; }

#endif
