/*
 * device-servers/common/doorbell_ipc.c - the doorbell's messages in a
 * server's process (ds_doorbell.h): the VMM's offer of its page, and an
 * exit message turned into the reply the kernel takes.
 */
#include <ds_doorbell_ipc.h>

#define MAP_RW (NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE)

bool ds_doorbell_take(ds_doorbell_t *db, nu_alloc_t *a, nestor_cptr_t cap, const nu_msg_t *m,
                      uint64_t va, const uint8_t *ram, uint64_t ram_bytes, uint64_t window,
                      ds_doorbell_access_fn access, ds_doorbell_line_fn line, void *dev)
{
    if (db->s || nestor_msginfo_extra_caps(m->info) != 1 ||
        nu_map_frame(a, NESTOR_CAP_INIT_VSPACE, va, cap, MAP_RW) != NESTOR_OK)
        return false;
    ds_doorbell_init(db, (void *)(uintptr_t)va, ram, ram_bytes, window, access, line, dev);
    ds_doorbell_vmm_knows(db, line(dev));
    return true;
}

nu_msg_t ds_doorbell_answer(ds_doorbell_t *db, const nu_msg_t *m)
{
    nestor_word_t mrs[NESTOR_EXIT_MR_COUNT], mask = 0, label = NESTOR_EXIT_REPLY_PASS_ON;
    unsigned n = nestor_msginfo_length(m->info);
    for (unsigned i = 0; i < NESTOR_EXIT_MR_COUNT && i < n; i++)
        mrs[i] = i < NESTOR_MSG_REGISTERS_IN_CPU ? m->mr[i] : nu_ipc_buffer()->msg[i];
    if (db->s)
        label = ds_doorbell_serve(db, mrs, n, &mask);
    return (nu_msg_t){ .info = nestor_msginfo(label, 0, 0, 1), .mr = { mask } };
}
