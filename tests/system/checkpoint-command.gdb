# gdb's side of tests/system/checkpoint-command.spec: the VM waits at its
# first instruction (inspector.wait). Ask the checkpoint monitor for an
# image, then let the VM go: the image is taken at its next instruction.
monitor help
monitor checkpoint
detach
