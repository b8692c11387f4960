/*
 * nestor/invocations.h - invocation labels: what a CALL on a kernel object's
 * capability asks for. Arguments travel in message registers (MRn) and extra
 * capabilities (CAPn, addressed in the caller's CSpace through the IPC
 * buffer's caps_or_badges words); results come back in MRs, with the error
 * code (nestor/errors.h) in the reply label.
 */
#ifndef NESTOR_INVOCATIONS_H
#define NESTOR_INVOCATIONS_H

typedef enum {
    /* Untyped */
    NESTOR_UNTYPED_RETYPE = 16,       /* MR0 type, MR1 size_bits (CNode radix for CNodes,
                                         ignored for fixed-size types), MR2 node index,
                                         MR3 node depth, MR4 node offset, MR5 count;
                                         CAP0 = destination CNode root */

    /* CNode: every slot is (index, depth) relative to the invoked CNode. */
    NESTOR_CNODE_COPY = 32,           /* MR0/1 dest index/depth, MR2/3 src index/depth
                                         relative to CAP0 (src root), MR4 rights mask */
    NESTOR_CNODE_MINT = 33,           /* as COPY, MR5 badge */
    NESTOR_CNODE_MOVE = 34,           /* MR0/1 dest, MR2/3 src (CAP0 = src root) */
    NESTOR_CNODE_MUTATE = 35,         /* as MOVE, MR4 badge */
    NESTOR_CNODE_DELETE = 36,         /* MR0/1 slot */
    NESTOR_CNODE_REVOKE = 37,         /* MR0/1 slot: delete every capability derived from it */

    /* TCB */
    NESTOR_TCB_CONFIGURE = 48,        /* MR0 fault endpoint cptr (in the thread's CSpace),
                                         MR1 IPC buffer address; CAP0 CSpace root,
                                         CAP1 VSpace root (PML4), CAP2 IPC buffer frame
                                         (readable and writable) */
    NESTOR_TCB_SET_PRIORITY = 49,     /* MR0 priority (<= caller's), */
    NESTOR_TCB_READ_REGISTERS = 50,   /* -> MR0.. nestor_user_context_t words */
    NESTOR_TCB_WRITE_REGISTERS = 51,  /* MR0 resume (bool), MR1.. context words */
    NESTOR_TCB_RESUME = 52,
    NESTOR_TCB_SUSPEND = 53,
    NESTOR_TCB_BIND_NOTIFICATION = 54,/* CAP0 notification */
    NESTOR_TCB_UNBIND_NOTIFICATION = 55,
    NESTOR_TCB_SET_TLS_BASE = 56,     /* MR0 FS base, MR1 GS base */
    NESTOR_TCB_READ_FPU = 57,         /* -> MR0.. the XSAVE image (x87, SSE, AVX; 832 bytes)
                                         or, without XSAVE, the FXSAVE image (512) */
    NESTOR_TCB_WRITE_FPU = 58,        /* MR0.. at least the first 512 bytes of such an image */
    NESTOR_TCB_SET_IO_PORTS = 59,     /* CAP0 an I/O port capability: the thread may use
                                         IN/OUT on its ports directly (it keeps a copy;
                                         revoking the original ends the grant); no CAP0:
                                         remove the grant */
    NESTOR_TCB_SET_CALL_TIMEOUT = 60, /* MR0 milliseconds (0: none, at most
                                         NESTOR_CALL_TIMEOUT_MAX_MS): how long the
                                         thread's NESTOR_SYS_CALL_BOUNDED waits, in
                                         kernel ticks rounded up, plus one */

    /* Paging structures and frames (x86-64) */
    NESTOR_PAGE_TABLE_MAP = 64,       /* MR0 vaddr; CAP0 VSpace root (PML4) */
    NESTOR_PAGE_TABLE_UNMAP = 65,
    NESTOR_FRAME_MAP = 66,            /* MR0 vaddr, MR1 rights, MR2 attributes; CAP0 PML4.
                                         Here and in NESTOR_EPT_MAP_FRAME: a page mapped
                                         elsewhere with another memory type is refused,
                                         NESTOR_ERR_DELETE_FIRST, MR1 = that mapping's
                                         address (SDM Vol. 3A 11.12.4) */
    NESTOR_FRAME_UNMAP = 67,
    NESTOR_FRAME_GET_ADDRESS = 68,    /* -> MR0 physical address */
    NESTOR_FRAME_SLICE = 69,          /* on a 2 MiB frame: MR0 slice index (0-511),
                                         MR1/2 dest index/depth; CAP0 dest root -> a
                                         4 KiB frame capability for bytes [index * 4 KiB,
                                         +4 KiB) of the frame, with the frame capability's
                                         rights, a child of it in the derivation tree.
                                         A frame is used whole or in slices, not both:
                                         NESTOR_ERR_DELETE_FIRST with MR0 = 1, MR1 = the
                                         address while a capability to the frame is mapped
                                         (MR0 = 0: the dest slot is full); mapping the frame
                                         while slices exist: NESTOR_ERR_REVOKE_FIRST. The
                                         last capability to the frame, deleted, deletes
                                         (and unmaps) its slices. */
    NESTOR_FRAME_SLICE_ALIAS = 70,    /* on a 2 MiB frame, as FRAME_SLICE: an alias slice,
                                         usable while the frame is mapped whole: mapped only
                                         by NESTOR_EPT_MAP_FRAME with type WB (else
                                         NESTOR_ERR_INVALID_ARGUMENT; FRAME_MAP: ILLEGAL_
                                         OPERATION) and only while the frame's whole mappings
                                         are WB (else NESTOR_ERR_DELETE_FIRST, MR0 = the gpa,
                                         MR1 = that mapping's address); never copied, minted,
                                         sent or given to a TCB/VCPU (ILLEGAL_OPERATION).
                                         A child of the frame as a slice is: revoking the
                                         frame's original or deleting its last capability
                                         deletes it and removes its EPT entry. Slices and
                                         alias slices of one frame exclude each other
                                         (NESTOR_ERR_REVOKE_FIRST); a whole mapping of
                                         another type than WB while an alias is mapped:
                                         NESTOR_ERR_REVOKE_FIRST (kernel/paging.c) */

    /* Virtual CPUs and EPT (nestor/vcpu.h) */
    NESTOR_VCPU_SET_TCB = 96,         /* CAP0 the TCB that runs this VCPU */
    NESTOR_VCPU_SET_EPT = 97,         /* CAP0 an EPT PML4 */
    NESTOR_VCPU_SET_STATE_PAGE = 98,  /* CAP0 a 4 KiB frame, readable and writable */
    NESTOR_VCPU_SET_EXIT_TABLE = 99,  /* CAP0 a CNode of radix NESTOR_EXIT_TABLE_RADIX, MR0
                                         (optional, default 0) its level; no CAP0 with MR0:
                                         remove that level's table (nestor/vcpu.h) */
    NESTOR_VCPU_SET_EXIT_MASK = 100,  /* MR0 table slot, MR1 transfer mask, MR2 (optional,
                                         default 0) the level whose handler gets it */
    NESTOR_VCPU_READ_VMCS = 101,      /* MR0..MRn-1 fields -> MR0..MRn-1 values (n <=
                                         NESTOR_VMCS_BULK_MAX; access: nestor/vmcs.h) */
    NESTOR_VCPU_WRITE_VMCS = 102,     /* MR0 field, MR1 value, MR2 field, ... (all checked
                                         against nestor/vmcs.h before any is written) */
    NESTOR_VCPU_LOAD_STATE = 103,     /* MR0 mask: load these groups from the state page
                                         (refused state: NESTOR_ERR_INVALID_ARGUMENT, MR1 =
                                         the refusal, nestor/vcpu.h) */
    NESTOR_VCPU_STORE_STATE = 106,    /* MR0 mask: write these groups to the state page now
                                         (a reply may then load them) */
    NESTOR_VCPU_REPLY = 107,          /* MR0 reply label (NESTOR_EXIT_REPLY_*), MR1 groups
                                         changed: answer the exit the VCPU's thread waits on
                                         (a deferred reply, from any thread) */
    NESTOR_VCPU_PAUSE = 105,          /* make the guest exit (reason NESTOR_EXIT_PREEMPT_TIMER,
                                         qualification NESTOR_PREEMPT_PAUSE) before it runs
                                         another instruction; MR0 (optional, default 0) the
                                         level whose handler gets the exit */
    NESTOR_VCPU_SET_PML = 109,        /* CAP0 a writable 4 KiB frame: log guest-physical pages
                                         the guest dirties there (nestor/vcpu.h); no CAP0: stop
                                         logging. Needs EPT A/D flags and PML (else refused) */
    NESTOR_VCPU_SET_TIMER = 108,      /* MR0 guest time in VMX-preemption-timer units (SDM
                                         25.5.1; 0: off), MR1 (optional) level: a one-shot
                                         exit NESTOR_EXIT_PREEMPT_TIMER, qualification
                                         NESTOR_PREEMPT_MONITOR_TIMER, when it has run out;
                                         -> MR0 the guest time that was left of the timer
                                         it replaces (0: off or run out; an exit owed for
                                         one that ran out is dropped) */
    NESTOR_EPT_MAP_FRAME = 104,       /* on a frame: MR0 guest-physical address,
                                         MR1 EPT rights (NESTOR_EPT_R/W/X), MR2 (optional,
                                         default WB) memory type NESTOR_EPT_MEMTYPE_*;
                                         CAP0 EPT PML4 */
    NESTOR_EPT_READ_AD = 110,         /* on an EPT PML4: MR0 guest-physical address, MR1
                                         flags (NESTOR_EPT_AD_CLEAR) -> MR0 the accessed and
                                         dirty flags (NESTOR_EPT_ACCESSED/DIRTY) of the leaf
                                         entry mapping it, MR1 the leaf's log2 size (12 or
                                         21); with NESTOR_EPT_AD_CLEAR both are then cleared
                                         and the EPT's cached translations invalidated.
                                         NESTOR_ERR_ILLEGAL_OPERATION where the CPU has no
                                         EPT A/D flags; NESTOR_ERR_FAILED_LOOKUP where no
                                         frame is mapped */
    NESTOR_EPT_SET_MMIO = 111,        /* on an EPT PML4: MR0 guest-physical address (4 KiB
                                         aligned), MR1 pages (1..NESTOR_EPT_MMIO_MAX_PAGES),
                                         MR2 1 = install, 0 = remove: entries that make the
                                         guest's accesses exit as EPT misconfigurations
                                         (reason 49) instead of violations (48). Install
                                         needs the EPT PTs there and empty entries
                                         (NESTOR_ERR_FAILED_LOOKUP / DELETE_FIRST, MR0 = the
                                         first such address); remove clears only such
                                         entries (a frame's: NESTOR_ERR_INVALID_ARGUMENT,
                                         MR0 = 0, MR1 = its address) */
    NESTOR_EPT_RESTRICT = 115,        /* on an EPT PML4: MR0 guest-physical base, MR1 bytes
                                         (both 4 KiB multiples, the range inside the
                                         invoked capability's own), MR2/3 dest index/depth;
                                         CAP0 dest root -> a child capability to the same
                                         EPT limited to [base, base + bytes): frames map
                                         (NESTOR_EPT_MAP_FRAME) and A/D flags are read
                                         (NESTOR_EPT_READ_AD) only inside it (else
                                         NESTOR_ERR_RANGE, MR0/MR1 = the range), nothing
                                         else (tables, MMIO entries, a VCPU's EPT, a further
                                         NESTOR_EPT_RESTRICT outside it): what a pager
                                         stacked on a VM holds of the VM's RAM (pager/) */
    NESTOR_EPT_PROTECT = 116,         /* on an EPT PML4: MR0 guest-physical address, MR1
                                         the rights to withhold from the frame mapped there
                                         (NESTOR_EPT_WITHHOLD_*; NESTOR_EPT_WITHHOLD_NONE
                                         gives back what was withheld) -> MR0 the leaf's
                                         level (12: 4 KiB, 21: 2 MiB, all of which the
                                         call changes), MR1 its rights now, MR2 the rights
                                         that were withheld before. Only inside a
                                         restricted capability's range, the whole leaf
                                         (else NESTOR_ERR_RANGE); no frame there:
                                         NESTOR_ERR_FAILED_LOOKUP; a leaf left with no
                                         rights (but by NESTOR_EPT_WITHHOLD_ALL) or
                                         execute-only without the CPU's support (SDM
                                         28.3.3.1): NESTOR_ERR_ILLEGAL_OPERATION. A 2 MiB
                                         leaf is protected whole: the caller tells its
                                         own accesses from the others there by address,
                                         or splits it first (NESTOR_EPT_SPLIT).
                                         Never adds a right the mapping did not have:
                                         what an inspector's EPT watchpoints hold of the
                                         VM's RAM (inspector/). A 2 MiB leaf split by
                                         NESTOR_EPT_SPLIT is 512 4 KiB leaves (MR0 12) */
    NESTOR_EPT_SPLIT = 117,           /* on an EPT PML4: MR0 a guest-physical address in a
                                         2 MiB frame's leaf; CAP0 an EPT PT of the caller's,
                                         not mapped -> the leaf becomes a PDE referencing
                                         that PT, whose 512 entries map the frame's 4 KiB
                                         pieces with the leaf's memory type, rights,
                                         withheld rights and A/D flags (kernel/ept.c), so
                                         NESTOR_EPT_PROTECT and NESTOR_EPT_READ_AD then work
                                         per 4 KiB page. Joined back (one 2 MiB leaf: what
                                         all 512 withheld, the union of their A/D flags)
                                         by NESTOR_PAGE_TABLE_UNMAP on the PT or its
                                         deletion; the frame's unmapping or deletion
                                         removes the 512 entries (the PT emptied, its
                                         capability then unmaps to nothing). Only a leaf
                                         wholly inside a restricted capability's range
                                         (else NESTOR_ERR_RANGE); no frame there:
                                         NESTOR_ERR_FAILED_LOOKUP; a 4 KiB leaf (a split
                                         one, a 4 KiB frame's): NESTOR_ERR_ILLEGAL_OPERATION;
                                         CAP0 not an EPT PT: NESTOR_ERR_INVALID_CAPABILITY;
                                         the PT mapped: NESTOR_ERR_DELETE_FIRST */

    NESTOR_VCPU_SET_SHADOW = 112,     /* CAP0 a shadow VMCS, CAP1 the VMREAD bitmap, CAP2 the
                                         VMWRITE bitmap (readable 4 KiB frames, not alias
                                         slices, the monitor fills, SDM
                                         24.6.15: bit set = the guest's access exits): the
                                         guest's VMREAD/VMWRITE act on the shadow without an
                                         exit (SDM 25.3, 30.3); MR0.. (optional, with the
                                         caps, at most NESTOR_SHADOW_SYNC_MAX) the fields
                                         NESTOR_MTD_SHADOW moves (each one of nestor/vmcs.h
                                         the CPU has and SHADOW_WRITE may write, else
                                         NESTOR_ERR_INVALID_ARGUMENT, MR0 = its index, MR1
                                         = the field; too many: NESTOR_ERR_RANGE); no CAP:
                                         unbind (no MRs). The shadow
                                         is bound to one VCPU at a time (else
                                         NESTOR_ERR_DELETE_FIRST, MR0 = 0). Where the CPU has
                                         no VMCS shadowing: NESTOR_ERR_ILLEGAL_OPERATION */
    NESTOR_SHADOW_READ = 113,         /* on a shadow VMCS: MR0..MRn-1 fields -> MR0..MRn-1
                                         values (n <= NESTOR_VMCS_BULK_MAX): every field of
                                         nestor/vmcs.h the CPU has (a shadow's fields are a
                                         guest hypervisor's, none reaches the host) */
    NESTOR_SHADOW_WRITE = 114,        /* on a shadow VMCS: MR0 field, MR1 value, MR2 field, ...
                                         (all checked before any is written; read-only fields
                                         only where IA32_VMX_MISC bit 29 allows VMWRITE to
                                         them). Refused field: NESTOR_ERR_INVALID_ARGUMENT,
                                         MR0 = its message register, MR1 = the field */
    NESTOR_VCPU_SET_DOORBELL = 124,   /* MR0 entry (< NESTOR_DOORBELL_MAX), MR1 guest-physical
                                         base, MR2 bytes (1..NESTOR_DOORBELL_MAX_BYTES, inside
                                         one 4 KiB page), MR3 timeout in ms (1..
                                         NESTOR_CALL_TIMEOUT_MAX_MS); CAP0 an endpoint
                                         (write right: a device server's, badged), CAP1 a
                                         readable and writable 4 KiB frame (not an alias
                                         slice): the server's state page. EPT-violation
                                         exits in the range go to the endpoint
                                         (nestor/vcpu.h "Doorbells"). Refused: a range
                                         overlapping another entry's (NESTOR_ERR_DELETE_FIRST,
                                         MR0 the entry) or a page the VCPU's EPT maps
                                         (NESTOR_ERR_DELETE_FIRST, MR0 = ~0, MR1 the page),
                                         wrapping, past 48 bits or across a page
                                         (NESTOR_ERR_RANGE). MR2 = 0 and no CAP: the entry
                                         is removed */

    /* Interrupts and I/O ports */
    NESTOR_IRQ_CONTROL_GET = 80,      /* MR0 irq line, MR1/2 dest index/depth; CAP0 dest root */
    NESTOR_IRQ_HANDLER_ACK = 81,
    NESTOR_IRQ_HANDLER_SET_NOTIFICATION = 82, /* CAP0 notification */
    NESTOR_IRQ_HANDLER_CLEAR = 83,
    NESTOR_IOPORT_CONTROL_ISSUE = 84, /* MR0 first, MR1 last, MR2/3 dest; CAP0 dest root */
    NESTOR_IOPORT_IN = 85,            /* MR0 port, MR1 size (1, 2, 4) -> MR0 value */
    NESTOR_IOPORT_OUT = 86,           /* MR0 port, MR1 size, MR2 value */
} nestor_invocation_t;

/* NESTOR_FRAME_MAP attributes (MR2): uncached, PCD = PWT = 1 (device memory;
 * SDM Vol. 3A 11.12.3: PAT entry 3, UC at power-up); 0: write-back. */
#define NESTOR_FRAME_ATTR_UNCACHED 1

/* NESTOR_EPT_MAP_FRAME: access rights, and the memory types an EPT leaf may
 * give (SDM Vol. 3C 28.3.7; 2, 3 and 7 are reserved: a misconfiguration). The
 * EPT type is the effective one (the guest's PAT is ignored). */
#define NESTOR_EPT_R 1
#define NESTOR_EPT_W 2
#define NESTOR_EPT_X 4
#define NESTOR_EPT_MEMTYPE_UC 0
#define NESTOR_EPT_MEMTYPE_WC 1
#define NESTOR_EPT_MEMTYPE_WT 4
#define NESTOR_EPT_MEMTYPE_WP 5
#define NESTOR_EPT_MEMTYPE_WB 6
/* A frame's EPT rights must include R when they include W (W without R is
 * an EPT misconfiguration, SDM 28.3.3.1: that is what NESTOR_EPT_SET_MMIO
 * installs), and may be X alone only where the CPU has execute-only EPT. */

/* NESTOR_EPT_READ_AD: the flags returned (bits 8 and 9 of an EPT leaf,
 * SDM Vol. 3C 28.3.5, returned as bits 0 and 1) and the request to clear them. */
#define NESTOR_EPT_ACCESSED 1
#define NESTOR_EPT_DIRTY 2
#define NESTOR_EPT_AD_CLEAR 1

/* NESTOR_EPT_SET_MMIO: most 4 KiB pages one invocation changes (bounds its work). */
#define NESTOR_EPT_MMIO_MAX_PAGES 512
#define NESTOR_EPT_MMIO_REMOVE 0
#define NESTOR_EPT_MMIO_INSTALL 1

/* NESTOR_EPT_RESTRICT: a range is kept in 4 KiB pages of 32 bits each, so it
 * lies below this guest-physical address (16 TiB). */
#define NESTOR_EPT_RESTRICT_LIMIT (1ULL << 44)

/* NESTOR_EPT_PROTECT (MR1): which rights an EPT watchpoint withholds. Write
 * alone (a write watchpoint), or read and write together: read without
 * write would leave write without read, an EPT misconfiguration (SDM Vol. 3C
 * 28.3.3.1), so a read watchpoint's page is neither readable nor writable;
 * that leaves it execute-only, which needs the CPU's support
 * (IA32_VMX_EPT_VPID_CAP bit 0, SDM A.10). Without it, all three: the leaf
 * is then not present to the CPU (28.3.2), every access to it, fetches
 * too, exits as an EPT violation, and the kernel keeps it as the frame's
 * mapping (NESTOR_EPT_WITHHOLD_NONE gives the rights back). */
#define NESTOR_EPT_WITHHOLD_NONE 0
#define NESTOR_EPT_WITHHOLD_W    NESTOR_EPT_W
#define NESTOR_EPT_WITHHOLD_RW   (NESTOR_EPT_R | NESTOR_EPT_W)
#define NESTOR_EPT_WITHHOLD_ALL  (NESTOR_EPT_R | NESTOR_EPT_W | NESTOR_EPT_X)

#endif
