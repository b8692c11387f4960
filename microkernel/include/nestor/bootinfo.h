/*
 * nestor/bootinfo.h - what the kernel tells the root task at start.
 *
 * The root task starts with RDI = address of this page in its VSpace. Its
 * CSpace is one CNode (radix NESTOR_ROOT_CNODE_RADIX, cptr = slot index);
 * fixed slots hold the initial capabilities, then come ranges described here.
 */
#ifndef NESTOR_BOOTINFO_H
#define NESTOR_BOOTINFO_H
#include <nestor/objects.h>
#include <nestor/types.h>

#define NESTOR_ROOT_CNODE_RADIX 12

/* Fixed slots of the root CNode. */
enum {
    NESTOR_CAP_NULL = 0,
    NESTOR_CAP_INIT_TCB = 1,
    NESTOR_CAP_INIT_CNODE = 2,
    NESTOR_CAP_INIT_VSPACE = 3,      /* the root task's PML4 */
    NESTOR_CAP_IRQ_CONTROL = 4,
    NESTOR_CAP_IOPORT_CONTROL = 5,
    NESTOR_CAP_BOOTINFO_FRAME = 6,
    NESTOR_CAP_INIT_IPC_BUFFER = 7,
    NESTOR_CAP_DEBUG = 8,            /* DEBUG_HALT, DEBUG_CHECK, DEBUG_NMI */
    NESTOR_CAP_FIRST_FREE_FIXED = 9,
};

#define NESTOR_BOOTINFO_MAX_UNTYPED 128
/* Boot modules: as many as fit the boot-info page with the rest (the
 * static assert below); 19 boot Nestor four deep (tests/configs/nested4.dts). */
#define NESTOR_BOOTINFO_MAX_MODULES 19
#define NESTOR_BOOTINFO_CMDLINE_MAX 256
#define NESTOR_BOOTINFO_MAX_GRANTS  8
#define NESTOR_GRANT_NAME_MAX       24

typedef struct {
    nestor_word_t paddr;
    uint8_t size_bits;
    uint8_t is_device;
    uint8_t pad[6];
} nestor_untyped_desc_t;

typedef struct {
    nestor_word_t vaddr;            /* where the module is mapped, read-only */
    nestor_word_t size;
    char name[48];
} nestor_module_desc_t;

typedef struct {
    nestor_cptr_t start, end;       /* [start, end) */
} nestor_slot_range_t;

/*
 * A capability a program was given by its parent (init, for a monitor it
 * starts from the stack config): the kernel's own root task has none.
 */
typedef enum {
    NESTOR_GRANT_IOPORT = 1,        /* arg0..arg1: the port range */
    NESTOR_GRANT_IRQ = 2,           /* arg0: the IRQ line (a handler capability) */
    NESTOR_GRANT_ENDPOINT = 3,      /* send + grant to the monitor called name */
    NESTOR_GRANT_SERVICE = 4,       /* the endpoint it serves on (all rights) */
} nestor_grant_kind_t;

typedef struct {
    nestor_cptr_t cptr;
    nestor_word_t kind;             /* nestor_grant_kind_t */
    nestor_word_t arg0, arg1;
    char name[NESTOR_GRANT_NAME_MAX];
} nestor_grant_desc_t;

typedef struct nestor_bootinfo {
    nestor_word_t magic;            /* NESTOR_BOOTINFO_MAGIC */
    nestor_word_t ipc_buffer;       /* vaddr of the root thread's IPC buffer */
    nestor_slot_range_t empty;      /* free slots of the root CNode */
    nestor_slot_range_t untyped;    /* slots holding untyped capabilities */
    nestor_untyped_desc_t untyped_list[NESTOR_BOOTINFO_MAX_UNTYPED];
    nestor_word_t module_count;
    nestor_module_desc_t modules[NESTOR_BOOTINFO_MAX_MODULES];
    nestor_word_t tsc_per_tick;     /* TSC ticks per kernel timer tick (0 if unknown) */
    nestor_word_t vmx_present;
    char cmdline[NESTOR_BOOTINFO_CMDLINE_MAX];
    /* Programs started by init: the endpoint to report their end (and where
     * their faults go); 0 for the root task, which ends the system instead. */
    nestor_cptr_t parent_ep;
    nestor_word_t grant_count;
    nestor_grant_desc_t grants[NESTOR_BOOTINFO_MAX_GRANTS];
    /* The VMX-preemption timer's rate: it counts down once every 2^rate TSC
     * ticks (IA32_VMX_MISC[4:0], SDM Vol. 3C 25.5.1): the unit of
     * NESTOR_VCPU_SET_TIMER. */
    nestor_word_t vmx_timer_rate;
    nestor_word_t timer_hz;         /* kernel timer ticks per second (tsc_per_tick's tick) */
} nestor_bootinfo_t;

_Static_assert(sizeof(nestor_bootinfo_t) <= 1ULL << NESTOR_FRAME_4K_BITS, "boot info fits its page");

/* A program's end, sent to parent_ep: label NESTOR_EXIT_LABEL, MR0 = 1 pass / 0 fail. */
#define NESTOR_EXIT_LABEL 0x4E58   /* "NX" */

#define NESTOR_BOOTINFO_MAGIC 0x4E4553544F52424FULL   /* "NESTORBO" */

/* Where the kernel puts things in the root task's address space. */
#define NESTOR_ROOT_BOOTINFO_VADDR   0x00007F0000000000ULL
#define NESTOR_ROOT_IPC_BUFFER_VADDR 0x00007F0000002000ULL
#define NESTOR_ROOT_STACK_TOP        0x00007F0000100000ULL
#define NESTOR_ROOT_STACK_PAGES      16
#define NESTOR_ROOT_MODULES_VADDR    0x0000600000000000ULL

#endif
