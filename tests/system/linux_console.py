#!/usr/bin/env python3
"""A person at `./nestor run linux --interactive`, scripted
(tests/system/linux-interactive.spec): python3 linux_console.py PORT LOG.

Connects to the machine's COM2 (the emulator's TCP port, which the VMM
reads as host console input for the VM's COM1) and watches the serial log
LOG (COM1). Once linux/init says its interactive shell runs, it types a
command whose output is not its own text (the shell computes 6*7), waits
for that output in the log, then types `exit`: the shell ends, init powers
the VM off with its verdict. Prints one line per stage (gdb-expect).
"""
import socket
import sys
import time

CONNECT_S = 60
WAIT_S = 900                 # Bochs boots Linux in minutes
POLL_S = 0.5
SHELL_READY = b'linux: interactive shell'
COMMAND = b'echo typed-$((6 * 7))\r'
ANSWER = b'typed-42'
RETYPE_S = 30                # typed again if no answer came (bytes lost before the VMM read them)


def wait_for(log, text, after, deadline):
    """The offset past the first @text in @log at or after @after, or None."""
    while time.monotonic() < deadline:
        try:
            with open(log, 'rb') as fh:
                data = fh.read()
        except OSError:
            data = b''
        at = data.find(text, after)
        if at >= 0:
            return at + len(text)
        time.sleep(POLL_S)
    return None


def main():
    port, log = int(sys.argv[1]), sys.argv[2]
    start = time.monotonic()
    sock = None
    while sock is None and time.monotonic() - start < CONNECT_S:
        try:
            sock = socket.create_connection(('127.0.0.1', port))
        except OSError:
            time.sleep(POLL_S)
    if sock is None:
        print('console: no connection to COM2')
        return 1
    print('console: connected to COM2')
    deadline = start + WAIT_S
    at = wait_for(log, SHELL_READY, 0, deadline)
    if at is None:
        print('console: no interactive shell in the log')
        return 1
    print('console: the shell is ready; typing')
    time.sleep(2)                        # the shell prints its prompt
    answered = None
    while answered is None and time.monotonic() < deadline:
        sock.sendall(COMMAND)
        answered = wait_for(log, ANSWER, at, min(deadline, time.monotonic() + RETYPE_S))
    if answered is None:
        print('console: no answer to the typed command')
        return 1
    print('console: the shell answered the typed command')
    sock.sendall(b'exit\r')
    print('console: typed exit')
    time.sleep(5)
    sock.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
