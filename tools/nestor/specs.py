"""System test specs (tests/system/*.spec): what the harness reads of them.

A spec is 'key: value' lines. The harness reads name, description,
emulators, timeout, cmdline and config; the serial judge (tools/judge) reads
expect, forbid and verdict. Any other key is refused, so a typo cannot turn
a rule into a comment.
"""
import os
import re

from nestor.errors import NestorError

HARNESS_KEYS = {'name', 'description', 'emulators', 'timeout', 'cmdline', 'config', 'stack',
                'roottask', 'guest', 'guest-mem', 'guest-cmdline', 'guest-module', 'requires',
                'topology', 'bare', 'stat', 'gdb', 'gdb-file', 'gdb-expect', 'gdb-forbid',
                'client', 'disk', 'boots', 'compare', 'slow', 'between-boots', 'verdicts'}
# disk: NAME=SIZE_MIB - a fresh zeroed disk image NAME.img in the test's log
#                     folder, attached as the primary ATA master (nestor/disk.py);
# boots: N          - boot N times (1 or 2) on that same disk; the serial logs are
#                     judged one after the other (serial-1.log, serial-2.log, joined
#                     in serial.log), and each boot must end with the verdict.
# between-boots: xor OFFSET VALUE - before each boot after the first, XOR the
#                     disk's byte at OFFSET with VALUE (repeatable): a corrupted
#                     checkpoint image, say (checkpoint-*.spec);
# verdicts: V1 V2   - with boots: 2, the verdict each boot must end with (pass or
#                     fail; default: the one 'verdict:' gives, for every boot).
# gdb: SCRIPT       - a gdb command file (tests/system/SCRIPT): the machine's COM2
#                     becomes a TCP port and Debian's gdb runs SCRIPT in batch mode
#                     against it (an inspector in the stack is its other end);
# gdb-file: PATH    - the ELF gdb loads symbols from (relative to the tree);
# client: SCRIPT    - instead of gdb: python3 SCRIPT PORT GDB-FILE speaks to COM2;
# gdb-expect: TEXT  - must appear in a line of gdb's (or the client's) output, in order;
# gdb-forbid: TEXT  - must appear in no line of it.
# topology: live  - the 'topo:' lines the booted system printed must name the
#                   same monitors, VMs and stacking edges as the stack config.
TOPOLOGY_CHECKS = {'live'}
# compare: bare   - the spec's one test guest (guest: NAME) is booted a second
#                   time bare by GRUB on the same emulator ('bare' and its
#                   guest-cmdline on its command line) and the guest's lines of
#                   both runs must be the same (tools/judge judge_compare:
#                   lines starting NESTOR_ENV_LINE_MARK left out).
COMPARE_WITH = {'bare'}
# stat: consistent - './nestor stat' of the run's serial log finds exit figures
#                   and they add up (tools/nestor/stat.py problems()).
STAT_CHECKS = {'consistent'}
JUDGE_KEYS = {'expect', 'forbid', 'verdict', 'count', 'anywhere'}
KEY_RE = re.compile(r'^([a-z-]+)(?:\[([a-z0-9]+)\])?:\s*(.*)$')
DEFAULT_TIMEOUT = {'qemu': 30, 'kvm': 30, 'bochs': 120}
# What a test may need from the machine: vmx = hardware virtualization (VT-x).
REQUIREMENTS = {'vmx'}
# slow: true - a boot too long for the suite's 30 minutes (e.g. nested4): skipped,
#              with the reason, unless NESTOR_SLOW=1 is in the environment.
SLOW_ENV = 'NESTOR_SLOW'


class Spec:
    def __init__(self, path):
        self.path = path
        self.name = os.path.splitext(os.path.basename(path))[0]
        self.description = ''
        self.emulators = []
        self.timeouts = {}
        self.cmdline = ''
        self.config = None
        self.stack = None           # boot config NAME as './nestor run NAME' does
        self.roottask = None
        self.guests = []
        self.guest_opts = {'mem': [], 'cmdline': [], 'module': []}   # 'NAME=...' each
        self.requires = set()
        self.topology = None
        self.stat = None
        self.bare = None            # a test guest GRUB boots by itself (no kernel)
        self.compare = None         # 'bare': the guest also booted bare, lines compared
        self.gdb = None             # gdb command file (tests/system/...), with gdb_file
        self.gdb_file = None
        self.client = None          # a Python program on COM2 instead of gdb
        self.gdb_expect = []
        self.gdb_forbid = []
        self.expect_fail = False
        self.disk = None            # (NAME, MIB): a fresh disk image per run
        self.boots = 1
        self.between_boots = []     # (offset, value): disk bytes XORed before a later boot
        self.verdicts = None        # per boot: 'pass' / 'fail'
        self.slow = False
        self._parse()

    def _error(self, no, msg):
        raise NestorError('%s:%d: %s' % (self.path, no, msg))

    def _parse(self):
        with open(self.path) as fh:
            lines = fh.read().splitlines()
        for no, raw in enumerate(lines, 1):
            line = raw.strip()
            if not line or line.startswith('#'):
                continue
            m = KEY_RE.match(line)
            if not m:
                self._error(no, "expected 'key: value' or 'key[emulator]: value'")
            key, emu, value = m.groups()
            if key not in HARNESS_KEYS | JUDGE_KEYS:
                self._error(no, "unknown key '%s' (known: %s)" %
                            (key, ', '.join(sorted(HARNESS_KEYS | JUDGE_KEYS))))
            self._apply(no, key, emu, value)
        if not self.emulators:
            self._error(len(lines), "no 'emulators:' line")
        if self.bare and (self.stack or self.roottask or self.guests or self.config):
            self._error(len(lines), "'bare:' boots one guest by itself: no stack, config, "
                        "roottask or guest with it")
        if self.compare and (len(self.guests) != 1 or self.bare or self.stack or self.config):
            self._error(len(lines), "'compare: bare' boots the spec's one 'guest:' both ways: "
                        "exactly one guest, no bare, stack or config")
        talker = self.gdb or self.client
        if (self.gdb and self.client) or (talker is None) != (self.gdb_file is None) or \
                (self.gdb_expect or self.gdb_forbid) and not talker:
            self._error(len(lines), "'gdb:' (or 'client:') and 'gdb-file:' go together, "
                        "'gdb-expect:' / 'gdb-forbid:' need them")
        if (self.between_boots or self.verdicts) and self.boots < 2:
            self._error(len(lines), "'between-boots:' and 'verdicts:' need 'boots: 2'")
        if self.verdicts and len(self.verdicts) != self.boots:
            self._error(len(lines), "'verdicts:' names one verdict per boot")
        if self.boots > 1 and not self.disk:
            self._error(len(lines), "'boots:' above 1 boots again on the same 'disk:'; "
                        "there is none")
        if self.topology and not self.stack:
            self._error(len(lines), "'topology:' compares with a 'stack:' config; there is none")

    def _apply(self, no, key, emu, value):
        if key == 'name':
            self.name = value
        elif key == 'description':
            self.description = value
        elif key == 'emulators':
            self.emulators = value.split()
        elif key == 'timeout':
            if not value.isdigit() or int(value) <= 0:
                self._error(no, 'timeout must be a positive number of seconds')
            if emu:
                self.timeouts[emu] = int(value)
            else:
                self.timeouts = {e: int(value) for e in DEFAULT_TIMEOUT}
        elif key == 'cmdline':
            self.cmdline = value
        elif key == 'config':
            self.config = value
        elif key == 'stack':
            self.stack = value
        elif key == 'roottask':
            self.roottask = value
        elif key == 'guest':
            self.guests.append(value)
        elif key in ('guest-mem', 'guest-cmdline', 'guest-module'):
            self.guest_opts[key[len('guest-'):]].append(value)
        elif key == 'requires':
            for r in value.split():
                if r not in REQUIREMENTS:
                    self._error(no, "unknown requirement '%s' (known: %s)" %
                                (r, ', '.join(sorted(REQUIREMENTS))))
                self.requires.add(r)
        elif key == 'bare':
            self.bare = value
        elif key == 'slow':
            if value not in ('true', 'false'):
                self._error(no, "slow: 'true' or 'false', not '%s'" % value)
            self.slow = value == 'true'
        elif key == 'gdb':
            self.gdb = os.path.join(os.path.dirname(self.path), value)
        elif key == 'client':
            self.client = os.path.join(os.path.dirname(self.path), value)
        elif key == 'gdb-file':
            self.gdb_file = value
        elif key == 'gdb-expect':
            self.gdb_expect.append(value)
        elif key == 'gdb-forbid':
            self.gdb_forbid.append(value)
        elif key == 'topology':
            if value not in TOPOLOGY_CHECKS:
                self._error(no, "topology: expected one of %s" % ', '.join(sorted(TOPOLOGY_CHECKS)))
            self.topology = value
        elif key == 'compare':
            if value not in COMPARE_WITH:
                self._error(no, "compare: expected one of %s" % ', '.join(sorted(COMPARE_WITH)))
            self.compare = value
        elif key == 'stat':
            if value not in STAT_CHECKS:
                self._error(no, "stat: expected one of %s" % ', '.join(sorted(STAT_CHECKS)))
            self.stat = value
        elif key == 'verdict':
            self.expect_fail = value == 'fail'
        elif key == 'disk':
            from nestor import disk
            try:
                self.disk = disk.parse_spec(value)
            except ValueError as e:
                self._error(no, str(e))
        elif key == 'between-boots':
            words = value.split()
            try:
                if len(words) != 3 or words[0] != 'xor':
                    raise ValueError
                off, val = int(words[1], 0), int(words[2], 0)
                if off < 0 or not 0 < val < 256:
                    raise ValueError
            except ValueError:
                self._error(no, 'between-boots: expected xor OFFSET VALUE (VALUE 1-255)')
            self.between_boots.append((off, val))
        elif key == 'verdicts':
            self.verdicts = value.split()
            if not all(v in ('pass', 'fail') for v in self.verdicts):
                self._error(no, 'verdicts: expected pass or fail per boot')
        elif key == 'boots':
            if value not in ('1', '2', '3'):
                self._error(no, 'boots: expected 1, 2 or 3')
            self.boots = int(value)

    def compared_guest(self):
        """For 'compare: bare': (guest file, VM name, its command line)."""
        guest = self.guests[0]
        file, _, name = guest.partition(':')
        name = name or file
        cmdline = ''
        for opt in self.guest_opts['cmdline']:
            vm, _, args = opt.partition('=')
            if vm == name:
                cmdline = args
        return file, name, cmdline

    def timeout(self, emu):
        return self.timeouts.get(emu, DEFAULT_TIMEOUT.get(emu, 60))


def load_all(folder):
    return [Spec(os.path.join(folder, f)) for f in sorted(os.listdir(folder))
            if f.endswith('.spec')]
