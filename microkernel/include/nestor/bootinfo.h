/*
 * nestor/bootinfo.h - what the kernel tells the root task at start.
 *
 * The root task starts with RDI = address of this page in its VSpace. Its
 * CSpace is one CNode (radix NESTOR_ROOT_CNODE_RADIX, cptr = slot index);
 * fixed slots hold the initial capabilities, then come ranges described here.
 */
#ifndef NESTOR_BOOTINFO_H
#define NESTOR_BOOTINFO_H
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
    NESTOR_CAP_DEBUG = 8,            /* DEBUG_HALT, DEBUG_CHECK */
    NESTOR_CAP_FIRST_FREE_FIXED = 9,
};

#define NESTOR_BOOTINFO_MAX_UNTYPED 128
#define NESTOR_BOOTINFO_MAX_MODULES 16
#define NESTOR_BOOTINFO_CMDLINE_MAX 256

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
} nestor_bootinfo_t;

#define NESTOR_BOOTINFO_MAGIC 0x4E4553544F52424FULL   /* "NESTORBO" */

/* Where the kernel puts things in the root task's address space. */
#define NESTOR_ROOT_BOOTINFO_VADDR   0x00007F0000000000ULL
#define NESTOR_ROOT_IPC_BUFFER_VADDR 0x00007F0000002000ULL
#define NESTOR_ROOT_STACK_TOP        0x00007F0000100000ULL
#define NESTOR_ROOT_STACK_PAGES      16
#define NESTOR_ROOT_MODULES_VADDR    0x0000600000000000ULL

#endif
