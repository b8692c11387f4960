/*
 * nestor/ipc_buffer.h - the per-thread IPC buffer: message registers beyond
 * those in CPU registers, capability addresses to send, and where received
 * capabilities go. It lives in a frame the thread maps and names to the
 * kernel with NESTOR_TCB_CONFIGURE.
 */
#ifndef NESTOR_IPC_BUFFER_H
#define NESTOR_IPC_BUFFER_H
#include <nestor/msginfo.h>
#include <nestor/types.h>

typedef struct nestor_ipc_buffer {
    nestor_word_t tag;
    nestor_word_t msg[NESTOR_MSG_MAX_LENGTH];
    nestor_word_t user_data;
    /* send: cptrs of extra caps; receive: badges of caps that were unwrapped */
    nestor_word_t caps_or_badges[NESTOR_MSG_MAX_EXTRA_CAPS];
    nestor_cptr_t receive_cnode;   /* where a received capability is stored */
    nestor_cptr_t receive_index;
    nestor_word_t receive_depth;
} nestor_ipc_buffer_t;

#define NESTOR_IPC_BUFFER_ALIGN_BITS 10   /* must be 1 KiB aligned */

#endif
