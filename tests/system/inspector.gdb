# gdb's side of tests/system/inspector.spec: the harness has connected gdb
# to the inspector (target remote) with build/guests/debuggee.elf loaded.
# The VM waits at its first instruction (inspector.wait).
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
# A hardware watchpoint on a global, hit by the main line.
watch watched
continue
print watched
delete
# Write the global the guest prints, read it back.
set var poked = 0x2222
set var released = 1
print/x poked
x/2gx &poked
print $cr0
print/x $efer
monitor exits
monitor vmcs
python gdb.execute("monitor ept 0x%x" % int(gdb.parse_and_eval("&poked")))
info threads
detach
