/*
 * device-servers/include/ds_doorbell.h - a device server serving the
 * kernel's doorbell exits itself (devsrv.h DS_REQ_DOORBELL; the kernel's
 * side: nestor/vcpu.h "Doorbells"): the guest's access to the doorbell
 * registers of its window arrives as an EPT-violation exit message with
 * the vCPU's state in the doorbell's page; the server fetches and decodes
 * the instruction through the guest's paging over the RAM it has mapped
 * (vmm-server/decode, guest_env.c, lib x86_walk: the VMM's own code),
 * serves the access, and answers with the registers and RIP written.
 * Pure code (no system calls): the servers and the host unit tests share it.
 */
#ifndef DS_DOORBELL_H
#define DS_DOORBELL_H
#include <devsrv.h>
#include <nestor/vcpu.h>
#include <stdbool.h>
#include <stdint.h>

/* The device's access at @offset of its window (a width of 1, 2 or 4), as
 * the VMM's forwarded accesses are served: false if refused (no effect, a
 * read gives 0). */
typedef bool (*ds_doorbell_access_fn)(void *dev, bool write, uint64_t offset, unsigned size,
                                      uint32_t *value);
/* The level of the device's interrupt line. */
typedef bool (*ds_doorbell_line_fn)(void *dev);

typedef struct {
    nestor_vcpu_state_t *s;         /* the doorbell's page: the kernel writes it at each exit */
    ds_doorbell_note_t *note;       /* in the same page, for the VMM (devsrv.h) */
    const uint8_t *ram;             /* the VM's RAM, guest-physical 0 here */
    uint64_t ram_bytes;
    uint64_t window;                /* the device window's guest-physical base */
    bool vmm_level;                 /* the line's level the VMM last learnt */
    ds_doorbell_access_fn access;
    ds_doorbell_line_fn line;
    void *dev;
} ds_doorbell_t;

/* The doorbell on @page (the frame DS_REQ_DOORBELL brought, mapped) for a
 * device whose window is at @window, over @ram. */
void ds_doorbell_init(ds_doorbell_t *db, void *page, const uint8_t *ram, uint64_t ram_bytes,
                      uint64_t window, ds_doorbell_access_fn access, ds_doorbell_line_fn line,
                      void *dev);

/*
 * Serve the doorbell exit whose message registers are @mrs (@n of them,
 * NESTOR_EXIT_MR_*). Returns the reply's label, *@mask the groups changed:
 *   NESTOR_EXIT_REPLY_RESUME   served; registers and RIP written
 *   NESTOR_EXIT_REPLY_PASS_ON  served, and the device's line moved: the
 *                              note says so (served, level) for the VMM;
 *                              or not served (another instruction, an
 *                              address or state the server does not take,
 *                              a fault the guest must get): *@mask is 0
 *                              and the VMM does it all.
 * Nothing in the message or the page is trusted: the kernel wrote them, but
 * the guest chose its instruction bytes, page tables and registers.
 */
nestor_word_t ds_doorbell_serve(ds_doorbell_t *db, const nestor_word_t *mrs, unsigned n,
                                nestor_word_t *mask);

/* Tell the doorbell the level the VMM learnt otherwise (a reply to one of
 * its calls, a signal). */
static inline void ds_doorbell_vmm_knows(ds_doorbell_t *db, bool level)
{
    db->vmm_level = level;
}

#endif
