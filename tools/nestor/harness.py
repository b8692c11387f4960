"""The test harness behind './nestor test': CUnit binaries and system tests."""
import concurrent.futures
import fnmatch
import json
import os
import re
import subprocess
import sys
import threading
import time

from nestor import boot, config, emulators, gdbdrive, image, paths, specs
from nestor.errors import NestorError

UNIT_RESULTS_RE = re.compile(r'^unit-results: tests=(\d+) failed=(\d+) suites-failed=(\d+)',
                             re.M)
UNIT_TIMEOUT_S = 300
# Each test's duration in the last run, to start the longest first.
TIMES_FILE = os.path.join(paths.BUILD, 'test-times.json')


class Outcome:
    def __init__(self, passed=0, failed=0, skipped=0, detail='', note='', seconds=0.0):
        self.passed, self.failed, self.skipped = passed, failed, skipped
        self.detail = detail        # lines shown under a failure or skip
        self.note = note            # shown on the result line
        self.seconds = seconds


class UnitTest:
    kind = 'unit'

    def __init__(self, binary):
        self.binary = binary
        self.id = 'unit/' + os.path.basename(binary)

    def run(self):
        start = time.monotonic()
        log_dir = os.path.join(paths.TEST_LOGS, 'unit')
        os.makedirs(log_dir, exist_ok=True)
        log = os.path.join(log_dir, os.path.basename(self.binary) + '.log')
        try:
            res = subprocess.run([self.binary], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True, timeout=UNIT_TIMEOUT_S, errors='replace')
            out, rc = res.stdout, res.returncode
        except subprocess.TimeoutExpired as e:
            out, rc = (e.stdout or '') + '\n[timed out after %ds]\n' % UNIT_TIMEOUT_S, -1
        with open(log, 'w') as fh:
            fh.write(out)
        seconds = time.monotonic() - start
        m = UNIT_RESULTS_RE.search(out)
        if not m:
            tail = '\n'.join(out.strip().splitlines()[-15:])
            return Outcome(failed=1, seconds=seconds,
                           detail='no result line (crashed? exit %d); log: %s\n%s' %
                           (rc, paths.rel(log), tail))
        total, failed, suites_failed = (int(x) for x in m.groups())
        failed += suites_failed
        detail = ''
        if failed or rc != 0:
            bad = [ln.strip() for ln in out.splitlines() if 'FAILED' in ln or 'CUnit -' in ln]
            detail = 'log: %s\n%s' % (paths.rel(log), '\n'.join(bad[:20]))
            failed = max(failed, 1)
        return Outcome(passed=total - min(failed, total), failed=failed, seconds=seconds,
                       detail=detail, note='%d tests' % total)


class SystemTest:
    kind = 'system'

    def __init__(self, spec, emu_name):
        self.spec = spec
        self.emu = emulators.get(emu_name)
        self.id = 'system/%s@%s' % (spec.name, emu_name)

    def run(self):
        why = self.emu.unavailable_reason()
        if why:
            return Outcome(skipped=1, detail=why)
        if self.spec.slow and os.environ.get(specs.SLOW_ENV) != '1':
            return Outcome(skipped=1, detail='slow (timeout %d s): run with %s=1' %
                           (self.spec.timeout(self.emu.name), specs.SLOW_ENV))
        if 'vmx' in self.spec.requires and not self.emu.has_vmx:
            return Outcome(skipped=1, detail='no VMX on this machine (%s emulates none)' %
                           self.emu.name)
        if self.spec.gdb and not self.spec.client and gdbdrive.unavailable_reason():
            return Outcome(skipped=1, detail=gdbdrive.unavailable_reason())
        if self.spec.bare:
            iso = image.bare_iso(self.spec.bare, self.spec.cmdline)
        else:
            iso = self._iso()
        workdir = os.path.join(paths.TEST_LOGS, '%s@%s' % (self.spec.name, self.emu.name))
        return self._boot_and_judge(iso, workdir)

    def _iso(self):
        modules = []
        if self.spec.stack:
            modules += config.boot_modules(config.resolve(self.spec.stack), self.spec.roottask)
        elif self.spec.roottask:
            modules.append(image.root_task_module(self.spec.roottask))
        modules += image.guest_modules(self.spec.guests, **self.spec.guest_opts)
        if self.spec.config:
            modules.append(config.compile_dts(config.resolve(self.spec.config)))
        return image.make_iso(self.spec.cmdline, modules)

    def _boot_and_judge(self, iso, workdir):
        gdb = None
        if self.spec.gdb or self.spec.client:
            os.makedirs(workdir, exist_ok=True)
            gdb = gdbdrive.Session(self.spec.gdb, self.spec.gdb_file, gdbdrive.free_port(),
                                   os.path.join(workdir, 'gdb.log'),
                                   self.spec.timeout(self.emu.name), client=self.spec.client)
        disk_image = None
        if self.spec.disk:
            from nestor import disk
            name, mib = self.spec.disk
            disk_image = disk.create(os.path.join(workdir, name + '.img'), mib)
        result = boot.boot(self.emu, iso, workdir, self.spec.timeout(self.emu.name),
                           gdb_port=gdb.port if gdb else None,
                           started=gdb.start if gdb else None, disk=disk_image)
        if self.spec.boots > 1:
            result, wrong = self._boot_again(iso, workdir, result, disk_image)
            if wrong:
                return Outcome(failed=1, seconds=result.seconds, detail=wrong)
        if gdb:
            gdb.wait()
            wrong = gdbdrive.judge(gdb.output, self.spec.gdb_expect, self.spec.gdb_forbid)
            if wrong:
                return Outcome(failed=1, seconds=result.seconds,
                               detail='%s\nlogs: %s, %s' % (wrong, paths.rel(gdb.log),
                                                            paths.rel(result.serial)))
        judged = subprocess.run([paths.JUDGE, self.spec.path, result.serial, '--emu',
                                 self.emu.name], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        report = judged.stdout.strip()
        if result.status == 'timeout':
            report += '\ntimed out after %ds' % self.spec.timeout(self.emu.name)
        if judged.returncode != 0:
            return Outcome(failed=1, seconds=result.seconds,
                           detail='%s\nlog: %s' % (report, paths.rel(result.serial)))
        if self.spec.topology:
            from nestor import topo     # topo builds on this module's Outcome
            mismatch = topo.live_mismatch(config.resolve(self.spec.stack), result.serial)
            if mismatch:
                return Outcome(failed=1, seconds=result.seconds,
                               detail='%s\nlog: %s' % (mismatch, paths.rel(result.serial)))
        if self.spec.compare:
            outcome = self._compare_bare(result)
            if outcome:
                return outcome
        if self.spec.stat:
            from nestor import stat
            problem = stat.live_problem(result.serial)
            if problem:
                return Outcome(failed=1, seconds=result.seconds,
                               detail='%s\nlog: %s' % (problem, paths.rel(result.serial)))
        note = ''
        if self.spec.compare:
            note = 'bare and virtual the same'
        if self.spec.expect_fail:
            note = 'expected failure: %s' % (self.spec.description or 'FAIL verdict seen')
        return Outcome(passed=1, seconds=result.seconds, note=note)

    def _compare_bare(self, virtual):
        """'compare: bare': boot the guest bare too (log in WORKDIR/bare) and
        compare its lines with the virtual run's; an Outcome on a difference."""
        guest, vm, cmdline = self.spec.compared_guest()
        workdir = os.path.join(paths.TEST_LOGS, '%s@%s' % (self.spec.name, self.emu.name), 'bare')
        bare = boot.boot(self.emu, image.bare_iso(guest, cmdline), workdir,
                         self.spec.timeout(self.emu.name))
        virtual.seconds += bare.seconds
        judged = subprocess.run([paths.JUDGE, '--compare', vm, virtual.serial, bare.serial],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if judged.returncode == 0:
            return None
        report = judged.stdout.strip()
        if bare.status == 'timeout':
            report += '\nbare run timed out after %ds' % self.spec.timeout(self.emu.name)
        return Outcome(failed=1, seconds=virtual.seconds,
                       detail='%s\nlogs: %s (virtual), %s (bare)' %
                       (report, paths.rel(virtual.serial), paths.rel(bare.serial)))

    def _boot_again(self, iso, workdir, first, disk_image):
        """Boot again on the same disk (spec 'boots: 2'). Each boot's log is
        kept (serial-N.log) and must end with the verdict the spec wants; the
        serial.log judged is the logs one after the other, with a line between.
        Returns the last boot's result (its seconds the total) and what went
        wrong, if anything."""
        logs, seconds, result = [], 0.0, first
        want = 'fail' if self.spec.expect_fail else 'pass'
        for n in range(1, self.spec.boots + 1):
            if self.spec.verdicts:
                want = self.spec.verdicts[n - 1]
            if n > 1:
                with open(disk_image, 'r+b') as fh:
                    for off, val in self.spec.between_boots:
                        fh.seek(off)
                        byte = fh.read(1)
                        fh.seek(off)
                        fh.write(bytes([(byte[0] if byte else 0) ^ val]))
                result = boot.boot(self.emu, iso, workdir, self.spec.timeout(self.emu.name),
                                   disk=disk_image)
            seconds += result.seconds
            kept = os.path.join(workdir, 'serial-%d.log' % n)
            os.replace(result.serial, kept)
            logs.append(kept)
            verdict = subprocess.run([paths.JUDGE, '--verdict', kept], stdout=subprocess.PIPE,
                                     text=True).stdout.strip()
            if verdict != want:
                result.seconds = seconds
                return result, 'boot %d of %d on the same disk: verdict %s, expected %s\nlog: %s' % (
                    n, self.spec.boots, verdict or 'none', want, paths.rel(kept))
        with open(first.serial, 'w') as out:
            for n, log in enumerate(logs, 1):
                out.write('nestor-harness: boot %d of %d on disk %s\n' %
                          (n, len(logs), paths.rel(disk_image)))
                with open(log, errors='replace') as fh:
                    out.write(fh.read())
        result.serial = first.serial
        result.seconds = seconds
        return result, None


def discover():
    tests = []
    if os.path.isdir(paths.UNIT_DIR):
        for f in sorted(os.listdir(paths.UNIT_DIR)):
            full = os.path.join(paths.UNIT_DIR, f)
            if f.startswith('unit-') and os.access(full, os.X_OK) and not f.endswith('.o'):
                tests.append(UnitTest(full))
    for spec in specs.load_all(paths.SYSTEM_TESTS):
        for emu in spec.emulators:
            tests.append(SystemTest(spec, emu))
    return tests


def select(tests, patterns):
    if not patterns:
        return tests
    chosen = []
    for t in tests:
        for p in patterns:
            if any(c in p for c in '*?[') and fnmatch.fnmatch(t.id, p) or \
               not any(c in p for c in '*?[') and p in t.id:
                chosen.append(t)
                break
    return chosen


class Printer:
    def __init__(self, out=sys.stdout):
        self.out = out
        self.lock = threading.Lock()
        self.width = 0

    def result(self, test, o):
        with self.lock:
            if o.skipped:
                self.out.write('skipped %s: %s\n' % (test.id, o.detail))
            else:
                status = 'FAILED ' if o.failed else 'ok     '
                note = ('  (%s)' % o.note) if o.note else ''
                self.out.write('%s %-*s %6.1fs%s\n' % (status, self.width, test.id, o.seconds, note))
                if o.failed and o.detail:
                    for line in o.detail.splitlines():
                        self.out.write('        %s\n' % line)
            self.out.flush()


def _run_one(test):
    try:
        return test.run()
    except NestorError as e:
        return Outcome(failed=1, detail=str(e))


def _expected_seconds(test, seen):
    """How long a test is expected to take: its time in the last run that
    recorded one, else its timeout (a system test), else nothing much."""
    if test.id in seen:
        return seen[test.id]
    if isinstance(test, SystemTest):
        return test.spec.timeout(test.emu.name)
    return 0


def _load_times():
    try:
        with open(TIMES_FILE) as fh:
            seen = json.load(fh)
        return {k: float(v) for k, v in seen.items()} if isinstance(seen, dict) else {}
    except (OSError, ValueError, TypeError):
        return {}


def _save_times(seen):
    try:
        os.makedirs(os.path.dirname(TIMES_FILE), exist_ok=True)
        with open(TIMES_FILE, 'w') as fh:
            json.dump(seen, fh, indent=0, sort_keys=True)
    except OSError:
        pass                            # only a scheduling hint


def run_tests(tests, jobs):
    """Run the tests, at most `jobs` at a time, longest first: with a few
    boots of several minutes among many short ones, starting the long ones
    last leaves one slot idle at the end (a clean-clone run on 2 cores went
    from about 29 to about 22 minutes of tests)."""
    printer = Printer()
    printer.width = max((len(t.id) for t in tests), default=0)
    totals = Outcome()
    seen = _load_times()
    order = sorted(tests, key=lambda t: -_expected_seconds(t, seen))
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(_run_one, t): t for t in order}
        for fut in concurrent.futures.as_completed(futures):
            o = fut.result()
            printer.result(futures[fut], o)
            if not o.skipped and o.seconds > 0:
                seen[futures[fut].id] = round(o.seconds, 1)
            totals.passed += o.passed
            totals.failed += o.failed
            totals.skipped += o.skipped
    _save_times(seen)
    line = '%d passed, %d failed' % (totals.passed, totals.failed)
    if totals.skipped:
        line += ', %d skipped' % totals.skipped
    print(line)
    return totals
