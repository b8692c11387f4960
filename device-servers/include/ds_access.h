/*
 * device-servers/include/ds_access.h - what every virtio device server
 * does with a guest access the VMM forwarded (devsrv.h DS_BADGE_MMIO):
 * check it against the device's window, run it through virtio/'s register
 * file, and say a refusal the same way. Pure code: the servers and their
 * host unit tests share it (console/console.c, blk/vblk.c).
 */
#ifndef DS_ACCESS_H
#define DS_ACCESS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <devsrv.h>
#include <virtio_mmio.h>

/*
 * The access at @offset of @dev's window (@window bytes), @size bytes,
 * writing @wvalue or reading into *@value. The VMM is not trusted to stay
 * inside the window or to send a width of 1, 2 or 4. Returns NULL when it
 * was done, else why it was refused (no effect; a read gives 0). @eff
 * (cleared first) says what the server must do next (virtio_mmio.h).
 */
static inline const char *ds_mmio_access(virtio_mmio_dev_t *dev, uint32_t window, bool write,
                                         uint64_t offset, uint64_t size, uint32_t *value,
                                         uint32_t wvalue, virtio_mmio_effect_t *eff)
{
    /* Inline: it is every forwarded access's path (device-servers/README.md
     * measures it); virtio_mmio_read/write clear *eff themselves. */
    *value = 0;
    if (offset >= window || size == 0 || size > VIRTIO_MMIO_REG_SIZE || offset + size > window) {
        *eff = (virtio_mmio_effect_t){ 0 };
        return "outside the device's window or wider than 4 bytes";
    }
    virtio_mmio_err_t e = write ? virtio_mmio_write(dev, (uint32_t)offset, (unsigned)size,
                                                    wvalue, eff)
                                : virtio_mmio_read(dev, (uint32_t)offset, (unsigned)size, value,
                                                   eff);
    if (e == VIRTIO_MMIO_OK)
        return NULL;
    *value = 0;
    return virtio_mmio_strerror(e);
}

/* virtio_mmio_pop refused a chain of queue @q (its head @head) with @e:
 * why, into @why; true if the queue broke (DEVICE_NEEDS_RESET: "; the
 * device needs a reset" added), else the chain is handed back used with
 * length 0. The caller logs @why. */
bool ds_chain_refused(virtio_mmio_dev_t *dev, unsigned q, virtq_err_t e, uint16_t head,
                      virtio_mmio_effect_t *eff, char *why, size_t len);

/* A restarted server's DS_REQ_RESUME (devsrv.h): each ready queue of
 * @dev taken up from its used ring (virtq_resume), and with DS_RESUME_IRQ
 * in @flags InterruptStatus's used-buffer bit set. Returns the chains
 * available from there (the device serves them next). */
unsigned ds_resume(virtio_mmio_dev_t *dev, uint32_t flags);

/* A checkpoint's DS_REQ_SAVE (devsrv.h): @dev's transport state into @st
 * (the device type's part empty: a type with one fills it after); false
 * if a queue has a chain in flight (nothing is exported: the server
 * finishes it first). */
bool ds_state_export(const virtio_mmio_dev_t *dev, ds_state_t *st);

/* A restore's DS_REQ_LOAD: @st (hostile: from an image) into @dev, which
 * the VMM brought to the image's negotiated state by replaying the
 * driver's writes. 0, or a DS_STATE_E_* with *@why saying what was wrong
 * (then @dev is unchanged). For a device type without state of its own
 * (its part must be empty). */
unsigned ds_state_import(virtio_mmio_dev_t *dev, const ds_state_t *st, const char **why);

/* ds_state_import in two steps, for a device type with state of its own
 * (devsrv.h ds_state_t dev[]): every transport check, and that the part
 * is of @dev_version and @dev_bytes with zeros after it (the type checks
 * its content itself); 0 or a DS_STATE_E_* as above, nothing changed.
 * Then, only after every check passed, ds_state_apply takes the transport
 * state. */
unsigned ds_state_check(const virtio_mmio_dev_t *dev, const ds_state_t *st,
                        uint32_t dev_version, uint32_t dev_bytes, const char **why);
void ds_state_apply(virtio_mmio_dev_t *dev, const ds_state_t *st);

/* An access said as "write of 4 bytes at 0x38", into @buf. */
void ds_access_str(char *buf, size_t len, bool write, uint64_t offset, uint64_t size);

#endif
