// The launch form of the era (src/wizard/launch.ts builds its fields from the era's adapter: the
// set's volumes and only the options that launcher takes), in two short pages, then the review
// (LaunchReview) before anything runs. A seed, where a launcher takes one, lives only in this
// screen's memory.
import {basename, dirname} from 'node:path';
import {useEffect, useRef, useState} from 'react';
import {Box, Text} from 'ink';
import type {Era} from '../../src/era/eras.js';
import {volumesOf} from '../../src/vm/adapters/index.js';
import type {LaunchFields} from '../../src/vm/fields.js';
import type {LaunchForm} from '../../src/wizard/launch.js';
import type {LaunchReview as Review} from '../../src/wizard/launch-review.js';
import {Form} from '../Form.js';
import type {ScreenProps} from '../screens.js';
import {Wrapped} from '../Wrapped.js';
import {fit, tone} from '../theme.js';
import {LaunchReview} from './LaunchReview.js';

type Checked = {launcher: string; fields: LaunchFields; notes: string[]; review: Review};

/** What first-time setup did, and what to watch next, said once the launch has started the VM. */
export function setupSummary(era: Era, launcher: string, fields: LaunchFields): string[] {
  const paths = Object.values(volumesOf(fields)).filter((p): p is string => Boolean(p));
  const dirs = [...new Set(paths.map((p) => dirname(p)))];
  const files = dirs.length === 1 ? `${dirs[0]}: ${paths.map((p) => basename(p)).join(', ')}` : paths.join(', ');
  return [
    `Done: the ${era.id} volume set in ${files}; the VM launched by ${basename(launcher)}.`,
    'Next: Enter opens the serial log, watched until the guest has found its volumes or powered off, with the fix for any line that says why.',
    'Later: tdx-wizard status (or this wizard\'s "Launch / status / stop the VM") says whether it runs; tdx-wizard stop, or the typed stop there, stops it; tdx-wizard logs --follow tails the log.',
  ];
}

export function LaunchScreen({controller, go, size, setEditing, setup}: ScreenProps & {setup: boolean}) {
  const [form, setForm] = useState<LaunchForm>();
  const [page, setPage] = useState(0);
  const [checked, setChecked] = useState<Checked>();
  const [checking, setChecking] = useState(false);
  const [error, setError] = useState<{message: string; fix?: string}>();
  // The typed values, by field: kept by the controller for the whole run (a failed launch comes
  // back here, and Esc goes back a page), not only until this screen unmounts.
  const values = useRef<Record<string, string>>({});
  useEffect(() => {
    controller.launchForm(setup).then(setForm, (e: Error) => setError({message: e.message}));
  }, [controller, setup]);
  useEffect(() => {
    setEditing(!checked);
    return () => setEditing(false);
  }, [checked, setEditing]);

  if (!form) return <Text {...tone(error ? 'error' : 'muted')}>{fit(error?.message ?? 'reading the launcher...', size.width)}</Text>;
  const era = form.era;
  values.current = controller.draft(`launch:${era.id}`);

  const submitAll = () => {
    setChecking(true);
    setError(undefined);
    controller.reviewLaunch(era, values.current).then(
      (r) => {
        setChecking(false);
        if (r.ok) setChecked(r);
        else setError({message: r.message, fix: r.fix});
      },
      (e: Error) => {
        setChecking(false);
        setError({message: e.message});
      },
    );
  };

  if (checked) {
    return (
      <LaunchReview
        era={era}
        review={checked.review}
        notes={checked.notes}
        width={size.width}
        height={size.height}
        onBack={() => setChecked(undefined)}
        onLaunch={() =>
          go({
            name: 'run',
            title: 'launch the VM',
            ...(setup ? {setupStage: 'launch the VM' as const} : {}),
            changesDisk: true,
            action: () =>
              controller.launch(checked.launcher, checked.fields, era).then((outcome) => {
                if (outcome.ok) controller.clearDraft(`launch:${era.id}`);
                return outcome;
              }),
            // The boot in the serial log; from there Esc leads to the VM (status, the typed stop).
            next: {name: 'log', back: {name: 'vm'}, afterLaunch: true, setup},
            // First-time setup ends with what was done and what to watch next.
            ...(setup ? {summary: setupSummary(era, checked.launcher, checked.fields)} : {}),
            back: {name: 'launch', setup},
          })
        }
      />
    );
  }

  const current = form.pages[page]!;
  return (
    <Box flexDirection="column" width={size.width}>
      <Text {...tone('muted')}>{fit(current.intro, size.width)}</Text>
      <Form
        key={page}
        width={size.width}
        fields={current.fields.map((f) => ({...f, initial: values.current[f.name] ?? f.initial}))}
        onChange={(v) => Object.assign(values.current, v)}
        onSubmit={(v) => {
          Object.assign(values.current, v);
          if (page < form.pages.length - 1) setPage(page + 1);
          else submitAll();
        }}
        onBack={() => (page > 0 ? setPage(page - 1) : go(setup ? {name: 'set'} : {name: 'vm'}))}
      />
      {checking ? <Text {...tone('muted')}>{fit('checking the launcher, the fields and the volumes...', size.width)}</Text> : null}
      {error ? <Wrapped text={error.message} width={size.width} maxRows={4} toneName="error" /> : null}
      {error?.fix ? <Wrapped text={error.fix} lead="fix: " width={size.width} maxRows={3} toneName="info" /> : null}
    </Box>
  );
}
