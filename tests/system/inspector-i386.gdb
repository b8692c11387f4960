# gdb's side of tests/system/inspector-i386.spec: hello (ELF32) at its
# first instruction, 32-bit protected mode.
info registers eip
break guest_main
continue
bt
next
next
info registers eip cr0
print sizeof(void *)
detach
