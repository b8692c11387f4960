# gdb's side of tests/system/inspector-end.spec: the guest waits at its
# first instruction (inspector.wait); gdb releases its spin and lets it run
# to its end, which the inspector reports as the process's exit (E.3 "W").
set var released = 1
continue
info threads
