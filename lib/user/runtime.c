/*
 * lib/user/runtime.c - root task start-up: TLS for the initial thread (so
 * nu_ipc_buffer() works), then the program's main.
 */
#include <nestor/bootinfo.h>
#include <user/invoke.h>
#include <user/runtime.h>

static nu_tls_t root_tls;

int nu_start(const nestor_bootinfo_t *bi);
void nu_exit(int pass);

int nu_start(const nestor_bootinfo_t *bi)
{
    root_tls.self = &root_tls;
    root_tls.ipc_buffer = (nestor_ipc_buffer_t *)(uintptr_t)bi->ipc_buffer;
    /* Before TLS exists nu_invoke cannot find the IPC buffer: the two
     * arguments travel in registers. */
    nu_msg_t m = { .info = nestor_msginfo(NESTOR_TCB_SET_TLS_BASE, 0, 0, 2),
                   .mr = { (nestor_word_t)(uintptr_t)&root_tls, 0 } };
    if (nu_call(NESTOR_CAP_INIT_TCB, &m) != NESTOR_OK)
        return 0;
    return main(bi);
}

void nu_exit(int pass)
{
    nu_debug_halt(pass);
}
