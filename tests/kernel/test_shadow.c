/*
 * tests/kernel/test_shadow.c - shadow-VMCS objects and VMCS shadowing
 * (NESTOR_VCPU_SET_SHADOW, NESTOR_SHADOW_READ/WRITE; SDM Vol. 3C 24.6.15,
 * 24.10, 25.3, 30.3). A guest in VMX non-root operation executes VMREAD
 * and VMWRITE itself (no VMXON needed: SDM 30.3, the instructions check
 * "in VMX operation", which non-root operation is); with shadowing they
 * act on the shadow without an exit unless the bitmap bit is set. Where
 * the machine has no VMX or no VMCS shadowing (QEMU TCG) the tests skip.
 */
#include "vm_env.h"
#include <nestor/vmcs.h>
#include <string.h>
#include <x86_vmx.h>

/* 64-bit guest code (SDM Vol. 2C VMREAD/VMWRITE; the operand size is 64
 * bits in 64-bit mode without REX.W). */
#define I_MOV_EAX_IMM32 0xB8
#define I_MOV_ECX_IMM32 0xB9
#define I_VMREAD_RBX_RAX 0x0F, 0x78, 0xC3  /* rbx <- field rax */
#define I_VMWRITE_RAX_RCX 0x0F, 0x79, 0xC1 /* field rax <- rcx */
#define IMM32(v) (v) & 0xFF, ((v) >> 8) & 0xFF, ((v) >> 16) & 0xFF, ((unsigned)(v) >> 24) & 0xFF
#define VMREAD_UNIT_LEN 11                 /* mov eax; vmread; vmcall */
#define VMREAD_UNIT(field) I_MOV_EAX_IMM32, IMM32(field), I_VMREAD_RBX_RAX, I_VMCALL
#define VMCALL_LEN 3
#define VMREAD_OFFSET 5                    /* of the VMREAD in a unit */
#define RFLAGS_CF_ZF (BIT(0) | BIT(6))     /* SDM 30.2: VMsucceed clears both */
/* VMWRITE 0xDEADBEEF to GUEST_RSP, VMCALL, then a VMREAD unit of GUEST_RIP. */
#define WRITE_RSP_VMCALL_READ_RIP                                                   \
    I_MOV_EAX_IMM32, IMM32(VMCS_GUEST_RSP), I_MOV_ECX_IMM32, IMM32(0xDEADBEEFu),    \
        I_VMWRITE_RAX_RCX, I_VMCALL, VMREAD_UNIT(VMCS_GUEST_RIP)

static nestor_error_t new_shadow(nestor_cptr_t *out)
{
    *out = env_slot();
    return nu_untyped_retype(env_untyped(), NESTOR_OBJ_SHADOW_VMCS, 0, ROOT_CNODE, 0, 0, *out, 1);
}

#define SHADOW_OR_SKIP(s)                                                          \
    do {                                                                           \
        nestor_error_t _e = new_shadow(&(s));                                      \
        if (_e == NESTOR_ERR_ILLEGAL_OPERATION) {                                  \
            printf("    (no VMCS shadowing here: nothing to check)\n");            \
            return KT_PASS;                                                        \
        }                                                                          \
        KT_OK(_e);                                                                 \
    } while (0)

static nestor_error_t shadow_read(nestor_cptr_t s, nestor_word_t field, nestor_word_t *value)
{
    return nu_invoke(s, NESTOR_SHADOW_READ, &field, 1, 0, 0, value, 1);
}

static nestor_error_t bind(nestor_cptr_t vcpu, nestor_cptr_t s, nestor_cptr_t rd, nestor_cptr_t wr)
{
    const nestor_cptr_t caps[] = { s, rd, wr };
    return nu_invoke(vcpu, NESTOR_VCPU_SET_SHADOW, 0, 0, caps, 3, 0, 0);
}

static nestor_word_t proc2(nestor_cptr_t vcpu)
{
    nestor_word_t f = VMCS_PROC_CONTROLS2, v = 0;
    nu_invoke(vcpu, NESTOR_VCPU_READ_VMCS, &f, 1, 0, 0, &v, 1);
    return v;
}

static void bitmap_set(uint8_t *bitmap, unsigned field)
{
    unsigned bit = field & VMX_RW_BITMAP_INDEX_MASK;     /* SDM 24.6.15 */
    bitmap[bit / 8] |= (uint8_t)(1u << (bit % 8));
}

/* Bulk writes and reads round-trip every kind of field (host state and
 * addresses too: a shadow's fields never reach the CPU's own state); a
 * batch with a refused field writes nothing; the limits are those of
 * READ/WRITE_VMCS. */
KTEST(shadow_bulk_fields_round_trip)
{
    nestor_cptr_t s;
    SHADOW_OR_SKIP(s);
    const nestor_word_t w[] = {
        VMCS_GUEST_RIP, 0x1122334455667788ULL, VMCS_HOST_RIP, 0xFFFF800000401000ULL,
        VMCS_EPT_POINTER, 0x12345000 | 0x1E, VMCS_PIN_CONTROLS, 0xDEADBEEF,
        VMCS_GUEST_CS_SEL, 0x1234, VMCS_LINK_POINTER, VMCS_LINK_PTR_NONE,
    };
    enum { N = sizeof(w) / sizeof(w[0]) / 2 };
    KT_OK(nu_invoke(s, NESTOR_SHADOW_WRITE, w, 2 * N, 0, 0, 0, 0));
    nestor_word_t f[N], v[N];
    for (unsigned i = 0; i < N; i++)
        f[i] = w[2 * i];
    KT_OK(nu_invoke(s, NESTOR_SHADOW_READ, f, N, 0, 0, v, N));
    for (unsigned i = 0; i < N; i++)
        KT_EQ(v[i], w[2 * i + 1]);
    /* Not in the table, a HIGH half, an encoding past 16 bits: refused,
     * and the good field before them in the batch is not written. */
    const nestor_word_t bad[] = { 0x7FFE, VMCS_GUEST_PAT | 1, 0x10000 | VMCS_GUEST_RIP };
    for (unsigned i = 0; i < 3; i++) {
        const nestor_word_t batch[] = { VMCS_GUEST_RIP, 1, bad[i], 2 };
        nestor_word_t err[2];
        KT_EQ(nu_invoke(s, NESTOR_SHADOW_WRITE, batch, 4, 0, 0, err, 2),
              NESTOR_ERR_INVALID_ARGUMENT);
        KT_EQ(err[0], 2);
        KT_EQ(err[1], bad[i]);
        KT_EQ(nu_invoke(s, NESTOR_SHADOW_READ, &bad[i], 1, 0, 0, err, 2),
              NESTOR_ERR_INVALID_ARGUMENT);
        KT_EQ(err[0], 0);
    }
    KT_OK(shadow_read(s, VMCS_GUEST_RIP, &v[0]));
    KT_EQ(v[0], 0x1122334455667788ULL);
    /* Read-only fields take VMWRITE only where IA32_VMX_MISC bit 29 says
     * so: either refused with the field named, or written. */
    const nestor_word_t ro[] = { VMCS_EXIT_QUALIFICATION, 0x77 };
    nestor_word_t err[2];
    nestor_error_t e = nu_invoke(s, NESTOR_SHADOW_WRITE, ro, 2, 0, 0, err, 2);
    if (e == NESTOR_OK) {
        KT_OK(shadow_read(s, VMCS_EXIT_QUALIFICATION, &v[0]));
        KT_EQ(v[0], 0x77);
    } else {
        KT_EQ(e, NESTOR_ERR_INVALID_ARGUMENT);
        KT_EQ(err[1], VMCS_EXIT_QUALIFICATION);
    }
    /* Counts: none, too many, an odd write list. */
    nestor_word_t many[NESTOR_VMCS_BULK_MAX + 1];
    for (unsigned i = 0; i <= NESTOR_VMCS_BULK_MAX; i++)
        many[i] = VMCS_GUEST_RIP;
    KT_EQ(nu_invoke(s, NESTOR_SHADOW_READ, many, 0, 0, 0, 0, 0), NESTOR_ERR_TRUNCATED_MESSAGE);
    KT_EQ(nu_invoke(s, NESTOR_SHADOW_READ, many, NESTOR_VMCS_BULK_MAX + 1, 0, 0, 0, 0),
          NESTOR_ERR_RANGE);
    KT_EQ(nu_invoke(s, NESTOR_SHADOW_WRITE, w, 3, 0, 0, 0, 0), NESTOR_ERR_TRUNCATED_MESSAGE);
    KT_OK(nu_invoke(s, NESTOR_SHADOW_READ, many, NESTOR_VMCS_BULK_MAX, 0, 0, 0, 0));
    /* A VCPU's labels mean nothing on a shadow. */
    KT_EQ(nu_invoke(s, NESTOR_VCPU_READ_VMCS, f, 1, 0, 0, 0, 0), NESTOR_ERR_ILLEGAL_OPERATION);
    return KT_PASS;
}

/* Binding: the right capabilities in the right places; the kernel owns the
 * shadowing control, the link pointer and the bitmap addresses (a monitor
 * can neither read nor write them, and its PROC_CONTROLS2 writes keep the
 * kernel's bit); one VCPU at a time; a VCPU's deletion frees its shadow. */
KTEST(shadow_bind_rules)
{
    static const uint8_t code[] = { I_VMCALL };
    tvm_t vm, vm2;
    TVM_CREATE_OR_SKIP(&vm, code, 1);
    nestor_cptr_t s, rd, wr;
    SHADOW_OR_SKIP(s);
    env_page(&rd);
    env_page(&wr);
    nestor_word_t err[2];
    const nestor_cptr_t swapped[] = { rd, s, wr };
    KT_EQ(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_SHADOW, 0, 0, swapped, 3, err, 2),
          NESTOR_ERR_INVALID_CAPABILITY);
    KT_EQ(err[0], 1);
    const nestor_cptr_t not_frame[] = { s, s, wr };
    KT_EQ(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_SHADOW, 0, 0, not_frame, 3, err, 2),
          NESTOR_ERR_INVALID_CAPABILITY);
    KT_EQ(err[0], 2);
    KT_EQ(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_SHADOW, 0, 0, &s, 1, 0, 0),
          NESTOR_ERR_INVALID_CAPABILITY);
    KT_EQ(proc2(vm.vcpu) & PROC2_VMCS_SHADOWING, 0);

    KT_OK(bind(vm.vcpu, s, rd, wr));
    nestor_word_t p2 = proc2(vm.vcpu);
    KT_ASSERT(p2 & PROC2_VMCS_SHADOWING);
    static const nestor_word_t kernel_fields[] = { VMCS_LINK_POINTER, VMCS_VMREAD_BITMAP,
                                                   VMCS_VMWRITE_BITMAP };
    for (unsigned i = 0; i < 3; i++) {
        const nestor_word_t wv[] = { kernel_fields[i], 0x5000 };
        KT_EQ(nu_invoke(vm.vcpu, NESTOR_VCPU_READ_VMCS, &kernel_fields[i], 1, 0, 0, 0, 0),
              NESTOR_ERR_INVALID_ARGUMENT);
        KT_EQ(nu_invoke(vm.vcpu, NESTOR_VCPU_WRITE_VMCS, wv, 2, 0, 0, 0, 0),
              NESTOR_ERR_INVALID_ARGUMENT);
    }
    const nestor_word_t clear[] = { VMCS_PROC_CONTROLS2, p2 & ~(nestor_word_t)PROC2_VMCS_SHADOWING };
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_WRITE_VMCS, clear, 2, 0, 0, 0, 0));
    KT_ASSERT(proc2(vm.vcpu) & PROC2_VMCS_SHADOWING);
    nu_msg_t m;
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_VMCALL);     /* the entry checks pass */

    /* One VCPU at a time. */
    KT_OK(tvm_create(&vm2, code, sizeof(code), 1));
    KT_EQ(bind(vm2.vcpu, s, rd, wr), NESTOR_ERR_DELETE_FIRST);
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_SHADOW, 0, 0, 0, 0, 0, 0));   /* unbind */
    KT_EQ(proc2(vm.vcpu) & PROC2_VMCS_SHADOWING, 0);
    const nestor_word_t set[] = { VMCS_PROC_CONTROLS2, p2 };
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_WRITE_VMCS, set, 2, 0, 0, 0, 0));
    KT_EQ(proc2(vm.vcpu) & PROC2_VMCS_SHADOWING, 0);    /* a monitor cannot turn it on */
    KT_OK(bind(vm2.vcpu, s, rd, wr));
    KT_ASSERT(proc2(vm2.vcpu) & PROC2_VMCS_SHADOWING);

    /* The second VCPU goes (its thread held the last other capability):
     * the shadow is free for the first again. */
    KT_OK(nu_cnode_delete(ROOT_CNODE, vm2.vcpu, ROOT_DEPTH));
    KT_OK(nu_cnode_delete(ROOT_CNODE, vm2.tcb, ROOT_DEPTH));
    KT_OK(bind(vm.vcpu, s, rd, wr));
    KT_ASSERT(proc2(vm.vcpu) & PROC2_VMCS_SHADOWING);
    vm.s->rip = TVM_CODE;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_VMCALL);
    return KT_PASS;
}

/* The guest's VMREAD and VMWRITE use the shadow without an exit; a field
 * whose bitmap bit is set exits (reason 23). Bulk access between exits
 * leaves the VCPU's own VMCS current and intact. */
KTEST(shadow_guest_vmread_vmwrite_without_exit)
{
    static const uint8_t code[] = {
        I_MOV_EAX_IMM32, IMM32(VMCS_GUEST_RIP), I_VMREAD_RBX_RAX,
        WRITE_RSP_VMCALL_READ_RIP,
    };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 1);
    nestor_cptr_t s, rd, wr;
    SHADOW_OR_SKIP(s);
    uint8_t *rd_page = env_page(&rd);
    env_page(&wr);
    memset(rd_page, 0, VMX_RW_BITMAP_BYTES);
    KT_OK(bind(vm.vcpu, s, rd, wr));
    const nestor_word_t w[] = { VMCS_GUEST_RIP, 0x1122334455667788ULL };
    KT_OK(nu_invoke(s, NESTOR_SHADOW_WRITE, w, 2, 0, 0, 0, 0));
    nu_msg_t m;
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_VMCALL);      /* no VMREAD/VMWRITE exit first */
    KT_EQ(vm.s->rbx, 0x1122334455667788ULL);
    KT_EQ(vm.s->rflags & RFLAGS_CF_ZF, 0);          /* VMsucceed */
    nestor_word_t v;
    KT_OK(shadow_read(s, VMCS_GUEST_RSP, &v));
    KT_EQ(v, 0xDEADBEEF);
    /* Now VMREAD of GUEST_RIP exits. */
    bitmap_set(rd_page, VMCS_GUEST_RIP);
    unsigned unit = (unsigned)sizeof(code) - VMREAD_UNIT_LEN;
    vm.s->rip += VMCALL_LEN;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_VMREAD);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_RIP), TVM_CODE + unit + VMREAD_OFFSET);
    return KT_PASS;
}

/* No VMCS keeps a shadow or a bitmap the monitor no longer holds: a
 * revoked bitmap frame or the shadow's deletion turns shadowing off at
 * once; the guest's VMREAD then exits. */
KTEST(shadow_revoked_bitmap_or_deleted_shadow_unbinds)
{
    static const uint8_t code[] = {
        VMREAD_UNIT(VMCS_GUEST_RIP), VMREAD_UNIT(VMCS_GUEST_RIP),
        VMREAD_UNIT(VMCS_GUEST_RIP), VMREAD_UNIT(VMCS_GUEST_RIP),
    };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 1);
    nestor_cptr_t s, rd, wr, rd2;
    SHADOW_OR_SKIP(s);
    env_page(&rd);
    env_page(&wr);
    env_page(&rd2);
    KT_OK(bind(vm.vcpu, s, rd, wr));
    nu_msg_t m;
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_VMCALL);              /* unit 0: shadowed */
    KT_OK(nu_cnode_revoke(ROOT_CNODE, rd, ROOT_DEPTH));          /* the VCPU's copy goes */
    KT_EQ(proc2(vm.vcpu) & PROC2_VMCS_SHADOWING, 0);             /* off at once */
    vm.s->rip += VMCALL_LEN;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_VMREAD); /* unit 1: not any more */
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_RIP), TVM_CODE + VMREAD_UNIT_LEN + VMREAD_OFFSET);
    vm.s->rip += 3;                                              /* skip the VMREAD */
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_VMCALL);
    KT_OK(bind(vm.vcpu, s, rd2, wr));                            /* bound again */
    vm.s->rip += VMCALL_LEN;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_VMCALL); /* unit 2: shadowed */
    KT_OK(nu_cnode_delete(ROOT_CNODE, s, ROOT_DEPTH));           /* the last capability */
    KT_EQ(proc2(vm.vcpu) & PROC2_VMCS_SHADOWING, 0);             /* off at once */
    /* Its memory may be anything now: the VCPU's entry must not use it. */
    nestor_cptr_t again;
    KT_OK(new_shadow(&again));
    vm.s->rip += VMCALL_LEN;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_VMREAD); /* unit 3 */
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_RIP), TVM_CODE + 3 * VMREAD_UNIT_LEN + VMREAD_OFFSET);
    return KT_PASS;
}

/* SET_SHADOW decodes every capability before it changes anything (decode,
 * then invoke): a bitmap that is an alias slice (EPT use only) or a frame
 * the monitor may not read is refused with the capability named, and the
 * shadow already bound stays bound. The CPU reads the bitmaps (SDM 24.6.15,
 * 30.3), and whether the guest's VMREAD/VMWRITE of each field exits tells
 * their bits: a frame capability without the read right must not become
 * one, nor a state page, which the kernel reads at LOAD_STATE and at every
 * reply that names a group. */
KTEST(shadow_bind_refuses_before_it_unbinds)
{
    static const uint8_t code[] = { VMREAD_UNIT(VMCS_GUEST_RIP) };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 1);
    nestor_cptr_t s, rd, wr;
    SHADOW_OR_SKIP(s);
    env_page(&rd);
    env_page(&wr);
    KT_OK(bind(vm.vcpu, s, rd, wr));
    nestor_word_t err[2];
    /* An alias slice as the VMWRITE bitmap. */
    nestor_cptr_t big = env_obj(NESTOR_OBJ_FRAME_2M, 0), a = env_slot(), root = ROOT_CNODE;
    const nestor_word_t alias_args[] = { 3, a, ROOT_DEPTH };
    KT_OK(nu_invoke(big, NESTOR_FRAME_SLICE_ALIAS, alias_args, 3, &root, 1, 0, 0));
    const nestor_cptr_t with_alias[] = { s, rd, a };
    KT_EQ(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_SHADOW, 0, 0, with_alias, 3, err, 2),
          NESTOR_ERR_ILLEGAL_OPERATION);
    KT_EQ(err[1], 3);
    KT_ASSERT(proc2(vm.vcpu) & PROC2_VMCS_SHADOWING);
    /* A copy of a bitmap frame without the read right (write only, and none). */
    nestor_cptr_t wo = env_slot(), none = env_slot();
    KT_OK(nu_cnode_copy(ROOT_CNODE, wo, ROOT_DEPTH, ROOT_CNODE, rd, ROOT_DEPTH,
                        NESTOR_RIGHT_WRITE));
    KT_OK(nu_cnode_copy(ROOT_CNODE, none, ROOT_DEPTH, ROOT_CNODE, wr, ROOT_DEPTH, 0));
    const nestor_cptr_t unreadable[][3] = { { s, wo, wr }, { s, rd, none } };
    for (unsigned i = 0; i < 2; i++) {
        KT_EQ(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_SHADOW, 0, 0, unreadable[i], 3, err, 2),
              NESTOR_ERR_INSUFFICIENT_RIGHTS);
        KT_EQ(err[0], 2 + i);
        KT_ASSERT(proc2(vm.vcpu) & PROC2_VMCS_SHADOWING);
    }
    /* Still bound: the guest's VMREAD reads the shadow without an exit. */
    const nestor_word_t w[] = { VMCS_GUEST_RIP, 0x5A5A };
    KT_OK(nu_invoke(s, NESTOR_SHADOW_WRITE, w, 2, 0, 0, 0, 0));
    nu_msg_t m;
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_VMCALL);
    KT_EQ(vm.s->rbx, 0x5A5A);
    /* The state page likewise: written and read by the kernel. */
    KT_EQ(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_STATE_PAGE, 0, 0, &wo, 1, err, 2),
          NESTOR_ERR_INSUFFICIENT_RIGHTS);
    KT_EQ(err[0], 1);
    return KT_PASS;
}

/* NESTOR_MTD_SHADOW (nestor/vcpu.h): the fields named at binding are read
 * from the shadow into the state page at an exit whose transfer mask asks
 * for them, and written to it from the page by a reply that names the
 * group (no fetch needed), those the page's masks select; what the guest
 * wrote on the shadow is there, and what the reply wrote is what the guest
 * then reads. Binding checks the list before it changes anything. */
KTEST(shadow_sync_fields_with_the_exit_and_the_reply)
{
    static const uint8_t code[] = { WRITE_RSP_VMCALL_READ_RIP };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 1);
    nestor_cptr_t s, rd, wr;
    SHADOW_OR_SKIP(s);
    memset(env_page(&rd), 0, VMX_RW_BITMAP_BYTES);
    memset(env_page(&wr), 0, VMX_RW_BITMAP_BYTES);
    const nestor_cptr_t caps[] = { s, rd, wr };
    nestor_word_t err[2];
    /* Refused, each before anything changes: too many, not in the table
     * (its index named), fields without a shadow. */
    nestor_word_t many[NESTOR_SHADOW_SYNC_MAX + 1];
    for (unsigned i = 0; i <= NESTOR_SHADOW_SYNC_MAX; i++)
        many[i] = VMCS_GUEST_RIP;
    KT_EQ(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_SHADOW, many, NESTOR_SHADOW_SYNC_MAX + 1, caps, 3,
                    err, 2), NESTOR_ERR_RANGE);
    const nestor_word_t bad[] = { VMCS_GUEST_RIP, 0x7FFE };
    KT_EQ(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_SHADOW, bad, 2, caps, 3, err, 2),
          NESTOR_ERR_INVALID_ARGUMENT);
    KT_EQ(err[0], 1);
    KT_EQ(err[1], 0x7FFE);
    KT_EQ(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_SHADOW, bad, 1, 0, 0, 0, 0),
          NESTOR_ERR_INVALID_ARGUMENT);
    KT_EQ(proc2(vm.vcpu) & PROC2_VMCS_SHADOWING, 0);
    /* A read-only field only where IA32_VMX_MISC bit 29 allows VMWRITE
     * to it (as NESTOR_SHADOW_WRITE). */
    const nestor_word_t ro[] = { VMCS_EXIT_QUALIFICATION, 0x77 };
    const bool ro_ok = nu_invoke(s, NESTOR_SHADOW_WRITE, ro, 2, 0, 0, 0, 0) == NESTOR_OK;
    KT_EQ(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_SHADOW, ro, 1, caps, 3, 0, 0),
          ro_ok ? NESTOR_OK : NESTOR_ERR_INVALID_ARGUMENT);
    KT_EQ(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_SHADOW, 0, 0, 0, 0, 0, 0), NESTOR_OK);

    const nestor_word_t sync[] = { VMCS_GUEST_RIP, VMCS_GUEST_RSP };
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_SHADOW, sync, 2, caps, 3, 0, 0));
    const nestor_word_t w[] = { VMCS_GUEST_RIP, 0x1122334455667788ULL };
    KT_OK(nu_invoke(s, NESTOR_SHADOW_WRITE, w, 2, 0, 0, 0, 0));
    KT_OK(tvm_set_mask(&vm, NESTOR_EXIT_VMCALL, NESTOR_MTD_ALL | NESTOR_MTD_SHADOW));
    vm.s->shadow_fetch = ~0ULL;                         /* bits past the two: ignored */
    nu_msg_t m;
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_VMCALL);
    KT_ASSERT(vm.s->mtd & NESTOR_MTD_SHADOW);
    KT_EQ(vm.s->shadow[0], 0x1122334455667788ULL);
    KT_EQ(vm.s->shadow[1], 0xDEADBEEF);                 /* the guest's VMWRITE */
    KT_EQ(vm.s->shadow[2], 0);
    /* The load writes what shadow_load selects: RIP, not RSP. */
    vm.s->shadow[0] = 0x5566778899AABBCCULL;
    vm.s->shadow[1] = 7;
    vm.s->shadow_load = BIT(0);
    vm.s->rip += VMCALL_LEN;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP | NESTOR_MTD_SHADOW, &m), NESTOR_EXIT_VMCALL);
    KT_EQ(vm.s->rbx, 0x5566778899AABBCCULL);            /* the reply's, on the shadow */
    nestor_word_t v;
    KT_OK(shadow_read(s, VMCS_GUEST_RSP, &v));
    KT_EQ(v, 0xDEADBEEF);
    /* The fetch reads what shadow_fetch selects: RSP, not RIP. */
    vm.s->shadow_fetch = BIT(1);
    vm.s->shadow[0] = 1;
    vm.s->rip = TVM_CODE + sizeof(code) - VMREAD_UNIT_LEN - VMCALL_LEN;
    vm.s->shadow[1] = 7;
    vm.s->shadow_load = BIT(1);
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP | NESTOR_MTD_SHADOW, &m), NESTOR_EXIT_VMCALL);
    KT_EQ(vm.s->shadow[0], 1);                          /* not fetched */
    KT_OK(shadow_read(s, VMCS_GUEST_RSP, &v));
    KT_EQ(v, 7);                                        /* the reply's write */
    vm.s->shadow[1] = 123;
    vm.s->shadow_load = 0;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP | NESTOR_MTD_SHADOW, &m), NESTOR_EXIT_VMCALL);
    KT_EQ(vm.s->shadow[1], 7);                          /* fetched, nothing loaded */
    /* Unbound: not fetched (the page says so), and a load writes nothing. */
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_SHADOW, 0, 0, 0, 0, 0, 0));
    vm.s->rip = TVM_CODE + sizeof(code) - VMREAD_UNIT_LEN - VMCALL_LEN;
    vm.s->shadow[1] = 9;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP | NESTOR_MTD_SHADOW, &m), NESTOR_EXIT_VMCALL);
    KT_EQ(vm.s->mtd & NESTOR_MTD_SHADOW, 0);
    KT_OK(shadow_read(s, VMCS_GUEST_RSP, &v));
    KT_EQ(v, 7);
    return KT_PASS;
}
