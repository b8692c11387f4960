/*
 * checkpoint/include/ckpt_dev.h - the device-state protocol between the
 * checkpoint monitor and the VMM (labels, MRs, errors), apart from
 * ckpt_proto.h so that the VMM's side builds for the host unit tests too.
 */
#ifndef CKPT_DEV_H
#define CKPT_DEV_H
#include <nestor/msginfo.h>

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
/*
 *   CKPT_REQ_FPU_SAVE (call) -: the vCPU's x87/SSE/AVX state, as
 *       NESTOR_TCB_READ_FPU gives it for the vCPU's thread (the VMM holds
 *       the thread; the monitor never does). Reply NVMX_REQ_OK with
 *       CKPT_FPU_WORDS words (MRs 0 on).
 *   CKPT_REQ_FPU_LOAD (call) CKPT_FPU_WORDS words: into the vCPU's thread
 *       (NESTOR_TCB_WRITE_FPU: the kernel sanitises the image, SDM Vol. 1
 *       13.8: reserved MXCSR bits and XSAVE header). Reply NVMX_REQ_OK or
 *       NVMX_REQ_FAULT.
 */
#define CKPT_REQ_FPU_SAVE       0x4653    /* "FS" */
#define CKPT_REQ_FPU_LOAD       0x464C    /* "FL" */
#define CKPT_FPU_WORDS          104       /* 832 bytes: the XSAVE image NESTOR_TCB_READ_FPU gives */
#define CKPT_DEV_E_UNKNOWN      1         /* no such device in this VM */
#define CKPT_DEV_E_VERSION      2         /* another layout version or size */
#define CKPT_DEV_E_INVALID      3         /* a value the model cannot hold */
#define CKPT_DEV_E_MISSING      4         /* CKPT_REQ_DEV_DONE: a device had no record */
#define CKPT_DEV_E_SERVER       5         /* a device server refused its part (or failed) */
/*
 *   CKPT_REQ_DEV_DONE (call) -: every record of the image was loaded.
 *       The VMM checks that each device it exports a record of got one
 *       (a device server's device: CKPT_DEV_VIRTIO, which an image taken
 *       of a VM without device servers lacks). Reply NVMX_REQ_OK, or
 *       NVMX_REQ_FAULT with MR0 CKPT_DEV_E_MISSING, MR1 the record id
 *       and MR2 the instance missing.
 * Records of device servers (CKPT_DEV_VIRTIO) come after the models'; at
 * their save the VMM asks each server to quiesce and export its state
 * (device-servers/include/devsrv.h DS_REQ_SAVE), at their load it brings
 * a fresh device to it (DS_REQ_LOAD): CKPT_DEV_E_SERVER when the server
 * refuses or fails.
 */
#define CKPT_REQ_DEV_DONE       0x4444    /* "DD" */

#endif
