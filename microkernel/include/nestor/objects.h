/*
 * nestor/objects.h - kernel object types, their sizes, and capability rights.
 */
#ifndef NESTOR_OBJECTS_H
#define NESTOR_OBJECTS_H

/* Object types, as named in Untyped retype and reported by cap identify. */
typedef enum {
    NESTOR_OBJ_NULL = 0,         /* an empty slot */
    NESTOR_OBJ_UNTYPED = 1,
    NESTOR_OBJ_CNODE = 2,
    NESTOR_OBJ_TCB = 3,
    NESTOR_OBJ_ENDPOINT = 4,
    NESTOR_OBJ_NOTIFICATION = 5,
    NESTOR_OBJ_FRAME_4K = 6,
    NESTOR_OBJ_FRAME_2M = 7,
    NESTOR_OBJ_PML4 = 8,
    NESTOR_OBJ_PDPT = 9,
    NESTOR_OBJ_PD = 10,
    NESTOR_OBJ_PT = 11,
    /* Not retypable: made from control capabilities. */
    NESTOR_OBJ_IRQ_CONTROL = 12,
    NESTOR_OBJ_IRQ_HANDLER = 13,
    NESTOR_OBJ_IOPORT_CONTROL = 14,
    NESTOR_OBJ_IOPORT = 15,
    /* Virtual machines (retypable) */
    NESTOR_OBJ_VCPU = 16,
    NESTOR_OBJ_EPT_PML4 = 17,
    NESTOR_OBJ_EPT_PDPT = 18,
    NESTOR_OBJ_EPT_PD = 19,
    NESTOR_OBJ_EPT_PT = 20,
    /* Test and debug builds: ending the system, checking kernel state. */
    NESTOR_OBJ_DEBUG_CONTROL = 21,
    /* Virtual machines (retypable, continued): a shadow VMCS (SDM Vol. 3C
     * 24.10) for a VCPU's guest hypervisor, where the CPU has VMCS shadowing. */
    NESTOR_OBJ_SHADOW_VMCS = 22,
    NESTOR_OBJ_TYPE_COUNT
} nestor_obj_type_t;

/* Object sizes as log2 bytes. */
#define NESTOR_TCB_BITS           12
#define NESTOR_ENDPOINT_BITS      5
#define NESTOR_NOTIFICATION_BITS  6
#define NESTOR_CNODE_SLOT_BITS    6    /* a CNode of radix r takes 2^(r+6) bytes */
#define NESTOR_PAGE_TABLE_BITS    12
#define NESTOR_FRAME_4K_BITS      12
#define NESTOR_FRAME_2M_BITS      21
#define NESTOR_VCPU_BITS          13   /* a VMCS page and a kernel page */
#define NESTOR_SHADOW_VMCS_BITS   13   /* a VMCS page (the CPU's: SDM 24.11.1) and a
                                          kernel page (which VCPU it is bound to) */
#define NESTOR_UNTYPED_MIN_BITS   4
#define NESTOR_UNTYPED_MAX_BITS   47
#define NESTOR_CNODE_MIN_RADIX    1
#define NESTOR_CNODE_MAX_RADIX    20

/* Capability rights (a bitmask). Deriving a capability can only remove rights. */
#define NESTOR_RIGHT_READ         0x1
#define NESTOR_RIGHT_WRITE        0x2
#define NESTOR_RIGHT_GRANT        0x4  /* may send capabilities */
#define NESTOR_RIGHT_GRANT_REPLY  0x8  /* callers may be replied to with capabilities */
#define NESTOR_RIGHTS_ALL         0xF

#endif
