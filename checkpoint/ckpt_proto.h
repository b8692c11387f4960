/*
 * checkpoint/ckpt_proto.h - what the VMM and the checkpoint monitor say
 * (checkpoint/README.md "Interface"). The setup call is the hand-over
 * nested-vmx and the inspector get (nested-vmx/nvmx_setup.h: a CNode with
 * the VM's VCPU, state page and RAM frames), without the kick, and after
 * its MRs the VM's identity: its stack identity (ckpt_stack_id) and its
 * name, 8 bytes per MR, NUL-padded.
 */
#ifndef CKPT_PROTO_H
#define CKPT_PROTO_H
#include "nvmx_setup.h"
#include "include/ckpt_format.h"

#define CKPT_SETUP_MR_STACK_ID  NVMX_SETUP_MRS
#define CKPT_SETUP_MR_NAME      (NVMX_SETUP_MRS + 1)
#define CKPT_SETUP_NAME_MRS     (CKPT_NAME_BYTES / 8)
#define CKPT_SETUP_MRS          (CKPT_SETUP_MR_NAME + CKPT_SETUP_NAME_MRS)

/* The monitor's options (its node's `options`): take a checkpoint once the
 * VM has run this long (VMX-preemption-timer units, SDM Vol. 3C 25.5.1:
 * the TSC divided by 2^IA32_VMX_MISC[4:0]); without it none is taken. */
#define CKPT_OPT_AFTER          "checkpoint.after="

/*
 * Device state, between the monitor and the VMM (calls on the stop
 * capability the hand-over gives, badged with the VM: vmm-server/
 * dev_state.c). A record is a ckpt_dev_record_t (id, version, bytes,
 * instance) and its bytes, packed into words little-endian from MR
 * CKPT_DEV_MR_DATA on (at most CKPT_DEV_MAX_BYTES).
 *   CKPT_REQ_DEV_SAVE (call) MR0 k: the VM's k-th device record.
 *       Reply NVMX_REQ_OK with the record in MR0-3 and its bytes, or
 *       NVMX_REQ_NONE past the last one.
 *   CKPT_REQ_DEV_LOAD (call) MR0-3 a record, its bytes after: that device
 *       takes the state. Reply NVMX_REQ_OK, or NVMX_REQ_FAULT with MR0 a
 *       CKPT_DEV_E_* (the device's state is then unchanged).
 * Times in a model's state are saved relative to the VMM's clock at the
 * save and loaded relative to it at the load: a restored timer has as long
 * to run as it had left.
 */
#define CKPT_REQ_DEV_SAVE       0x4453    /* "DS" */
#define CKPT_REQ_DEV_LOAD       0x444C    /* "DL" */
#define CKPT_DEV_MR_ID          0
#define CKPT_DEV_MR_VERSION     1
#define CKPT_DEV_MR_BYTES       2
#define CKPT_DEV_MR_INSTANCE    3
#define CKPT_DEV_MR_DATA        4
#define CKPT_DEV_MAX_BYTES      ((NESTOR_MSG_MAX_LENGTH - CKPT_DEV_MR_DATA) * 8)
#define CKPT_DEV_E_UNKNOWN      1         /* no such device in this VM */
#define CKPT_DEV_E_VERSION      2         /* another layout version or size */
#define CKPT_DEV_E_INVALID      3         /* a value the model cannot hold */

/* Query (badge CM_BADGE_QUERY, the VMM at the VM's end): MR0 the exits it
 * took, MR1 those it passed on, MR2 images written, MR3 images restored. */
#define CKPT_QUERY_MRS          4

#endif
