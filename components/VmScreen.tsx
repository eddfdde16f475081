// The VM: running or not (from the pid file and /proc, not the launcher's --status), uptime, the
// last serial-log lines and the hint for the last marker; launch, stop (typed) or tail the log.
import {useCallback, useEffect, useState} from 'react';
import {Box, Text} from 'ink';
import {resolveLauncher, type VmStatus} from '../src/vm/launcher.js';
import {Menu} from './Menu.js';
import type {ScreenProps} from './screens.js';
import {TypedConfirm} from './TypedConfirm.js';
import {fit, formatDuration, severityGlyph, tone} from './theme.js';

export function VmScreen({controller, go, size, setEditing}: ScreenProps) {
  const [status, setStatus] = useState<VmStatus>();
  const [confirm, setConfirm] = useState(false);
  const [problem, setProblem] = useState<string>();
  const refresh = useCallback(() => void controller.status().then(setStatus, (e: Error) => setProblem(e.message)), [controller]);
  useEffect(refresh, [refresh]);
  useEffect(() => {
    setEditing(confirm);
    return () => setEditing(false);
  }, [confirm, setEditing]);

  const stop = () => {
    let launcher: string;
    try {
      launcher = resolveLauncher(undefined, process.cwd(), controller.settings.get('launcherPath'));
    } catch (error) {
      setConfirm(false);
      setProblem(`${(error as Error).message}: launch once from the wizard so it remembers the launcher`);
      return;
    }
    go({name: 'run', title: 'stop the VM', changesDisk: true, action: () => controller.stop(launcher), back: {name: 'vm'}});
  };

  if (confirm) {
    return (
      <TypedConfirm
        width={size.width}
        title="Stop the VM"
        lines={['The launcher --clean sends SIGTERM to QEMU: the guest is killed, not shut down.', 'Work in progress on the VM is lost.']}
        expected="stop"
        onCancel={() => setConfirm(false)}
        onConfirm={stop}
      />
    );
  }
  const running = status?.running;
  const cause = status?.markers.cause;
  const head = !status
    ? 'reading the pid file...'
    : running
      ? `running: pid ${status.pid}${status.uptimeSeconds !== undefined ? `, up ${formatDuration(status.uptimeSeconds * 1000)}` : ''}`
      : `not running (${status.pidState.state === 'unreadable' ? `pid file unreadable: run as root` : `no live process in ${status.pidFile}`})`;
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
            {value: 'launch', label: 'Launch the VM', disabled: Boolean(running)},
            {value: 'stop', label: 'Stop the VM', destructive: true, disabled: !running},
            {value: 'log', label: 'Tail the serial log'},
            {value: 'refresh', label: 'Refresh'},
            {value: 'back', label: 'Back'},
          ]}
          onBack={() => go({name: 'menu'})}
          onSelect={(item) => {
            if (item.value === 'launch') go({name: 'launch'});
            else if (item.value === 'stop') setConfirm(true);
            else if (item.value === 'log') go({name: 'log', back: {name: 'vm'}});
            else if (item.value === 'refresh') refresh();
            else go({name: 'menu'});
          }}
        />
      </Box>
    </Box>
  );
}
