/*
 * tests/kernel/vm_env.c - tiny guests for the kernel's VMX tests (vm_env.h).
 */
#include "vm_env.h"
#include <string.h>

#define PTE_P_RW       0x3
#define PDE_2M         0x83            /* present, writable, 2 MiB page */
#define LM_CR0         0x80000031ULL   /* PG, NE, ET, PE */
#define LM_CR4         0x20            /* PAE */
#define LM_EFER        0x501           /* LMA, LME, SCE */
#define LM_AR_CODE     0xA09B          /* G, L, present, code, read, accessed */
#define LM_AR_DATA     0xC093
#define LM_AR_TSS      0x8B
#define AR_UNUSABLE    0x10000
#define FLAT_LIMIT     0xFFFFFFFF
#define RFLAGS_FIXED   0x2
#define EXIT_SLOTS     (1u << NESTOR_EXIT_TABLE_RADIX)

static nestor_error_t map_guest_page(tvm_t *vm, unsigned i)
{
    nestor_cptr_t f, guest = env_slot();
    vm->page[i] = env_page(&f);
    memset(vm->page[i], 0, 4096);
    nestor_error_t e = nu_cnode_copy(ROOT_CNODE, guest, ROOT_DEPTH, ROOT_CNODE, f, ROOT_DEPTH,
                                     NESTOR_RIGHTS_ALL);
    const nestor_word_t args[] = { i * 4096ULL, NESTOR_EPT_R | NESTOR_EPT_W | NESTOR_EPT_X,
                                   NESTOR_EPT_MEMTYPE_WB };
    return e ? e : nu_invoke(guest, NESTOR_EPT_MAP_FRAME, args, 3, &vm->ept, 1, 0, 0);
}

static nestor_error_t make_memory(tvm_t *vm)
{
    static const nestor_word_t tables[] = { NESTOR_OBJ_EPT_PDPT, NESTOR_OBJ_EPT_PD,
                                            NESTOR_OBJ_EPT_PT };
    for (unsigned i = 0; i < 3; i++) {
        nestor_error_t e = nu_page_table_map(env_obj(tables[i], 0), vm->ept, 0);
        if (e)
            return e;
    }
    for (unsigned i = 0; i < TVM_PAGES; i++) {
        nestor_error_t e = map_guest_page(vm, i);
        if (e)
            return e;
    }
    return NESTOR_OK;
}

static nestor_error_t make_exit_table(tvm_t *vm)
{
    vm->table = env_obj(NESTOR_OBJ_CNODE, NESTOR_EXIT_TABLE_RADIX);
    for (unsigned slot = 0; slot < EXIT_SLOTS; slot++) {
        nestor_error_t e = nu_cnode_mint(vm->table, slot, NESTOR_EXIT_TABLE_RADIX, ROOT_CNODE,
                                         vm->ep, ROOT_DEPTH, NESTOR_RIGHTS_ALL, 1);
        if (!e)
            e = tvm_set_mask(vm, slot, NESTOR_MTD_ALL);
        if (e)
            return e;
    }
    return nu_invoke(vm->vcpu, NESTOR_VCPU_SET_EXIT_TABLE, 0, 0, &vm->table, 1, 0, 0);
}

static void long_mode_state(tvm_t *vm)
{
    uint64_t *pml4 = (uint64_t *)vm->page[TVM_PML4 / 4096];
    uint64_t *pdpt = (uint64_t *)vm->page[TVM_PDPT / 4096];
    uint64_t *pd = (uint64_t *)vm->page[TVM_PD / 4096];
    pml4[0] = TVM_PDPT | PTE_P_RW;
    pdpt[0] = TVM_PD | PTE_P_RW;
    pd[0] = PDE_2M;
    nestor_vcpu_state_t *s = vm->s;
    s->cr0 = LM_CR0;
    s->cr3 = TVM_PML4;
    s->cr4 = LM_CR4;
    s->efer = LM_EFER;
    nestor_vcpu_seg_t *segs = &s->es;          /* es cs ss ds fs gs */
    for (unsigned i = 0; i < 6; i++)
        segs[i] = (nestor_vcpu_seg_t){ .sel = i == 1 ? 0x08 : 0x10, .limit = FLAT_LIMIT,
                                       .ar = i == 1 ? LM_AR_CODE : LM_AR_DATA };
    s->ldtr = (nestor_vcpu_seg_t){ .ar = AR_UNUSABLE };
    s->tr = (nestor_vcpu_seg_t){ .limit = 0x67, .ar = LM_AR_TSS };
    s->gdtr_limit = 0;
    s->idtr_limit = 0;
}

nestor_cptr_t tvm_stack(tvm_t *vm, unsigned level, nestor_cptr_t ep, nestor_word_t badge,
                        const unsigned *slots, unsigned n)
{
    nestor_cptr_t table = env_obj(NESTOR_OBJ_CNODE, NESTOR_EXIT_TABLE_RADIX);
    for (unsigned i = 0; i < n; i++) {
        const nestor_word_t args[] = { slots[i], NESTOR_MTD_ALL, level };
        if (nu_cnode_mint(table, slots[i], NESTOR_EXIT_TABLE_RADIX, ROOT_CNODE, ep, ROOT_DEPTH,
                          NESTOR_RIGHT_WRITE, badge) ||
            nu_invoke(vm->vcpu, NESTOR_VCPU_SET_EXIT_MASK, args, 3, 0, 0, 0, 0))
            return 0;
    }
    const nestor_word_t lvl = level;
    return nu_invoke(vm->vcpu, NESTOR_VCPU_SET_EXIT_TABLE, &lvl, 1, &table, 1, 0, 0) ? 0 : table;
}

nestor_cptr_t tvm_reasons_only(tvm_t *vm)
{
    static unsigned reasons[NESTOR_EXIT_SLOT_EXCEPTION];
    for (unsigned i = 0; i < NESTOR_EXIT_SLOT_EXCEPTION; i++)
        reasons[i] = i;
    return tvm_stack(vm, 0, vm->ep, 1, reasons, NESTOR_EXIT_SLOT_EXCEPTION);
}

nestor_error_t tvm_set_mask(tvm_t *vm, unsigned slot, nestor_word_t mask)
{
    const nestor_word_t args[] = { slot, mask };
    return nu_invoke(vm->vcpu, NESTOR_VCPU_SET_EXIT_MASK, args, 2, 0, 0, 0, 0);
}

nestor_error_t tvm_load(tvm_t *vm, nestor_word_t mask)
{
    return nu_invoke(vm->vcpu, NESTOR_VCPU_LOAD_STATE, &mask, 1, 0, 0, 0, 0);
}

nestor_error_t tvm_create(tvm_t *vm, const uint8_t *code, unsigned len, int long_mode)
{
    memset(vm, 0, sizeof(*vm));
    vm->vcpu = env_slot();
    nestor_error_t e = nu_untyped_retype(env_untyped(), NESTOR_OBJ_VCPU, 0, ROOT_CNODE, 0, 0,
                                         vm->vcpu, 1);
    if (e)
        return e;
    vm->ept = env_obj(NESTOR_OBJ_EPT_PML4, 0);
    vm->tcb = env_obj(NESTOR_OBJ_TCB, 0);
    vm->ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    nestor_cptr_t sf, st = env_slot();
    vm->s = env_page(&sf);
    if ((e = make_memory(vm)) || (e = nu_cnode_copy(ROOT_CNODE, st, ROOT_DEPTH, ROOT_CNODE, sf,
                                                    ROOT_DEPTH, NESTOR_RIGHTS_ALL)) ||
        (e = nu_tcb_set_priority(vm->tcb, TVM_PRIO)) ||
        (e = nu_invoke(vm->vcpu, NESTOR_VCPU_SET_TCB, 0, 0, &vm->tcb, 1, 0, 0)) ||
        (e = nu_invoke(vm->vcpu, NESTOR_VCPU_SET_EPT, 0, 0, &vm->ept, 1, 0, 0)) ||
        (e = nu_invoke(vm->vcpu, NESTOR_VCPU_SET_STATE_PAGE, 0, 0, &st, 1, 0, 0)) ||
        (e = make_exit_table(vm)))
        return e;
    vm->state_frame = st;
    memcpy(vm->page[TVM_CODE / 4096], code, len);
    memset(vm->s, 0, sizeof(*vm->s));
    /* Fetch what the VCPU starts with, then change what this guest needs. */
    nu_invoke(vm->vcpu, NESTOR_VCPU_STORE_STATE, &(nestor_word_t){ NESTOR_MTD_ALL }, 1, 0, 0, 0, 0);
    vm->s->rip = TVM_CODE;
    vm->s->rsp = TVM_STACK_TOP;
    vm->s->rflags = RFLAGS_FIXED;
    nestor_word_t mask = NESTOR_MTD_RIP | NESTOR_MTD_RSP | NESTOR_MTD_RFLAGS;
    if (long_mode) {
        long_mode_state(vm);
        mask |= NESTOR_MTD_CR | NESTOR_MTD_SEGS | NESTOR_MTD_SYS_SEGS;
    }
    return tvm_load(vm, mask);
}

nestor_word_t tvm_run(tvm_t *vm, nestor_word_t reply_mask, nu_msg_t *m)
{
    if (!vm->started) {
        vm->started = 1;
        if (nu_tcb_resume(vm->tcb) != NESTOR_OK)
            return ~0ULL;
        *m = (nu_msg_t){ 0 };
        nu_recv(vm->ep, m);
    } else {
        *m = (nu_msg_t){ .info = nestor_msginfo(0, 0, 0, 1), .mr = { reply_mask } };
        nu_reply_recv(vm->ep, m);
    }
    return m->mr[NESTOR_EXIT_MR_REASON];
}

nestor_word_t tvm_mr(const nu_msg_t *m, unsigned i)
{
    return i < NESTOR_MSG_REGISTERS_IN_CPU ? m->mr[i] : nu_ipc_buffer()->msg[i];
}
