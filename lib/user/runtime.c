/*
 * lib/user/runtime.c - program start-up: TLS for the initial thread (so
 * nu_ipc_buffer() works), then the program's main; its end either ends the
 * system (the root task) or is reported to the parent that started it.
 */
#include <nestor/bootinfo.h>
#include <user/invoke.h>
#include <user/print.h>
#include <string.h>
#include <user/runtime.h>

static nu_tls_t root_tls;
static const nestor_bootinfo_t *boot_info;

int nu_start(const nestor_bootinfo_t *bi);
void nu_exit(int pass);
void __stack_chk_fail(void);

int nu_start(const nestor_bootinfo_t *bi)
{
    boot_info = bi;
    root_tls.self = &root_tls;
    root_tls.ipc_buffer = (nestor_ipc_buffer_t *)(uintptr_t)bi->ipc_buffer;
    /* Any constant will do as the canary of -fstack-protector code (libfdt):
     * it only has to stay the same while a function runs. */
    root_tls.stack_guard = NESTOR_BOOTINFO_MAGIC ^ bi->ipc_buffer;
    /* Before TLS exists nu_invoke cannot find the IPC buffer: the two
     * arguments travel in registers. */
    nu_msg_t m = { .info = nestor_msginfo(NESTOR_TCB_SET_TLS_BASE, 0, 0, 2),
                   .mr = { (nestor_word_t)(uintptr_t)&root_tls, 0 } };
    if (nu_call(NESTOR_CAP_INIT_TCB, &m) != NESTOR_OK)
        return 0;
    return main(bi);
}

/* The root task ends the system with its verdict; a program init started
 * tells init and stops (init decides what its end means). */
void nu_exit(int pass)
{
    if (boot_info && boot_info->parent_ep) {
        nu_msg_t m = { .info = nestor_msginfo(NESTOR_EXIT_LABEL, 0, 0, 1), .mr = { pass != 0 } };
        nu_send(boot_info->parent_ep, &m);
        nu_tcb_suspend(NESTOR_CAP_INIT_TCB);
    }
    nu_debug_halt(pass);
}

nestor_cptr_t nu_parent_ep(void)
{
    return boot_info ? boot_info->parent_ep : 0;
}

/* Called by -fstack-protector code when a canary was overwritten. */
void __stack_chk_fail(void)
{
    printf("user: stack smashing detected\n");
    nu_exit(0);
    for (;;)
        ;
}

const char *nu_option(const char *cmdline, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = cmdline; *p; p++)
        if ((p == cmdline || p[-1] == ' ') && strncmp(p, key, n) == 0)
            return p + n;
    return NULL;
}

bool nu_option_copy(const char *cmdline, const char *key, char *buf, size_t size)
{
    const char *v = nu_option(cmdline, key);
    size_t n = 0;
    for (; v && v[n] && v[n] != ' ' && n + 1 < size; n++)
        buf[n] = v[n];
    buf[n] = '\0';
    return v != NULL;
}

const nestor_grant_desc_t *nu_grant(const nestor_bootinfo_t *bi, nestor_grant_kind_t kind,
                                    const char *name)
{
    for (nestor_word_t i = 0; i < bi->grant_count && i < NESTOR_BOOTINFO_MAX_GRANTS; i++)
        if (bi->grants[i].kind == kind && (!name || strcmp(bi->grants[i].name, name) == 0))
            return &bi->grants[i];
    return NULL;
}

const nestor_module_desc_t *nu_module(const nestor_bootinfo_t *bi, const char *tag,
                                      const char *name)
{
    size_t t = strlen(tag);
    for (nestor_word_t i = 0; i < bi->module_count && i < NESTOR_BOOTINFO_MAX_MODULES; i++)
        if (strncmp(bi->modules[i].name, tag, t) == 0 &&
            (!name || strcmp(bi->modules[i].name + t, name) == 0))
            return &bi->modules[i];
    return NULL;
}
