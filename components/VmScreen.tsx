// The VM: running or not (from the pid file and /proc, not the launcher's --status), uptime, the
// last serial-log lines and the hint for the last marker; launch, stop (typed) or tail the log.
import {useCallback, useEffect, useState} from 'react';
import {Box, Text} from 'ink';
import type {Era} from '../src/era/eras.js';
import {shellLine} from '../src/runner/mask.js';
import type {Invocation} from '../src/vm/adapters/index.js';
import type {VmStatus} from '../src/vm/launcher.js';
import {untrustedText} from '../src/vm/pid.js';
import {hintAction} from './hintScreen.js';
import {Menu} from './Menu.js';
import type {ScreenProps} from './screens.js';
import {TypedConfirm} from './TypedConfirm.js';
import {fit, formatDuration, severityGlyph, tone} from './theme.js';

const REFRESH_MS = 2000;

export function VmScreen({controller, go, size, setEditing}: ScreenProps) {
  const [status, setStatus] = useState<VmStatus>();
  // The stop the era's adapter will run, found when Stop is chosen: the confirmation names it.
  const [confirm, setConfirm] = useState<{launcher: string; era: Era; invocation: Invocation}>();
  const [problem, setProblem] = useState<string>();
  const refresh = useCallback(() => void controller.status().then(setStatus, (e: Error) => setProblem(e.message)), [controller]);
  useEffect(refresh, [refresh]);
  // The status moves on by itself (uptime, a VM that powered off, new serial lines): read it again
  // every 2 s while the screen shows it, not while the typed stop is asked.
  useEffect(() => {
    if (confirm) return;
    const timer = setInterval(refresh, REFRESH_MS);
    return () => clearInterval(timer);
  }, [refresh, confirm]);
  useEffect(() => {
    setEditing(Boolean(confirm));
    return () => setEditing(false);
  }, [confirm, setEditing]);

  const askStop = () =>
    void controller.stopTarget().then(setConfirm, (error: Error) => setProblem(`${error.message}: launch once from the wizard so it remembers the launcher`));

  if (confirm) {
    return (
      <TypedConfirm
        width={size.width}
        title="Stop the VM"
        lines={[
          `Runs ${confirm.invocation.cwd ? `in ${confirm.invocation.cwd}: ` : ''}${shellLine([confirm.invocation.cmd, ...confirm.invocation.args])} (the ${confirm.era.id} launcher's own stop).`,
          'It sends SIGTERM to QEMU: the guest is killed, not shut down. Work in progress on the VM is lost.',
        ]}
        expected="stop"
        onCancel={() => setConfirm(undefined)}
        onConfirm={() => go({name: 'run', title: 'stop the VM', changesDisk: true, action: () => controller.stop(confirm), back: {name: 'vm'}})}
      />
    );
  }
  const running = status?.running;
  const cause = status?.markers.cause;
  // The hint's fix as a menu item: its screen with the volume filled in.
  const fix = cause ? hintAction(cause.hint, controller.settingsLoaded ? controller.settings.store : undefined) : undefined;
  const head = !status
    ? 'reading the pid file...'
    : running
      ? `running: pid ${status.pid}${status.uptimeSeconds !== undefined ? `, up ${formatDuration(status.uptimeSeconds * 1000)}` : ''}`
      : `not running (${status.pidState.state === 'unreadable' ? `pid file unreadable: run as root` : status.pidState.state === 'untrusted' ? untrustedText(status.pidState, status.pidFile) : `no live process in ${status.pidFile}`})`;
  const tailRows = Math.max(0, size.height - 8);
  return (
    <Box flexDirection="column" width={size.width} height={size.height}>
      <Text {...tone(running ? 'ok' : 'muted')}>{fit(head, size.width)}</Text>
      {cause ? <Text {...tone(cause.hint.severity === 'error' ? 'error' : 'info')}>{fit(`${severityGlyph(cause.hint.severity)} ${cause.hint.title}`, size.width)}</Text> : null}
      {problem ? <Text {...tone('error')}>{fit(problem, size.width)}</Text> : null}
      {(status?.lastLines ?? []).slice(-tailRows).map((line, i) => (
        <Text key={i} {...tone('muted')}>
          {fit(`  ${line}`, size.width)}
        </Text>
      ))}
      <Box marginTop={1}>
        <Menu
          width={size.width}
          items={[
            {value: 'launch', label: 'Launch the VM', disabled: Boolean(running), why: 'a VM is running: stop it first'},
            {value: 'stop', label: 'Stop the VM', destructive: true, disabled: !running, why: status ? 'no VM is running' : 'reading the status...'},
            ...(fix ? [{value: 'fix', label: `Fix it: ${fix.label}`}] : []),
            {value: 'log', label: 'Tail the serial log'},
            {value: 'refresh', label: 'Refresh'},
            {value: 'back', label: 'Back'},
          ]}
          onBack={() => go({name: 'menu'})}
          onSelect={(item) => {
            if (item.value === 'launch') go({name: 'launch'});
            else if (item.value === 'stop') askStop();
            else if (item.value === 'fix' && fix) go(fix.screen);
            else if (item.value === 'log') go({name: 'log', back: {name: 'vm'}});
            else if (item.value === 'refresh') refresh();
            else go({name: 'menu'});
          }}
        />
      </Box>
    </Box>
  );
}
