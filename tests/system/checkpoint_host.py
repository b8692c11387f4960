#!/usr/bin/env python3
"""The host's end of the checkpoint monitor's trigger in a test
(tests/system/checkpoint-host.spec): python3 checkpoint_host.py PORT FILE
(FILE unused: the harness's client interface). On COM2 (TCP PORT) it waits
for the monitor's greeting, sends a line that is not the command, one too
long, then, a second later, the command itself
(tools/nestor/ckpt_trigger.py, which ./nestor run --checkpoint-after uses).
Prints what the monitor says, one line each; the spec judges them."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'tools'))
from nestor import ckpt_trigger  # noqa: E402

# The greeting comes as the VM is about to start; calc's 24 rounds take some
# seconds on Bochs (about 10 on a busy machine): the command must come before
# they end, so it goes early. Where exactly is the host's timing.
AFTER_S = 1


def main():
    port = int(sys.argv[1])
    said = lambda text: print('client: %s' % text, flush=True)   # noqa: E731
    try:
        link = ckpt_trigger.greeted(port, said)
        ckpt_trigger.ask(link, 'hello', said)
        ckpt_trigger.ask(link, 'x' * 40, said)
        time.sleep(AFTER_S)
        ckpt_trigger.ask(link, ckpt_trigger.COMMAND, said)
        link.close()
    except ckpt_trigger.TriggerError as e:
        print('client: %s' % e, flush=True)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
