# gdb's side of tests/system/inspector-l2.spec: the harness has connected
# gdb to the inspector of L2 (target remote) with build/guests/debuggee-l2.elf
# loaded. L2 (the debuggee, run by the test hypervisor debughv as its guest)
# waits at its first instruction (inspector.wait).
info registers rip
print $cs
break add_up
continue
# Stopped in add_up: an argument, a register, a few source lines.
info args
print/x $rdi
next
next
next
info locals
print total
step
step
print i
# Run to the end of the function: its value.
finish
# The debug registers are not ours at L2 (inspector/README.md): gdb's
# software watchpoint, on our single steps.
set can-use-hw-watchpoints 0
watch watched
continue
print watched
delete
# Write the global the guest prints, read it back.
set var poked = 0x2222
set var released = 1
print/x poked
x/2gx &poked
print/x $efer
monitor exits
python gdb.execute("monitor ept 0x%x" % int(gdb.parse_and_eval("&poked")))
info threads
detach
