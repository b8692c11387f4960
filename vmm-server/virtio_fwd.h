/*
 * vmm-server/virtio_fwd.h - a VM's virtio devices served by device servers
 * (device-servers/): the VMM hands each server the VM's RAM, forwards the
 * guest's accesses to the device's MMIO window to it by IPC and sets the
 * device's PIC line to the level the server's reply says
 * (device-servers/include/devsrv.h; windows and lines: vm_layout.h).
 */
#ifndef VMM_VIRTIO_FWD_H
#define VMM_VIRTIO_FWD_H
#include <stdbool.h>
#include <stdint.h>
#include <user/space.h>
#include <virtio_shadow.h>
#include "dev_state.h"
#include <devsrv.h>
#include <vm_layout.h>

struct vm;

/*
 * Server-initiated interrupts: each device's server holds a capability to
 * the VMM's bound notification (the one the host tick signals) badged with
 * one bit of its own, VMM_BADGE_DEVICE(VM index, device number), bits 8-39
 * of the word (below TICK_BADGE and VMM_BADGE_MONITOR, above the VM index
 * VMM_BADGE_VM_MASK leaves to exits). A signal says "my line is asserted"
 * (devsrv.h DS_GRANT_IRQ); signals coalesce in the word, so the VMM learns
 * every device that signalled whatever their order.
 */
#define VMM_BADGE_DEVICE_SHIFT 8
#define VMM_BADGE_DEVICE(vm_index, n) \
    (1ULL << (VMM_BADGE_DEVICE_SHIFT + (vm_index) * VM_VIRTIO_MAX + (n)))
#define VMM_BADGE_DEVICES      (((1ULL << 32) - 1) << VMM_BADGE_DEVICE_SHIFT)
/* Init's signal: it restarted a server of one of our VMs (devsrv.h
 * DS_INIT_WATCH; above TICK_BADGE, VMM_BADGE_MONITOR and the host
 * console's bit, main.c). */
#define VMM_BADGE_RESTART      (1ULL << 43)

typedef struct {
    struct vm *vm;
    unsigned n;                     /* its number in the VM's 'virtio' */
    uint64_t base;                  /* its window, vm_virtio_base(n) */
    unsigned irq;                   /* its PIC line, vm_virtio_irq(n) */
    char server[32];
    nestor_cptr_t ep;               /* the server's endpoint, badged DS_BADGE_MMIO */
    nestor_cptr_t grants;           /* the setup CNode (its DS_GRANT_IRQ: the signal cap) */
    unsigned grants_radix;
    bool level;                     /* the line's level, as the last reply said */
    bool broken;                    /* the server failed a call or answered garbage */
    /* What the driver set and the server accepted: replayed into a
     * restarted server (virtio_shadow.h, devsrv.h DS_REQ_RESUME). */
    virtio_shadow_t shadow;
    uint64_t instance;              /* the server's restarts, as init last said (0: none) */
    unsigned cfg_vm;                /* its VM's index in the stack config (DS_RECONNECT_MR_VM) */
    uint64_t accesses, kicks, raised, refused, signals, reconnects;
    /* The doorbell (devsrv.h DS_REQ_DOORBELL): its page (made once, mapped
     * here: the kernel writes the state, the server the note), the copy the
     * server holds (revoked at its restart), and whether the kernel's entry
     * is set; the server's accesses it passed on served. */
    nestor_cptr_t db_page, db_grant;
    struct ds_doorbell_note *db_note;
    bool doorbell;
    uint64_t db_served;
    uint64_t db_resumed;            /* the note's exits of the server's earlier instances */
} vfwd_dev_t;

/*
 * How long the VMM waits for a device server's answer (its setup call and
 * each access), in milliseconds: the VMM's thread calls with
 * NESTOR_SYS_CALL_BOUNDED, so a server that never answers (hostile, dead,
 * suspended after a fault) costs its VM that device, not the VMM. Option
 * vmm.devsrv_timeout_ms=N; default VFWD_TIMEOUT_MS.
 */
#define VFWD_TIMEOUT_MS 1000u
extern unsigned long vfwd_timeout_ms;
/* Set the VMM thread's call timeout to vfwd_timeout_ms (said and false if
 * the kernel refuses it). */
bool vfwd_set_timeout(void);

/* Where to ask for a restarted server's new instance: init's endpoint
 * (@parent_ep, the boot info's; 0: no init, no reconnection), and the
 * allocator the new capabilities and setup CNode come from. */
void vfwd_set_reconnect(nu_alloc_t *a, nestor_cptr_t parent_ep);

/* Give server @server (its endpoint @ep, as init granted it) the VM's RAM
 * and make it device @n of @vm. False (said) if it cannot be done or the
 * server refuses. */
bool vfwd_attach(nu_alloc_t *a, struct vm *vm, unsigned n, const char *server, nestor_cptr_t ep);

/* The device whose window holds @gpa, or NULL. */
vfwd_dev_t *vfwd_find(struct vm *vm, uint64_t gpa);

/* Accesses as the instruction emulator makes them (x86_emulate.h), @ctx a
 * vfwd_dev_t: forwarded to the server; the reply sets the device's line. */
bool vfwd_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *value);
bool vfwd_write(void *ctx, uint64_t gpa, unsigned size, uint64_t value);

/* A doorbell exit at @gpa of @d's window that its server served and passed
 * on because the device's line moved (devsrv.h): set the line as its note
 * says and true (the VMM resumes the guest: the server advanced it);
 * false: the VMM serves the access as any other. */
bool vfwd_doorbell_note(vfwd_dev_t *d);
static inline bool vfwd_doorbell_served(vfwd_dev_t *d, uint64_t gpa)
{
    /* Inline: every access to a window asks; only the doorbell's go on. */
    return d->doorbell && gpa - d->base - DS_DOORBELL_FIRST < DS_DOORBELL_END - DS_DOORBELL_FIRST &&
           vfwd_doorbell_note(d);
}

/* The notification word @badge (VMM_BADGE_DEVICES bits) from the VMM's
 * bound notification: raise the line of each of @vm's devices whose bit is
 * set (a broken device's stays low). True if a line of @vm went up. */
bool vfwd_signalled(struct vm *vm, uint64_t badge);

/* Whether a device server of @vm may still raise its line between the
 * guest's accesses (a device not broken: its signal capability stands), so
 * a guest halted with interrupts on waits for it (a network frame from
 * another VM, input) rather than being stopped as stuck. */
bool vfwd_may_signal(const struct vm *vm);

/* A checkpoint of device @n of @vm (dev_state.h dev_virtio_state_t,
 * device-servers/README.md "Checkpoints"): its server quiesces and
 * exports (devsrv.h DS_REQ_SAVE), with the VMM's shadow and line level,
 * into *@st. False (said) if the device is broken or its server cannot. */
bool vfwd_save(struct vm *vm, unsigned n, dev_virtio_state_t *st);
/* A restore: device @n (its server fresh, the VM not run yet) reset,
 * brought to @st's negotiated state by replaying its shadow, then given
 * the server's part (DS_REQ_LOAD). 0, or CKPT_DEV_E_SERVER (said; the
 * device is reset again). */
unsigned vfwd_load(struct vm *vm, unsigned n, const dev_virtio_state_t *st);

/* Ask init to signal VMM_BADGE_RESTART on the VMM's notification when it
 * restarts a server of one of our VMs (devsrv.h DS_INIT_WATCH): only with
 * an init and a device server; said if init refuses. */
void vfwd_watch_restarts(const struct vm *vms, unsigned n_vms);

/* Init said a server restarted: each of @vm's devices not broken asks for
 * its server's new instance (refused for those not restarted) and, given
 * one, is brought back as at a failed access, without an access to send
 * again. True if a line of @vm went up. */
bool vfwd_restarted(struct vm *vm);

/* What each device saw, one line each (at the VM's end). */
void vfwd_report(const struct vm *vm);

#endif
