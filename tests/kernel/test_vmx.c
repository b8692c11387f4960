/*
 * tests/kernel/test_vmx.c - the kernel's VMX path against hostile guests and
 * monitors: each test is the regression test of a defect that was a way out
 * of a guest, a leak between guests or a way to take the CPU (issue 9).
 * Real guests run under VT-x (Bochs); without VMX (QEMU TCG) they skip.
 */
#include "vm_env.h"
#include <nestor/vmcs.h>
#include <string.h>

#define PRIO         100
#define CMOS_INDEX   0x70
#define CMOS_DATA    0x71
#define STATE_OFF(f) __builtin_offsetof(nestor_vcpu_state_t, f)

typedef struct __attribute__((packed)) {
    uint16_t limit;
    uint64_t base;
} desc_ptr_t;

static void read_cmos(nestor_word_t unused)
{
    (void)unused;
    uint8_t v;
    env_shared[0] = 1;
    __asm__ volatile("outb %b0, %w1" : : "a"((uint8_t)0x0A), "Nd"(CMOS_INDEX));
    __asm__ volatile("inb %w1, %b0" : "=a"(v) : "Nd"(CMOS_DATA));
    env_shared[0] = 2;
}

/* SDM 27.5.2: a VM exit leaves the GDTR/IDTR limits at 0xFFFF and TR's at
 * 0x67. The kernel must restore them: a GDT limit past the table let user
 * selectors index kernel memory (call gate into ring 0), and the TR limit
 * cut off the I/O bitmap so granted user IN/OUT faulted. */
KTEST(vmx_exit_restores_descriptor_tables_and_tr)
{
    static const uint8_t code[] = { I_VMCALL, I_VMCALL };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 0);
    desc_ptr_t gdt0, idt0, gdt1, idt1;
    __asm__ volatile("sgdt %0; sidt %1" : "=m"(gdt0), "=m"(idt0));
    nu_msg_t m;
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_VMCALL);
    __asm__ volatile("sgdt %0; sidt %1" : "=m"(gdt1), "=m"(idt1));
    KT_EQ(gdt1.limit, gdt0.limit);
    KT_EQ(idt1.limit, idt0.limit);
    KT_ASSERT(gdt0.limit < 0x1000);
    /* A thread with a port grant uses it right after an exit. */
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0), ports = env_slot();
    KT_OK(nu_ioport_issue(NESTOR_CAP_IOPORT_CONTROL, CMOS_INDEX, CMOS_DATA, ROOT_CNODE, ports,
                          ROOT_DEPTH));
    env_thread_t t = env_thread(read_cmos, 0, PRIO, ep);
    KT_OK(nu_tcb_suspend(t.tcb));
    KT_OK(nu_invoke(t.tcb, NESTOR_TCB_SET_IO_PORTS, 0, 0, &ports, 1, 0, 0));
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_VMCALL);      /* the second exit, now */
    KT_OK(nu_tcb_resume(t.tcb));
    env_wait_idle();
    KT_EQ(env_shared[0], 2);
    KT_EQ(nu_nbrecv(ep, &m), NESTOR_ERR_WOULD_BLOCK);    /* no #GP fault came */
    return KT_PASS;
}

/* SDM 25.5.1, 26.6.6: in the shutdown and wait-for-SIPI activity states
 * neither interrupts nor the preemption timer return the CPU: a monitor
 * that sets one would own the machine. Refused by invocation, by VMCS write
 * and by reply; the guest runs on once the state is fixed. */
KTEST(vmx_refuses_activity_states_that_keep_the_cpu)
{
    static const uint8_t code[] = { I_VMCALL, I_VMCALL };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 0);
    for (nestor_word_t state = 2; state <= 3; state++) {
        vm.s->activity = state;
        KT_EQ(tvm_load(&vm, NESTOR_MTD_INTR), NESTOR_ERR_INVALID_ARGUMENT);
        const nestor_word_t w[] = { VMCS_GUEST_ACTIVITY, state };
        KT_EQ(nu_invoke(vm.vcpu, NESTOR_VCPU_WRITE_VMCS, w, 2, 0, 0, 0, 0),
              NESTOR_ERR_INVALID_ARGUMENT);
    }
    vm.s->activity = 0;
    nu_msg_t m;
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_VMCALL);
    vm.s->activity = 3;                                   /* wait-for-SIPI */
    vm.s->rip += 3;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_INTR | NESTOR_MTD_RIP, &m),
          BIT(31) | NESTOR_EXIT_INVALID_STATE);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_QUALIFICATION), NESTOR_ENTRY_REFUSED | STATE_OFF(activity));
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_RIP), TVM_CODE);     /* nothing was loaded */
    vm.s->activity = 0;
    vm.s->rip = TVM_CODE + 3;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_INTR | NESTOR_MTD_RIP, &m), NESTOR_EXIT_VMCALL);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_RIP), TVM_CODE + 3);
    return KT_PASS;
}

/* A reply may load only groups the handler was given at this exit: the
 * page's other groups are stale (a CR0 write reply once reloaded an old
 * CR3). STORE_STATE fetches a group on demand. */
KTEST(vmx_reply_of_unfetched_group_refused)
{
    static const uint8_t code[] = { I_VMCALL, I_VMCALL, I_VMCALL };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 0);
    KT_OK(tvm_set_mask(&vm, NESTOR_EXIT_VMCALL, NESTOR_MTD_RIP));
    nu_msg_t m;
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_VMCALL);
    KT_EQ(vm.s->mtd, NESTOR_MTD_RIP);
    vm.s->rip += 3;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP | NESTOR_MTD_CR, &m), BIT(31) | NESTOR_EXIT_INVALID_STATE);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_QUALIFICATION),
          NESTOR_ENTRY_REFUSED | NESTOR_REFUSED_UNFETCHED | NESTOR_MTD_CR);
    /* Fetched on demand, the group may be loaded. */
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_STORE_STATE, &(nestor_word_t){ NESTOR_MTD_CR }, 1, 0, 0,
                    0, 0));
    vm.s->rip = TVM_CODE + 3;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP | NESTOR_MTD_CR, &m), NESTOR_EXIT_VMCALL);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_RIP), TVM_CODE + 3);
    return KT_PASS;
}

/* A failed VM entry (SDM 26.8) leaves the VMCS unlaunched: once the monitor
 * repairs the state, the guest runs (VMLAUNCH, not a VMRESUME that fails). */
KTEST(vmx_failed_entry_can_be_repaired)
{
    static const uint8_t code[] = { I_VMCALL };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 0);
    const nestor_word_t bad[] = { VMCS_GUEST_RFLAGS, 0 };   /* bit 1 must be 1: SDM 26.3.1.4 */
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_WRITE_VMCS, bad, 2, 0, 0, 0, 0));
    nu_msg_t m;
    KT_EQ(tvm_run(&vm, 0, &m), BIT(31) | NESTOR_EXIT_INVALID_STATE);
    vm.s->rflags = 2;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RFLAGS, &m), NESTOR_EXIT_VMCALL);
    return KT_PASS;
}

/* Guest SYSCALL enters at the guest's own LSTAR (it once jumped to the
 * host's entry point, showing a kernel address in RIP), and SWAPGS swaps
 * with the guest's own KERNEL_GS_BASE; neither value reaches another VM. */
KTEST(vmx_guest_syscall_msrs_and_swapgs_are_per_vcpu)
{
    /* 0x4000: swapgs; vmcall; syscall   0x4010: vmcall (the LSTAR target) */
    static const uint8_t code[] = { I_SWAPGS, I_VMCALL, I_SYSCALL, 0x90, 0x90, 0x90, 0x90, 0x90,
                                    0x90, 0x90, 0x90, I_VMCALL };
    tvm_t a, b;
    TVM_CREATE_OR_SKIP(&a, code, 1);
    KT_OK(tvm_create(&b, code, sizeof(code), 1));
    a.s->kernel_gs_base = 0x00007FFFAAAA0000ULL;
    a.s->lstar = TVM_CODE + 0x10;
    a.s->star = 0x0010000800000000ULL;
    a.s->fmask = 0;
    a.s->pat = 0x0007040600070406ULL;
    KT_OK(tvm_load(&a, NESTOR_MTD_MSRS));
    b.s->kernel_gs_base = 0x00007FFFBBBB0000ULL;
    b.s->pat = 0x0007040600070406ULL;
    KT_OK(tvm_load(&b, NESTOR_MTD_MSRS));
    /* (One handler thread holds one reply: each VM is served in turn.) */
    nu_msg_t m;
    KT_EQ(tvm_run(&a, 0, &m), NESTOR_EXIT_VMCALL);
    KT_EQ(a.s->gs.base, 0x00007FFFAAAA0000ULL);
    KT_EQ(a.s->kernel_gs_base, 0);                  /* stored back at the exit */
    a.s->rip += 3;
    KT_EQ(tvm_run(&a, NESTOR_MTD_RIP, &m), NESTOR_EXIT_VMCALL);  /* after SYSCALL */
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_RIP), TVM_CODE + 0x10);
    KT_EQ(a.s->rcx, TVM_CODE + 8);                  /* return address (SDM Vol. 2B SYSCALL) */
    KT_EQ(tvm_run(&b, 0, &m), NESTOR_EXIT_VMCALL);
    KT_EQ(b.s->gs.base, 0x00007FFFBBBB0000ULL);
    /* Values the CPU would refuse are refused before they reach it. */
    a.s->lstar = 0x0000800000000000ULL;
    KT_EQ(tvm_load(&a, NESTOR_MTD_MSRS), NESTOR_ERR_INVALID_ARGUMENT);
    a.s->lstar = 0;
    a.s->pat = 0x0007040600070402ULL;               /* type 2 is reserved */
    KT_EQ(tvm_load(&a, NESTOR_MTD_MSRS), NESTOR_ERR_INVALID_ARGUMENT);
    return KT_PASS;
}

/* DR0-3 and DR6 are not in the VMCS: one guest's breakpoint address must
 * not show in another's debug registers. */
KTEST(vmx_debug_registers_are_per_vcpu)
{
    static const uint8_t writer[] = { I_MOV_RAX_IMM32, 0x34, 0x12, 0x00, 0x00, I_MOV_DR0_RAX,
                                      I_VMCALL };
    static const uint8_t reader[] = { I_MOV_RAX_IMM32, 0x77, 0x00, 0x00, 0x00, I_MOV_RAX_DR0,
                                      I_VMCALL };
    tvm_t a, b;
    TVM_CREATE_OR_SKIP(&a, writer, 1);
    KT_OK(tvm_create(&b, reader, sizeof(reader), 1));
    nu_msg_t m;
    KT_EQ(tvm_run(&a, 0, &m), NESTOR_EXIT_VMCALL);
    KT_EQ(a.s->dr0, 0x1234);
    KT_EQ(tvm_run(&b, 0, &m), NESTOR_EXIT_VMCALL);
    KT_EQ(b.s->rax, 0);
    a.s->dr0 = 0x0000800000000000ULL;               /* non-canonical: MOV DR0 would #GP */
    KT_EQ(tvm_load(&a, NESTOR_MTD_DEBUG), NESTOR_ERR_INVALID_ARGUMENT);
    return KT_PASS;
}

/* XCR0 is the guest's (its reset value 1, SDM Vol. 1 13.3), never the
 * host's, and only valid values reach XSETBV in the kernel. */
KTEST(vmx_xcr0_is_per_vcpu_and_checked)
{
    static const uint8_t code[] = { I_XOR_ECX_ECX, I_XGETBV, I_VMCALL };
    tvm_t a, b;
    TVM_CREATE_OR_SKIP(&a, code, 1);
    KT_OK(tvm_create(&b, code, sizeof(code), 1));
    if (!a.s->xcr0) {
        printf("    (no XSAVE here: nothing to check)\n");
        return KT_PASS;
    }
    KT_EQ(a.s->xcr0, 1);
    a.s->cr4 |= BIT(18);                            /* OSXSAVE */
    b.s->cr4 |= BIT(18);
    KT_OK(tvm_load(&a, NESTOR_MTD_CR));
    KT_OK(tvm_load(&b, NESTOR_MTD_CR));
    a.s->xcr0 = 5;                                  /* AVX without SSE */
    KT_EQ(tvm_load(&a, NESTOR_MTD_XCR0), NESTOR_ERR_INVALID_ARGUMENT);
    a.s->xcr0 = 1ULL << 9;                          /* not enabled by the host */
    KT_EQ(tvm_load(&a, NESTOR_MTD_XCR0), NESTOR_ERR_INVALID_ARGUMENT);
    a.s->xcr0 = 3;
    KT_OK(tvm_load(&a, NESTOR_MTD_XCR0));
    nu_msg_t m;
    KT_EQ(tvm_run(&a, 0, &m), NESTOR_EXIT_VMCALL);
    KT_EQ(a.s->rax, 3);
    KT_EQ(tvm_run(&b, 0, &m), NESTOR_EXIT_VMCALL);
    KT_EQ(b.s->rax, 1);
    return KT_PASS;
}

/* The VMCS allow-list: host state, pointers, the HIGH halves of 64-bit
 * fields and encodings outside the table are refused for reading and
 * writing; a bulk access is checked whole before anything is written. */
KTEST(vmx_vmcs_access_is_an_allow_list)
{
    static const uint8_t code[] = { I_VMCALL };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 0);
    static const nestor_word_t refused[] = { VMCS_HOST_RIP, VMCS_EPT_POINTER, VMCS_VPID,
                                             VMCS_GUEST_EFER + 1, VMCS_LINK_POINTER, 0x6C18,
                                             0x1FFFF, VMCS_EXIT_MSR_LOAD_ADDR };
    nestor_word_t v;
    for (unsigned i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        KT_EQ(nu_invoke(vm.vcpu, NESTOR_VCPU_READ_VMCS, &refused[i], 1, 0, 0, &v, 1),
              NESTOR_ERR_INVALID_ARGUMENT);
        const nestor_word_t w[] = { refused[i], 0 };
        KT_EQ(nu_invoke(vm.vcpu, NESTOR_VCPU_WRITE_VMCS, w, 2, 0, 0, 0, 0),
              NESTOR_ERR_INVALID_ARGUMENT);
    }
    const nestor_word_t half[] = { VMCS_GUEST_RIP, 0x4003, VMCS_HOST_CR3, 0 };
    KT_EQ(nu_invoke(vm.vcpu, NESTOR_VCPU_WRITE_VMCS, half, 4, 0, 0, 0, 0),
          NESTOR_ERR_INVALID_ARGUMENT);
    const nestor_word_t rip = VMCS_GUEST_RIP;
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_READ_VMCS, &rip, 1, 0, 0, &v, 1));
    KT_EQ(v, TVM_CODE);                             /* the refused bulk wrote nothing */
    return KT_PASS;
}

/* VPIDs (16 bits, SDM 24.6.12) are given back with their VCPU: creating and
 * deleting more VCPUs than there are VPIDs goes on working. */
KTEST(vmx_vpids_are_reused)
{
    nestor_cptr_t v = env_slot();
    for (unsigned i = 0; i < 0x10000 + 16; i++) {
        nestor_error_t e = nu_untyped_retype(env_untyped(), NESTOR_OBJ_VCPU, 0, ROOT_CNODE, 0, 0,
                                             v, 1);
        if (e == NESTOR_ERR_ILLEGAL_OPERATION && i == 0) {
            printf("    (no VMX here: nothing to check)\n");
            return KT_PASS;
        }
        KT_OK(e);
        KT_OK(nu_cnode_delete(ROOT_CNODE, v, ROOT_DEPTH));
    }
    return KT_PASS;
}

/* A VCPU deleted while its thread waits for an exit's reply stops the
 * thread: it once resumed in ring 3 at address 0 with registers nobody set. */
KTEST(vmx_vcpu_deleted_during_exit_stops_its_thread)
{
    static const uint8_t code[] = { I_VMCALL };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 0);
    nestor_cptr_t fault_ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    nestor_cptr_t buf_frame;
    uint8_t *buf = env_page(&buf_frame);
    KT_OK(nu_tcb_configure(vm.tcb, fault_ep, ROOT_CNODE, ROOT_VSPACE, buf_frame, (uintptr_t)buf));
    nu_msg_t m;
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_VMCALL);
    KT_OK(nu_cnode_revoke(ROOT_CNODE, vm.vcpu, ROOT_DEPTH));   /* the thread's copy too */
    KT_OK(nu_cnode_delete(ROOT_CNODE, vm.vcpu, ROOT_DEPTH));
    m = (nu_msg_t){ .info = nestor_msginfo(0, 0, 0, 1) };
    nu_reply(&m);
    env_wait_idle();
    KT_EQ(nu_nbrecv(fault_ep, &m), NESTOR_ERR_WOULD_BLOCK);   /* it never ran */
    nestor_word_t slots, threads;
    KT_EQ(nu_debug_check(&slots, &threads), 0);
    return KT_PASS;
}

/* Stacking: an exit goes to the highest level that takes its reason; that
 * monitor's PASS_ON sends the very same exit (the kernel's copy of reason
 * and qualification, whatever the reply's registers say) with the state it
 * changed to the level below. Reasons it does not take never visit it. */
KTEST(vmx_pass_on_goes_down_the_stack)
{
    static const uint8_t code[] = { I_MOV_RAX_IMM32, 0x11, 0x00, 0x00, 0x00, I_VMCALL, I_UD2 };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 1);
    nestor_cptr_t upper = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    static const unsigned taken[] = { NESTOR_EXIT_VMCALL };
    KT_ASSERT(tvm_stack(&vm, 1, upper, 2, taken, 1));
    KT_OK(nu_tcb_resume(vm.tcb));
    vm.started = 1;
    nu_msg_t m = { 0 };
    KT_OK(nu_recv(upper, &m));
    KT_EQ(m.badge, 2);
    KT_EQ(m.mr[NESTOR_EXIT_MR_REASON], NESTOR_EXIT_VMCALL);
    KT_EQ(vm.s->rax, 0x11);
    vm.s->rax = 0x22;                                   /* the upper monitor's change */
    m = (nu_msg_t){ .info = nestor_msginfo(NESTOR_EXIT_REPLY_PASS_ON, 0, 0, 4),
                    .mr = { NESTOR_MTD_GPRS, NESTOR_EXIT_HLT, 0xBAD, 0xBAD } };
    KT_OK(nu_reply_recv(vm.ep, &m));                    /* the VMM's level receives it */
    KT_EQ(m.badge, 1);
    KT_EQ(m.mr[NESTOR_EXIT_MR_REASON], NESTOR_EXIT_VMCALL);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_RIP), TVM_CODE + 7);
    KT_EQ(vm.s->rax, 0x22);
    /* UD2 is no reason the upper level takes: straight to level 0. */
    vm.s->rip += 3;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_EXCEPTION);
    KT_EQ(m.badge, 1);
    KT_EQ(nu_nbrecv(upper, &m), NESTOR_ERR_WOULD_BLOCK);
    return KT_PASS;
}

/* The exception bitmap is the exception slots that have handlers (SDM
 * 24.6.3): monitors do not write it. An exception exit nobody below passes
 * it to goes into the guest, as if never intercepted: here the guest has no
 * IDT, so #UD becomes a triple fault, the VMM's exit. */
KTEST(vmx_exception_bitmap_follows_the_tables)
{
    static const uint8_t code[] = { I_UD2 };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 0);
    /* vm_env's level-0 table handles every slot: drop it for one with the
     * reasons only, as a VMM has. */
    KT_ASSERT(tvm_reasons_only(&vm));
    /* #DB, #AC and #MC always exit (a #DB or #AC delivery loop would keep
     * the CPU; a machine check is the host's). */
    const nestor_word_t always = (1u << 1) | (1u << 17) | (1u << 18);
    const nestor_word_t field = VMCS_EXCEPTION_BITMAP;
    nestor_word_t bitmap = ~0ULL;
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_READ_VMCS, &field, 1, 0, 0, &bitmap, 1));
    KT_EQ(bitmap, always);
    nestor_cptr_t upper = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    static const unsigned ud[] = { NESTOR_EXIT_SLOT_EXCEPTION + 6 };
    KT_ASSERT(tvm_stack(&vm, 2, upper, 3, ud, 1));
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_READ_VMCS, &field, 1, 0, 0, &bitmap, 1));
    KT_EQ(bitmap, always | (1u << 6));
    const nestor_word_t write[] = { VMCS_EXCEPTION_BITMAP, 0 };
    KT_EQ(nu_invoke(vm.vcpu, NESTOR_VCPU_WRITE_VMCS, write, 2, 0, 0, 0, 0),
          NESTOR_ERR_INVALID_ARGUMENT);
    KT_OK(nu_tcb_resume(vm.tcb));
    vm.started = 1;
    nu_msg_t m = { 0 };
    KT_OK(nu_recv(upper, &m));
    KT_EQ(m.mr[NESTOR_EXIT_MR_REASON], NESTOR_EXIT_EXCEPTION);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_INTR_INFO) & 0xFF, 6);
    m = (nu_msg_t){ .info = nestor_msginfo(NESTOR_EXIT_REPLY_PASS_ON, 0, 0, 1) };
    KT_OK(nu_reply_recv(vm.ep, &m));
    KT_EQ(m.mr[NESTOR_EXIT_MR_REASON], NESTOR_EXIT_TRIPLE_FAULT);
    /* Without the upper table, #UD is not intercepted at all. */
    const nestor_word_t lvl = 2;
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_EXIT_TABLE, &lvl, 1, 0, 0, 0, 0));
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_READ_VMCS, &field, 1, 0, 0, &bitmap, 1));
    KT_EQ(bitmap, always);
    return KT_PASS;
}

/* A deferred reply: the exit is answered through the VCPU capability, not
 * the handler's reply right, so any thread can answer it later. */
KTEST(vmx_deferred_reply_through_the_vcpu)
{
    static const uint8_t code[] = { I_VMCALL, I_VMCALL };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 0);
    const nestor_word_t early[] = { NESTOR_EXIT_REPLY_RESUME, 0 };
    KT_EQ(nu_invoke(vm.vcpu, NESTOR_VCPU_REPLY, early, 2, 0, 0, 0, 0),
          NESTOR_ERR_ILLEGAL_OPERATION);                  /* no exit to answer yet */
    nu_msg_t m;
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_VMCALL);
    vm.s->rip += 3;
    const nestor_word_t later[] = { NESTOR_EXIT_REPLY_RESUME, NESTOR_MTD_RIP };
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_REPLY, later, 2, 0, 0, 0, 0));
    m = (nu_msg_t){ 0 };
    KT_OK(nu_recv(vm.ep, &m));
    KT_EQ(m.mr[NESTOR_EXIT_MR_REASON], NESTOR_EXIT_VMCALL);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_RIP), TVM_CODE + 3);
    m = (nu_msg_t){ .info = nestor_msginfo(0, 0, 0, 0) };
    KT_EQ(nu_reply(&m), NESTOR_OK);
    return KT_PASS;
}

/* A handler that still owes one exit its reply takes another VCPU's exit
 * (nested-vmx waits for L1's exit while L2's is unanswered): the newer
 * caller gets the reply right (ipc.c link_reply; the exit fast path does
 * the same), the older exit is answered through its VCPU, and both guests
 * go on from where their monitor put them. */
KTEST(vmx_handler_owing_an_exit_takes_the_next)
{
    static const uint8_t code[] = { I_VMCALL, I_VMCALL };
    tvm_t vm1, vm2;
    TVM_CREATE_OR_SKIP(&vm1, code, 0);
    KT_OK(tvm_create(&vm2, code, sizeof(code), 0));
    static const unsigned slot[] = { NESTOR_EXIT_VMCALL };
    KT_ASSERT(tvm_stack(&vm2, 1, vm1.ep, 2, slot, 1));
    nu_msg_t m;
    KT_EQ(tvm_run(&vm1, 0, &m), NESTOR_EXIT_VMCALL);    /* vm1 waits for its reply */
    KT_EQ(m.badge, 1);
    KT_OK(nu_tcb_resume(vm2.tcb));
    m = (nu_msg_t){ 0 };
    KT_OK(nu_recv(vm1.ep, &m));
    KT_EQ(m.badge, 2);
    KT_EQ(m.mr[NESTOR_EXIT_MR_REASON], NESTOR_EXIT_VMCALL);
    vm1.s->rip += 3;
    vm2.s->rip += 3;
    const nestor_word_t resume_rip[] = { NESTOR_EXIT_REPLY_RESUME, NESTOR_MTD_RIP };
    KT_OK(nu_invoke(vm1.vcpu, NESTOR_VCPU_REPLY, resume_rip, 2, 0, 0, 0, 0));
    m = (nu_msg_t){ .info = nestor_msginfo(NESTOR_EXIT_REPLY_RESUME, 0, 0, 1),
                    .mr = { NESTOR_MTD_RIP } };
    KT_OK(nu_reply_recv(vm1.ep, &m));                   /* the reply right: vm2's */
    nestor_word_t badges = 0;
    for (unsigned i = 0; i < 2; i++) {
        if (i)
            KT_OK(nu_recv(vm1.ep, &m));
        KT_EQ(m.mr[NESTOR_EXIT_MR_REASON], NESTOR_EXIT_VMCALL);
        KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_RIP), TVM_CODE + 3);   /* each at its second VMCALL */
        badges |= m.badge;
    }
    KT_EQ(badges, 3);
    return KT_PASS;
}

/* NESTOR_SYS_VCPU_REPLY_RECV: the handler answers the older exit (vm1's,
 * through its VCPU) and receives in one system call, keeping the reply
 * right of the newer one (vm2's), as nested-vmx answers L1 while L2 waits;
 * then the other way round. Each wrong argument is refused whole: nothing
 * answered, nothing received (the exits still wait and are answered
 * after). */
KTEST(vmx_vcpu_reply_recv_answers_the_other_exit)
{
    static const uint8_t code[] = { I_VMCALL, I_VMCALL };
    tvm_t vm1, vm2, idle;
    TVM_CREATE_OR_SKIP(&vm1, code, 0);
    KT_OK(tvm_create(&vm2, code, sizeof(code), 0));
    KT_OK(tvm_create(&idle, code, sizeof(code), 0));    /* never started: waits in no exit */
    static const unsigned slot[] = { NESTOR_EXIT_VMCALL };
    KT_ASSERT(tvm_stack(&vm2, 1, vm1.ep, 2, slot, 1));
    nu_msg_t m;
    KT_EQ(tvm_run(&vm1, 0, &m), NESTOR_EXIT_VMCALL);    /* vm1 waits for its reply */
    KT_OK(nu_tcb_resume(vm2.tcb));
    m = (nu_msg_t){ 0 };
    KT_OK(nu_recv(vm1.ep, &m));
    KT_EQ(m.badge, 2);                                  /* the reply right: vm2's */
    KT_EQ(nu_vcpu_reply_recv(vm1.ep, vm1.tcb, NESTOR_EXIT_REPLY_RESUME, 0, &m),
          NESTOR_ERR_INVALID_CAPABILITY);               /* no VCPU */
    KT_EQ(nu_vcpu_reply_recv(vm1.ep, 0xFFFFF, NESTOR_EXIT_REPLY_RESUME, 0, &m),
          NESTOR_ERR_INVALID_CAPABILITY);               /* nothing there */
    KT_EQ(nu_vcpu_reply_recv(vm1.ep, idle.vcpu, NESTOR_EXIT_REPLY_RESUME, 0, &m),
          NESTOR_ERR_ILLEGAL_OPERATION);                /* no exit to answer */
    KT_EQ(nu_vcpu_reply_recv(vm1.vcpu, vm1.vcpu, NESTOR_EXIT_REPLY_RESUME, 0, &m),
          NESTOR_ERR_INVALID_CAPABILITY);               /* nothing to receive from */
    m = (nu_msg_t){ .info = nestor_msginfo(NESTOR_EXIT_REPLY_RESUME, 0, 0, 1),
                    .mr = { 0, vm1.vcpu } };
    KT_EQ(nu_syscall(NESTOR_SYS_VCPU_REPLY_RECV, vm1.ep, &m),
          NESTOR_ERR_TRUNCATED_MESSAGE);                /* no VCPU word */
    /* vm1 still waits at its first VMCALL: answered, it comes back at its
     * second, which we receive; vm2 waits on. */
    vm1.s->rip += 3;
    KT_OK(nu_vcpu_reply_recv(vm1.ep, vm1.vcpu, NESTOR_EXIT_REPLY_RESUME, NESTOR_MTD_RIP, &m));
    KT_EQ(m.badge, 1);
    KT_EQ(m.mr[NESTOR_EXIT_MR_REASON], NESTOR_EXIT_VMCALL);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_RIP), TVM_CODE + 3);
    /* Now vm2's exit is the older one: the same the other way round. */
    vm2.s->rip += 3;
    KT_OK(nu_vcpu_reply_recv(vm1.ep, vm2.vcpu, NESTOR_EXIT_REPLY_RESUME, NESTOR_MTD_RIP, &m));
    KT_EQ(m.badge, 2);
    KT_EQ(m.mr[NESTOR_EXIT_MR_REASON], NESTOR_EXIT_VMCALL);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_RIP), TVM_CODE + 3);
    /* Both wait at their second VMCALL: vm1 (older) stopped through its
     * VCPU (the general path: a label other than RESUME), then vm2's by the
     * reply right. */
    const nestor_word_t stop[] = { NESTOR_EXIT_REPLY_STOP, 0 };
    KT_OK(nu_invoke(vm1.vcpu, NESTOR_VCPU_REPLY, stop, 2, 0, 0, 0, 0));
    m = (nu_msg_t){ .info = nestor_msginfo(NESTOR_EXIT_REPLY_STOP, 0, 0, 0) };
    KT_OK(nu_reply(&m));
    return KT_PASS;
}

/* A monitor's own timer and its pauses reach it, the kernel's time slices
 * never do: the timer loaded at entry is the smaller of the two, and the
 * exit's qualification says whose ran out. */
KTEST(vmx_monitor_timer_and_pause_reach_their_level)
{
    static const uint8_t code[] = { 0xEB, 0xFE };          /* jmp . */
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 0);
    const nestor_word_t timer[] = { 20000, 0 };
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_TIMER, timer, 2, 0, 0, 0, 0));
    nu_msg_t m;
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_PREEMPT_TIMER);
    KT_EQ(m.mr[NESTOR_EXIT_MR_QUALIFICATION], NESTOR_PREEMPT_MONITOR_TIMER);
    nestor_cptr_t upper = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    static const unsigned slot[] = { NESTOR_EXIT_PREEMPT_TIMER };
    KT_ASSERT(tvm_stack(&vm, 1, upper, 2, slot, 1));
    const nestor_word_t level1 = 1;
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_PAUSE, &level1, 1, 0, 0, 0, 0));
    m = (nu_msg_t){ .info = nestor_msginfo(NESTOR_EXIT_REPLY_RESUME, 0, 0, 1) };
    KT_OK(nu_reply(&m));
    KT_OK(nu_recv(upper, &m));
    KT_EQ(m.badge, 2);
    KT_EQ(m.mr[NESTOR_EXIT_MR_REASON], NESTOR_EXIT_PREEMPT_TIMER);
    KT_EQ(m.mr[NESTOR_EXIT_MR_QUALIFICATION], NESTOR_PREEMPT_PAUSE);
    const nestor_word_t bad_level[] = { 1, NESTOR_EXIT_LEVELS };
    KT_EQ(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_TIMER, bad_level, 2, 0, 0, 0, 0), NESTOR_ERR_RANGE);
    return KT_PASS;
}

/* A guest that spends some guest time, then exits (the monitor timer tests). */
static const uint8_t timer_loop_code[] = { 0xB9, 0xE8, 0x03, 0x00, 0x00,  /* mov ecx, 1000 */
                                           0x49, 0x75, 0xFD,              /* 1: dec ecx; jnz 1b */
                                           I_VMCALL, 0xEB, 0xFE };        /* vmcall; jmp . */

/* Setting a monitor timer gives back what was left of the one it replaces:
 * the guest time the guest has not spent of it (the kernel keeps it from the
 * value the CPU saves at each exit, SDM 27.3.4), 0 once it ran out or when
 * none was set. nested-vmx saves an L2's timer for L1 with it. */
KTEST(vmx_monitor_timer_gives_back_what_is_left)
{
    const nestor_word_t start = 1ULL << 30, off = 0;
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, timer_loop_code, 0);
    nestor_word_t left = ~0ULL;
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_TIMER, &start, 1, 0, 0, &left, 1));
    KT_EQ(left, 0);                                     /* none before */
    nu_msg_t m;
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_VMCALL);
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_TIMER, &off, 1, 0, 0, &left, 1));
    KT_ASSERT(left > 0 && left < start);                /* the loop spent some of it */
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_TIMER, &off, 1, 0, 0, &left, 1));
    KT_EQ(left, 0);                                     /* off */
    const nestor_word_t small = 1;
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_TIMER, &small, 1, 0, 0, &left, 1));
    vm.s->rip += 3;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_PREEMPT_TIMER);
    KT_EQ(m.mr[NESTOR_EXIT_MR_QUALIFICATION], NESTOR_PREEMPT_MONITOR_TIMER);
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_TIMER, &off, 1, 0, 0, &left, 1));
    KT_EQ(left, 0);                                     /* ran out */
    return KT_PASS;
}

/* NESTOR_MTD_TIMER (nestor/vcpu.h): an exit whose transfer mask asks for
 * it gives what is left of the monitor timer without changing it; a reply
 * naming it (no fetch needed) sets the timer as NESTOR_VCPU_SET_TIMER
 * would. nested-vmx saves and sets an L2's timer for L1 so, with no
 * invocation of its own. */
KTEST(vmx_monitor_timer_with_the_exit_and_the_reply)
{
    const nestor_word_t start = 1ULL << 30, off = 0;
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, timer_loop_code, 0);
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_TIMER, &start, 1, 0, 0, 0, 0));
    KT_OK(tvm_set_mask(&vm, NESTOR_EXIT_VMCALL, NESTOR_MTD_ALL | NESTOR_MTD_TIMER));
    nu_msg_t m;
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_VMCALL);
    KT_ASSERT(vm.s->mtd & NESTOR_MTD_TIMER);
    const nestor_word_t fetched = vm.s->timer;
    KT_ASSERT(fetched > 0 && fetched < start);          /* the loop spent some of it */
    nestor_word_t left = 0;
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_TIMER, &start, 1, 0, 0, &left, 1));
    KT_EQ(left, fetched);                               /* the fetch left it as it was */
    /* Set with the reply: 1 runs out at once. */
    vm.s->timer = 1;
    vm.s->rip += 3;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP | NESTOR_MTD_TIMER, &m), NESTOR_EXIT_PREEMPT_TIMER);
    KT_EQ(m.mr[NESTOR_EXIT_MR_QUALIFICATION], NESTOR_PREEMPT_MONITOR_TIMER);
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_TIMER, &off, 1, 0, 0, &left, 1));
    KT_EQ(left, 0);                                     /* ran out */
    /* Loaded from the page with LOAD_STATE, read back by STORE_STATE; bits
     * outside the groups are ignored. */
    vm.s->timer = 12345;
    KT_OK(tvm_load(&vm, NESTOR_MTD_TIMER));
    vm.s->timer = 0;
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_STORE_STATE, &(nestor_word_t){ ~0ULL }, 1, 0, 0, 0, 0));
    KT_EQ(vm.s->timer, 12345);
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_TIMER, &off, 1, 0, 0, &left, 1));
    KT_EQ(left, 12345);
    return KT_PASS;
}

/* A guest that turns CR4.OSXSAVE on itself must not run on the host's XCR0
 * until its next exit: the kernel owns OSXSAVE in the CR4 mask, so the write
 * exits, and once the monitor loads it the guest's XCR0 (1 at reset) is live. */
KTEST(vmx_guest_osxsave_write_exits_and_gets_its_xcr0)
{
    static const uint8_t code[] = { 0x0F, 0x20, 0xE0,                   /* mov rax, cr4 */
                                    0x48, 0x0D, 0x00, 0x00, 0x04, 0x00, /* or rax, OSXSAVE */
                                    0x0F, 0x22, 0xE0,                   /* mov cr4, rax */
                                    I_XOR_ECX_ECX, I_XGETBV, I_VMCALL };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 1);
    if (!vm.s->xcr0) {
        printf("    (no XSAVE here: nothing to check)\n");
        return KT_PASS;
    }
    nu_msg_t m;
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_CR_ACCESS);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_RIP), TVM_CODE + 9);
    vm.s->cr4 |= BIT(18);
    vm.s->rip += 3;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_CR | NESTOR_MTD_RIP, &m), NESTOR_EXIT_VMCALL);
    KT_EQ(vm.s->rax, 1);
    KT_EQ(vm.s->cr4 & BIT(18), BIT(18));
    return KT_PASS;
}

/* Page-modification logging (SDM 28.3.6): each page the guest dirties is
 * logged once, from entry 511 down; a revoked log page stops the logging
 * before the next entry (the CPU never writes into a frame that is gone). */
KTEST(vmx_pml_logs_dirtied_pages_and_follows_its_frame)
{
    static const uint8_t code[] = { 0xA3, 0x00, 0x50, 0x00, 0x00,      /* mov [0x5000], eax */
                                    0xA3, 0x00, 0x60, 0x00, 0x00,      /* mov [0x6000], eax */
                                    0xA3, 0x08, 0x50, 0x00, 0x00,      /* mov [0x5008], eax */
                                    I_VMCALL, I_VMCALL };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 0);
    nestor_cptr_t log_frame, log_copy = env_slot();
    uint64_t *log = env_page(&log_frame);
    KT_OK(nu_cnode_copy(ROOT_CNODE, log_copy, ROOT_DEPTH, ROOT_CNODE, log_frame, ROOT_DEPTH,
                        NESTOR_RIGHTS_ALL));
    nestor_error_t e = nu_invoke(vm.vcpu, NESTOR_VCPU_SET_PML, 0, 0, &log_copy, 1, 0, 0);
    if (e == NESTOR_ERR_ILLEGAL_OPERATION) {
        printf("    (no PML or EPT A/D flags here: nothing to check)\n");
        return KT_PASS;
    }
    KT_OK(e);
    nu_msg_t m;
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_VMCALL);
    const nestor_word_t fields[] = { VMCS_GUEST_PML_INDEX, VMCS_PROC_CONTROLS2 };
    nestor_word_t v[2];
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_READ_VMCS, fields, 2, 0, 0, v, 2));
    KT_EQ(v[0], NESTOR_PML_ENTRIES - 1 - 2);
    KT_EQ(v[1] & PROC2_ENABLE_PML, PROC2_ENABLE_PML);
    KT_EQ(log[511], 0x5000);
    KT_EQ(log[510], 0x6000);
    /* A monitor's control write keeps the kernel's logging bit. */
    const nestor_word_t w[] = { VMCS_PROC_CONTROLS2, v[1] & ~(nestor_word_t)PROC2_ENABLE_PML };
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_WRITE_VMCS, w, 2, 0, 0, 0, 0));
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_READ_VMCS, &fields[1], 1, 0, 0, &v[1], 1));
    KT_EQ(v[1] & PROC2_ENABLE_PML, PROC2_ENABLE_PML);
    /* The log page revoked: logging is off at the next entry. */
    KT_OK(nu_cnode_revoke(ROOT_CNODE, log_frame, ROOT_DEPTH));
    vm.s->rip += 3;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_VMCALL);
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_READ_VMCS, &fields[1], 1, 0, 0, &v[1], 1));
    KT_EQ(v[1] & PROC2_ENABLE_PML, 0);
    return KT_PASS;
}

/* A guest that halts with interrupts off (HLT exiting cleared by its
 * monitor) still gives the CPU back: the preemption timer counts in the HLT
 * state (SDM 25.5.1), and the monitor's own timer reaches it. */
KTEST(vmx_halted_guest_with_interrupts_off_gives_the_cpu_back)
{
    static const uint8_t code[] = { 0xFA, 0xF4, 0xEB, 0xFC };   /* cli; hlt; jmp .-2 */
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 0);
    const nestor_word_t field = VMCS_PROC_CONTROLS;
    nestor_word_t proc;
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_READ_VMCS, &field, 1, 0, 0, &proc, 1));
    const nestor_word_t w[] = { VMCS_PROC_CONTROLS, proc & ~(nestor_word_t)PROC_HLT_EXITING };
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_WRITE_VMCS, w, 2, 0, 0, 0, 0));
    const nestor_word_t timer[] = { 200000 };
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_TIMER, timer, 1, 0, 0, 0, 0));
    nu_msg_t m;
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_PREEMPT_TIMER);
    KT_EQ(m.mr[NESTOR_EXIT_MR_QUALIFICATION], NESTOR_PREEMPT_MONITOR_TIMER);
    return KT_PASS;
}

/* CR4 bits that would give a guest state the kernel does not switch per
 * vCPU (PKRU with CR4.PKE; the CET and PKRS MSRs) are host-owned, so a
 * guest's MOV to CR4 exits, and a monitor cannot load them. */
KTEST(vmx_cr4_bits_with_unswitched_state_refused)
{
    static const uint8_t code[] = { I_VMCALL };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 1);
    const nestor_word_t pke = 1ULL << 22;
    vm.s->cr4 |= pke;
    KT_EQ(tvm_load(&vm, NESTOR_MTD_CR), NESTOR_ERR_INVALID_ARGUMENT);
    vm.s->cr4 &= ~pke;
    const nestor_word_t field = VMCS_GUEST_CR4;
    nestor_word_t cr4, mask, f2 = VMCS_CR4_MASK;
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_READ_VMCS, &field, 1, 0, 0, &cr4, 1));
    const nestor_word_t w[] = { VMCS_GUEST_CR4, cr4 | pke };
    KT_EQ(nu_invoke(vm.vcpu, NESTOR_VCPU_WRITE_VMCS, w, 2, 0, 0, 0, 0), NESTOR_ERR_INVALID_ARGUMENT);
    KT_OK(nu_invoke(vm.vcpu, NESTOR_VCPU_READ_VMCS, &f2, 1, 0, 0, &mask, 1));
    KT_EQ(mask & pke, pke);
    return KT_PASS;
}

/* Reflecting an exception that was raised while another was delivered
 * follows SDM Table 6-5: #GP while delivering #UD (benign) goes in alone,
 * #GP while delivering #GP becomes #DF, #GP while delivering #DF is a triple
 * fault that stops the vCPU. (The guest has no IDT, so every delivery
 * faults; a level-1 monitor sees each #GP and passes it on.) */
KTEST(vmx_reflected_exceptions_follow_the_double_fault_rules)
{
    static const uint8_t code[] = { I_UD2 };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 0);
    KT_ASSERT(tvm_reasons_only(&vm));
    nestor_cptr_t upper = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    static const unsigned gp[] = { NESTOR_EXIT_SLOT_EXCEPTION + 13 };
    KT_ASSERT(tvm_stack(&vm, 1, upper, 2, gp, 1));
    KT_OK(nu_tcb_resume(vm.tcb));
    vm.started = 1;
    static const unsigned first_event[] = { 6, 13, 8 };    /* #UD, then #GP, then #DF */
    nu_msg_t m = { 0 };
    KT_OK(nu_recv(upper, &m));
    for (unsigned i = 0; i < 3; i++) {
        KT_EQ(m.mr[NESTOR_EXIT_MR_REASON], NESTOR_EXIT_EXCEPTION);
        KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_INTR_INFO) & 0xFF, 13);
        KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_IDT_VECTORING) & 0x800000FF, 0x80000000 | first_event[i]);
        m = (nu_msg_t){ .info = nestor_msginfo(NESTOR_EXIT_REPLY_PASS_ON, 0, 0, 1) };
        if (i < 2)
            KT_OK(nu_reply_recv(upper, &m));
        else
            KT_OK(nu_reply(&m));
    }
    env_wait_idle();                                      /* stopped: no further exit */
    KT_EQ(nu_nbrecv(upper, &m), NESTOR_ERR_WOULD_BLOCK);
    KT_EQ(nu_nbrecv(vm.ep, &m), NESTOR_ERR_WOULD_BLOCK);
    return KT_PASS;
}
