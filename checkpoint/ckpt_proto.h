/*
 * checkpoint/ckpt_proto.h - what the VMM and the checkpoint monitor say
 * (checkpoint/README.md "Interface"). The setup call is the hand-over
 * nested-vmx and the inspector get (nested-vmx/nvmx_setup.h: a CNode with
 * the VM's VCPU, state page and RAM frames), without the kick, and after
 * its MRs the VM's identity: its stack identity (ckpt_stack_id) and its
 * name, 8 bytes per MR, NUL-padded; then the bytes of RAM a pager stacked
 * on the same VM owns above the VMM's (0: none).
 */
#ifndef CKPT_PROTO_H
#define CKPT_PROTO_H
#include "nvmx_setup.h"
#include "include/ckpt_dev.h"
#include "include/ckpt_format.h"
#include "include/ckpt_host.h"

#define CKPT_SETUP_MR_STACK_ID  NVMX_SETUP_MRS
#define CKPT_SETUP_MR_NAME      (NVMX_SETUP_MRS + 1)
#define CKPT_SETUP_NAME_MRS     (CKPT_NAME_BYTES / 8)
#define CKPT_SETUP_MR_PAGED     (CKPT_SETUP_MR_NAME + CKPT_SETUP_NAME_MRS)
/* 1 where the VM also has nested-vmx (its guest may be a hypervisor):
 * CKPT_GRANT_NVMX is there. */
#define CKPT_SETUP_MR_NVMX      (CKPT_SETUP_MR_PAGED + 1)
#define CKPT_SETUP_MRS          (CKPT_SETUP_MR_NVMX + 1)
/* In the hand-over's CNode, right after the VM's @frames RAM frames: the
 * VM's EPT restricted to its RAM (NESTOR_EPT_RESTRICT), to read and clear
 * its leaves' dirty flags (NESTOR_EPT_READ_AD) for incremental images. */
#define CKPT_GRANT_EPT(frames)  NVMX_GRANT_RAM_EPT(frames)
/* ... and after it, where the VM has a pager (CKPT_SETUP_MR_PAGED not 0), a
 * capability to call the pager for the pages it owns (pager/pager_proto.h
 * PAGER_BADGE_PAGES): the one capability to another monitor's endpoint a
 * monitor is given. */
#define CKPT_GRANT_PAGER(frames) (CKPT_GRANT_EPT(frames) + 1)
/* ... and after that, where the VM has nested-vmx (CKPT_SETUP_MR_NVMX), a
 * capability to call it for its state (nested-vmx/nvmx_state.h
 * NVMX_BADGE_STATE): saved as a device record of ours (CKPT_DEV_NESTED_VMX)
 * and given back at a restore. */
#define CKPT_GRANT_NVMX(frames)  (CKPT_GRANT_EPT(frames) + 2)
#define CKPT_GRANT_SLOTS        3         /* the slots after the frames */

/* A checkpoint asked for by a monitor command (gdb's "monitor checkpoint"
 * through an inspector stacked on the same VM: inspector/cmds.c): the VMM
 * gives that inspector, in its hand-over's CNode at
 * CKPT_GRANT_COMMAND(frames), a capability to our endpoint badged
 * CKPT_BADGE_COMMAND (its only capability to another monitor).
 *   CKPT_REQ_NOW (call): an image (full if none was written yet, else
 *       incremental) once the VM has run CKPT_NOW_UNITS more. Reply
 *       label 0, or CKPT_CMD_E_* (none will be taken).
 */
#define CKPT_BADGE_COMMAND      0xC4      /* after count_monitor.h's CM_BADGE_* and PAGER_BADGE_PAGES */
#define CKPT_REQ_NOW            0x4E57    /* "NW" */
#define CKPT_GRANT_COMMAND(frames) (NVMX_GRANT_RAM + (frames) + 1)
#define CKPT_NOW_UNITS          1         /* VMX-preemption-timer units: its next exit boundary */
#define CKPT_CMD_E_RESTORING    1         /* the VM has not resumed from its image yet */
#define CKPT_CMD_E_OFF          2         /* checkpoints ended (a failed image, the images limit) */

/* The host trigger (include/ckpt_host.h): the notification our host serial
 * port's IRQ signals carries this badge. */
#define CKPT_UART_BADGE         (1ULL << 40)   /* our notification's (no endpoint badge has it) */

/* The monitor's options (its node's `options`): take a checkpoint once the
 * VM has run this long (VMX-preemption-timer units, SDM Vol. 3C 25.5.1:
 * the TSC divided by 2^IA32_VMX_MISC[4:0]); without it none is taken. */
#define CKPT_OPT_AFTER          "checkpoint.after="
/* ... then an incremental one every N units more. */
#define CKPT_OPT_EVERY          "checkpoint.every="
/* A VM restored from an image: its first image (full, of the next
 * generation: checkpoint/README.md "Checkpoints after a restore") once it
 * has run this long after the restore, then one every checkpoint.every
 * units more; without it a restored VM takes none by its interval (a
 * command or the host may still ask for one). */
#define CKPT_OPT_AFTER_RESTORE  "checkpoint.after-restore="
/* ... at most N images in all in a boot (0 or absent: no limit but the partition's). */
#define CKPT_OPT_IMAGES         "checkpoint.images="
/* ... and print what taking it cost (`./nestor bench checkpoint`). */
#define CKPT_OPT_BENCH          "checkpoint.bench"

/* Query (badge CM_BADGE_QUERY, the VMM at the VM's end): MR0 the exits it
 * took, MR1 those it passed on, MR2 images written, MR3 images restored. */
#define CKPT_QUERY_MRS          4

#endif
