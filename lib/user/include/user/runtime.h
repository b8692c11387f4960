/* lib/user/include/user/runtime.h - what a program provides and gets at start. */
#ifndef USER_RUNTIME_H
#define USER_RUNTIME_H
#include <nestor/bootinfo.h>
#include <stdbool.h>
#include <stddef.h>

/* The program's main: return 1 for a PASS verdict, 0 for FAIL. The root
 * task's verdict ends the system; a program init started reports it to init. */
int main(const nestor_bootinfo_t *bi);

/* The value of option @key ("name=") on @cmdline, where it starts a word;
 * NULL if absent. The value runs to the next space. */
const char *nu_option(const char *cmdline, const char *key);

/* Copy the value of option @key into @buf (at most @size - 1 characters);
 * false, with @buf empty, if the option is absent. */
bool nu_option_copy(const char *cmdline, const char *key, char *buf, size_t size);

/* The boot module named "@tag@name" (@tag "image ", say); with @name NULL
 * the first whose name starts with @tag. NULL if none. */
const nestor_module_desc_t *nu_module(const nestor_bootinfo_t *bi, const char *tag,
                                      const char *name);

/* The grant called @name of @kind in @bi (NULL if it was not given). */
const nestor_grant_desc_t *nu_grant(const nestor_bootinfo_t *bi, nestor_grant_kind_t kind,
                                    const char *name);

/* The endpoint to the program's parent (init, for a monitor it started:
 * nestor_bootinfo_t parent_ep), for the requests init answers; 0 for the
 * root task. */
nestor_cptr_t nu_parent_ep(void);

#endif
