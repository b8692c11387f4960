/*
 * device-servers/console/main.c - the virtio-console device server
 * ("nestor,virtio-console"): one virtio-mmio console device (Virtio 1.2
 * 5.3, device id 3) of one VM, in a process of its own. Init starts it
 * with its budget and the endpoint it serves on; the VMM of its VM hands it
 * the VM's RAM (DS_BADGE_SETUP) and then forwards every guest access to
 * the device's window (DS_BADGE_MMIO); see devsrv.h.
 *
 * The device: the single-port console of 5.3 without VIRTIO_CONSOLE_F_SIZE,
 * _MULTIPORT or _EMERG_WRITE (so its configuration space has no field a
 * driver may use, 5.3.4), queue 0 receiveq0 and queue 1 transmitq0 (5.3.2).
 * Transmitted bytes go to the host console as lines "[VM] text", as the
 * VMM prints the VM's UART (vmm-server/uart.c); the receive queue is
 * filled with the host input the node's options give
 * ("console.input=TEXT": TEXT and a newline), after the reply to the
 * driver's kick, the interrupt then raised by a signal to the VMM
 * (devsrv.h DS_GRANT_IRQ). The driver is hostile: the register file
 * and the rings are checked by virtio/ (virtio_mmio.h, virtq.h); a broken
 * ring puts the device in DEVICE_NEEDS_RESET (2.1.2), which we log, and we
 * go on serving the driver's reset.
 */
#include "console.h"
#include <devsrv.h>
#include <ds_access.h>
#include <ds_paged.h>
#include <ds_doorbell_ipc.h>
#include <ds_state_ipc.h>
#include <nestor/vcpu.h>
#include <ds_setup.h>
#include <fmt.h>
#include <stdlib.h>
#include <string.h>
#include <user/print.h>
#include <user/runtime.h>
#include <user/space.h>
#include <virtio_abi.h>
#include <vm_layout.h>

#define CON_RAM_VA     0x0000300000000000ULL  /* the VM's RAM, guest-physical 0 here */
#define CON_DOORBELL_VA 0x0000200000200000ULL /* the doorbell's page (devsrv.h DS_REQ_DOORBELL) */

static con_t con;
static nestor_cptr_t untypeds[NESTOR_BOOTINFO_MAX_UNTYPED];
static nu_alloc_t alloc;
static nestor_cptr_t signal_cap;        /* "my line went up" to the VMM (DS_GRANT_IRQ) */
static ds_paged_t paged;                /* the VM's RAM a pager owns (ds_paged.h) */
static char paged_who[2 * CON_NAME_MAX + 24];

#define INPUT_OPT      "console.input="
static char input[CON_INPUT_MAX];

/* Map the RAM frames the setup call granted (the CNode in @node; ds_setup.h
 * checks every number). */
static bool take_ram(nestor_cptr_t node, const nu_msg_t *m)
{
    const uint64_t paged_bytes = ds_setup_paged_bytes(m);
    con.ram_bytes = ds_map_ram(&alloc, node, m, CON_RAM_VA);
    fmt_snprintf(paged_who, sizeof paged_who, "virtio-console %s: vm %s", con.name, con.vm);
    if (!con.ram_bytes || !ds_paged_setup(&paged, &alloc, node, m, paged_bytes, CON_RAM_VA,
                                          paged_who, &con.window[1]))
        return false;
    con.device = (unsigned)m->mr[DS_SETUP_MR_DEVICE];
    con.mmio = vm_virtio_base(con.device);
    con.irq = vm_virtio_irq(con.device);
    signal_cap = ds_signal_cap(&alloc, node, m);
    return true;
}

/* Wait for the VMM's setup call; answer anything else with a refusal. */
static bool setup(nestor_cptr_t ep)
{
    nestor_cptr_t node = alloc.next_slot++;
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    nu_receive_cap_into(node);
    nu_msg_t m = { 0 };
    while (nu_recv(ep, &m) != NESTOR_OK || m.badge != DS_BADGE_SETUP) {
        printf("virtio-console %s: a message before its setup (badge 0x%lx): refused\n",
               con.name, m.badge);
        m = (nu_msg_t){ .info = nestor_msginfo(DS_REFUSED, 0, 0, 0) };
        nu_reply(&m);
    }
    b->receive_cnode = 0;
    bool ok = take_ram(node, &m) && con_init(&con, (uint8_t *)(uintptr_t)CON_RAM_VA);
    if (!ok)
        printf("virtio-console %s: the VM handed over is not usable (caps %u, %lu bytes of RAM, "
               "frames of 2^%lu)\n", con.name, nestor_msginfo_extra_caps(m.info),
               m.mr[DS_SETUP_MR_RAM_BYTES], m.mr[DS_SETUP_MR_FRAME_BITS]);
    else
        printf("virtio-console %s: serving vm %s's virtio device %u (MMIO 0x%lx, IRQ %u, %lu MiB "
               "of RAM mapped)\n", con.name, con.vm, con.device, con.mmio, con.irq,
               con.ram_bytes >> 20);
    m = (nu_msg_t){ .info = nestor_msginfo(ok ? DS_OK : DS_REFUSED, 0, 0, 0) };
    nu_reply(&m);
    return ok;
}

/*
 * Fault injection, for the tests of the VMM's defences: with
 * "console.fault=garbage:N" on the command line (the node's 'options'),
 * every reply after the first N accesses is garbage: a label the protocol
 * does not have and all-ones MRs, each followed by a signal (which the VMM,
 * having broken the device, must refuse); with "console.fault=silent:N", the
 * server takes access N + 1 and never answers it (nor anything after).
 * 0: off.
 */
#define FAULT_OPT        "console.fault=garbage:"
#define SILENT_OPT       "console.fault=silent:"
#define GARBAGE_LABEL    0xBAD
static unsigned long garbage_after, silent_after, garbage_signalled;
/* "console.fault=bell-silent": the server takes the doorbell and never
 * answers its exits (it receives the next message instead, which drops
 * the exit's reply right), while it serves the VMM's calls: the kernel's
 * timeout must hand each such exit to the VMM (devsrv.h "doorbell"). */
#define BELL_SILENT_OPT  "console.fault=bell-silent"
static bool bell_silent;
static unsigned long bells_ignored;
/* "console.fault=die:N": the server crashes (a page fault init sees) when
 * the Nth kick reaches it, at its doorbell or through the VMM, before
 * serving it: init restarts it, the VMM reconnects and sends the kick
 * again (a restart test; a restarted instance, restart=K on its command
 * line, does not crash). */
#define DIE_OPT          "console.fault=die:"
#define RESTART_OPT      "restart="
#define CRASH_ADDR       0x10ULL     /* below every mapping (user.ld links at 4 MiB) */
static unsigned long die_at, kicks_seen;
/* "console.fault=nosave": DS_REQ_SAVE refused, as by a server that cannot
 * export its device's state (the checkpoint monitor then writes no image
 * and the VM goes on: system/checkpoint-nosave). */
#define NOSAVE_OPT       "console.fault=nosave"
static bool no_save;

static bool access_or_die(con_t *c, bool write, uint64_t offset, uint64_t size, uint32_t *value,
                          uint32_t wvalue)
{
    if (die_at && write && offset == VIRTIO_MMIO_QUEUE_NOTIFY && ++kicks_seen == die_at) {
        printf("virtio-console %s: console.fault=die:%lu: crashing at kick %lu\n", c->name,
               die_at, kicks_seen);
        volatile uint32_t *volatile where = (volatile uint32_t *)CRASH_ADDR;
        *where = 0;
    }
    return con_access(c, write, offset, size, value, wvalue);
}

/* The doorbell (ds_doorbell.h): the kick and the interrupt registers as
 * the kernel's exit messages, served here. */
static ds_doorbell_t doorbell;

static bool access_or_die(con_t *c, bool write, uint64_t offset, uint64_t size, uint32_t *value,
                          uint32_t wvalue);

static bool db_access(void *dev, bool write, uint64_t offset, unsigned size, uint32_t *value)
{
    return access_or_die(dev, write, offset, size, value, *value);
}

static bool db_line(void *dev)
{
    return con_irq(dev);
}

/* A checkpoint (devsrv.h DS_REQ_SAVE/LOAD, console.h con_state_t): the
 * reply. Nothing is ever in flight here (every chain taken is used before
 * the reply that follows it). */
static nu_msg_t checkpoint(nestor_word_t label, const nu_msg_t *m)
{
    ds_state_t st;
    if (label == DS_REQ_SAVE && no_save) {
        printf("virtio-console %s: %s: device state not exported\n", con.name, NOSAVE_OPT);
        return (nu_msg_t){ .info = nestor_msginfo(DS_REFUSED, 0, 0, 0) };
    }
    if (label == DS_REQ_SAVE)
        return con_save(&con, &st) ? ds_state_reply(&st)
                                   : (nu_msg_t){ .info = nestor_msginfo(DS_REFUSED, 0, 0, 0) };
    unsigned e = ds_state_receive(m, &st) ? con_load(&con, &st) : DS_STATE_E_VERSION;
    if (e)
        return (nu_msg_t){ .info = nestor_msginfo(DS_REFUSED, 0, 0, 1), .mr = { e } };
    return (nu_msg_t){ .info = nestor_msginfo(DS_OK, 0, 0, DS_REPLY_MRS),
                       .mr = { 0, con_irq(&con) ? DS_REPLY_IRQ_LEVEL : 0 } };
}

/* Serve the VMM's forwarded accesses and the doorbell's exits, for ever. */
static void serve(nestor_cptr_t ep)
{
    nu_msg_t m = { 0 };
    nestor_cptr_t db_slot = alloc.next_slot++;  /* the doorbell's page, when offered */
    nu_receive_cap_into(db_slot);
    nestor_word_t st = nu_recv(ep, &m);
    for (;;) {
        nestor_word_t label = nestor_msginfo_label(m.info);
        uint32_t value = 0;
        bool ok = false;
        bool bell = st == NESTOR_OK && ds_doorbell_message(&m);
        /* After a checkpoint's save or load the device holds: no input is
         * given until the VM's next access (devsrv.h DS_REQ_SAVE), so the
         * image's RAM and the device agree, and a restored run gives it
         * where the uninterrupted run does, after that access's reply. */
        bool hold = false;
        if (bell && bell_silent) {
            if (!bells_ignored++)
                printf("virtio-console %s: a doorbell exit left unanswered\n", con.name);
            st = nu_recv(ep, &m);
            continue;
        }
        if (bell && garbage_after && con.accesses >= garbage_after) {
            /* The faults test the VMM's defences: the access goes there. */
            m = (nu_msg_t){ .info = nestor_msginfo(NESTOR_EXIT_REPLY_PASS_ON, 0, 0, 1) };
        } else if (bell) {
            m = ds_doorbell_answer(&doorbell, &m);
        } else {
            if (st == NESTOR_OK && m.badge == DS_BADGE_MMIO &&
                (label == DS_REQ_READ || label == DS_REQ_WRITE))
                ok = access_or_die(&con, label == DS_REQ_WRITE, m.mr[0], m.mr[1], &value,
                                   (uint32_t)m.mr[2]);
            else if (st == NESTOR_OK && m.badge == DS_BADGE_MMIO && label == DS_REQ_RESUME) {
                /* A restarted instance takes up its rings (devsrv.h): the
                 * receive buffers the old one held are available again. */
                value = ds_resume(&con.dev, (uint32_t)m.mr[0]);
                con.rx_live = true;
                ok = true;
            } else if (st == NESTOR_OK && m.badge == DS_BADGE_MMIO && label == DS_REQ_DOORBELL) {
                ok = ds_doorbell_take(&doorbell, &alloc, db_slot, &m, CON_DOORBELL_VA,
                                      (const uint8_t *)(uintptr_t)CON_RAM_VA, con.ram_bytes,
                                      con.mmio, db_access, db_line, &con);
                if (ok)
                    nu_ipc_buffer()->receive_cnode = 0;     /* no capability after it */
            }
            if (nestor_msginfo_extra_caps(m.info) && !doorbell.s)
                nu_cnode_delete(alloc.cnode, db_slot, 64);  /* not a page we took */
            hold = st == NESTOR_OK && m.badge == DS_BADGE_MMIO &&
                   (label == DS_REQ_SAVE || label == DS_REQ_LOAD);
            if (hold)
                m = checkpoint(label, &m);
            const bool level = con_irq(&con);
            ds_doorbell_vmm_knows(&doorbell, level);
            if (!hold)
                m = (nu_msg_t){ .info = nestor_msginfo(ok ? DS_OK : DS_REFUSED, 0, 0,
                                                       DS_REPLY_MRS),
                                .mr = { value, level ? DS_REPLY_IRQ_LEVEL : 0 } };
        }
        if (!bell && garbage_after && con.accesses > garbage_after) {
            /* Garbage, then signals: the VMM, having broken the device at
             * the reply, has revoked the capability they go through. */
            m = (nu_msg_t){ .info = nestor_msginfo(GARBAGE_LABEL, 0, 0, DS_REPLY_MRS),
                            .mr = { ~0UL, ~0UL } };
            nu_reply(&m);
            nu_msg_t s = { 0 };
            nestor_word_t sst = signal_cap ? nu_syscall(NESTOR_SYS_SEND, signal_cap, &s) : 0;
            if (!garbage_signalled++)
                printf("virtio-console %s: a signal after the garbage: %s (status %lu)\n",
                       con.name, sst == NESTOR_OK ? "taken" : "refused", sst);
            st = nu_recv(ep, &m);
            continue;
        }
        if (silent_after && con.accesses > silent_after)
            for (;;)                    /* receives on, never replying */
                nu_recv(ep, &m);
        if (hold || !con_input_pending(&con)) {
            st = nu_reply_recv(ep, &m);
            continue;
        }
        /* Input for receiveq0: given after the reply, between the guest's
         * accesses, as host input would come; a line that goes up then is
         * the VMM's to raise, by a signal (one per rise: the VMM holds
         * the level until the next reply says otherwise). */
        bool was_up = doorbell.vmm_level;
        nu_reply(&m);
        con_input(&con);
        if (!was_up && con_irq(&con) && signal_cap) {
            nu_signal(signal_cap);
            ds_doorbell_vmm_knows(&doorbell, true);
        }
        st = nu_recv(ep, &m);
    }
}

static void emit(const char *text)
{
    printf("%s\n", text);
}

int main(const nestor_bootinfo_t *bi)
{
    con.emit = emit;
    if (!nu_option_copy(bi->cmdline, "monitor=", con.name, sizeof con.name))
        strncpy(con.name, "virtio-console", sizeof con.name - 1);
    if (!nu_option_copy(bi->cmdline, "vm=", con.vm, sizeof con.vm))
        strncpy(con.vm, "?", sizeof con.vm - 1);
    const char *fault = nu_option(bi->cmdline, FAULT_OPT);
    if (fault) {
        garbage_after = strtoul(fault, NULL, 10);
        printf("virtio-console %s: fault injection: garbage replies after %lu accesses\n",
               con.name, garbage_after);
    }
    const char *silent = nu_option(bi->cmdline, SILENT_OPT);
    if (silent) {
        silent_after = strtoul(silent, NULL, 10);
        printf("virtio-console %s: fault injection: no answer after %lu accesses\n", con.name,
               silent_after);
    }
    const char *die = nu_option(bi->cmdline, DIE_OPT);
    if (die && !nu_option(bi->cmdline, RESTART_OPT) && (die_at = strtoul(die, NULL, 10)) != 0)
        printf("virtio-console %s: fault injection: a crash at kick %lu\n", con.name, die_at);
    if (nu_option(bi->cmdline, NOSAVE_OPT)) {
        no_save = true;
        printf("virtio-console %s: fault injection: its device state never exported\n", con.name);
    }
    if (nu_option(bi->cmdline, BELL_SILENT_OPT)) {
        bell_silent = true;
        printf("virtio-console %s: fault injection: doorbell exits never answered\n", con.name);
    }
    if (nu_option_copy(bi->cmdline, INPUT_OPT, input, sizeof input - 1)) {
        con.input = input;
        con.input_len = (unsigned)strlen(input);
        input[con.input_len++] = '\n';
        printf("virtio-console %s: host input of %u bytes for receiveq0\n", con.name,
               con.input_len);
    }
    const nestor_grant_desc_t *service = nu_grant(bi, NESTOR_GRANT_SERVICE, NULL);
    unsigned n_untyped = nu_ram_untypeds(bi, untypeds, NULL);
    if (!service || n_untyped == 0) {
        printf("virtio-console %s: no endpoint or no memory granted: nothing to serve\n",
               con.name);
        return 0;
    }
    alloc = (nu_alloc_t){ untypeds[0], NESTOR_CAP_INIT_CNODE, bi->empty.start, bi->empty.end,
                          untypeds + 1, n_untyped - 1 };
    if (!setup(service->cptr))
        return 0;
    serve(service->cptr);
    return 1;
}
