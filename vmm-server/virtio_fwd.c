/*
 * vmm-server/virtio_fwd.c - forwarding a VM's virtio-mmio windows to the
 * device servers that serve them (virtio_fwd.h, devsrv.h).
 *
 * Cost of a guest access to a window: one EPT-violation exit (the window
 * is never mapped in the EPT, so every access exits, SDM Vol. 3C 28.2.3.2),
 * the decode the LAPIC page gets too (mmio.c), and one IPC call to the
 * server, whose reply brings the value and the interrupt line's level. A
 * kick (QueueNotify) is served by the server before it replies.
 *
 * The server is trusted with nothing: it holds only the VM's RAM frames
 * and its own endpoint. Its reply is checked (the label is DS_OK or
 * DS_REFUSED, the value is cut to the access's size, only the defined flag
 * bits count); a failed call or an unknown label marks the device broken:
 * from then on reads give all ones, writes are dropped, the line is low,
 * and the VMM says so once. Every call is bounded (NESTOR_SYS_CALL_BOUNDED,
 * vfwd_timeout_ms): a server that does not answer in time is broken the
 * same way (its Status then reads all ones: DEVICE_NEEDS_RESET and FAILED
 * set, Virtio 1.2 2.1), and the VM runs on.
 *
 * Unless the server was restarted: a call that fails (the server's process
 * deleted by init after its fault, or no answer in time) makes the VMM ask
 * init for the server's new instance (devsrv.h DS_INIT_RECONNECT). If init
 * gives one, the VMM sets it up as at the start, replays the register
 * writes the old one accepted (the shadow, virtio_shadow.h), has it take
 * up its rings from guest memory (DS_REQ_RESUME) and sends the access
 * again: the guest sees a slow access, not a broken device
 * (device-servers/README.md "Restart").
 */
#include "vmm.h"
#include "stacking.h"
#include "../pager/pager_proto.h"
#include <devsrv.h>
#include <nestor/limits.h>
#include <virtio_abi.h>
#include <string.h>
#include <user/print.h>

#define FWD_RIGHTS   (NESTOR_RIGHT_WRITE | NESTOR_RIGHT_GRANT)

unsigned long vfwd_timeout_ms = VFWD_TIMEOUT_MS;
static nu_alloc_t *fwd_alloc;
static nestor_cptr_t fwd_parent;

void vfwd_set_reconnect(nu_alloc_t *a, nestor_cptr_t parent_ep)
{
    fwd_alloc = a;
    fwd_parent = parent_ep;
}

bool vfwd_set_timeout(void)
{
    nestor_word_t ms = vfwd_timeout_ms;
    nestor_error_t e = nu_invoke(NESTOR_CAP_INIT_TCB, NESTOR_TCB_SET_CALL_TIMEOUT, &ms, 1, 0, 0,
                                 0, 0);
    if (e != NESTOR_OK)
        printf("vmm: device server timeout of %lu ms refused (error %u): at most %u\n", ms, e,
               NESTOR_CALL_TIMEOUT_MAX_MS);
    return e == NESTOR_OK;
}

_Static_assert(VMM_MAX_VMS * VM_VIRTIO_MAX <= 32, "a device bit each in VMM_BADGE_DEVICES");
_Static_assert(VMM_MAX_VMS <= VMM_BADGE_VM_MASK, "VM indexes below the device bits");

static nestor_cptr_t mint(nu_alloc_t *a, nestor_cptr_t src, nestor_word_t badge)
{
    nestor_cptr_t slot = a->next_slot++;
    return nu_cnode_mint(a->cnode, slot, 64, a->cnode, src, 64, FWD_RIGHTS, badge) == NESTOR_OK
               ? slot : 0;
}

/* The setup CNode's slots: the signal, the frames, the pager's capability
 * on a paged VM (devsrv.h). */
static nestor_word_t grant_slots(const vm_t *vm)
{
    return DS_GRANT_PAGER(vm->ram_bytes >> VMM_RAM_FRAME_BITS) + (vm->paged_bytes != 0);
}

/* The setup call: a CNode of the device's signal capability and copies of
 * the VM's RAM frames (devsrv.h); on a VM under a pager, a capability to
 * the pager badged for this device (pager/pager_proto.h PAGER_BADGE_DMA:
 * pins of paged pages, nothing else; grant-reply: a pin brings a frame). */
static bool grant_ram(nu_alloc_t *a, vm_t *vm, unsigned n, nestor_cptr_t setup)
{
    vfwd_dev_t *d = &vm->virtio[n];
    const nestor_word_t frames = vm->ram_bytes >> VMM_RAM_FRAME_BITS;
    unsigned radix = 1;
    while ((1ULL << radix) < grant_slots(vm))
        radix++;
    nestor_cptr_t node = nu_alloc_obj(a, NESTOR_OBJ_CNODE, radix);
    d->grants = node;
    d->grants_radix = radix;
    if (!node || nu_cnode_mint(node, DS_GRANT_IRQ, radix, a->cnode, vmm_notification, 64,
                               NESTOR_RIGHT_WRITE, VMM_BADGE_DEVICE(vm->index, n)) != NESTOR_OK)
        return false;
    for (nestor_word_t i = 0; i < frames; i++)
        if (nu_cnode_copy(node, DS_GRANT_RAM + i, radix, a->cnode, vm->ram_frames + i, 64,
                          NESTOR_RIGHTS_ALL))
            return false;
    _Static_assert(VM_VIRTIO_MAX <= PAGER_DMA_SERVERS, "a DMA badge for each device");
    if (vm->paged_bytes &&
        (!vm->pager_ep ||
         nu_cnode_mint(node, DS_GRANT_PAGER(frames), radix, a->cnode, vm->pager_ep, 64,
                       NESTOR_RIGHT_WRITE | NESTOR_RIGHT_GRANT_REPLY, PAGER_BADGE_DMA(n))))
        return false;
    nu_ipc_buffer()->caps_or_badges[0] = node;
    nu_msg_t m = { .info = nestor_msginfo(0, 0, 1, DS_SETUP_MRS) };
    m.mr[DS_SETUP_MR_RADIX] = radix;
    m.mr[DS_SETUP_MR_RAM_BYTES] = vm->ram_bytes;
    m.mr[DS_SETUP_MR_FRAME_BITS] = VMM_RAM_FRAME_BITS;
    m.mr[DS_SETUP_MR_DEVICE] = n;
    nu_ipc_buffer()->msg[DS_SETUP_MR_PAGED_BYTES] = vm->paged_bytes;    /* past the registers */
    return nu_call_bounded(setup, &m) == NESTOR_OK && nestor_msginfo_label(m.info) == DS_OK;
}

/* ---- the doorbell (devsrv.h DS_REQ_DOORBELL; nestor/vcpu.h "Doorbells") ---- */

static void set_line(vfwd_dev_t *d, bool level);

#define VFWD_DOORBELL_WINDOW 0x0000500000200000ULL  /* + ((VM index * VM_VIRTIO_MAX + n) << 12) */
#define DOORBELL_PAGE_BITS   12

/* The kernel's entry of device @d (entry number: the device's), set to the
 * server's endpoint @ep badged DS_BADGE_DOORBELL, or removed (@ep 0). */
static bool set_doorbell(nu_alloc_t *a, vfwd_dev_t *d, nestor_cptr_t ep)
{
    _Static_assert(VM_VIRTIO_MAX <= NESTOR_DOORBELL_MAX, "an entry per device");
    if (!ep) {
        const nestor_word_t off[] = { d->n, 0, 0 };
        d->doorbell = false;
        return nu_invoke(d->vm->vcpu, NESTOR_VCPU_SET_DOORBELL, off, 3, 0, 0, 0, 0) == NESTOR_OK;
    }
    const nestor_cptr_t caps[] = { mint(a, ep, DS_BADGE_DOORBELL), d->db_page };
    const nestor_word_t args[] = { d->n, d->base + DS_DOORBELL_FIRST,
                                   DS_DOORBELL_END - DS_DOORBELL_FIRST, vfwd_timeout_ms };
    d->doorbell = caps[0] && nu_invoke(d->vm->vcpu, NESTOR_VCPU_SET_DOORBELL, args, 4, caps, 2,
                                       0, 0) == NESTOR_OK;
    return d->doorbell;
}

/* Offer server @d (its endpoint @ep, unbadged) the doorbell: the page,
 * made once and kept across its restarts (the kernel writes the state
 * into it, the server the note, the VMM reads the note), a copy of it to
 * the server, then the kernel's entry. A server that refuses it (or an old
 * one that does not know it) gets every access through the VMM as before. */
static void offer_doorbell(nu_alloc_t *a, vfwd_dev_t *d, nestor_cptr_t ep)
{
    vm_t *vm = d->vm;
    if (!d->db_page) {
        nestor_word_t va = VFWD_DOORBELL_WINDOW +
                           (((uint64_t)vm->index * VM_VIRTIO_MAX + d->n) << DOORBELL_PAGE_BITS);
        nestor_cptr_t page;
        if (nu_map_new_page(a, NESTOR_CAP_INIT_VSPACE, va, &page) != NESTOR_OK)
            return;
        d->db_page = page;
        d->db_note = (ds_doorbell_note_t *)(uintptr_t)(va + DS_DOORBELL_NOTE);
    }
    /* What an earlier instance counted stays counted. */
    d->kicks += d->db_note->kicks;
    d->db_resumed += d->db_note->resumed;
    *d->db_note = (ds_doorbell_note_t){ 0 };
    nestor_cptr_t copy = a->next_slot++;
    if (nu_cnode_copy(a->cnode, copy, 64, a->cnode, d->db_page, 64,
                      NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE) != NESTOR_OK)
        return;
    nu_ipc_buffer()->caps_or_badges[0] = copy;
    nu_msg_t m = { .info = nestor_msginfo(DS_REQ_DOORBELL, 0, 1, 0) };
    if (nu_call_bounded(d->ep, &m) != NESTOR_OK || nestor_msginfo_label(m.info) != DS_OK ||
        !set_doorbell(a, d, ep)) {
        nu_cnode_revoke(a->cnode, copy, 64);
        nu_cnode_delete(a->cnode, copy, 64);
        return;
    }
    d->db_grant = copy;
    printf("vmm: vm %s: device server %s takes the doorbell of device %u (0x%lx-0x%lx: "
           "exits routed by the kernel)\n", vm->name, d->server, d->n,
           d->base + DS_DOORBELL_FIRST, d->base + DS_DOORBELL_END - 1);
}

bool vfwd_doorbell_note(vfwd_dev_t *d)
{
    if (!d->db_note->served)
        return false;
    d->db_note->served = 0;
    d->db_served++;
    d->accesses++;
    if (!d->broken)
        set_line(d, d->db_note->level & DS_REPLY_IRQ_LEVEL);
    return true;
}

bool vfwd_attach(nu_alloc_t *a, vm_t *vm, unsigned n, const char *server, nestor_cptr_t ep)
{
    if (n >= VM_VIRTIO_MAX || n != vm->n_virtio)
        return false;
    vfwd_dev_t *d = &vm->virtio[n];
    *d = (vfwd_dev_t){ .vm = vm, .n = n, .base = vm_virtio_base(n), .irq = vm_virtio_irq(n) };
    strncpy(d->server, server, sizeof d->server - 1);
    nestor_cptr_t setup = mint(a, ep, DS_BADGE_SETUP);
    if (!setup || !(d->ep = mint(a, ep, DS_BADGE_MMIO)) || !grant_ram(a, vm, n, setup)) {
        printf("vmm: vm %s: device server %s refused its setup (or it could not be made)\n",
               vm->name, server);
        return false;
    }
    vm->n_virtio++;
    offer_doorbell(a, d, ep);
    return true;
}

bool vfwd_may_signal(const vm_t *vm)
{
    for (unsigned n = 0; n < vm->n_virtio; n++)
        if (!vm->virtio[n].broken)
            return true;
    return false;
}

vfwd_dev_t *vfwd_find(vm_t *vm, uint64_t gpa)
{
    /* The windows are consecutive pages from VM_VIRTIO_MMIO_BASE. */
    if (gpa < VM_VIRTIO_MMIO_BASE)
        return NULL;
    uint64_t n = (gpa - VM_VIRTIO_MMIO_BASE) / VM_VIRTIO_MMIO_STRIDE;
    return n < vm->n_virtio ? &vm->virtio[n] : NULL;
}

/* The device's line to the VM's PIC and I/O APIC (level-triggered, as
 * InterruptStatus is: Virtio 1.2 4.2.3.4; the 8259 latches the rising
 * edge, the I/O APIC entry the DSDT describes is level-triggered). */
static void set_line(vfwd_dev_t *d, bool level)
{
    if (level && !d->level)
        d->raised++;
    d->level = level;
    irq_line(d->vm, d->irq, level);
    d->vm->irq_quiet = false;
}

/* The server failed: its device is dead to the VM from now on, and so are
 * its signals: the capability it copied out of the setup CNode is revoked
 * (with the slot's own), so a hostile server cannot keep waking the VMM. */
static void mark_broken(vfwd_dev_t *d)
{
    d->broken = true;
    set_line(d, false);
    if (d->doorbell)
        set_doorbell(0, d, 0);          /* its accesses come here: all ones */
    if (d->grants) {
        nu_cnode_revoke(d->grants, DS_GRANT_IRQ, d->grants_radix);
        nu_cnode_delete(d->grants, DS_GRANT_IRQ, d->grants_radix);
    }
}

/* ---- a restarted server ---- */

/* The old instance's grants go, and with them every copy it made of the
 * VM's frames and of the signal capability (wherever they are). */
static void forget_grants(vfwd_dev_t *d)
{
    if (!d->grants)
        return;
    nestor_word_t slots = grant_slots(d->vm);
    for (nestor_word_t i = 0; i < slots; i++)
        nu_cnode_revoke(d->grants, i, d->grants_radix);
    nu_cnode_revoke(fwd_alloc->cnode, d->grants, 64);
    nu_cnode_delete(fwd_alloc->cnode, d->grants, 64);
    d->grants = 0;
    if (d->db_grant) {
        nu_cnode_revoke(fwd_alloc->cnode, d->db_grant, 64);
        nu_cnode_delete(fwd_alloc->cnode, d->db_grant, 64);
        d->db_grant = 0;
    }
    if (d->doorbell)
        set_doorbell(0, d, 0);
}

/* A write or a resume to the server; true if it answered DS_OK. */
static bool restore_call(vfwd_dev_t *d, nestor_word_t label, nestor_word_t mr0, unsigned n_mrs,
                         nestor_word_t value, nu_msg_t *m)
{
    *m = (nu_msg_t){ .info = nestor_msginfo(label, 0, 0, n_mrs),
                     .mr = { mr0, VIRTIO_MMIO_REG_SIZE, value } };
    return nu_call_bounded(d->ep, m) == NESTOR_OK && nestor_msginfo_label(m->info) == DS_OK;
}

/* Ask init for server @d's new instance and bring it to the device's
 * state (devsrv.h); false (said) if init has none or it refuses. @resend:
 * a failed access is sent again after it (else init's signal brought us
 * here, vfwd_restarted). */
static __attribute__((noinline, cold)) bool reconnect(vfwd_dev_t *d, bool resend)
{
    if (!fwd_parent || !fwd_alloc)
        return false;
    nu_alloc_t *a = fwd_alloc;
    nestor_cptr_t ep = a->next_slot++;
    nu_msg_t m = { .info = nestor_msginfo(DS_INIT_RECONNECT, 0, 0, DS_RECONNECT_VM_MRS),
                   .mr = { d->instance } };
    /* The name in MRs 1..DS_NAME_MRS, the VM after it: the first in
     * registers, the rest in the IPC buffer. */
    nestor_word_t words[DS_NAME_MRS] = { 0 };
    _Static_assert(sizeof d->server <= sizeof words, "the name fits its MRs");
    memcpy(words, d->server, sizeof d->server);
    for (unsigned i = 0; i < DS_NAME_MRS; i++)
        *(1 + i < NESTOR_MSG_REGISTERS_IN_CPU ? &m.mr[1 + i] : &nu_ipc_buffer()->msg[1 + i]) =
            words[i];
    _Static_assert(DS_RECONNECT_MR_VM >= NESTOR_MSG_REGISTERS_IN_CPU, "the VM's MR in the buffer");
    nu_ipc_buffer()->msg[DS_RECONNECT_MR_VM] = d->cfg_vm;
    nu_receive_cap_into(ep);
    nestor_word_t st = nu_call_bounded(fwd_parent, &m);
    nu_ipc_buffer()->receive_cnode = 0;     /* no other message brings the VMM a capability */
    if (st != NESTOR_OK || nestor_msginfo_label(m.info) != DS_OK ||
        nestor_msginfo_extra_caps(m.info) != 1 || m.mr[0] <= d->instance)
        return false;                       /* not restarted: broken as before */
    uint64_t instance = m.mr[0];
    forget_grants(d);
    nestor_cptr_t setup = mint(a, ep, DS_BADGE_SETUP);
    virtio_shadow_op_t ops[VIRTIO_SHADOW_OPS_MAX];
    unsigned n_ops = virtio_shadow_replay(&d->shadow, ops), done = 0;
    d->instance = instance;
    bool ok = setup && (d->ep = mint(a, ep, DS_BADGE_MMIO)) && grant_ram(a, d->vm, d->n, setup);
    while (ok && done < n_ops && restore_call(d, DS_REQ_WRITE, ops[done].offset, DS_REQ_MRS,
                                              ops[done].value, &m))
        done++;
    ok = ok && done == n_ops &&
         restore_call(d, DS_REQ_RESUME, d->level ? DS_RESUME_IRQ : 0, DS_RESUME_MRS, 0, &m);
    if (!ok) {
        printf("vmm: vm %s: device server %s's restart %lu refused its device's state (%u of "
               "%u register writes replayed)\n", d->vm->name, d->server, instance, done, n_ops);
        return false;
    }
    d->reconnects++;
    set_line(d, m.mr[1] & DS_REPLY_IRQ_LEVEL);
    offer_doorbell(a, d, ep);
    printf("vmm: vm %s: device server %s restarted by init (restart %lu): device %u "
           "reconnected, %u register writes replayed, its queues resumed with %lu chains "
           "available; %s\n", d->vm->name, d->server, instance, d->n, n_ops, m.mr[0],
           resend ? "the access is sent again" : "init said so");
    return true;
}

void vfwd_watch_restarts(const vm_t *vms, unsigned n_vms)
{
    unsigned devices = 0;
    for (unsigned i = 0; i < n_vms; i++)
        devices += vms[i].n_virtio;
    if (!fwd_parent || !fwd_alloc || !devices)
        return;
    nestor_cptr_t cap = fwd_alloc->next_slot++;
    if (nu_cnode_mint(fwd_alloc->cnode, cap, 64, fwd_alloc->cnode, vmm_notification, 64,
                      NESTOR_RIGHT_WRITE, VMM_BADGE_RESTART) != NESTOR_OK)
        cap = 0;
    nu_msg_t m = { .info = nestor_msginfo(DS_INIT_WATCH, 0, 1, 0) };
    nu_ipc_buffer()->caps_or_badges[0] = cap;
    /* Unbounded: init is our parent, and answers once its stack is up. */
    if (!cap || nu_call(fwd_parent, &m) != NESTOR_OK || nestor_msginfo_label(m.info) != DS_OK)
        printf("vmm: init will not tell us of device servers' restarts: each device "
               "reconnects at its next access\n");
}

bool vfwd_restarted(vm_t *vm)
{
    bool raised = false;
    for (unsigned n = 0; n < vm->n_virtio; n++) {
        vfwd_dev_t *d = &vm->virtio[n];
        bool was = d->level;
        if (!d->broken && vm->status == VM_RUNNING && reconnect(d, false))
            raised |= !was && d->level;
    }
    return raised;
}

/* One forwarded access; false only when the server is broken. */
static bool forward(vfwd_dev_t *d, bool write, uint64_t gpa, unsigned size, uint64_t *value)
{
    if (d->broken)
        return false;
    nu_msg_t m = { .info = nestor_msginfo(write ? DS_REQ_WRITE : DS_REQ_READ, 0, 0, DS_REQ_MRS),
                   .mr = { gpa - d->base, size, write ? *value : 0 } };
    nestor_word_t st = nu_call_bounded(d->ep, &m);
    /* A server that is gone is asked once more, at its new instance. */
    if (__builtin_expect(st != NESTOR_OK, 0) && reconnect(d, true)) {
        m = (nu_msg_t){ .info = nestor_msginfo(write ? DS_REQ_WRITE : DS_REQ_READ, 0, 0,
                                               DS_REQ_MRS),
                        .mr = { gpa - d->base, size, write ? *value : 0 } };
        st = nu_call_bounded(d->ep, &m);
    }
    nestor_word_t label = nestor_msginfo_label(m.info);
    d->accesses++;
    if (st != NESTOR_OK || (label != DS_OK && label != DS_REFUSED)) {
        mark_broken(d);
        if (st == NESTOR_ERR_TIMED_OUT)
            printf("vmm: vm %s: device server %s did not answer within %lu ms: its device %u "
                   "needs a reset and reads all ones from now on\n", d->vm->name, d->server,
                   vfwd_timeout_ms, d->n);
        else
            printf("vmm: vm %s: device server %s %s (call status %lu, label 0x%lx): its device "
                   "%u reads all ones from now on\n", d->vm->name, d->server,
                   st != NESTOR_OK ? "cannot be called" : "answered garbage", st, label, d->n);
        return false;
    }
    d->refused += label == DS_REFUSED;
    if (write && gpa - d->base == VIRTIO_MMIO_QUEUE_NOTIFY)
        d->kicks++;
    /* What the server accepted of the driver's setup (a restart replays
     * it); a kick holds no state and is the hot path: not looked at. */
    else if (write && label == DS_OK && virtio_shadow_keeps(gpa - d->base, size))
        virtio_shadow_write(&d->shadow, (uint32_t)(gpa - d->base), (uint32_t)*value);
    if (!write)
        *value = label == DS_OK ? m.mr[0] & (size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1) : 0;
    set_line(d, m.mr[1] & DS_REPLY_IRQ_LEVEL);
    return true;
}

bool vfwd_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *value)
{
    if (!forward(ctx, false, gpa, size, value))
        *value = size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;     /* no device answers */
    return true;
}

bool vfwd_write(void *ctx, uint64_t gpa, unsigned size, uint64_t value)
{
    forward(ctx, true, gpa, size, &value);
    return true;
}

/* ---- checkpoints (devsrv.h DS_REQ_SAVE/LOAD, dev_state.h) ---- */

bool vfwd_save(vm_t *vm, unsigned n, dev_virtio_state_t *st)
{
    vfwd_dev_t *d = &vm->virtio[n];
    nu_msg_t m = { .info = nestor_msginfo(DS_REQ_SAVE, 0, 0, 0) };
    nestor_word_t w[DS_STATE_WORDS];
    memset(st, 0, sizeof *st);
    if (d->broken || nu_call_bounded(d->ep, &m) != NESTOR_OK ||
        nestor_msginfo_label(m.info) != DS_OK ||
        nestor_msginfo_length(m.info) != DS_STATE_WORDS) {
        printf("vmm: vm %s: device server %s %s its device %u's state: no checkpoint\n",
               vm->name, d->server, d->broken ? "is broken: it cannot export"
                                              : "did not export", n);
        return false;
    }
    const nestor_ipc_buffer_t *b = nu_ipc_buffer();
    for (unsigned i = 0; i < DS_STATE_WORDS; i++)
        w[i] = i < NESTOR_MSG_REGISTERS_IN_CPU ? m.mr[i] : b->msg[i];
    memcpy(&st->server, w, sizeof st->server);
    /* Virtio 1.2 4.2.3.4: the line is up while InterruptStatus is not 0.
     * A server that raised it between accesses (input) signals us
     * (devsrv.h DS_GRANT_IRQ); a signal not taken yet raises it here, as
     * it will (vfwd_signalled), so that the record says the device's level. */
    if (st->server.interrupt_status && !d->level)
        set_line(d, true);
    st->shadow = d->shadow;
    st->level = d->level;
    return true;
}

unsigned vfwd_load(vm_t *vm, unsigned n, const dev_virtio_state_t *st)
{
    vfwd_dev_t *d = &vm->virtio[n];
    virtio_shadow_op_t ops[VIRTIO_SHADOW_OPS_MAX];
    unsigned n_ops = virtio_shadow_replay(&st->shadow, ops), done = 0;
    nu_msg_t m;
    /* 2.4.1: a reset device first, then the driver's writes as a restart
     * replays them, each checked by the server's register file. */
    bool ok = !d->broken && restore_call(d, DS_REQ_WRITE, VIRTIO_MMIO_STATUS, DS_REQ_MRS, 0, &m);
    while (ok && done < n_ops && restore_call(d, DS_REQ_WRITE, ops[done].offset, DS_REQ_MRS,
                                              ops[done].value, &m))
        done++;
    nestor_word_t why = 0;
    if (ok && done == n_ops) {
        nestor_word_t w[DS_STATE_WORDS] = { 0 };
        nestor_ipc_buffer_t *b = nu_ipc_buffer();
        memcpy(w, &st->server, sizeof st->server);
        m = (nu_msg_t){ .info = nestor_msginfo(DS_REQ_LOAD, 0, 0, DS_STATE_WORDS) };
        for (unsigned i = 0; i < DS_STATE_WORDS; i++)
            *(i < NESTOR_MSG_REGISTERS_IN_CPU ? &m.mr[i] : &b->msg[i]) = w[i];
        nestor_word_t call = nu_call_bounded(d->ep, &m), label = nestor_msginfo_label(m.info);
        ok = call == NESTOR_OK && label == DS_OK;
        why = call == NESTOR_OK && label == DS_REFUSED ? m.mr[0] : 0;
    } else {
        ok = false;
    }
    if (!ok) {
        printf("vmm: vm %s: device server %s refused device %u's state from the image (%u of %u "
               "register writes replayed, state error %lu)\n", vm->name, d->server, n, done,
               n_ops, why);
        restore_call(d, DS_REQ_WRITE, VIRTIO_MMIO_STATUS, DS_REQ_MRS, 0, &m);
        d->shadow = (virtio_shadow_t){ 0 };
        return CKPT_DEV_E_SERVER;
    }
    d->shadow = st->shadow;
    set_line(d, m.mr[1] & DS_REPLY_IRQ_LEVEL);
    printf("vmm: vm %s: device %u (%s) restored: %u register writes replayed, the server took "
           "its state\n", vm->name, n, d->server, n_ops);
    return 0;
}

bool vfwd_signalled(vm_t *vm, uint64_t badge)
{
    bool raised = false;
    for (unsigned n = 0; n < vm->n_virtio; n++) {
        vfwd_dev_t *d = &vm->virtio[n];
        if (!(badge & VMM_BADGE_DEVICE(vm->index, n)))
            continue;
        d->signals++;
        if (d->broken || vm->status != VM_RUNNING)
            continue;
        raised |= !d->level;
        set_line(d, true);
    }
    return raised;
}

void vfwd_report(const vm_t *vm)
{
    for (unsigned n = 0; n < vm->n_virtio; n++) {
        const vfwd_dev_t *d = &vm->virtio[n];
        /* (kicks: those the server served at its doorbell too) */
        printf("vmm: vm %s virtio %u (%s): %lu accesses forwarded, %lu kicks, %lu refused, %lu "
               "interrupts raised%s\n", vm->name, n, d->server, d->accesses,
               d->kicks + (d->db_grant ? d->db_note->kicks : 0), d->refused, d->raised,
               d->broken ? ", server broken" : "");
        if (d->reconnects)
            printf("vmm: vm %s virtio %u (%s): reconnected %lu times (to restart %lu)\n", vm->name,
                   n, d->server, d->reconnects, d->instance);
        if (d->signals)
            printf("vmm: vm %s virtio %u (%s): %lu signals between accesses\n", vm->name, n,
                   d->server, d->signals);
        if (d->db_grant)                /* its server took the doorbell */
            printf("vmm: vm %s virtio %u (%s): doorbell: %lu exits answered by the server, %lu "
                   "served and passed on for the line\n", vm->name, n, d->server,
                   d->db_resumed + d->db_note->resumed, d->db_served);
    }
}
