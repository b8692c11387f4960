/* device-servers/common/state_ipc.c - device state in messages (ds_state_ipc.h). */
#include <ds_state_ipc.h>
#include <string.h>

nu_msg_t ds_state_reply(const ds_state_t *st)
{
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    nestor_word_t w[DS_STATE_WORDS] = { 0 };
    memcpy(w, st, sizeof *st);
    nu_msg_t r = { .info = nestor_msginfo(DS_OK, 0, 0, DS_STATE_WORDS) };
    for (unsigned i = 0; i < DS_STATE_WORDS; i++)
        *(i < NESTOR_MSG_REGISTERS_IN_CPU ? &r.mr[i] : &b->msg[i]) = w[i];
    return r;
}

bool ds_state_receive(const nu_msg_t *m, ds_state_t *st)
{
    const nestor_ipc_buffer_t *b = nu_ipc_buffer();
    nestor_word_t w[DS_STATE_WORDS];
    if (nestor_msginfo_length(m->info) != DS_STATE_WORDS)
        return false;
    for (unsigned i = 0; i < DS_STATE_WORDS; i++)
        w[i] = i < NESTOR_MSG_REGISTERS_IN_CPU ? m->mr[i] : b->msg[i];
    memcpy(st, w, sizeof *st);
    return true;
}
