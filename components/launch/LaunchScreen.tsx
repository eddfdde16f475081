// The launch form of the era (src/wizard/launch.ts builds its fields from the era's adapter: the
// set's volumes and only the options that launcher takes), in two short pages, then the review
// (LaunchReview) before anything runs. A seed, where a launcher takes one, lives only in this
// screen's memory.
import {useEffect, useRef, useState} from 'react';
import {Box, Text} from 'ink';
import type {LaunchFields} from '../../src/vm/fields.js';
import type {LaunchForm} from '../../src/wizard/launch.js';
import type {LaunchReview as Review} from '../../src/wizard/launch-review.js';
import {Form} from '../Form.js';
import type {ScreenProps} from '../screens.js';
import {Wrapped} from '../Wrapped.js';
import {fit, tone} from '../theme.js';
import {LaunchReview} from './LaunchReview.js';

type Checked = {launcher: string; fields: LaunchFields; notes: string[]; review: Review};

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
