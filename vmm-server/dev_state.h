/*
 * vmm-server/dev_state.h - the VM's device models' state for the
 * checkpoint monitor (checkpoint/ckpt_proto.h CKPT_REQ_DEV_*): saved as
 * versioned records, loaded back after checks that every value is one the
 * model can hold (an image is hostile input).
 */
#ifndef VMM_DEV_STATE_H
#define VMM_DEV_STATE_H
#include "../checkpoint/ckpt_proto.h"
#include <user/sys.h>

struct vm;
/* Record @k of @vm's devices into @rec and @data (CKPT_DEV_MAX_BYTES);
 * false past the last. @now_ns: the VMM's clock. */
bool dev_state_save(const struct vm *vm, unsigned k, ckpt_dev_record_t *rec, uint8_t *data,
                    uint64_t now_ns);
/* Load record @rec (@data its bytes) into @vm: 0, or a CKPT_DEV_E_*. */
unsigned dev_state_load(struct vm *vm, const ckpt_dev_record_t *rec, const uint8_t *data,
                        uint64_t now_ns);

/* A CKPT_REQ_DEV_* call of the monitor stacked on @vm (@m: the request,
 * then the reply). */
void dev_state_request(struct vm *vm, nu_msg_t *m);

#endif
