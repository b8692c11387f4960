# gdb's side of tests/system/inspector-unseen.spec: the unseen guest waits
# at its first instruction. A hardware breakpoint while it reads and writes
# its own debug registers; single steps over PUSHFQ, INT 0x80 (into its
# handler) and SYSCALL (into its entry); detach, and the guest reports.
hbreak dr_probe
continue
delete
tbreak *pushf_here
continue
stepi
print (long)$pc - (long)&pushf_here
tbreak *int_here
continue
stepi
x/i $pc
tbreak *syscall_here
continue
stepi
x/i $pc
monitor exits
detach
