"""Driving Debian's gdb against a booted machine's COM2 (the inspector's
link): a free TCP port for the emulator, gdb in batch mode on a command
file in a thread of its own, and its output judged line by line."""
import os
import shutil
import socket
import subprocess
import sys
import threading

from nestor import paths

GDB = 'gdb'
GDB_PACKAGE = 'gdb'
# gdb waits this long for a reply: Bochs boots BIOS, GRUB, the kernel, init
# and the VMM before the inspector answers gdb's first packet.
REMOTE_TIMEOUT_S = 120
CONNECT_TIMEOUT_S = 60


def unavailable_reason():
    if shutil.which(GDB) is None:
        return '%s is not installed (Debian package %s)' % (GDB, GDB_PACKAGE)
    return None


def free_port():
    """A TCP port of localhost nobody listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Session:
    """gdb -batch -x SCRIPT FILE against localhost:PORT (or, with @client,
    python3 CLIENT PORT FILE), started once the emulator runs; its output
    goes to @log."""
    def __init__(self, script, elf, port, log, timeout, client=None):
        self.script, self.elf, self.port, self.log, self.timeout = (script, elf, port, log,
                                                                    timeout)
        self.client = client
        self.output = ''
        self.status = None
        self.thread = None

    def command(self):
        if self.client:
            return [sys.executable, self.client, str(self.port),
                    os.path.join(paths.ROOT, self.elf)]
        return [GDB, '-batch', '-nx',
                '-ex', 'set tcp connect-timeout %d' % CONNECT_TIMEOUT_S,
                '-ex', 'set remotetimeout %d' % REMOTE_TIMEOUT_S,
                '-ex', 'target remote 127.0.0.1:%d' % self.port,
                '-x', self.script, os.path.join(paths.ROOT, self.elf)]

    def start(self, _emulator_process=None):
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        cmd = self.command()
        try:
            res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 errors='replace', timeout=self.timeout, stdin=subprocess.DEVNULL)
            self.output, self.status = res.stdout, res.returncode
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode(errors='replace') if isinstance(e.stdout, bytes) else \
                (e.stdout or '')
            self.output, self.status = out + '\n[gdb timed out after %ds]\n' % self.timeout, -1
        with open(self.log, 'w') as fh:
            fh.write(' '.join(cmd) + '\n' + self.output)

    def wait(self):
        if self.thread:
            self.thread.join(self.timeout + 5)


def judge(output, expect, forbid):
    """None if @output has each of @expect in a line, in order, and none of
    @forbid; else what is wrong."""
    lines = output.splitlines()
    at = 0
    for want in expect:
        while at < len(lines) and want not in lines[at]:
            at += 1
        if at == len(lines):
            return 'gdb: missing (in order): %s' % want
        at += 1
    for bad in forbid:
        for line in lines:
            if bad in line:
                return 'gdb: forbidden: %s' % line.strip()
    return None
