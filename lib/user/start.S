/*
 * lib/user/start.S - entry of a root task: RDI = boot info address
 * (nestor/bootinfo.h). Align the stack as the SysV ABI expects at a call,
 * run nu_main, and end the system with its verdict.
 */
    .text
    .globl _start
_start:
    andq $-16, %rsp
    xorl %ebp, %ebp
    call nu_start           /* (bootinfo) -> int; 1 = pass */
    movl %eax, %edi
    call nu_exit
1:  jmp 1b
