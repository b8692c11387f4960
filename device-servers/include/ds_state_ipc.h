/*
 * device-servers/include/ds_state_ipc.h - a checkpoint's device state in
 * a server's messages (devsrv.h DS_REQ_SAVE/DS_REQ_LOAD; common/
 * state_ipc.c): DS_STATE_WORDS words from MR0 on, the first
 * NESTOR_MSG_REGISTERS_IN_CPU in registers, the rest in the IPC buffer.
 */
#ifndef DS_STATE_IPC_H
#define DS_STATE_IPC_H
#include <devsrv.h>
#include <stdbool.h>
#include <user/sys.h>

/* The reply to DS_REQ_SAVE carrying @st (label DS_OK). */
nu_msg_t ds_state_reply(const ds_state_t *st);

/* DS_REQ_LOAD's state from @m into *@st; false if the message is not
 * DS_STATE_WORDS long (nothing read). */
bool ds_state_receive(const nu_msg_t *m, ds_state_t *st);

#endif
