/*
 * vmm-server/dev_state.h - the VM's device models' state for the
 * checkpoint monitor (checkpoint/include/ckpt_dev.h CKPT_REQ_DEV_*): saved
 * as versioned records, loaded back after checks that every value is one
 * the model can hold (an image is hostile input). Pure code on a view of
 * the models (the VMM's vm_t: exits.c; the unit tests: test_vmm_dev_state.c).
 */
#ifndef VMM_DEV_STATE_H
#define VMM_DEV_STATE_H
#include "../checkpoint/include/ckpt_dev.h"
#include "../checkpoint/include/ckpt_format.h"
#include "devices/pic8259.h"
#include "devices/pit8254.h"
#include "devices/uart16550.h"

typedef struct {
    uint32_t devices;           /* SC_DEV_* the VM has (stackcfg.h) */
    pic_t *pic;
    uint32_t *irq_lines;        /* the VMM's view of the ISA lines' levels */
    pit_t *pit;
    uart16550_t *uart;
} dev_models_t;

/* Record @k of the devices into @rec and @data (CKPT_DEV_MAX_BYTES);
 * false past the last. @now_ns: the VMM's clock. */
bool dev_state_save(const dev_models_t *d, unsigned k, ckpt_dev_record_t *rec, uint8_t *data,
                    uint64_t now_ns);
/* Load record @rec (@data its bytes, rec->bytes of them) into the models:
 * 0, or a CKPT_DEV_E_* (and nothing changed). */
unsigned dev_state_load(dev_models_t *d, const ckpt_dev_record_t *rec, const uint8_t *data,
                        uint64_t now_ns);

#endif
