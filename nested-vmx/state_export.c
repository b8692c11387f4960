/*
 * nested-vmx/state_export.c - nested-vmx's state of its VM out to a
 * checkpoint monitor and back in after a restore (nvmx_state.h: what it
 * holds, why that is all, the protocol).
 */
#include "monitor.h"
#include "nvmx_state.h"
#include "shadow12.h"
#include <string.h>
#include <user/print.h>

_Static_assert(NVMX_STATE_WORDS <= NESTOR_MSG_MAX_LENGTH, "a record fits one message");

/* L2's FPU state from a loaded record, for vcpu02's thread once it exists
 * (L1's next VMLAUNCH/VMRESUME makes it: nvmx_state_l2_built). */
static uint64_t l2_fpu[NVMX_STATE_FPU_WORDS];
static bool l2_fpu_pending;

/* The message's words @w[0..n) out of / into the registers and the IPC buffer. */
static void words_out(nu_msg_t *msg, const uint64_t *w, unsigned n)
{
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    for (unsigned i = 0; i < n; i++) {
        if (i < NESTOR_MSG_REGISTERS_IN_CPU)
            msg->mr[i] = w[i];
        else
            b->msg[i] = w[i];
    }
}

static void words_in(const nu_msg_t *msg, uint64_t *w, unsigned n)
{
    const nestor_ipc_buffer_t *b = nu_ipc_buffer();
    for (unsigned i = 0; i < n; i++)
        w[i] = i < NESTOR_MSG_REGISTERS_IN_CPU ? msg->mr[i] : b->msg[i];
}

static void fault(nu_msg_t *msg, nestor_word_t error)
{
    *msg = (nu_msg_t){ .info = nestor_msginfo(NVMX_REQ_FAULT, 0, 0, 1), .mr = { error } };
}

static void save(nvmx_monitor_t *m, nu_msg_t *msg)
{
    if (m->l2.running) {
        fault(msg, NVMX_STATE_E_L2_RUNS);
        return;
    }
    /* What L1 wrote into the shadow VMCS since its last VMX instruction
     * goes into vmcs12 (L1's RAM, which the image saves after this), and
     * so does the guest state L2's last exit left in vcpu02 (l2_sync12):
     * the image's vmcs12 is whole, and a restore builds L2 from it. */
    l2_sync12(m);
    shadow12_pull(m);
    static nvmx_state_t st;
    memset(&st, 0, sizeof st);
    st.flags = m->vmx.vmxon ? NVMX_STATE_VMXON : 0;
    st.vmxon_ptr = m->vmx.vmxon ? m->vmx.vmxon_ptr : NVMX_NO_VMCS;
    st.current = m->vmx.vmxon ? m->vmx.current : NVMX_NO_VMCS;
    /* L2's thread waits in its last exit: its FPU state is L2's. */
    if (m->l2.started) {
        if (nu_invoke(m->l2.tcb, NESTOR_TCB_READ_FPU, 0, 0, 0, 0, st.l2_fpu,
                      NVMX_STATE_FPU_WORDS) != NESTOR_OK) {
            fault(msg, NVMX_STATE_E_KERNEL);
            return;
        }
        st.flags |= NVMX_STATE_L2_FPU;
    }
    *msg = (nu_msg_t){ .info = nestor_msginfo(NVMX_REQ_OK, 0, 0, NVMX_STATE_WORDS) };
    words_out(msg, (const uint64_t *)&st, NVMX_STATE_WORDS);
    printf("nested-vmx %s: state saved: %s, VMXON region 0x%lx, current VMCS 0x%lx%s\n",
           m->name, m->vmx.vmxon ? "in VMX operation" : "outside VMX operation",
           (unsigned long)st.vmxon_ptr, (unsigned long)st.current,
           (st.flags & NVMX_STATE_L2_FPU) ? ", L2's FPU state" : "");
}

static void load(nvmx_monitor_t *m, nu_msg_t *msg)
{
    static nvmx_state_t st;
    if (nestor_msginfo_length(msg->info) != NVMX_STATE_WORDS) {
        fault(msg, NVMX_STATE_E_SIZE);
        return;
    }
    /* Only into a nested-vmx L1 has not used yet: what it did since this
     * boot began would be lost, or mixed with the image's. */
    if (m->vmx.vmxon || m->l2.built) {
        fault(msg, NVMX_STATE_E_BUSY);
        return;
    }
    words_in(msg, (uint64_t *)&st, NVMX_STATE_WORDS);
    const nvmx_vcpu_t v = { .vmxon = (st.flags & NVMX_STATE_VMXON) != 0,
                            .vmxon_ptr = st.vmxon_ptr, .current = st.current };
    if ((st.flags & ~(uint64_t)NVMX_STATE_FLAGS) || !nvmx_vcpu_valid(&v, &m->env) ||
        ((st.flags & NVMX_STATE_L2_FPU) && !v.vmxon)) {
        printf("nested-vmx %s: state refused: flags 0x%lx, VMXON region 0x%lx, current VMCS "
               "0x%lx is not what VMXON and VMPTRLD could leave (SDM Vol. 2C)\n", m->name,
               (unsigned long)st.flags, (unsigned long)st.vmxon_ptr, (unsigned long)st.current);
        fault(msg, NVMX_STATE_E_INVALID);
        return;
    }
    m->vmx = v;
    /* Everything of vmcs12 is new to us: the next entry is a full one
     * (l2.c resume_groups: L2 has not started), the entry checks start
     * afresh, and the shadow VMCS mirrors the current vmcs12 again. */
    memset(m->vmx.dirty, 0xFF, sizeof m->vmx.dirty);
    nvmx_enter_forget(m);
    shadow12_follow(m);
    l2_fpu_pending = (st.flags & NVMX_STATE_L2_FPU) != 0;
    memcpy(l2_fpu, st.l2_fpu, sizeof l2_fpu);
    *msg = (nu_msg_t){ .info = nestor_msginfo(NVMX_REQ_OK, 0, 0, 0) };
    printf("nested-vmx %s: state loaded: %s, VMXON region 0x%lx, current VMCS 0x%lx; L2 is "
           "built again at L1's next entry\n", m->name,
           v.vmxon ? "in VMX operation" : "outside VMX operation", (unsigned long)v.vmxon_ptr,
           (unsigned long)v.current);
}

void nvmx_state_request(nvmx_monitor_t *m, nu_msg_t *msg)
{
    switch (nestor_msginfo_label(msg->info)) {
    case NVMX_REQ_STATE_SAVE:
        save(m, msg);
        return;
    case NVMX_REQ_STATE_LOAD:
        load(m, msg);
        return;
    default:
        *msg = (nu_msg_t){ .info = nestor_msginfo(NVMX_REQ_NONE, 0, 0, 0) };
        return;
    }
}

bool nvmx_state_l2_built(nvmx_monitor_t *m)
{
    if (!l2_fpu_pending)
        return true;
    l2_fpu_pending = false;
    /* The kernel sanitises the image (SDM Vol. 1 13.8), as for the VMM's
     * own vCPU (checkpoint/include/ckpt_dev.h CKPT_REQ_FPU_LOAD). */
    if (nu_invoke(m->l2.tcb, NESTOR_TCB_WRITE_FPU, l2_fpu, NVMX_STATE_FPU_WORDS, 0, 0, 0, 0) !=
        NESTOR_OK) {
        printf("nested-vmx %s: the kernel refused L2's FPU state from the image\n", m->name);
        return false;
    }
    return true;
}
