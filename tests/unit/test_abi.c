/*
 * tests/unit/test_abi.c - the public ABI's tables checked as data: the VMCS
 * field table (nestor/vmcs.h) against the encoding rules of SDM Vol. 3C
 * 24.11.2 and Appendix B, the control floors and ceilings, and the
 * uniqueness of every invocation label (a duplicate is a compile error:
 * duplicate case values).
 */
#include "unit.h"
#include <nestor/invocations.h>
#include <nestor/vcpu.h>
#include <nestor/vmcs.h>
#include <stdint.h>

typedef struct {
    const char *name;
    uint32_t enc;
    int access;
} field_t;

static const field_t fields[] = {
#define FIELD_(name, enc, access) { #name, enc, NESTOR_VMCS_##access },
    NESTOR_VMCS_FIELDS(FIELD_)
#undef FIELD_
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

#define ENC_WIDTH(e) (((e) >> 13) & 3)
#define ENC_TYPE(e)  (((e) >> 10) & 3)
#define TYPE_CONTROL 0
#define TYPE_RO      1
#define TYPE_GUEST   2
#define TYPE_HOST    3

/* Every encoding is a FULL access (bit 0 clear), bit 12 and 15 clear, and
 * appears once. */
static void test_encodings(void)
{
    for (unsigned i = 0; i < N_FIELDS; i++) {
        CU_ASSERT_EQUAL(fields[i].enc & 1, 0);
        CU_ASSERT_EQUAL(fields[i].enc & (1u << 12), 0);
        CU_ASSERT_TRUE(fields[i].enc <= 0x7FFF);
        for (unsigned j = i + 1; j < N_FIELDS; j++)
            CU_ASSERT_NOT_EQUAL(fields[i].enc, fields[j].enc);
    }
}

/* Host state is never visible; read-only data is never writable; guest state
 * is accessible unless it is the kernel's (link pointer, preemption timer)
 * or a feature not offered. */
static void test_access_classes(void)
{
    for (unsigned i = 0; i < N_FIELDS; i++) {
        const field_t *f = &fields[i];
        if (ENC_TYPE(f->enc) == TYPE_HOST)
            CU_ASSERT_EQUAL(f->access, NESTOR_VMCS_HIDDEN);
        if (ENC_TYPE(f->enc) == TYPE_RO)
            CU_ASSERT_EQUAL(f->access, NESTOR_VMCS_READ);
        if (f->access == NESTOR_VMCS_CONTROL || f->access == NESTOR_VMCS_CRMASK)
            CU_ASSERT_EQUAL(ENC_TYPE(f->enc), TYPE_CONTROL);
    }
    CU_ASSERT_EQUAL(fields[0].enc, VMCS_VPID);
    int seen_timer = 0, seen_link = 0;
    for (unsigned i = 0; i < N_FIELDS; i++) {
        if (fields[i].enc == VMCS_PREEMPT_TIMER_VALUE) {
            seen_timer = 1;
            CU_ASSERT_EQUAL(fields[i].access, NESTOR_VMCS_HIDDEN);
        }
        if (fields[i].enc == VMCS_LINK_POINTER) {
            seen_link = 1;
            CU_ASSERT_EQUAL(fields[i].access, NESTOR_VMCS_HIDDEN);
        }
    }
    CU_ASSERT_TRUE(seen_timer && seen_link);
}

/* Floors lie within ceilings; the defaults between them; the floor keeps
 * what the kernel needs (SDM 24.6.1, 24.6.2). */
static void test_control_floors(void)
{
    CU_ASSERT_EQUAL(NESTOR_PIN_FLOOR & ~NESTOR_PIN_CEILING, 0);
    CU_ASSERT_EQUAL(NESTOR_PROC_FLOOR & ~NESTOR_PROC_CEILING, 0);
    CU_ASSERT_EQUAL(NESTOR_PROC2_FLOOR & ~NESTOR_PROC2_CEILING, 0);
    CU_ASSERT_EQUAL(NESTOR_PROC_DEFAULT & NESTOR_PROC_FLOOR, NESTOR_PROC_FLOOR);
    CU_ASSERT_EQUAL(NESTOR_PROC_DEFAULT & ~NESTOR_PROC_CEILING, 0);
    CU_ASSERT_EQUAL(NESTOR_PROC2_DEFAULT & ~NESTOR_PROC2_CEILING, 0);
    CU_ASSERT_TRUE(NESTOR_PIN_FLOOR & PIN_EXTINT_EXITING);
    CU_ASSERT_TRUE(NESTOR_PIN_FLOOR & PIN_NMI_EXITING);
    CU_ASSERT_TRUE(NESTOR_PIN_FLOOR & PIN_PREEMPTION_TIMER);
    CU_ASSERT_TRUE(NESTOR_PROC_FLOOR & PROC_UNCOND_IO_EXITING);
    /* Controls that would point the CPU at memory are never within reach. */
    CU_ASSERT_FALSE(NESTOR_PROC_CEILING & (PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS |
                                          PROC_USE_TPR_SHADOW));
    CU_ASSERT_FALSE(NESTOR_PIN_CEILING & PIN_POSTED_INTERRUPTS);
    CU_ASSERT_FALSE(NESTOR_PROC2_CEILING & (PROC2_VIRT_APIC_ACCESSES | PROC2_VMCS_SHADOWING |
                                           PROC2_ENABLE_PML | PROC2_ENABLE_VMFUNC));
}

/* Compiles only while every invocation label is distinct. */
static int label_known(unsigned label)
{
    switch ((nestor_invocation_t)label) {
    case NESTOR_UNTYPED_RETYPE: case NESTOR_CNODE_COPY: case NESTOR_CNODE_MINT:
    case NESTOR_CNODE_MOVE: case NESTOR_CNODE_MUTATE: case NESTOR_CNODE_DELETE:
    case NESTOR_CNODE_REVOKE: case NESTOR_TCB_CONFIGURE: case NESTOR_TCB_SET_PRIORITY:
    case NESTOR_TCB_READ_REGISTERS: case NESTOR_TCB_WRITE_REGISTERS: case NESTOR_TCB_RESUME:
    case NESTOR_TCB_SUSPEND: case NESTOR_TCB_BIND_NOTIFICATION:
    case NESTOR_TCB_UNBIND_NOTIFICATION: case NESTOR_TCB_SET_TLS_BASE: case NESTOR_TCB_READ_FPU:
    case NESTOR_TCB_WRITE_FPU: case NESTOR_TCB_SET_IO_PORTS: case NESTOR_TCB_SET_CALL_TIMEOUT:
    case NESTOR_PAGE_TABLE_MAP:
    case NESTOR_PAGE_TABLE_UNMAP: case NESTOR_FRAME_MAP: case NESTOR_FRAME_UNMAP:
    case NESTOR_FRAME_GET_ADDRESS: case NESTOR_FRAME_SLICE: case NESTOR_FRAME_SLICE_ALIAS:
    case NESTOR_VCPU_SET_TCB:
    case NESTOR_VCPU_SET_EPT: case NESTOR_VCPU_SET_STATE_PAGE: case NESTOR_VCPU_SET_EXIT_TABLE:
    case NESTOR_VCPU_SET_EXIT_MASK: case NESTOR_VCPU_READ_VMCS: case NESTOR_VCPU_WRITE_VMCS:
    case NESTOR_VCPU_LOAD_STATE: case NESTOR_VCPU_STORE_STATE: case NESTOR_VCPU_REPLY:
    case NESTOR_VCPU_PAUSE: case NESTOR_VCPU_SET_TIMER: case NESTOR_VCPU_SET_PML:
    case NESTOR_VCPU_SET_SHADOW: case NESTOR_SHADOW_READ: case NESTOR_SHADOW_WRITE:
    case NESTOR_VCPU_SET_DOORBELL:
    case NESTOR_EPT_MAP_FRAME:
    case NESTOR_EPT_READ_AD: case NESTOR_EPT_SET_MMIO: case NESTOR_EPT_RESTRICT:
    case NESTOR_EPT_PROTECT: case NESTOR_EPT_SPLIT:
    case NESTOR_IRQ_CONTROL_GET:
    case NESTOR_IRQ_HANDLER_ACK: case NESTOR_IRQ_HANDLER_SET_NOTIFICATION:
    case NESTOR_IRQ_HANDLER_CLEAR: case NESTOR_IOPORT_CONTROL_ISSUE: case NESTOR_IOPORT_IN:
    case NESTOR_IOPORT_OUT:
        return 1;
    }
    return 0;
}

static void test_labels(void)
{
    CU_ASSERT_TRUE(label_known(NESTOR_VCPU_REPLY));
    CU_ASSERT_FALSE(label_known(0));
}

/* The state page fits its page; each transfer-mask group is one bit. */
static void test_state_page(void)
{
    CU_ASSERT_TRUE(sizeof(nestor_vcpu_state_t) <= 4096);
    CU_ASSERT_EQUAL(NESTOR_MTD_ALL & (NESTOR_MTD_ALL + 1), 0);
    /* A doorbell's server writes back only groups it was given. */
    CU_ASSERT_EQUAL(NESTOR_DOORBELL_REPLY_GROUPS & ~NESTOR_DOORBELL_GROUPS, 0);
    CU_ASSERT_EQUAL(NESTOR_DOORBELL_GROUPS & ~NESTOR_MTD_ALL, 0);
    CU_ASSERT_TRUE(NESTOR_MTD_ALL >> 16 == 0);      /* the kernel keeps masks in 16 bits */
    CU_ASSERT_TRUE(NESTOR_EXIT_SLOT_EXCEPTION + 32 <= (1u << NESTOR_EXIT_TABLE_RADIX));
}

UNIT_SUITE(abi_suite)
{
    CU_pSuite s = CU_add_suite("public ABI tables", NULL, NULL);
    CU_add_test(s, "VMCS encodings: FULL only, unique", test_encodings);
    CU_add_test(s, "VMCS access classes by field type", test_access_classes);
    CU_add_test(s, "control floors within ceilings", test_control_floors);
    CU_add_test(s, "invocation labels distinct", test_labels);
    CU_add_test(s, "state page and transfer masks", test_state_page);
}
