# gdb's side of tests/system/inspector-ewatch.spec: more data watchpoints
# than the four debug registers. Kept inserted while stopped, so that
# "monitor exits" sees them. The first four (three write watches and a
# hardware breakpoint) take DR0-DR3; the write watches on debuggee_main's
# 'sum' (on the stack) and on 'watched' are served by EPT protection of
# their page.
set breakpoint always-inserted on
break add_up
continue
delete
watch released
watch failed
hbreak start
watch passed
up
watch -l sum
down
watch watched
monitor exits
# sum = add_up() (EPT), passed++ (a debug register), watched = sum (EPT),
# passed++ again.
continue
continue
continue
print watched
continue
delete
monitor exits
set var released = 1
detach
