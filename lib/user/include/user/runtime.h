/* lib/user/include/user/runtime.h - what a root task program provides. */
#ifndef USER_RUNTIME_H
#define USER_RUNTIME_H
#include <nestor/bootinfo.h>

/* The root task's main: return 1 for a PASS verdict, 0 for FAIL. */
int main(const nestor_bootinfo_t *bi);

#endif
